"""Tokens/s of attrctl's sampler against plain `model.generate`, same model, prompts and settings, one run.

    python bench/sampling.py [--model results/models/base] [--prompts 32] [--k 10] [--max-new-tokens 20]

Both decode the same eval prompts with nucleus sampling (top-p 0.9, temperature 1) into the same number of
rows per batch; `generate` gets `num_return_sequences=k`. Tokens are counted up to each row's end-of-sequence.
Target (issue 2): the project's sampler >= 1.5x plain generate on the default model.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from attrctl import models
from attrctl.config import DataConfig, SampleConfig
from attrctl.data import load_prompts, split
from attrctl.sampling import generate


def plain_generate(model, tokenizer, prompts: list[dict], cfg: SampleConfig) -> int:
    """Generated tokens (up to EOS) of HF `generate` over the prompts, batch by batch."""
    per_batch = max(1, cfg.batch_size // cfg.k)
    tokens = 0
    for start in range(0, len(prompts), per_batch):
        texts = [p["text"] for p in prompts[start : start + per_batch]]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(
                **enc,
                do_sample=True,
                top_p=cfg.top_p,
                temperature=cfg.temperature,
                top_k=0,
                max_new_tokens=cfg.max_new_tokens,
                num_return_sequences=cfg.k,
                pad_token_id=tokenizer.pad_token_id,
            )
        new = out[:, enc.input_ids.shape[1] :]
        ended = (new == tokenizer.eos_token_id).int().cumsum(-1) > 0
        tokens += int((~ended).sum())
    return tokens


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--model",
        default="results/models/base",
        help="model directory (default: results/models/base; falls back to converting the embedded GGUF)",
    )
    p.add_argument("--prompts", type=int, default=32, help="eval prompts (half challenging, half neutral)")
    p.add_argument("--k", type=int, default=10, help="samples per prompt")
    p.add_argument("--max-new-tokens", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128, help="rows decoded at once")
    args = p.parse_args()

    if Path(args.model).is_dir():
        model, tokenizer = models.load(args.model)
    else:
        from attrctl.config import ModelConfig

        model, tokenizer = models.build_base(ModelConfig(), seed=0)
        model.eval()
        tokenizer.padding_side = "left"
    _, prompts = split(load_prompts(DataConfig()), DataConfig(max_eval=args.prompts), seed=0)
    cfg = SampleConfig(k=args.k, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    print(
        f"model: {model.config.name_or_path} ({model.num_parameters() / 1e6:.0f}M), threads: "
        f"{torch.get_num_threads()}, {len(prompts)} prompts x k={cfg.k}, {cfg.max_new_tokens} new tokens, "
        f"top_p={cfg.top_p}, {cfg.batch_size} rows per batch"
    )

    generate(model, tokenizer, prompts[:2], cfg.model_copy(update={"k": 2}), 0, 32, desc="warm-up")
    results = {}
    for name, fn in [
        ("plain generate", lambda: plain_generate(model, tokenizer, prompts, cfg)),
        ("attrctl sampler", lambda: sum(len(r["token_ids"]) for r in generate(model, tokenizer, prompts, cfg, 0, 32))),
    ]:
        torch.manual_seed(0)
        start = time.perf_counter()
        tokens = fn()
        seconds = time.perf_counter() - start
        results[name] = tokens / seconds
        print(f"{name:>16}: {tokens:6d} tokens in {seconds:6.1f} s = {tokens / seconds:6.1f} tokens/s")
    ratio = results["attrctl sampler"] / results["plain generate"]
    print(f"{'ratio':>16}: {ratio:.2f}x plain generate (target >= 1.5x)")


if __name__ == "__main__":
    main()
