"""Load the prompt source and write the deterministic train/eval split.

The source is any form data.prompts takes (the embedded set, a file, a `save_to_disk` directory,
`hf:<dataset>`); the split is stratified by prompt subset and seeded. With data.eval_prompts, all of the source
trains and all of the eval source evaluates.

Options:
  --source NAME  prompt source (a file or directory, or hf:<dataset>)
  [--eval-prompts NAME]  a separate source of eval prompts (data.eval_prompts)
  --train PATH   output: train prompts (.jsonl)
  --eval PATH    output: eval prompts (.jsonl)
"""

from __future__ import annotations

from collections import Counter

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import data
    from attrctl.io import write_jsonl
    from attrctl.tracking import stage_run

    try:
        evals = data.load_prompts(args.eval_prompts, cfg.data) if args.eval_prompts else None
        train, evals = data.split(data.load_prompts(args.source, cfg.data), cfg.data, cfg.seed, evals)
    except data.PromptError as err:
        cli.fail(str(err))
    with stage_run(cfg, args.params, "prepare_data", "prompts") as run:
        if not args.source.startswith("hf:"):
            run.log_input(args.source, "prompts")
        write_jsonl(args.train, train)
        write_jsonl(args.eval, evals)
        counts = {
            f"{split}/{subset}": n
            for split, rows in (("train", train), ("eval", evals))
            for subset, n in Counter(p["subset"] for p in rows).items()
        }
        run.log_metrics({"num_train": len(train), "num_eval": len(evals), **counts})
    print(f"prompts: {len(train)} train, {len(evals)} eval ({dict(sorted(counts.items()))})")


if __name__ == "__main__":
    main()
