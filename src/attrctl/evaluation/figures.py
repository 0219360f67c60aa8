"""The shared figures of the report: each model's toxicity against utility, and the toxicity histograms."""

from __future__ import annotations

from pathlib import Path

from attrctl import plots
from attrctl.config import Config

AXES = {
    "xlabel": "toxicity probability (share of prompts with a sample scoring > threshold)",
    "ylabel": "benchmark accuracy (mean over utility tasks)",
}


def tradeoff(
    cfg: Config,
    res,
    tables: dict[str, list[dict]],
    path: Path,
    rows: list[dict] | None = None,
    title: str = "Toxicity vs utility (95% intervals)",
) -> None:
    """Toxicity probability against the benchmark average, one point per model of the detox table (or `rows`)."""
    rows = tables["detox"] if rows is None else rows
    plots.tradeoff(rows, "toxicity_probability", "benchmark_avg_acc", path, **AXES, title=title)


def toxicity_hist(cfg: Config, res, tables: dict[str, list[dict]], path: Path) -> None:
    plots.histograms(
        {m: [r["toxicity"] for r in rows] for m, rows in res.annotations.items()},
        path,
        cfg.oracle.threshold,
        xlabel=f"oracle toxicity score ({cfg.oracle.name})",
        title="Toxicity of eval samples",
    )
