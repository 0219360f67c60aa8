"""What the Snakemake rules need to know about the stages: tracked params and source files.

Snakemake's code trigger sees only a rule's shell string, not the modules the command imports, so every rule
lists its stage's import closure as inputs (as dvc.yaml lists them as deps). Both come from here;
`tests/test_workflow_parity.py` checks that dvc.yaml agrees.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import attrctl
from attrctl import schedule
from attrctl.config import ConfigError, load, parse

PACKAGE_DIR = Path(attrctl.__file__).parent

# Param keys (dotted, as DVC's `params:`) whose change re-runs each stage.
STAGE_PARAMS: dict[str, list[str]] = {
    "validate": [],
    "prepare_model": ["model", "seed"],
    "prepare_data": ["data", "seed"],
    "sample": ["sample", "seed", "data.max_prompt_tokens", "data.train_blocks", "nado.samples_per_prompt"],
    "annotate": ["oracle", "tnt.mechanism", "tnt.flag_fraction"],
    "evaluate": ["evaluate", "oracle.threshold"],
    "train_nado": ["nado", "seed", "oracle.threshold", "sample.temperature"],
    "nado_decode": ["nado.delta"],
    "corpus": ["corpus", "seed"],
    "finetune": ["finetune", "nado_reg", "nado.delta", "tnt", "seed"],
    "tnt_data": ["tnt", "seed"],
    "tnt_eval": [],
    "rl": ["rl", "oracle", "sample.top_p", "sample.temperature", "seed"],
    "classification_data": ["benchmarks.cls_items_per_class", "seed"],
    "benchmarks": ["benchmarks", "seed"],
    "report": ["models", "model", "data", "sample", "oracle", "evaluate", "benchmarks", "nado", "nado_reg", "tnt"],
}
TASK_DIR = "workflow/lm_eval_tasks"


def task_files(root: Path | None = None) -> list[str]:
    """The shipped lm-eval task files (YAMLs, loaders, data), as benchmark inputs."""
    base = root or Path.cwd()
    files = (base / TASK_DIR).rglob("*")
    return sorted(str(p.relative_to(base)) for p in files if p.is_file() and "__pycache__" not in p.parts)


def _imports(path: Path) -> set[str]:
    """attrctl modules imported anywhere in a source file (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("attrctl")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("attrctl"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}  # `from attrctl import x` imports a module
    return found


def _module_file(module: str) -> Path | None:
    parts = module.split(".")[1:]
    if not parts:
        return PACKAGE_DIR / "__init__.py"
    for candidate in (
        PACKAGE_DIR.joinpath(*parts[:-1], parts[-1] + ".py"),
        PACKAGE_DIR.joinpath(*parts, "__init__.py"),
    ):
        if candidate.is_file():
            return candidate
    return None


def code_deps(stage: str, root: Path | None = None) -> list[str]:
    """Source files (repo-relative) of `attrctl.stages.<stage>` and every attrctl module it imports."""
    todo, seen = [f"attrctl.stages.{stage}"], set()
    files: set[Path] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_file(module)
        if path is None:
            continue
        files.add(path)
        todo += sorted(_imports(path) - seen)
    base = (root or PACKAGE_DIR.parent.parent).resolve()
    return sorted(str(f.resolve().relative_to(base)) for f in files)


def missing_tracked(raw: dict[str, Any]) -> list[str]:
    """Tracked param keys that a params file leaves to their defaults: DVC reads the file, not the defaults,
    and refuses a stage whose params are missing, so every profile spells them out."""
    missing = []
    for key in sorted({k for keys in STAGE_PARAMS.values() for k in keys}):
        value: Any = raw
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                missing.append(key)
                break
            value = value[part]
    return missing


def check_complete(raw: dict[str, Any], origin: str) -> None:
    missing = missing_tracked(raw)
    if missing:
        raise ConfigError(
            f"invalid params in {origin}: {', '.join(missing)} missing; DVC tracks these keys and "
            "reads them from the file, so write them out (their defaults are in "
            "src/attrctl/config.py and params.yaml)"
        )


def tracked_params(config: dict[str, Any], stage: str) -> dict[str, Any]:
    """The values of a stage's tracked params (Snakemake `params:` re-run trigger)."""
    values = {}
    for key in STAGE_PARAMS[stage]:
        value: Any = config
        for part in key.split("."):
            value = value[part]
        values[key] = value
    return values


def validated(config: dict[str, Any], params_file: str = "params.yaml") -> dict[str, Any]:
    """Validate Snakemake's config at parse time; it must equal params.yaml, which is what the stages read."""
    cfg = parse(config, origin="snakemake config")
    check_complete(config, "snakemake config")
    on_disk = load(params_file)
    if cfg != on_disk:
        raise ConfigError(
            f"the Snakemake config differs from {params_file}, which every stage (and DVC) reads: "
            f"copy the profile over it (cp <profile>.yaml {params_file}) instead of --config/--configfile"
        )
    return cfg.model_dump(mode="json")


def train_nado_inputs(schedule_name: str, k: int, iterations: int) -> list[str]:
    """Inputs of NADO_k: the labelled samples it trains on, fresh eval samples of the same model (diagnostics),
    that model (its hidden states are NADO's input) and the NADO it warm-starts from."""
    model, split = schedule.nado_data(schedule_name, k, iterations)
    warm = schedule.nado_warm_start(schedule_name, k)
    return [
        f"results/annotations/{model}/{split}.jsonl",
        f"results/annotations/{model}/eval.jsonl",
        f"results/models/{model}",
    ] + ([f"results/nado/{warm}"] if warm else [])


def finetune_inputs(name: str, iterations: int) -> list[str]:
    """The corpus, the start model, the NADO of q*, and held-out base samples for the KL diagnostics."""
    plan = schedule.finetune_plan(name, iterations)
    data = "results/data/tnt_train.jsonl" if plan.objective == "tnt" else "results/data/corpus.jsonl"
    return (
        [data, f"results/models/{plan.init}"]
        + ([f"results/nado/{plan.guide}"] if plan.guide else [])
        + ["results/annotations/base/eval.jsonl"]
    )


def nado_names(config: dict[str, Any]) -> list[str]:
    return schedule.nado_names(config["models"], config["nado_reg"]["iterations"])


SINGLE_RUN = ("sft", "filter", "rl", "nado_reg_adaptive")


def trained_models(config: dict[str, Any]) -> list[str]:
    """Every model a fine-tuning job makes for the configured models (schedule iterations included)."""
    iterations = config["nado_reg"]["iterations"]
    return [m for m in config["models"] if m in SINGLE_RUN] + schedule.schedule_models(config["models"], iterations)


def tnt_models(config: dict[str, Any]) -> list[str]:
    """The TNT models of the TNT table and trade-off plot (all losses at the tables' α and at the sweep's)."""
    if not any(m.startswith("tnt_") for m in config["models"]):
        return []
    return schedule.tnt_models(config["tnt"]["losses"], config["tnt"]["sweep"])


def prompt_file(split: str) -> str:
    """The prompts a sample split draws from: eval prompts, or the train prompts (cut into blocks) for train<k>."""
    return f"results/data/prompts_{'eval' if split.removesuffix('_greedy') == 'eval' else 'train'}.jsonl"


def schedule_samples(config: dict[str, Any]) -> list[str]:
    """Timing files of the samples every iteration of the configured schedules draws."""
    iterations = config["nado_reg"]["iterations"]
    found = set()
    for name in schedule.SCHEDULES:
        if schedule.PREFIX[name] in config["models"]:
            for k in range(1, iterations + 1):
                model, split = schedule.sample_source(name, k, iterations)
                found.add(f"results/metrics/{model}/sample_{split}.json")
    return sorted(found)


def schedule_priority(wildcards: Any) -> int:
    """Snakemake priority: the jobs of the NADO schedules (train-split sampling and annotation, NADO training,
    the nado_reg fine-tunes) form the DAG's longest chain, so they go first and the independent jobs (baselines,
    TNT, evaluation) fill the other cores alongside them instead of after them. nado_reg_adaptive shares the
    prefix and is the longest single fine-tune, so it starts early too."""
    values = dict(wildcards.items())
    on_chain = (
        values.get("split", "").startswith("train")
        or "schedule" in values
        or values.get("model", "").startswith("nado_reg")
    )
    return 10 if on_chain else 0
