"""Held-out toxicity-classification items from the base model's labelled eval samples.

Balanced toxic / non-toxic texts, read by the lm-eval task attrctl_toxicity_cls next to its fixed items.

Options:
  --annotations PATH  input: the base model's annotated eval samples
  --out PATH          output: classification items (.jsonl)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl.evaluation.benchmarks import classification_items
    from attrctl.io import read_jsonl, write_jsonl
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "classification_data", "eval") as run:
        items = classification_items(read_jsonl(args.annotations), cfg.benchmarks.cls_items_per_class, cfg.seed)
        write_jsonl(args.out, items)
        toxic = sum(i["label"] for i in items)
        run.log_metrics({"num_items": len(items), "num_toxic": toxic})
    print(f"{len(items)} held-out classification items ({toxic} toxic)")


if __name__ == "__main__":
    main()
