"""The guided distribution q* that a NADO defines over the next token, and the success estimate it needs."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def success_rate(base_logp: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """S = Σ_v p(v) σ(r[v]): the NADO estimate of R for the prefix itself (consistency identity)."""
    return (base_logp.exp() * torch.sigmoid(r)).sum(-1)


def guided_log_probs(
    base_logp: torch.Tensor, r: torch.Tensor, r_prompt: torch.Tensor, delta: float, strength: float = 1.0
) -> torch.Tensor:
    """log q*(v) ∝ log p(v) + γ · log[(δ' − R(x)) · R(x, y<i ⊕ v) + (1 − δ') · R(x)], δ' = max(δ, R(x))
    (docs/methods.md, NADO).

    base_logp, r: (..., V); r_prompt: (...) the estimate R(x) for the prompt. δ = 1 gives q* ∝ p · R(·);
    R(x) ≥ δ leaves p unchanged (nothing to correct). γ = `strength` is the reference code's
    `constraint_factor`: 1 is q* itself, γ > 1 sharpens the NADO factor (decoding only).
    """
    delta_eff = torch.clamp(r_prompt, min=delta)
    scale = (delta_eff - r_prompt).clamp(min=0)[..., None]  # weight on R(x, y<i ⊕ v)
    floor = ((1 - delta_eff) * r_prompt)[..., None]  # constant mass for every token
    log_bracket = torch.logaddexp(scale.log() + F.logsigmoid(r), floor.log().expand_as(r))
    guided = torch.log_softmax(base_logp + strength * log_bracket, -1)
    degenerate = ((scale + floor) <= 0).expand_as(r)  # R(x) = 1: nothing to guide
    return torch.where(degenerate, torch.log_softmax(base_logp, -1), guided)
