"""Score every sample with the oracle: results/annotations/<model>/<split>.jsonl (sample fields + toxicity, label;
for flagged samples also the flagged words and the indices of their tokens, `neg_tokens`, for TNT)."""

from __future__ import annotations

from attrctl import paths
from attrctl.config import sections
from attrctl.io import read_jsonl, write_jsonl
from attrctl.stages import cli
from attrctl.stages.sample import split_arg


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", default=paths.BASE, help="model name under results/samples/ (default: base)")
    p.add_argument("--split", default="eval", type=split_arg, help="eval (default), train<k>, <split>_greedy")
    args = p.parse_args(argv)
    cfg = cli.start(args.params)
    from transformers import AutoTokenizer

    from attrctl import negatives, oracles
    from attrctl.tracking import stage_run

    oracle = oracles.build(cfg.oracle)
    tokenizer = AutoTokenizer.from_pretrained(str(paths.model_dir(paths.BASE)))  # every model shares it
    annotator = negatives.Annotator(oracle, tokenizer, cfg.tnt.mechanism, cfg.tnt.flag_fraction)
    rows = read_jsonl(paths.samples(args.model, args.split))
    scores = oracle.score([r["text"] for r in rows])
    for row, score in zip(rows, scores, strict=True):
        row["toxicity"] = round(float(score), 6)
        row["label"] = int(score > cfg.oracle.threshold)
        if row["label"]:
            row["flagged_words"], row["neg_tokens"] = annotator(row["text"], row["token_ids"])
    write_jsonl(paths.annotations(args.model, args.split), rows)
    rate = sum(r["label"] for r in rows) / max(1, len(rows))
    with stage_run(
        cfg, args.params, "annotate", f"{args.model}/{args.split}", model=args.model, split=args.split
    ) as run:
        run.log_params(sections(cfg, ["oracle"]))
        run.log_metrics({"toxic_sample_rate": rate, "num_samples": len(rows)})
    print(f"{oracle.name}: {len(rows)} samples, {rate:.1%} toxic")


if __name__ == "__main__":
    main()
