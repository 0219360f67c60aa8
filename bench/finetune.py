"""Tokens/s of a fine-tuning step, and the per-token cost of a nado_reg step against an sft step, in one run.

    python bench/finetune.py [--device cuda] [--batch-size 8] [--steps 4]

sft step: cross-entropy on the target tokens, AdamW on all (fp32 master) parameters, the forward under the
precision's autocast. nado_reg step: the same plus the frozen teacher p_{k-1} and its NADO building q* (one
forward each, no gradient) and the per-token KL(pθ ‖ q*). Targets: a nado_reg step costs <= 1.5x an sft step
per token; on one H100-class GPU a fine-tuning step runs at >= 50,000 tokens/s (about 5% MFU).
"""

from __future__ import annotations

import copy

import torch
from common import mfu, parser, prompts, setup, timed

from attrctl.batch import collate
from attrctl.finetune.objectives import SFT, NadoReg
from attrctl.nado.model import build


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--target-tokens", type=int, default=20)
    p.add_argument("--steps", type=int, default=4)
    args = p.parse_args()
    precision, teacher, tokenizer = setup(args)
    g = torch.Generator().manual_seed(0)
    examples = [
        {
            "prompt_ids": tokenizer(q["text"], add_special_tokens=False).input_ids,
            "target_ids": torch.randint(100, 10000, (args.target_tokens,), generator=g).tolist(),
            "domain": "constraint",
        }
        for q in prompts(args.batch_size, "train")
    ]
    batch = collate(examples, tokenizer.pad_token_id)
    tokens = int(batch["attention_mask"].sum())
    guide = build(teacher, "small", 2, 8).eval()
    torch.nn.init.normal_(guide.head.weight, std=0.02)
    print(f"batch {args.batch_size} x {batch['input_ids'].shape[1]} positions = {tokens} tokens")

    results = {}
    for name in ("sft", "nado_reg"):
        policy = copy.deepcopy(teacher).float().train().requires_grad_(True)  # fp32 master weights
        objective = SFT() if name == "sft" else NadoReg(teacher, guide, 1.0, 10.0, "reverse")
        optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-6)

        def step(objective=objective, optimizer=optimizer, policy=policy):
            with precision.context():
                loss, _ = objective(policy, batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

        _, seconds = timed(step, args.steps)
        results[name] = seconds
        rate = mfu(tokens / seconds, policy.num_parameters(), 6, args, precision.device)
        print(f"{name + ' step':>14}: {seconds:6.3f} s  {tokens / seconds:9.1f} tokens/s, {rate}")
        del policy, objective, optimizer
    print(
        f"{'ratio':>14}: a nado_reg step costs {results['nado_reg'] / results['sft']:.2f}x an sft step (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
