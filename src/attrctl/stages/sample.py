"""Sample continuations of a prompt split from a model: results/samples/<model>/<split>.jsonl (and its timing,
results/metrics/<model>/sample_<split>.json).

Splits: `eval` (k = sample.k per prompt, the toxicity protocol) and `train<k>` (block k of the train prompts,
nado.samples_per_prompt per prompt: the labelled samples NADO_k trains on); `<split>_greedy` decodes one
greedy continuation per prompt (TNT's data and evaluation). Guided models (nado_decode) sample
from q* through a logits processor.
"""

from __future__ import annotations

import re
import time

from attrctl import paths
from attrctl.config import sections
from attrctl.io import read_jsonl, write_json, write_jsonl
from attrctl.stages import cli


def split_arg(value: str) -> str:
    if not re.fullmatch(r"(eval|train[1-9]\d*)(_greedy)?", value):
        raise ValueError(f"--split {value!r}: allowed: eval, train1, train2, ..., each optionally with _greedy")
    return value


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", default=paths.BASE, help="model name under results/models/ (default: base)")
    p.add_argument("--split", default="eval", type=split_arg, help="eval (default) or train<k>")
    args = p.parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl import data, guidance, runtime, sampling
    from attrctl.tracking import stage_run

    device = runtime.setup_torch(cfg.runtime, cfg.seed)
    model, tokenizer, processor = guidance.load_for_sampling(
        paths.model_dir(args.model), device, runtime.dtype_for(device)
    )
    sample_cfg = cfg.sample
    prompt_split, greedy = args.split.removesuffix("_greedy"), args.split.endswith("_greedy")
    if prompt_split == "eval":
        prompts = read_jsonl(paths.prompts("eval"))
    else:
        block = int(prompt_split.removeprefix("train"))
        prompts = data.block(read_jsonl(paths.prompts("train")), block, cfg.data.train_blocks)
        sample_cfg = cfg.sample.model_copy(update={"k": cfg.nado.samples_per_prompt})
    if greedy:  # one greedy continuation per prompt (the TNT protocol)
        sample_cfg = sample_cfg.model_copy(update={"greedy": True, "k": 1})
    start = time.perf_counter()
    rows = sampling.generate(
        model,
        tokenizer,
        prompts,
        sample_cfg,
        cfg.seed,
        cfg.data.max_prompt_tokens,
        logits_processor=processor,
        desc=f"sample {args.model}/{args.split}",
    )
    seconds = time.perf_counter() - start
    write_jsonl(paths.samples(args.model, args.split), rows)
    tokens = sum(len(r["token_ids"]) for r in rows)
    timing = {"sample_seconds": seconds, "sample_tokens": tokens, "sample_tokens_per_s": tokens / seconds}
    write_json(paths.metrics(args.model, f"sample_{args.split}"), timing)
    with stage_run(cfg, args.params, "sample", f"{args.model}/{args.split}", model=args.model, split=args.split) as run:
        run.log_params(sections(cfg, ["sample", "seed"]))
        run.log_metrics(timing)
    print(f"{len(rows)} samples, {tokens} tokens in {seconds:.1f}s ({tokens / seconds:.0f} tokens/s)")


if __name__ == "__main__":
    main()
