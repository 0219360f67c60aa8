"""NADO training throughput against a plain fine-tuning step on the same batch, in one run.

    python bench/nado.py [--device cuda] [--batch-size 16] [--steps 5]

NADO step as trained (attrctl.nado.train): the frozen model's hidden states and top-k next-token log-probs are
cached once per example, so a step runs the 2-layer trunk and the head rows it needs (the realised tokens and
the cached top-k), BCE + consistency loss, AdamW on the NADO. The one-off cache pass (a base forward per
example) is timed separately. Plain step: cross-entropy on the same tokens, AdamW on all base parameters.
Target: a NADO step costs <= 1.5x a plain fine-tuning step per token.
"""

from __future__ import annotations

import copy

import torch
from common import parser, prompts, setup, timed

from attrctl.nado import model, train
from attrctl.nado.loss import nado_loss
from attrctl.nado.method import NadoConfig


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--continuation", type=int, default=20, help="continuation tokens per example")
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args()
    precision, base, tokenizer = setup(args)
    g = torch.Generator().manual_seed(0)
    rows = [
        {
            "prompt_id": q["id"],
            "prompt_ids": tokenizer(q["text"], add_special_tokens=False).input_ids,
            "token_ids": torch.randint(100, 10000, (args.continuation,), generator=g).tolist(),
            "toxicity": 0.3,
            "logprobs": [-1.5] * args.continuation,
        }
        for q in prompts(args.batch_size, "train")
    ]
    top_k = NadoConfig().consistency_top_k
    data, cache_s = timed(
        lambda: train.cache_base(base, train.examples(rows, "soft", 0.5), tokenizer.pad_token_id, top_k)
    )
    batch = train.collate(data, tokenizer.pad_token_id)
    tokens = int(batch["attention_mask"].sum())
    print(f"batch {args.batch_size} x {batch['input_ids'].shape[1]} positions = {tokens} tokens")
    guide = model.build(base, "small", 2, 8, NadoConfig().head).float()
    train.make_trainable(guide)
    opt = torch.optim.AdamW(guide.parameters(), lr=1e-4)

    def nado_step():
        with precision.context():
            a, s = train.loss_terms(base, guide, batch)
            loss, _ = nado_loss(
                a,
                s,
                batch["target_mask"].to(a.device),
                batch["labels"].to(a.device),
                torch.ones(len(a), device=a.device),
                0.5,
            )
        loss.backward()
        opt.step()
        opt.zero_grad()

    _, nado_s = timed(nado_step, args.steps)
    policy = copy.deepcopy(base).float().train().requires_grad_(True)
    opt_sft = torch.optim.AdamW(policy.parameters(), lr=1e-5)
    ids, mask = batch["input_ids"].to(policy.device), batch["attention_mask"].to(policy.device)
    labels = ids.masked_fill(mask == 0, -100)

    def sft_step():
        with precision.context():
            loss = policy(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        opt_sft.step()
        opt_sft.zero_grad()

    _, sft_s = timed(sft_step, args.steps)
    print(f"{'cache pass (once per example)':>30}: {cache_s:6.3f} s  {tokens / cache_s:9.1f} tokens/s")
    print(f"{'NADO step (as trained)':>30}: {nado_s:6.3f} s  {tokens / nado_s:9.1f} tokens/s")
    print(f"{'plain fine-tuning step':>30}: {sft_s:6.3f} s  {tokens / sft_s:9.1f} tokens/s")
    print(
        f"{'ratio':>30}: a NADO step costs {nado_s / sft_s:.2f}x a plain step per token; with its share of the cache "
        f"pass over 2 epochs {(nado_s + cache_s / 2) / sft_s:.2f}x (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
