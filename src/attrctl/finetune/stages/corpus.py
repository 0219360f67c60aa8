"""Build the fine-tuning corpus: ToxiGen statements after group prompts (constraint domain), toxicity
classification, and the base model's benign continuations of neutral train prompts (general domain).

Options:
  --statements PATH  input: ToxiGen statements (.jsonl)
  --samples PATH     input: the base model's annotated train samples
  --tokenizer PATH   input: the base model's directory
  [--oracle PATH]    input: the trained embedding oracle's directory, when one is used
  --out PATH         output: the corpus (.jsonl)
  --heldout PATH     output: the held-out task set: held-out examples and the oracle half's statements (.jsonl)
"""

from __future__ import annotations

import random
from collections import Counter

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)

    from attrctl import models, oracles, toxigen
    from attrctl.finetune import corpus
    from attrctl.io import read_jsonl, write_jsonl
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "corpus", "corpus") as run:
        oracle_half, statements = toxigen.split(toxigen.load(args.statements), cfg.seed)
        oracle = oracles.build(cfg.oracle.name, cfg.oracle, args.oracle)
        for half in (statements, oracle_half):
            for s, score in zip(half, oracles.checked(oracle, [s["text"] for s in half]), strict=True):
                s["flagged"] = int(score > cfg.oracle.threshold)
        tokenizer = models.load_tokenizer(args.tokenizer)
        examples = corpus.build(statements, read_jsonl(args.samples), cfg.corpus, tokenizer, cfg.seed)
        unseen = corpus.statement_examples(oracle_half, tokenizer, random.Random(cfg.seed + 2))  # no model trains on
        examples, heldout = corpus.split_heldout(examples, unseen, cfg.corpus.heldout_fraction, cfg.seed)
        write_jsonl(args.out, examples)
        write_jsonl(args.heldout, heldout)
        counts = Counter(f"{e['domain']}/{e['kind']}/{'flagged' if e['flagged'] else 'clean'}" for e in examples)
        run.log_metrics({"num_examples": len(examples), "num_heldout": len(heldout), **counts})
    print(f"{len(examples)} examples, {len(heldout)} held out: {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
