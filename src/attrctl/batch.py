"""Batches of prompt ⊕ target examples, the per-position log-probabilities every objective starts from, and the
plain likelihood objective."""

from __future__ import annotations

import torch


def collate(batch: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded prompt ⊕ target; `target_mask` marks target tokens, `constraint` the constraint domain,
    `weights` the TNT token weights (+1 keep, −1 negative, 0 prompt and padding; +1 when examples carry none)."""
    length = max(len(e["prompt_ids"]) + len(e["target_ids"]) for e in batch)
    input_ids = torch.full((len(batch), length), pad_id, dtype=torch.long)
    attention = torch.zeros_like(input_ids)
    target = torch.zeros_like(input_ids)
    weights = torch.zeros_like(input_ids)
    for i, e in enumerate(batch):
        p, t = len(e["prompt_ids"]), len(e["target_ids"])
        input_ids[i, : p + t] = torch.tensor(e["prompt_ids"] + e["target_ids"])
        attention[i, : p + t] = 1
        target[i, p : p + t] = 1
        weights[i, p : p + t] = torch.tensor(e.get("weights", [1] * t))
    return {
        "input_ids": input_ids,
        "attention_mask": attention,
        "target_mask": target,
        "weights": weights,
        "prompt_len": torch.tensor([len(e["prompt_ids"]) for e in batch]),
        "constraint": torch.tensor([e.get("domain", "constraint") == "constraint" for e in batch]),
    }


def next_token_log_probs(model, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(log p(· | t<=j) for j = 0..L-2, the next tokens t_{j+1}, mask of the positions whose next token is a
    target token). Gradients flow when the model is trainable."""
    device = next(model.parameters()).device
    ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    return torch.log_softmax(logits, -1), ids[:, 1:], batch["target_mask"][:, 1:].to(device).float()


def token_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the masked (target) positions of the batch."""
    return (values * mask).sum() / mask.sum().clamp(min=1)


def nll(logp: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_task: mean negative log-likelihood of the target tokens."""
    return token_mean(-logp.gather(-1, targets[..., None]).squeeze(-1), mask)


class SFT:
    """L_task only, the objective of plain fine-tuning: the likelihood of the examples' targets."""

    def __call__(self, policy, batch):
        logp, targets, mask = next_token_log_probs(policy, batch)
        loss = nll(logp, targets, mask)
        return loss, {"loss": loss.item(), "task": loss.item()}
