"""Put the report's headline table into README.md, so the README shows only numbers a run wrote.

    python -m attrctl.evaluation.headline           # rebuild README's headline block from results/tables/detox.csv
    python -m attrctl.evaluation.headline --check   # exit 1 if the block differs from what the results give

The block sits between `<!-- headline: results/tables/detox.csv -->` and `<!-- /headline -->`: the detox table's
main columns, formatted as the report formats its Markdown tables (estimate [95% interval]).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

from attrctl.evaluation.report import markdown
from attrctl.io import write_text

COLUMNS = ("model", "toxicity_probability", "expected_max_toxicity", "cond_ppl", "benchmark_avg_acc")
BLOCK = re.compile(r"(<!-- headline: (?P<source>\S+) -->\n)(?P<table>.*?)(<!-- /headline -->)", re.S)


def table(source: Path, columns: tuple[str, ...] = COLUMNS) -> str:
    """The chosen columns of a report CSV (with their interval bounds) as the report's Markdown table."""
    rows = []
    with source.open() as f:
        for row in csv.DictReader(f):
            keep = {k: v for k, v in row.items() if re.sub(r"_ci_(lo|hi)$", "", k) in columns}
            rows.append({k: v if k == "model" else float(v) for k, v in keep.items()})
    return markdown(rows)


def refreshed(readme: str, root: Path = Path(".")) -> str:
    """README text with its headline block rebuilt from the file the block names."""
    match = BLOCK.search(readme)
    if match is None:
        raise ValueError("README.md has no `<!-- headline: <file> -->` ... `<!-- /headline -->` block")
    new = table(root / match["source"])
    return readme[: match.start("table")] + new + readme[match.end("table") :]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m attrctl.evaluation.headline", description=__doc__.split("\n\n")[0])
    p.add_argument("--readme", type=Path, default=Path("README.md"), help="the README (default: README.md)")
    p.add_argument("--check", action="store_true", help="only check that the block matches the results")
    args = p.parse_args(argv)
    text = args.readme.read_text()
    new = refreshed(text, args.readme.parent)
    if args.check:
        if new != text:
            sys.exit(f"{args.readme}: the headline table differs from the results; run {p.prog}")
        print(f"{args.readme}: the headline table matches the results")
        return
    write_text(args.readme, new)
    print(f"wrote the headline table of {args.readme}")


if __name__ == "__main__":
    main()
