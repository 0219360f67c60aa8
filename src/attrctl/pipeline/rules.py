"""What the Snakemake rules ask: the validated config, each stage's code and tracked params, and the inputs of
the jobs whose inputs depend on the schedule. Paths come from `attrctl.pipeline.paths`; `dvcgen` writes the
same DAG to dvc.yaml and `tests/test_workflow_parity.py` checks that the two agree.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from pathlib import Path
from typing import Any

import attrctl
from attrctl.config import DGLM_RUN, ConfigError, load, parse
from attrctl.finetune import schedule
from attrctl.pipeline import paths
from attrctl.tnt.data import model_names as tnt_model_names

PACKAGE = Path(attrctl.__file__).parent
REPO = PACKAGE.parent.parent


def validated(config: dict[str, Any], params_file: str = "params.yaml") -> dict[str, Any]:
    """Validate Snakemake's config at parse time; it must equal params.yaml, which is what the stages read."""
    cfg = parse(config, origin="snakemake config")
    if cfg != load(params_file):
        raise ConfigError(
            f"the Snakemake config differs from {params_file}, which every stage (and DVC) reads: "
            f"copy the profile over it (cp <profile>.yaml {params_file}) instead of --config/--configfile"
        )
    return cfg.model_dump(mode="json")


def threads(config: dict[str, Any]) -> int:
    """Threads of every job: runtime.threads (0: one), so Snakemake and DVC compute with the same thread count
    (floating-point sums depend on it)."""
    return max(1, config["runtime"]["threads"])


def gpu_per_job(config: dict[str, Any]) -> int:
    """1 where jobs run on a GPU (so `--resources gpu=N` caps how many share it), 0 on a CPU machine (so the GPU
    limit of the default profile does not serialise CPU jobs). Detected without importing torch."""
    device = config["runtime"]["device"]
    visible = Path("/proc/driver/nvidia/version").exists() and os.environ.get("CUDA_VISIBLE_DEVICES", "0") != ""
    return int(device == "cuda" or (device == "auto" and visible))


@functools.cache  # every rule walks the same modules: parse each file once per process, not once per rule
def _imports(path: Path) -> frozenset[str]:
    """attrctl modules imported anywhere in a source file (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("attrctl")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("attrctl"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}  # `from attrctl import x` imports a module
    return frozenset(found)


def _module_file(module: str) -> Path | None:
    parts = module.split(".")[1:]
    for candidate in (
        PACKAGE.joinpath(*parts[:-1], parts[-1] + ".py") if parts else None,
        PACKAGE.joinpath(*parts, "__init__.py"),
    ):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def code_units(stage: str) -> list[str]:
    """What a stage's code is, for DVC: its own CLI, the core modules it imports, and every method sub-package
    it imports from, as a directory (so that editing TNT re-runs the stages that import TNT, and no others).
    Repo-relative."""
    todo, seen, units = [f"attrctl.stages.{stage}"], set(), set()
    while todo:
        module = todo.pop()
        # attrctl.pipeline describes the DAG, as the Snakefile does: a change to it changes which jobs exist and
        # with which paths, which both tools see, not what a stage computes
        if module in seen or module.startswith("attrctl.pipeline"):
            continue
        seen.add(module)
        path = _module_file(module)
        if path is None:
            continue
        todo += sorted(_imports(path) - seen)
        in_package = path.parent != PACKAGE and path.parent.name != "stages"
        units.add(str((path.parent if in_package else path).relative_to(REPO)))
    return sorted(units)


def code(stage: str) -> list[str]:
    """The same code as Snakemake inputs: files, since Snakemake sees a directory's own time stamp only."""
    out = []
    for unit in code_units(stage):
        path = REPO / unit
        out += [unit] if path.is_file() else sorted(str(f.relative_to(REPO)) for f in path.glob("*.py"))
    return out


def task_files() -> list[str]:
    """The shipped lm-eval task files (YAMLs, loaders, data), as benchmark inputs."""
    files = (REPO / paths.TASK_DIR).rglob("*")
    return sorted(str(p.relative_to(REPO)) for p in files if p.is_file() and "__pycache__" not in p.parts)


def prompt_source(config: dict[str, Any]) -> str:
    """The prompt file the data stage reads (`hf:` sources are no file)."""
    source = config["data"]["prompts"]
    return paths.EMBEDDED_PROMPTS if source == "embedded" else source


def prompt_inputs(config: dict[str, Any]) -> list[str]:
    source = prompt_source(config)
    return [] if source.startswith("hf:") else [source]


def prompts_of(split: str) -> str:
    """The prompts a sample split draws from: eval prompts, or the train prompts (cut into blocks) for train<k>."""
    return paths.prompts("eval" if split.removesuffix("_greedy") == "eval" else "train")


def nado_inputs(schedule_name: str, k: int, iterations: int) -> dict[str, str]:
    """NADO_k trains on labelled samples of p_{k-1} (or, parallel, of the previous iteration), is measured on fresh
    eval samples of the same model, reads that model's hidden states and warm-starts from NADO_{k-1}."""
    model, split = schedule.nado_data(schedule_name, k, iterations)
    warm = schedule.nado_warm_start(schedule_name, k)
    inputs = {
        "model": paths.model(model),
        "train": paths.annotations(model, split),
        "heldout": paths.annotations(model, "eval"),
    }
    return inputs | ({"warm": paths.nado(warm)} if warm else {})


def finetune_inputs(name: str, iterations: int) -> dict[str, str]:
    """The corpus, the start model (the teacher of q*), the NADO of q*, and held-out base samples (KL diagnostics)."""
    plan = schedule.finetune_plan(name, iterations)
    inputs = {"data": paths.CORPUS, "init": paths.model(plan.init), "heldout": paths.annotations("base", "eval")}
    return inputs | ({"guide": paths.nado(plan.guide)} if plan.guide else {})


def flag(inputs: dict[str, str], key: str, option: str) -> str:
    """`--option path` when an optional input is present, else nothing."""
    return f"{option} {inputs[key]}" if key in inputs else ""


def nado_names(config: dict[str, Any]) -> list[str]:
    return schedule.nado_names(config["models"], config["nado_reg"]["iterations"])


def trained_models(config: dict[str, Any]) -> list[str]:
    """Every model the finetune stage makes for the configured models (schedule iterations included)."""
    iterations = config["nado_reg"]["iterations"]
    single = [m for m in config["models"] if m in ("sft", "filter", "nado_reg_adaptive") or schedule.SWEEP.fullmatch(m)]
    return single + schedule.schedule_models(config["models"], iterations)


def tnt_models(config: dict[str, Any]) -> list[str]:
    """The TNT models of the TNT table and trade-off plot (all losses at the tables' α and at the sweep's)."""
    if not any(m.startswith("tnt_") for m in config["models"]):
        return []
    return tnt_model_names(config["tnt"]["losses"], config["tnt"]["sweep"])


def schedule_timings(config: dict[str, Any]) -> list[str]:
    """Timing files of the samples every iteration of the configured schedules draws."""
    iterations = config["nado_reg"]["iterations"]
    found = set()
    for name in schedule.SCHEDULES:
        if schedule.PREFIX[name] in config["models"]:
            for k in range(1, iterations + 1):
                model, split = schedule.sample_source(name, k, iterations)
                found.add(paths.metrics(model, f"sample_{split}"))
    return sorted(found)


def l3m_models(config: dict[str, Any]) -> list[str]:
    """The L3M experiment's models: base, sft, and l3m_<name> and mm_<name> for every constraint set."""
    names = sorted(config["l3m"]["constraints"])
    return ["base", "sft", *(f"l3m_{n}" for n in names), *(f"mm_{n}" for n in names)]


def dglm_models(config: dict[str, Any]) -> list[str]:
    """The DGLM experiment's models: base, nado_decode (the other decoding-time method) and every DGLM run."""
    return ["base", "nado_decode", *config["dglm"]["runs"]]


def latency_inputs(models: list[str]) -> list[str]:
    """Eval sampling times of the decoding-time methods, when DGLM runs are among `models` (the DGLM table's
    latency per continuation)."""
    if not any(DGLM_RUN.fullmatch(m) for m in models):
        return []
    return [paths.metrics(m, "sample_eval") for m in models if m in ("base", "nado_decode") or DGLM_RUN.fullmatch(m)]


EXPERIMENTS = {  # one paper each: its models, tables and plots
    "nado": {
        "models": lambda config: [m for m in config["models"] if not m.startswith(("tnt_", "l3m_", "mm_", "dglm"))],
        "tables": ("detox", "paired", "toxicity", "classification", "nado", "oracle", "efficiency"),
        "plots": ("tradeoff", "lambda_sweep", "toxicity_hist", "nado_reg_kl"),
    },
    "tnt": {
        "models": lambda config: [m for m in config["models"] if m == "base" or m.startswith("tnt_")],
        "tables": ("detox", "paired", "toxicity", "oracle", "tnt"),
        "plots": ("tradeoff", "toxicity_hist", "tnt_tradeoff"),
    },
    "l3m": {
        "models": l3m_models,
        "tables": ("l3m", "detox", "paired", "toxicity"),
        "plots": ("l3m_lengths", "l3m_multipliers", "tradeoff"),
    },
    "dglm": {
        "models": dglm_models,
        "tables": ("dglm", "paired", "toxicity"),
        "plots": ("dglm_guidance", "toxicity_hist"),
        "benchmarks": False,  # DGLM has no likelihood of a given text to run lm-eval on
    },
}


def report_inputs(config: dict[str, Any], experiment: str | None = None) -> dict[str, list[str]]:
    """What the report reads: every configured model's metrics, or one experiment's."""
    models = config["models"] if experiment is None else EXPERIMENTS[experiment]["models"](config)
    sub = {**config, "models": models}
    tnt = tnt_models(sub)
    benchmarked = experiment is None or EXPERIMENTS[experiment].get("benchmarks", True)
    dglm = any(DGLM_RUN.fullmatch(m) for m in models)
    return {
        "toxicity": [paths.metrics(m, "toxicity") for m in models],
        "lm_eval": [paths.metrics(m, "lm_eval") for m in models if benchmarked and not DGLM_RUN.fullmatch(m)],
        "annotations": [paths.annotations(m, "eval") for m in models],
        "nado": [paths.metrics("nado", n) for n in nado_names(sub)],
        "train": [
            paths.metrics(m, "train")
            for m in trained_models(sub) + tnt + [m for m in models if m == "rl" or m.startswith(("l3m_", "mm_"))]
        ],
        "timing": schedule_timings(sub) + latency_inputs(models),
        "tnt": [paths.metrics(m, "tnt") for m in (["base", *tnt] if tnt else [])],
        "oracle": [paths.metrics("oracle", "heldout")],
        "task_ppl": [paths.metrics(m, "task_ppl") for m in models if m in l3m_models(config)],
        "dglm": [paths.metrics(paths.DGLM_METRICS, part) for part in ("classifiers", "decoder")] if dglm else [],
    }


def report_outputs(experiment: str | None = None) -> dict[str, list[str] | str]:
    """Tables, plots and README of the whole report (results/) or of one experiment (results/experiments/<e>/)."""
    tables = paths.TABLES if experiment is None else EXPERIMENTS[experiment]["tables"]
    plots = paths.PLOTS if experiment is None else EXPERIMENTS[experiment]["plots"]
    root = paths.RESULTS if experiment is None else paths.experiment(experiment)
    return {
        "tables": [paths.table(t, ext, root) for t in tables for ext in ("md", "csv")],
        "plots": [paths.plot(p, root) for p in plots],
        "readme": f"{root}/README.md",
    }


def schedule_priority(wildcards: Any) -> int:
    """Snakemake priority: the sequential NADO schedule (train-split sampling and annotation, NADO_k, the
    nado_reg_i<k> fine-tunes) is the DAG's longest chain, so its jobs go first (20); the other NADO-regularised
    jobs (the parallel schedule, the adaptive variant, the λ sweep) next (10); the independent jobs (baselines,
    TNT, evaluation) fill the other cores alongside them instead of after them."""
    values = dict(wildcards.items())
    model, split = values.get("model", ""), values.get("split", "")
    if split.startswith("train") or values.get("schedule") == "sequential" or re.fullmatch(r"nado_reg(_i\d+)?", model):
        return 20
    return 10 if "schedule" in values or model.startswith("nado_reg") else 0
