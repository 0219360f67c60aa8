"""Paper tables from the per-model metric files: Markdown for reading, CSV for tools.

Rows are the configured models that have metric files, so methods added later appear without touching this.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from attrctl import paths
from attrctl.evaluation import TOXICITY_METRICS
from attrctl.io import read_json

TOXICITY_COLUMNS = [*TOXICITY_METRICS, "cond_ppl", "dist_1", "dist_2", "dist_3"]


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
