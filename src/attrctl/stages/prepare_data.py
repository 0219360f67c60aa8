"""Load the configured prompts and write the deterministic train/eval split under results/data/."""

from __future__ import annotations

from collections import Counter

from attrctl import data, paths
from attrctl.config import sections
from attrctl.io import write_jsonl
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__).parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl.tracking import stage_run

    train, evals = data.split(data.load_prompts(cfg.data), cfg.data, cfg.seed)
    write_jsonl(paths.prompts("train"), train)
    write_jsonl(paths.prompts("eval"), evals)
    counts = {
        f"{split}/{subset}": n
        for split, rows in (("train", train), ("eval", evals))
        for subset, n in Counter(p["subset"] for p in rows).items()
    }
    with stage_run(cfg, args.params, "prepare_data", "prompts") as run:
        run.log_params(sections(cfg, ["data", "seed"]))
        run.log_metrics({"num_train": len(train), "num_eval": len(evals), **counts})
    print(f"prompts: {len(train)} train, {len(evals)} eval ({dict(sorted(counts.items()))})")


if __name__ == "__main__":
    main()
