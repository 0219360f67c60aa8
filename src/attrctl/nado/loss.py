"""The NADO training loss: every prefix regressed to the sequence's label, plus the consistency regulariser.

Notation (docs/methods.md, NADO): tokens t_0..t_{L-1}; a_j = r_j[t_{j+1}] is the NADO logit of the realised
next token, i.e. of R(x, t<=j+1); S_j = Σ_v p(v | t<=j) σ(r_j[v]) is what the consistency identity says
R(x, t<=j) must equal.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def importance_weights(seq_logprobs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Self-normalised weights for samples drawn at temperature T (∝ p^(1/T)) instead of from p:
    w ∝ p / p^(1/T) = exp((1 - 1/T) log p(y|x)), scaled to mean 1 over the batch (all 1 when T = 1)."""
    return seq_logprobs.numel() * torch.softmax((1.0 - 1.0 / temperature) * seq_logprobs, 0)


def consistency_sum(base_logp: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """S = Σ_v p(v) σ(r[v]) over the last dimension, p renormalised over the tokens given: the whole
    vocabulary (exact), or the model's top-k next tokens (nado.consistency_top_k)."""
    return (torch.softmax(base_logp, -1) * torch.sigmoid(r)).sum(-1)


def nado_loss(a, s, cont_mask, labels, weights, lambda_cons: float):
    """The NADO loss of a batch, step by step; returns (loss, logs).

    a: (B, L-1) a_j for j = 0..L-2; s: (B, L-2) S_j for j = 1..L-2; cont_mask: (B, L), 1 on continuation
    tokens; labels: (B,) target c in [0, 1]; weights: (B,) importance weights.
    """
    batch = a.shape[0]
    m = cont_mask[:, 1:].float()  # t_{j+1} is a continuation token
    # 1) Every continuation prefix is regressed to the sequence's final label: Σ_i w · BCE(σ(a), c).
    bce = F.binary_cross_entropy_with_logits(a, labels[:, None].expand_as(a), reduction="none")
    bce = (weights[:, None] * bce * m).sum() / batch
    # 2) Consistency: R(x, t<=j) = Σ_v p(v | t<=j) R(x, t<=j ⊕ v). The left side, predicted one step earlier, is
    #    the target (detached, as the reference code's BCE target); the right side S_j is pulled towards it.
    s = s.clamp(1e-6, 1 - 1e-6)
    r_hat = torch.sigmoid(a[:, :-1]).detach().clamp(1e-6, 1 - 1e-6)  # R(x, t<=j), j = 1..L-2
    kl = r_hat * (r_hat / s).log() + (1 - r_hat) * ((1 - r_hat) / (1 - s)).log()  # KL(Bern(r_hat) || Bern(s))
    pairs = m[:, :-1] * m[:, 1:]  # t_j and t_{j+1} both continuation tokens
    cons = (weights[:, None] * kl * pairs).sum() / batch
    # 3) The total.
    loss = bce + lambda_cons * cons
    return loss, {"loss": loss.item(), "bce": bce.item(), "consistency": cons.item()}
