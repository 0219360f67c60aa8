"""NADO training throughput against a plain LM fine-tuning step on the same batch, in one run.

    python bench/nado.py [--model results/models/base] [--batch-size 16] [--steps 5]

NADO step: frozen base forward (hidden states, next-token distributions) + 2-layer trunk + vocabulary head,
BCE + consistency loss, AdamW on the NADO parameters. Plain step: cross-entropy on the same tokens, AdamW on
all base parameters. Target (issue 4): a NADO step costs <= 1.5x a plain fine-tuning step per token.
"""

from __future__ import annotations

import argparse
import time

import torch

from attrctl import models, nado, nado_train
from attrctl.config import DataConfig
from attrctl.data import load_prompts, split


def batch_from_prompts(tokenizer, n: int, cont_len: int) -> dict:
    """n train prompts with a fixed-length pseudo-continuation (the benchmark measures cost, not quality)."""
    train, _ = split(load_prompts(DataConfig()), DataConfig(), seed=0)
    g = torch.Generator().manual_seed(0)
    rows = [
        {
            "prompt_ids": tokenizer(p["text"], add_special_tokens=False).input_ids,
            "target_ids": torch.randint(100, 10000, (cont_len,), generator=g).tolist(),
            "label": 0.7,
            "seq_logprob": -30.0,
        }
        for p in train[:n]
    ]
    return nado_train.collate(rows, tokenizer.pad_token_id)


def timed(step, steps: int) -> float:
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="results/models/base")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--continuation", type=int, default=20, help="continuation tokens per example")
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args()

    base, tokenizer = models.load(args.model)
    batch = batch_from_prompts(tokenizer, args.batch_size, args.continuation)
    tokens = int(batch["attention_mask"].sum())
    print(
        f"model: {args.model} ({base.num_parameters() / 1e6:.0f}M), batch {args.batch_size} x "
        f"{batch['input_ids'].shape[1]} positions = {tokens} tokens, threads {torch.get_num_threads()}"
    )

    # NADO: frozen base, trainable trunk + head. As trained (attrctl.nado_train), the base model's hidden states
    # are computed once per example and cached, so a step needs only the base output head; the first epoch
    # also pays one base forward pass per example, measured separately.
    guide = nado.build(base, "small", 2, 8)
    opt = torch.optim.AdamW(guide.parameters(), lr=1e-4)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    _, cached = nado.base_features(base, ids, mask)

    def nado_step(hidden=None):
        if hidden is None:
            base_logp, hidden = nado.base_features(base, ids, mask)
        else:
            with torch.no_grad():
                base_logp = torch.log_softmax(base.get_output_embeddings()(hidden), -1)
        r, _ = guide(hidden, ids, mask)
        loss, _ = nado.nado_loss(r, base_logp, ids, batch["target_mask"], batch["labels"], torch.ones(len(ids)), 0.5)
        loss.backward()
        opt.step()
        opt.zero_grad()

    cached_s = timed(lambda: nado_step(cached), args.steps)
    full_s = timed(nado_step, args.steps)

    # Plain fine-tuning of the whole base model on the same tokens.
    base.train().requires_grad_(True)
    opt = torch.optim.AdamW(base.parameters(), lr=1e-5)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)

    def sft_step():
        loss = base(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()

    sft_s = timed(sft_step, args.steps)
    print(f"{'NADO step (as trained)':>30}: {cached_s:6.2f} s  {tokens / cached_s:7.1f} tokens/s")
    print(f"{'NADO step + base forward':>30}: {full_s:6.2f} s  {tokens / full_s:7.1f} tokens/s")
    print(f"{'plain fine-tuning step':>30}: {sft_s:6.2f} s  {tokens / sft_s:7.1f} tokens/s")
    print(
        f"{'ratio':>30}: NADO costs {cached_s / sft_s:.2f}x a plain step per token as trained, "
        f"{full_s / sft_s:.2f}x with the base forward (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
