"""Held-out toxicity-classification items from the base model's labelled eval samples.

Balanced toxic / non-toxic texts, read by the lm-eval task attrctl_toxicity_cls next to its fixed items.
"""

from __future__ import annotations

from pathlib import Path

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--annotations", type=Path, required=True, help="input: the base model's annotated eval samples")
    p.add_argument("--out", type=Path, required=True, help="output: classification items (.jsonl)")
    args = p.parse_args(argv)
    cfg = cli.start(args)
    from attrctl.config import sections
    from attrctl.evaluation.benchmarks import classification_items
    from attrctl.io import read_jsonl, write_jsonl
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "classification_data", "eval") as run:
        run.log_params(sections(cfg, ["benchmarks"]))
        items = classification_items(read_jsonl(args.annotations), cfg.benchmarks.cls_items_per_class, cfg.seed)
        write_jsonl(args.out, items)
        toxic = sum(i["label"] for i in items)
        run.log_metrics({"num_items": len(items), "num_toxic": toxic})
    print(f"{len(items)} held-out classification items ({toxic} toxic)")


if __name__ == "__main__":
    main()
