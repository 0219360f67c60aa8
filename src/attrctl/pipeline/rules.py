"""What the Snakemake rules ask: the validated config, each stage's code and tracked params, and the inputs of
the jobs whose inputs depend on the schedule. Paths come from `attrctl.pipeline.paths`; `dvcgen` writes the
same DAG to dvc.yaml and `tests/test_workflow_parity.py` checks that the two agree.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrctl
from attrctl import methods
from attrctl.config import ConfigError, load, parse, tracked
from attrctl.methods import Job
from attrctl.pipeline import paths
from attrctl.stages import cli
from attrctl.stages.report import INPUTS as REPORT_INPUTS

PACKAGE = Path(attrctl.__file__).parent
REPO = PACKAGE.parent.parent


def validated(config: dict[str, Any], params_file: str = "params.yaml") -> dict[str, Any]:
    """params.yaml (what every stage and DVC read), validated at Snakemake's parse time; anything given with
    --config/--configfile (Snakemake's `config`) must leave it unchanged. Bad params stop Snakemake as they stop a
    stage: the message (with file:line:column for YAML errors), exit status 2."""
    from attrctl.profiles import merge

    try:
        cfg = load(params_file)
        if config and parse(merge(cfg.model_dump(mode="json"), config, "snakemake config"), "snakemake config") != cfg:
            raise ConfigError(
                f"the Snakemake config differs from {params_file}, which every stage (and DVC) reads: "
                f"copy the profile over it (cp <profile>.yaml {params_file}) instead of --config/--configfile"
            )
    except ConfigError as err:
        cli.fail(str(err))
    return cfg.model_dump(mode="json")


def threads(config: dict[str, Any]) -> int:
    """Threads of every job: runtime.threads (0: one), so Snakemake and DVC compute with the same thread count
    (floating-point sums depend on it)."""
    return max(1, config["runtime"]["threads"])


def commands(config: dict[str, Any]) -> Callable[[str], str]:
    """The shell command of a stage's jobs: training stages (Stage.training) start with `runtime.launcher`, the
    others with python."""

    def command(stage: str) -> str:
        launcher = config["runtime"]["launcher"] if methods.stage(stage).training else "python"
        return f"{launcher} -m {methods.stage_module(stage)} --params params.yaml --log-file {{log}}"

    return command


def gpu_per_job(config: dict[str, Any]) -> int:
    """1 where jobs run on a GPU (so `--resources gpu=N` caps how many share it), 0 on a CPU machine (so the GPU
    limit of the default profile does not serialise CPU jobs). Detected without importing torch."""
    device = config["runtime"]["device"]
    visible = Path("/proc/driver/nvidia/version").exists() and os.environ.get("CUDA_VISIBLE_DEVICES", "0") != ""
    return int(device == "cuda" or (device == "auto" and visible))


# Modules that describe the DAG or the config rather than compute: attrctl.pipeline (as the Snakefile), the
# config schema and the method declarations. Params reach a job through params.yaml, which DVC tracks key by key
# (Stage.params), so a changed default or validator re-runs nothing it cannot change.
DESCRIPTIVE = re.compile(r"attrctl\.(pipeline(\..+)?|config|methods|sections|\w+\.method)")


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


def code(stage: str, job: Job | None = None) -> list[str]:
    """The code one job of `stage` runs: the stage's CLI and every attrctl module it imports, transitively (at
    the top or inside functions), plus the modules its method loads by name for this job (a decoding-time
    model's loader). Files, repo-relative: editing a module re-runs exactly the jobs that import it."""
    todo = [methods.stage_module(stage), *methods.stage(stage).modules(job)]
    seen, files = set(), set()
    while todo:
        module = todo.pop()
        if module in seen or DESCRIPTIVE.fullmatch(module):
            continue
        seen.add(module)
        path = _module_file(module)
        if path is None:
            continue
        todo += sorted(_imports(path) - seen)
        files.add(str(path.relative_to(REPO)))
    return sorted(files)


def job_code(stage: str) -> Callable[[Any], list[str]]:
    """`code` as a Snakemake input function of the job's wildcards."""
    return lambda wildcards: code(stage, dict(wildcards.items()))


def job_sources(config: dict[str, Any], stage: str) -> Callable[[Any], list[str]]:
    """The local directories a job's params name (model.source for prepare_model, oracle.hf_model for the jobs
    that read the oracle), as inputs: replacing their contents re-runs the job (Snakemake by time, DVC by
    content). Hub ids are no inputs."""

    def sources(wildcards) -> list[str]:
        keys = methods.stage(stage).tracks(dict(wildcards.items()))
        oracle = config["oracle"]
        classifier = "hf_classifier" in (oracle["name"], oracle["second"])
        named = [config["model"]["source"]] if "model.source" in keys else []
        named += [oracle["hf_model"]] if "oracle" in keys and classifier else []
        return [path for path in named if Path(path).is_dir()]

    return sources


def job_params(config: dict[str, Any], stage: str) -> Callable[[Any], dict[str, Any]]:
    """The tracked params of one job of `stage`, as a Snakemake params function of its wildcards."""
    return lambda wildcards: tracked(config, stage, dict(wildcards.items()))


def task_files() -> list[str]:
    """The shipped lm-eval task files (YAMLs, loaders, data), as benchmark inputs."""
    files = (REPO / paths.TASK_DIR).rglob("*")
    return sorted(str(p.relative_to(REPO)) for p in files if p.is_file() and "__pycache__" not in p.parts)


def prompt_source(config: dict[str, Any], key: str = "prompts") -> str:
    """The prompt source data.<key> names (the embedded set as its file); "" when data.eval_prompts is null."""
    source = config["data"][key] or ""
    return paths.EMBEDDED_PROMPTS if source == "embedded" else source


def prompt_inputs(config: dict[str, Any], key: str = "prompts") -> list[str]:
    """The local files or directories among the prompt sources (`hf:` sources are none)."""
    source = prompt_source(config, key)
    return [source] if source and not source.startswith("hf:") else []


def statements(config: dict[str, Any]) -> str:
    """The labelled statements file data.statements names (the shipped ToxiGen statements by default)."""
    source = config["data"]["statements"]
    return paths.TOXIGEN_STATEMENTS if source == "embedded" else source


def eval_prompts_option(config: dict[str, Any]) -> str:
    """`--eval-prompts <source>` when data.eval_prompts names one, else nothing."""
    source = prompt_source(config, "eval_prompts")
    return f"--eval-prompts {source}" if source else ""


def prompts_of(split: str) -> str:
    """The prompts a sample split draws from: eval prompts, or the train prompts (cut into blocks) for train<k>."""
    return paths.prompts("eval" if split.removesuffix("_greedy") == "eval" else "train")


def flag(inputs: dict[str, str], key: str, option: str) -> str:
    """`--option path` when an optional input is present, else nothing."""
    return f"{option} {inputs[key]}" if key in inputs else ""


def report_inputs(config: dict[str, Any], experiment: str | None = None) -> dict[str, list[str]]:
    """What the report reads: every configured model's metrics, or one experiment's; each method adds what its
    tables read (its `report_inputs`)."""
    models = config["models"] if experiment is None else methods.experiment_models(experiment, config)
    sub = {**config, "models": models}
    benchmarked = experiment is None or methods.experiments()[experiment].benchmarks
    inputs = {
        "toxicity": [paths.metrics(m, "toxicity") for m in models],
        "lm_eval": [paths.metrics(m, "lm_eval") for m in models if benchmarked and methods.owner(m).benchmarked],
        "annotations": [paths.annotations(m, "eval") for m in models],
        "oracle": [paths.metrics("oracle", "heldout")],
    }
    for option in REPORT_INPUTS:
        inputs.setdefault(option, [])
    for method in methods.registered():
        for option, files in (method.report_inputs(sub) if method.report_inputs else {}).items():
            inputs[option] = list(dict.fromkeys(inputs[option] + files))
    return inputs


def report_options() -> str:
    """The report's input options as a shell command's part, each given its input files (`{input.<option>}`)."""
    return " ".join(f"--{option.replace('_', '-')} {{input.{option}}}" for option in REPORT_INPUTS)


def report_outputs(experiment: str | None = None) -> dict[str, list[str] | str]:
    """Tables, plots and README of the whole report (results/) or of one experiment (results/experiments/<e>/)."""
    exp = None if experiment is None else methods.experiments()[experiment]
    tables = methods.tables() if exp is None else exp.tables
    plots = methods.plots() if exp is None else exp.plots
    root = paths.RESULTS if experiment is None else paths.experiment(experiment)
    return {
        "tables": [paths.table(t, ext, root) for t in tables for ext in ("md", "csv")],
        "plots": [paths.plot(p, root) for p in plots],
        "readme": f"{root}/README.md",
    }


def priority(wildcards: Any) -> int:
    """Snakemake priority of a job: the highest any method gives it (e.g. the longest chain of a schedule)."""
    job = dict(wildcards.items())
    return max((m.priority(job) for m in methods.registered() if m.priority), default=0)
