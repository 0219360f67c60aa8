"""Sample continuations of a prompt split from a model.

Splits: `eval` (sample.k per prompt: the toxicity protocol) and `train<k>` (block k of the train prompts,
nado.samples_per_prompt per prompt: the labelled samples NADO_k trains on); `<split>_greedy` decodes one greedy
continuation per prompt (TNT's data and evaluation). A decoding-time model (a directory holding guided.json, e.g.
nado_decode) is loaded by the module its method declares, and samples the way that module's sampler does.

Options:
  --name NAME     the model's name (MLflow run)
  --model PATH    input: model directory
  --prompts PATH  input: prompts (.jsonl)
  --out PATH      output: samples (.jsonl)
  --timing PATH   output: wall time and tokens/s (.json)
"""

from __future__ import annotations

import re
import time

from attrctl.stages import cli


def split_arg(value: str) -> str:
    if not re.fullmatch(r"(eval|train[1-9]\d*)(_greedy)?", value):
        raise ValueError(f"--split {value!r}: allowed: eval, train1, train2, ..., each optionally with _greedy")
    return value


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--split", type=split_arg, required=True, help="eval, train<k>, or either with _greedy")
    args, cfg = cli.start(p, argv)
    from attrctl import data, models, runtime
    from attrctl.io import read_jsonl, write_json, write_jsonl
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "sample", f"{args.name}/{args.split}", model=args.name, split=args.split) as run:
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        sampler = models.load_for_sampling(args.model, precision.device, precision.frozen)
        prompts, sample_cfg = read_jsonl(args.prompts), cfg.sample
        prompt_split = args.split.removesuffix("_greedy")
        if prompt_split != "eval":
            prompts = data.block(prompts, int(prompt_split.removeprefix("train")), cfg.data.train_blocks)
            sample_cfg = sample_cfg.model_copy(update={"k": cfg.nado.samples_per_prompt})
        if args.split.endswith("_greedy"):  # one greedy continuation per prompt (the TNT protocol)
            sample_cfg = sample_cfg.model_copy(update={"greedy": True, "k": 1})
        start = time.perf_counter()
        rows = sampler(
            prompts, sample_cfg, cfg.seed, cfg.data.max_prompt_tokens, desc=f"sample {args.name}/{args.split}"
        )
        seconds = time.perf_counter() - start
        write_jsonl(args.out, rows)
        tokens = sum(len(r["token_ids"]) for r in rows)
        timing = {"sample_seconds": seconds, "sample_tokens": tokens, "sample_tokens_per_s": tokens / seconds}
        write_json(args.timing, timing)
        run.log_metrics(timing)
    print(f"{len(rows)} samples, {tokens} tokens in {seconds:.1f}s ({tokens / seconds:.0f} tokens/s)")


if __name__ == "__main__":
    main()
