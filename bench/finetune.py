"""Per-token cost of a nado_reg fine-tuning step against an sft step on the same batch, in one run.

    python bench/finetune.py [--model results/models/base] [--batch-size 8] [--steps 4]

sft step: cross-entropy on the target tokens, AdamW on all parameters. nado_reg step: the same plus the frozen
teacher p_{k-1} and its NADO building q* (one forward each, no gradient) and the per-token KL(pθ ‖ q*).
Target (issue 5): a nado_reg step costs <= 1.5x an sft step per token.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from attrctl import models, nado
from attrctl.config import DataConfig
from attrctl.data import load_prompts, split
from attrctl.batch import collate
from attrctl.finetune.objectives import NadoReg
from attrctl.finetune.objectives import SFT


def timed(objective, policy, batch, steps: int) -> float:
    optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad], lr=1e-6)

    def step():
        loss, _ = objective(batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="results/models/base")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--target-tokens", type=int, default=20)
    p.add_argument("--steps", type=int, default=4)
    args = p.parse_args()

    teacher, tokenizer = models.load(args.model)
    train, _ = split(load_prompts(DataConfig()), DataConfig(), seed=0)
    g = torch.Generator().manual_seed(0)
    examples = [
        {
            "prompt_ids": tokenizer(q["text"], add_special_tokens=False).input_ids,
            "target_ids": torch.randint(100, 10000, (args.target_tokens,), generator=g).tolist(),
            "domain": "constraint",
        }
        for q in train[: args.batch_size]
    ]
    batch = collate(examples, tokenizer.pad_token_id)
    tokens = int(batch["attention_mask"].sum())
    guide = nado.build(teacher, "small", 2, 8).eval()
    torch.nn.init.normal_(guide.head.weight, std=0.02)
    print(
        f"model: {args.model} ({teacher.num_parameters() / 1e6:.0f}M), batch {args.batch_size} x "
        f"{batch['input_ids'].shape[1]} positions = {tokens} tokens, threads {torch.get_num_threads()}"
    )

    results = {}
    for name in ("sft", "nado_reg"):
        policy = copy.deepcopy(teacher).train().requires_grad_(True)
        objective = SFT(policy) if name == "sft" else NadoReg(policy, teacher, guide, 1.0, 1.0, "reverse")
        results[name] = timed(objective, policy, batch, args.steps)
        print(f"{name + ' step':>14}: {results[name]:6.2f} s  {tokens / results[name]:7.1f} tokens/s")
        del policy, objective
    print(
        f"{'ratio':>14}: a nado_reg step costs {results['nado_reg'] / results['sft']:.2f}x an sft step per token "
        "(target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
