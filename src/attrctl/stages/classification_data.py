"""Held-out toxicity-classification items from the base model's labelled eval samples:
results/data/toxicity_cls_eval.jsonl (balanced toxic / non-toxic; read by the attrctl_toxicity_cls task)."""

from __future__ import annotations

from attrctl import paths
from attrctl.benchmarks import classification_items
from attrctl.config import sections
from attrctl.io import read_jsonl, write_jsonl
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__).parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl.tracking import stage_run

    rows = read_jsonl(paths.annotations(paths.BASE, "eval"))
    items = classification_items(rows, cfg.benchmarks.cls_items_per_class, cfg.seed)
    write_jsonl(paths.classification_items("eval"), items)
    toxic = sum(i["label"] for i in items)
    with stage_run(cfg, args.params, "classification_data", "eval") as run:
        run.log_params(sections(cfg, ["benchmarks"]))
        run.log_metrics({"num_items": len(items), "num_toxic": toxic})
    print(f"{len(items)} held-out classification items ({toxic} toxic)")


if __name__ == "__main__":
    main()
