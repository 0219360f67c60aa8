"""TNT training data: the base model's own generations of train block 1 (sampled and greedy) with token
weights: −1 on the negative tokens of each oracle-flagged sample (the words that carry the oracle's evidence,
mapped to their tokens), +1 elsewhere; a share of unflagged samples join as positives.

Options:
  --samples PATHS   input: annotated base samples
  --tokenizer PATH  input: the base model's directory
  [--oracle PATH]   input: the trained embedding oracle's directory, when one is used
  --out PATH        output: TNT training examples (.jsonl)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)

    from attrctl import models, oracles
    from attrctl.io import read_jsonl, write_jsonl
    from attrctl.tnt import data
    from attrctl.tnt.annotate import Annotator
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "tnt_data", "tnt_train") as run:
        oracle = oracles.build(cfg.oracle.name, cfg.oracle, args.oracle)
        tokenizer = models.load_tokenizer(args.tokenizer)
        rows = [r for path in args.samples for r in read_jsonl(path)]
        data.annotate(rows, Annotator(oracle, tokenizer, cfg.tnt.mechanism, cfg.tnt.flag_fraction))
        examples = data.examples(rows, cfg.tnt.variant, cfg.tnt.max_negatives, cfg.tnt.positives_per_negative, cfg.seed)
        if not any(e["negative"] for e in examples):
            raise SystemExit(
                "tnt_data: no sample of train block 1 has negative tokens, so TNT has nothing to unlearn; "
                "lower tnt.flag_fraction or oracle.threshold, or sample more (nado.samples_per_prompt)"
            )
        write_jsonl(args.out, examples)
        n_neg = sum(e["negative"] for e in examples)
        tokens = sum(w < 0 for e in examples for w in e["weights"])
        run.log_metrics({"num_examples": len(examples), "num_negative_examples": n_neg, "num_negative_tokens": tokens})
    print(f"{len(examples)} examples, {n_neg} with negatives ({tokens} negative tokens)")


if __name__ == "__main__":
    main()
