"""Build the fine-tuning corpus: ToxiGen statements after group prompts (constraint domain), toxicity
classification, and the base model's benign continuations of neutral train prompts (general domain)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--statements", type=Path, required=True, help="input: ToxiGen statements (.jsonl)")
    p.add_argument("--samples", type=Path, required=True, help="input: the base model's annotated train samples")
    p.add_argument("--tokenizer", type=Path, required=True, help="input: the base model's directory")
    p.add_argument("--oracle", type=Path, help="input: the trained embedding oracle's directory, when one is used")
    p.add_argument("--out", type=Path, required=True, help="output: the corpus (.jsonl)")
    p.add_argument("--heldout", type=Path, required=True, help="output: its held-out examples (.jsonl)")
    args = p.parse_args(argv)
    cfg = cli.start(args)
    from transformers import AutoTokenizer

    from attrctl import oracles, toxigen
    from attrctl.config import sections
    from attrctl.finetune import corpus
    from attrctl.io import read_jsonl, write_jsonl
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "corpus", "corpus") as run:
        run.log_params(sections(cfg, ["corpus", "seed"]))
        _, statements = toxigen.split(toxigen.load(args.statements), cfg.seed)
        scores = oracles.checked(
            oracles.build(cfg.oracle.name, cfg.oracle, args.oracle), [s["text"] for s in statements]
        )
        for s, score in zip(statements, scores, strict=True):
            s["flagged"] = int(score > cfg.oracle.threshold)
        tokenizer = AutoTokenizer.from_pretrained(str(args.tokenizer))
        examples = corpus.build(statements, read_jsonl(args.samples), cfg.corpus, tokenizer, cfg.seed)
        examples, heldout = corpus.split_heldout(examples, cfg.corpus.heldout_fraction, cfg.seed)
        write_jsonl(args.out, examples)
        write_jsonl(args.heldout, heldout)
        counts = Counter(f"{e['domain']}/{e['kind']}/{'flagged' if e['flagged'] else 'clean'}" for e in examples)
        run.log_metrics({"num_examples": len(examples), **counts})
    print(f"{len(examples)} examples: {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
