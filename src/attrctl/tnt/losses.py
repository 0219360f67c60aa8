"""Targeted Negative Training (docs/methods.md, TNT): move the model off the flagged tokens and nowhere else.

Every target token has a weight: +1 keep, −1 negative (flagged by the token-level annotation), 0 padding.
Target distribution at a negative position with token t: p_d(v) ∝ p0(v)·[v ≠ t]; at a positive one p_d = p0.
α multiplies the negative positions only; p0 is the frozen original model.

| loss  | negative positions   | positive positions |
|-------|----------------------|--------------------|
| TNFF  | α·CE(p_d, pθ)        | CE(p0, pθ)         |
| TNRR  | α·KL(pθ ‖ p_d)       | KL(pθ ‖ p0)        |
| TNRF  | α·KL(pθ ‖ p_d)       | CE(p0, pθ)         |
| TNFLL | α·CE(p_d, pθ)        | −log pθ(y_t)       |
| TNRLL | α·KL(pθ ‖ p_d)       | −log pθ(y_t)       |
| NL    | α·log pθ(t), stopped once log pθ(t) < ε | −log pθ(y_t) |
| UL    | −α·log(1 − pθ(t))    | −log pθ(y_t)       |
"""

from __future__ import annotations

from typing import get_args

import torch

from attrctl.batch import next_token_log_probs
from attrctl.tnt.method import TNTLoss

LOSSES = get_args(TNTLoss)
FORWARD_NEG = ("tnff", "tnfll")
LIKELIHOOD_POS = ("tnfll", "tnrll", "nl", "ul")
KL_POS = ("tnrr",)


def negative_target(logp0: torch.Tensor, tokens: torch.Tensor, smooth: bool) -> torch.Tensor:
    """log p_d: p0 with the token t removed and renormalised. `smooth` (for the reverse-KL losses, whose
    log p_d must be finite): mask t with a large negative logit, softmax, add 1e-6, renormalise, log."""
    onehot = torch.nn.functional.one_hot(tokens, logp0.shape[-1]).bool()
    masked = torch.log_softmax(logp0.masked_fill(onehot, -1e9), -1)
    if not smooth:
        return masked
    p = masked.exp() + 1e-6
    return (p / p.sum(-1, keepdim=True)).log()


def per_token_losses(name: str, logp, logp0, tokens, alpha: float, epsilon: float):
    """(loss at negative positions, loss at positive positions) for every position; pick by weight after."""
    logp_t = logp.gather(-1, tokens[..., None]).squeeze(-1)  # log pθ(y_t)
    p0 = logp0.exp()
    pos = {  # positive positions: stay with p0 (distributional) or keep the token (likelihood)
        "ce": -(p0 * logp).sum(-1),
        "kl": (logp.exp() * (logp - logp0)).sum(-1),
        "nll": -logp_t,
    }["nll" if name in LIKELIHOOD_POS else "kl" if name in KL_POS else "ce"]
    if name == "nl":  # push log pθ(t) down, but no further once it is below ε (the reference code's intent)
        neg = alpha * torch.where(logp_t >= epsilon, logp_t, torch.zeros_like(logp_t))
    elif name == "ul":
        neg = -alpha * torch.log1p(-logp_t.exp().clamp(max=1 - 1e-7))
    elif name in FORWARD_NEG:
        logp_d = negative_target(logp0, tokens, smooth=False)
        neg = -alpha * (logp_d.exp() * logp).sum(-1)  # CE(p_d, pθ)
    else:
        logp_d = negative_target(logp0, tokens, smooth=True)
        neg = alpha * (logp.exp() * (logp - logp_d)).sum(-1)  # KL(pθ ‖ p_d)
    return neg, pos


def tnt_loss(name: str, logp, logp0, tokens, weights, alpha: float, epsilon: float = -10.3):
    """Mean over non-padding target tokens of the per-token loss chosen by each token's weight; (loss, logs)."""
    neg, pos = per_token_losses(name, logp, logp0, tokens, alpha, epsilon)
    is_neg, is_pos = (weights < 0).float(), (weights > 0).float()
    count = (is_neg + is_pos).sum().clamp(min=1)
    loss = (neg * is_neg + pos * is_pos).sum() / count
    return loss, {
        "loss": loss.item(),
        "negative": ((neg * is_neg).sum() / count).item(),
        "positive": ((pos * is_pos).sum() / count).item(),
    }


class TNT:
    def __init__(self, original, name: str, alpha: float, epsilon: float):
        self.original, self.name, self.alpha, self.epsilon = original, name, alpha, epsilon

    def __call__(self, policy, batch):
        with torch.no_grad():
            logp0, _, _ = next_token_log_probs(self.original, batch)
        logp, tokens, _ = next_token_log_probs(policy, batch)
        weights = batch["weights"][:, 1:].to(logp.device)
        return tnt_loss(self.name, logp, logp0, tokens, weights, self.alpha, self.epsilon)
