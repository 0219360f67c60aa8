"""Build the fine-tuning corpus from the base model's labelled samples of train block 1:
results/data/corpus.jsonl (classification task, challenging continuations, general text; domain-tagged)."""

from __future__ import annotations

from collections import Counter

from attrctl import corpus, paths
from attrctl.config import sections
from attrctl.io import read_jsonl, write_jsonl
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__).parse_args(argv)
    cfg = cli.start(args.params)
    from transformers import AutoTokenizer

    from attrctl.tracking import stage_run

    tokenizer = AutoTokenizer.from_pretrained(str(paths.model_dir(paths.BASE)))
    examples = corpus.build(read_jsonl(paths.annotations(paths.BASE, "train1")), cfg.corpus, tokenizer, cfg.seed)
    write_jsonl(paths.CORPUS, examples)
    counts = Counter(f"{e['domain']}/{e['kind']}/{'flagged' if e['flagged'] else 'clean'}" for e in examples)
    with stage_run(cfg, args.params, "corpus", "corpus") as run:
        run.log_params(sections(cfg, ["corpus", "seed"]))
        run.log_metrics({"num_examples": len(examples), **counts})
    print(f"{len(examples)} examples: {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
