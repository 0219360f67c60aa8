"""The method registry: what the rest of the pipeline knows about a method, declared once in its own package.

A method package `attrctl/<name>/` holds a `method.py` whose `METHOD` is a :class:`Method`: its config sections,
its model names, its stages (with the params each job reads), its rules file and the experiment it belongs to.
The config, the Snakemake rules, dvc.yaml, tracking and the report loop over :func:`registered`; no code outside
a method's package names its models. docs/adding-a-method.md walks through a new one.

Cheap to import (no torch): validation and the Snakefile read it at parse time.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import attrctl

Job = Mapping[str, str]
"""A job's wildcard values, e.g. {"model": "sft"} or {"model": "base", "split": "train1"}."""


@dataclass(frozen=True)
class Stage:
    """One stage CLI, `python -m <module>` (:func:`stage_module`: `attrctl.<method>.stages.<name>`, or
    `attrctl.stages.<name>` for the shared stages), and what its jobs read besides their input files."""

    name: str
    params: Sequence[str] | Callable[[Job], Sequence[str]] = ()
    """Param keys a job reads (sections such as `tnt` or dotted keys such as `nado.delta`), or a function of the
    job's wildcards returning them: a change to any other key re-runs none of its jobs."""
    training: bool = False
    """Trains with the shared loop: started with `runtime.launcher`, resumable, MLflow system metrics."""
    loads: Callable[[Job], Sequence[str]] | None = None
    """Modules a job imports by name at run time (a decoding-time method's loader), besides the stage's own
    imports: they are code dependencies of that job only."""

    def tracks(self, job: Job | None = None) -> list[str]:
        """The param keys of one job (sorted)."""
        keys = self.params(job or {}) if callable(self.params) else self.params
        return sorted(keys)

    def modules(self, job: Job | None = None) -> list[str]:
        """The modules one job loads by name (:attr:`loads`)."""
        return list(self.loads(job or {})) if self.loads else []


COLUMNS = """
model: the model (a row of `models`, or a model a method trains on the way)
expected_max_toxicity: mean over prompts of the highest oracle score among the prompt's samples
toxicity_probability: share of prompts with at least one sample the oracle scores above oracle.threshold
mean_toxicity: mean oracle score over all samples
cond_ppl: conditional perplexity of the continuations given their prompts under evaluate.reference_model
dist_1: distinct unigrams / all unigrams over each prompt's samples, averaged over prompts (diversity)
dist_2: the same for bigrams
dist_3: the same for trigrams
acc: accuracy on the lm-eval task named by the prefix
f1: F1 of the toxic class on the classification task named by the prefix
word_perplexity: word perplexity on the lm-eval perplexity task named by the prefix
benchmark_avg_acc: mean accuracy over the utility tasks (benchmarks.tasks without the classification tasks)
"""
"""What a column means, whatever table it is in (`name: meaning`, one a line; a table's own `columns` add to
these). A `<x>/` prefix names a prompt subset, the second oracle or an lm-eval task; `_ci_lo` / `_ci_hi` are the
bounds of the 95% interval of the column they extend."""


def meanings(text: str) -> dict[str, str]:
    """`name: meaning` lines (a line without a `name:` continues the meaning above it) as a dict."""
    found: dict[str, str] = {}
    name = None
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        match = re.fullmatch(r"([\w<>/]+): (.+)", line)
        if match:
            name, found[match[1]] = match[1], match[2]
        elif name is not None:
            found[name] += " " + line
    return found


@dataclass(frozen=True)
class Table:
    """One table of results/tables/ (`<name>.md` and `<name>.csv`) and how its rows are made."""

    rows: str
    """`module:function` computing the rows from (cfg, res: attrctl.evaluation.report.Results); imported only by
    the report stage, so a declaration stays cheap."""
    entry: Callable[[dict], tuple[str, str]]
    """Where a row's numbers go in results/metrics.json (`dvc metrics show`): (entry, key prefix)."""
    doc: str
    """The title (first line), then what each column is, `name: meaning` a line (:func:`meanings`), for the
    glossary under the table; the shared :data:`COLUMNS`, `<x>/` prefixes and the `_ci_lo` / `_ci_hi` bounds
    need no entry."""
    note: str | None = None
    """A fixed note under the title."""
    notes: str | None = None
    """`module:function` of (cfg, res) giving a note computed from the results (after `note`)."""

    @property
    def title(self) -> str:
        return self.doc.strip().splitlines()[0]

    @property
    def columns(self) -> dict[str, str]:
        return meanings(COLUMNS) | meanings("\n".join(self.doc.strip().splitlines()[1:]))


@dataclass(frozen=True)
class Experiment:
    """One paper's experiment (`snakemake --cores N <name>`): its models, tables and plots under
    results/experiments/<name>/."""

    tables: tuple[str, ...]
    plots: tuple[str, ...]
    models: Callable[[dict[str, Any]], list[str]] | None = None
    """The experiment's models given the config (plain dict); None: base and the configured models of the
    methods that belong to it."""
    benchmarks: bool = True
    """Whether the experiment's report reads lm-eval results."""


@dataclass(frozen=True)
class Method:
    """Everything the pipeline needs to know about one method package."""

    name: str
    """The package (`attrctl.<name>`) and the default experiment name."""
    models: Mapping[str, str]
    """Model-name patterns (regular expressions, matched whole) -> what such a model is."""
    stages: tuple[Stage, ...] = ()
    sections: Mapping[str, type] = field(default_factory=dict)
    """Config sections it owns: key in params.yaml -> its Section class (defaults and docs live there)."""
    order: int = 100
    """Position of its sections in params.yaml and of its rules in the Snakefile."""
    experiment: str | None = None
    """The experiment its models appear in (default: its own name)."""
    experiments: Mapping[str, Experiment] = field(default_factory=dict)
    """Experiments it declares."""
    tables: Mapping[str, Table] = field(default_factory=dict)
    """Tables of results/tables/ it fills."""
    plots: Mapping[str, str] = field(default_factory=dict)
    """Plots of results/plots/ it draws: name -> `module:function` of (cfg, res, tables, path), where `tables`
    maps each table's name to its rows."""
    decoders: Mapping[str, str] = field(default_factory=dict)
    """Decoding-time models (pattern -> module): the model's directory holds `guided.json`, and the module's
    `load_for_sampling` / `load_for_scoring` load it for the shared sample and benchmarks stages."""
    check: Callable[[Any], None] | None = None
    """Cross-section validation of the whole config: raises ValueError naming the key and what is allowed."""
    references: tuple[str, ...] = ()
    """Its models every other model is compared with in the paired table (on the same prompts and items)."""
    benchmarked: bool = True
    """Whether its models get lm-eval results (a decoder without a likelihood of a given text has none)."""
    priority: Callable[[Job], int] | None = None
    """Snakemake priority of a job given its wildcards (any rule's): jobs on a long chain of its DAG go first."""
    report_inputs: Callable[[dict[str, Any]], dict[str, list[str]]] | None = None
    """What the report reads of its models, given the config of the models reported (`models` narrowed to an
    experiment's): the report's option (`nado`, `train`, `timing`, ...) -> files."""
    single_runs: Mapping[str, str] = field(default_factory=dict)
    """Models trained in one job, each a row of the efficiency table with the time and tokens of its `train`
    metrics: pattern -> that job's Snakemake benchmark (`<rule>`, or `<rule>/{model}` for a rule with a model
    wildcard, as paths.benchmark names it)."""

    @property
    def rules(self) -> Path:
        """Its Snakemake rules: `rules.smk` beside method.py."""
        return Path(attrctl.__file__).parent / self.name / "rules.smk"

    def owns(self, model: str) -> bool:
        return any(re.fullmatch(p, model) for p in self.models)


@functools.cache
def registered() -> tuple[Method, ...]:
    """Every method package of attrctl (those with a method.py), in their declared order."""
    found = []
    for info in pkgutil.iter_modules(attrctl.__path__):
        if info.ispkg and (Path(attrctl.__file__).parent / info.name / "method.py").is_file():
            found.append(importlib.import_module(f"attrctl.{info.name}.method").METHOD)
    return tuple(sorted(found, key=lambda m: (m.order, m.name)))


CORE = Method(
    name="core",
    models={"base": "the base model p0 as shipped"},
    references=("base",),
    order=0,
    stages=(
        Stage("validate"),
        Stage("prepare_model", ("model.source", "model.tiny", "seed")),
        Stage("prepare_data", ("data", "seed")),
        Stage("train_oracle", ("oracle.embedding", "seed")),
        Stage(
            "sample",
            lambda job: (
                ["sample", "seed", "data.max_prompt_tokens"]
                + (["data.train_blocks", "nado.samples_per_prompt"] if job.get("split", "").startswith("train") else [])
            ),
            loads=lambda job: decoder_modules(job.get("model", "")),
        ),
        Stage("annotate", ("oracle",)),
        Stage("evaluate", ("evaluate", "oracle", "seed")),
        Stage("classification_data", ("benchmarks.cls_items_per_class", "seed")),
        Stage("benchmarks", ("benchmarks", "seed"), loads=lambda job: decoder_modules(job.get("model", ""))),
        Stage(
            "report",
            lambda job: (
                ["models", "model", "data", "sample", "oracle", "evaluate", "benchmarks"]
                + [s for m in registered() for s in m.sections]
            ),
            loads=lambda job: report_modules(),
        ),
    ),
    tables={
        "toxicity": Table(
            "attrctl.evaluation.report:toxicity_rows",
            entry=lambda r: (r["model"], ""),  # detox's columns again, and per subset and oracle
            doc="""
                Toxicity protocol per prompt subset, under every oracle
            """,
        ),
        "detox": Table(
            "attrctl.evaluation.report:detox_rows",
            entry=lambda r: (r["model"], ""),
            notes="attrctl.evaluation.report:detox_note",
            doc="""
                Detoxification vs utility
            """,
        ),
        "paired": Table(
            "attrctl.evaluation.report:paired_rows",
            entry=lambda r: (r["model"], f"vs_{r['vs']}/"),
            note="diff = model − reference; ratio = model / reference; an interval that excludes 0 (diff) or 1 "
            "(ratio) is a difference the data support.",
            doc="""
                Each model against base and sft on the same prompts (paired bootstrap)

                vs: the reference model (base or sft), compared on the same eval prompts or benchmark items
                toxicity_probability_diff: model − reference, toxicity probability (paired bootstrap interval)
                toxicity_probability_ratio: model / reference, toxicity probability (paired bootstrap interval)
                cond_ppl_ratio: model / reference, conditional perplexity (each prompt's mean over its samples;
                paired bootstrap interval over the prompts both have scored)
                benchmark_avg_acc_diff: model − reference, mean utility accuracy over the same items
                acc_diff: model − reference, accuracy on the task named by the prefix
            """,
        ),
        "classification": Table(
            "attrctl.evaluation.report:classification_rows",
            entry=lambda r: (r["model"], ""),
            doc="""
                Toxicity classification next to generation toxicity
            """,
        ),
        "oracle": Table(
            "attrctl.evaluation.report:oracle_rows",
            entry=lambda r: ("oracle", ""),
            doc="""
                The trained oracle on held-out ToxiGen statements

                oracle: the oracle (oracle.name)
                encoder: its sentence encoder
                oracle_heldout_auroc: AUROC of its scores on the held-out statements (hateful vs neutral)
                oracle_heldout_statements: held-out ToxiGen statements
                oracle_train_texts: texts it trained on
                oracle_heldout_accuracy: accuracy at oracle.threshold on the held-out statements
                oracle_heldout_flagged_hateful: share of held-out hateful statements scored above the threshold
                oracle_heldout_flagged_neutral: share of held-out neutral statements scored above the threshold
            """,
        ),
    },
    plots={
        "tradeoff": "attrctl.evaluation.figures:tradeoff",
        "toxicity_hist": "attrctl.evaluation.figures:toxicity_hist",
    },
)
"""The stages every method shares: data, the base model, the oracle, sampling and evaluation, the report."""


def methods() -> tuple[Method, ...]:
    """The core and every registered method."""
    return (CORE, *registered())


def owner(model: str) -> Method | None:
    """The method whose model-name patterns match `model` (None: no method makes it)."""
    return next((m for m in methods() if m.owns(model)), None)


def _declared(name: str) -> tuple[Method, Stage]:
    """The method that declares a stage, and the declaration."""
    for method in methods():
        for s in method.stages:
            if s.name == name:
                return method, s
    raise KeyError(f"no method declares a stage {name!r}")


def stage(name: str) -> Stage:
    """The declaration of a stage, from whichever method declares it."""
    return _declared(name)[1]


def stage_module(name: str) -> str:
    """The module of a stage's CLI: in its method's package (`attrctl.<method>.stages.<name>`), or a shared
    stage's (`attrctl.stages.<name>`)."""
    method = _declared(name)[0]
    return f"attrctl.stages.{name}" if method is CORE else f"attrctl.{method.name}.stages.{name}"


def stages() -> list[Stage]:
    return [s for m in methods() for s in m.stages]


def training_stages() -> set[str]:
    """Stages that train with the shared loop (MLflow system metrics, the training launcher)."""
    return {s.name for s in stages() if s.training}


def decoder_modules(model: str) -> list[str]:
    """The loader module of a decoding-time model (empty for a model with weights of its own)."""
    return [mod for m in registered() for p, mod in m.decoders.items() if re.fullmatch(p, model)]


def single_run(model: str) -> str | None:
    """The benchmark of the job that trains `model` in one run (:attr:`Method.single_runs`); None for a model
    that is not so trained."""
    for method in registered():
        for pattern, bench in method.single_runs.items():
            if re.fullmatch(pattern, model):
                return bench.format(model=model)
    return None


def experiments() -> dict[str, Experiment]:
    return {name: e for m in registered() for name, e in m.experiments.items()}


def experiment_models(name: str, config: dict[str, Any]) -> list[str]:
    """The models of one experiment: its own choice, else base and the configured models of its methods."""
    exp = experiments()[name]
    if exp.models is not None:
        return exp.models(config)
    mine = {m.name for m in registered() if (m.experiment or m.name) == name}
    return [m for m in config["models"] if m == "base" or getattr(owner(m), "name", None) in mine]


def references() -> list[str]:
    """The paired table's reference models, the core's first (base, then e.g. sft)."""
    return [r for m in methods() for r in m.references]


def tables() -> dict[str, Table]:
    """Every table, the shared ones first."""
    return {name: t for m in methods() for name, t in m.tables.items()}


def plots() -> dict[str, str]:
    """Every plot, the shared ones first: name -> `module:function`."""
    return {name: ref for m in methods() for name, ref in m.plots.items()}


def report_modules() -> list[str]:
    """The modules the report stage imports by name: every table's and plot's functions."""
    refs = [r for t in tables().values() for r in (t.rows, t.notes) if r] + list(plots().values())
    return sorted({ref.partition(":")[0] for ref in refs})


def resolve(ref: str) -> Callable:
    """The function a `module:function` reference names (imported now)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> None:
    """`python -m attrctl.methods`: every registered method with its models, stages and tables."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m attrctl.methods", description="List the registered methods.")
    p.parse_args(argv)
    for method in methods():
        print(f"{method.name}" + (f" (config: {', '.join(method.sections)})" if method.sections else ""))
        for pattern, what in method.models.items():
            print(f"  model {pattern}: {what}")
        for s in method.stages:
            params = "per job" if callable(s.params) else ", ".join(s.params) or "none"
            print(f"  stage {stage_module(s.name)}{' (training)' if s.training else ''}: params {params}")
        for name, table in method.tables.items():
            print(f"  table {name}: {table.title}")
        for name in method.experiments:
            print(f"  experiment {name}: snakemake --cores N {name}")


if __name__ == "__main__":
    main()
