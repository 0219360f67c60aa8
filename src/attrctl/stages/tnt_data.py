"""TNT training data: the base model's own generations on train block 1 (sampled and greedy) with token weights
(−1 on the negative tokens of the annotation variant, +1 elsewhere): results/data/tnt_train.jsonl."""

from __future__ import annotations

import random

from attrctl import paths
from attrctl.config import sections
from attrctl.io import read_jsonl, write_jsonl
from attrctl.negatives import token_weights
from attrctl.stages import cli


def examples(rows: list[dict], variant: str, max_negatives: int, positives_per_negative: float, seed: int):
    """Every sample with negative tokens (up to `max_negatives`) and a share of the others as positives."""
    rng = random.Random(seed)
    usable = [r for r in rows if r["token_ids"]]
    negatives = [r for r in usable if r.get("neg_tokens")]
    positives = [r for r in usable if not r.get("neg_tokens")]
    rng.shuffle(negatives)
    rng.shuffle(positives)
    negatives = negatives[:max_negatives]
    positives = positives[: round(len(negatives) * positives_per_negative)]
    out = [
        {
            "prompt_ids": r["prompt_ids"],
            "target_ids": r["token_ids"],
            "text": r["text"],
            "weights": token_weights(len(r["token_ids"]), r.get("neg_tokens", []), variant),
            "negative": bool(r.get("neg_tokens")),
        }
        for r in negatives + positives
    ]
    rng.shuffle(out)
    return out


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__).parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl.tracking import stage_run

    rows = read_jsonl(paths.annotations(paths.BASE, "train1")) + read_jsonl(
        paths.annotations(paths.BASE, "train1_greedy")
    )
    data = examples(rows, cfg.tnt.variant, cfg.tnt.max_negatives, cfg.tnt.positives_per_negative, cfg.seed)
    if not any(e["negative"] for e in data):
        raise SystemExit(
            "tnt_data: no sample of train block 1 has negative tokens, so TNT has nothing to unlearn; "
            "lower tnt.flag_fraction or oracle.threshold, or sample more (nado.samples_per_prompt)"
        )
    write_jsonl(paths.TNT_DATA, data)
    n_neg = sum(e["negative"] for e in data)
    tokens = sum(w < 0 for e in data for w in e["weights"])
    with stage_run(cfg, args.params, "tnt_data", "tnt_train") as run:
        run.log_params(sections(cfg, ["tnt", "seed"]))
        run.log_metrics({"num_examples": len(data), "num_negative_examples": n_neg, "num_negative_tokens": tokens})
    print(f"{len(data)} examples, {n_neg} with negatives ({tokens} negative tokens)")


if __name__ == "__main__":
    main()
