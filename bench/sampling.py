"""Tokens/s of attrctl's sampler against plain `model.generate`, same model, prompts and settings, one run.

    python bench/sampling.py [--device cuda] [--prompts 32] [--k 10] [--batch-size 128]

Both decode the same eval prompts with nucleus sampling (top-p 0.9, temperature 1) into the same number of
rows per batch; `generate` gets `num_return_sequences=k`. Tokens are counted up to each row's end-of-sequence.
Targets: the project's sampler >= 1.5x plain generate; on one H100-class GPU at the GPU profile's batch size
(configs/gpu.yaml: 512 rows), >= 20,000 new tokens/s.
"""

from __future__ import annotations

import torch
from common import mfu, parser, prompts, setup, timed

from attrctl.config import SampleConfig
from attrctl.sampling import generate


def plain_generate(model, tokenizer, rows: list[dict], cfg: SampleConfig) -> int:
    """Generated tokens (up to EOS) of HF `generate` over the prompts, batch by batch."""
    per_batch = max(1, cfg.batch_size // cfg.k)
    nucleus = {"do_sample": True, "top_p": cfg.top_p, "temperature": cfg.temperature, "top_k": 0}
    tokens, pad = 0, tokenizer.pad_token_id
    for start in range(0, len(rows), per_batch):
        texts = [p["text"] for p in rows[start : start + per_batch]]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
        with torch.inference_mode():
            out = model.generate(
                **enc, **nucleus, max_new_tokens=cfg.max_new_tokens, num_return_sequences=cfg.k, pad_token_id=pad
            )
        new = out[:, enc.input_ids.shape[1] :]
        ended = (new == tokenizer.eos_token_id).int().cumsum(-1) > 0
        tokens += int((~ended).sum())
    return tokens


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--prompts", type=int, default=32, help="eval prompts")
    p.add_argument("--k", type=int, default=10, help="samples per prompt")
    p.add_argument("--max-new-tokens", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128, help="rows decoded at once")
    args = p.parse_args()
    precision, model, tokenizer = setup(args)
    rows = prompts(args.prompts)
    cfg = SampleConfig(k=args.k, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    print(f"{len(rows)} prompts x k={cfg.k}, {cfg.max_new_tokens} new tokens, {cfg.batch_size} rows per batch")
    results = {}
    for name, fn in [
        ("plain generate", lambda: plain_generate(model, tokenizer, rows, cfg)),
        ("attrctl sampler", lambda: sum(len(r["token_ids"]) for r in generate(model, tokenizer, rows, cfg, 0, 32))),
    ]:
        torch.manual_seed(0)
        tokens, seconds = timed(fn)
        results[name] = tokens / seconds
        rate = mfu(tokens / seconds, model.num_parameters(), 2, args, precision.device)
        print(f"{name:>16}: {tokens:6d} tokens in {seconds:6.2f} s = {tokens / seconds:8.1f} tokens/s, {rate}")
    ratio = results["attrctl sampler"] / results["plain generate"]
    print(f"{'ratio':>16}: {ratio:.2f}x plain generate (target >= 1.5x)")


if __name__ == "__main__":
    main()
