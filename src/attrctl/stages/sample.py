"""Sample k continuations per prompt of a split from a model: results/samples/<model>/<split>.jsonl."""

from __future__ import annotations

import time

from attrctl import paths
from attrctl.config import sections
from attrctl.io import read_jsonl, write_jsonl
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", default=paths.BASE, help="model name under results/models/ (default: base)")
    p.add_argument("--split", default="eval", choices=["train", "eval"], help="prompt split (default: eval)")
    args = p.parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl import models, runtime, sampling
    from attrctl.tracking import stage_run

    device = runtime.setup_torch(cfg.runtime, cfg.seed)
    model, tokenizer = models.load(paths.model_dir(args.model), device, runtime.dtype_for(device))
    prompts = read_jsonl(paths.prompts(args.split))
    start = time.perf_counter()
    rows = sampling.generate(
        model,
        tokenizer,
        prompts,
        cfg.sample,
        cfg.seed,
        cfg.data.max_prompt_tokens,
        desc=f"sample {args.model}/{args.split}",
    )
    seconds = time.perf_counter() - start
    write_jsonl(paths.samples(args.model, args.split), rows)
    tokens = sum(len(r["token_ids"]) for r in rows)
    with stage_run(cfg, args.params, "sample", f"{args.model}/{args.split}", model=args.model, split=args.split) as run:
        run.log_params(sections(cfg, ["sample", "seed"]))
        run.log_metrics({"sample_seconds": seconds, "sample_tokens": tokens, "sample_tokens_per_s": tokens / seconds})
    print(f"{len(rows)} samples, {tokens} tokens in {seconds:.1f}s ({tokens / seconds:.0f} tokens/s)")


if __name__ == "__main__":
    main()
