"""The fine-tuning objectives of the NADO paper: plain fine-tuning (`sft`, `filter`) and NADO-regularised
fine-tuning (docs/methods.md):

    L(θ) = L_task(θ) + λ · E_{(x,y)∈D} Σ_i KL( pθ(·|x,y<i) ‖ q*(·|x,y<i) )

with q* the closed-form guided distribution of the frozen previous model p_{k-1} and its NADO (teacher forcing,
no sampling). `forward` direction: KL(q* ‖ pθ). Adaptive variant: constraint-domain examples get λ·KL(pθ‖q*),
general-domain examples β·KL(pθ‖p0) (stay with the original model).
"""

from __future__ import annotations

import torch

from attrctl.batch import next_token_log_probs, nll, token_mean
from attrctl.nado.model import NadoModel, base_features
from attrctl.nado.qstar import guided_log_probs, success_rate


def kl(logp_a: torch.Tensor, logp_b: torch.Tensor) -> torch.Tensor:
    """KL(a ‖ b) = Σ_v a(v) (log a(v) − log b(v)) per position."""
    return (logp_a.exp() * (logp_a - logp_b)).sum(-1)


def nado_reg_loss(
    logp,
    targets,
    mask,
    logq,
    kl_weight: float,
    direction: str = "reverse",
    general=None,
    logp0=None,
    general_weight: float = 0.0,
):
    """The objective for one batch, step by step; returns (loss, logs).

    logp: (B, T, V) log pθ; targets, mask: (B, T); logq: (B, T, V) log q*; general: (B,) True for general-domain
    examples (adaptive variant only, with logp0: (B, T, V) log p0)."""
    # 1) L_task: the likelihood of the corpus.
    task = nll(logp, targets, mask)
    # 2) Per-token divergence from the constraint-satisfying distribution q*.
    to_q = kl(logp, logq) if direction == "reverse" else kl(logq, logp)
    weights = torch.full_like(mask, kl_weight)
    reg = to_q
    # 3) Adaptive: general-domain examples are kept close to the original model instead.
    if general is not None:
        general = general[:, None].to(mask.device).expand_as(mask)
        reg = torch.where(general, kl(logp, logp0), to_q)
        weights = torch.where(general, torch.full_like(mask, general_weight), weights)
    penalty = token_mean(weights * reg, mask)
    loss = task + penalty
    return loss, {
        "loss": loss.item(),
        "task": task.item(),
        "kl": token_mean(to_q, mask).item(),
        "penalty": penalty.item(),
    }


@torch.no_grad()
def guided_targets(teacher, guide: NadoModel, batch: dict, delta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(log q*, log p_{k-1}) at every next-token position, from the frozen teacher and its NADO."""
    device = teacher.device
    ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
    base_logp, hidden = base_features(teacher, ids, mask)
    r, _ = guide(hidden, ids, mask)
    # R(x): the success rate of each prompt, read at its last token.
    last = (batch["prompt_len"] - 1).to(device)
    r_prompt = success_rate(base_logp[torch.arange(len(ids)), last], r[torch.arange(len(ids)), last])
    logq = guided_log_probs(base_logp, r, r_prompt[:, None].expand(r.shape[:2]), delta)
    return logq[:, :-1], base_logp[:, :-1]


class NadoReg:
    """L_task + λ·KL to q*(teacher, guide); `adaptive`: general-domain examples are regularised towards the
    teacher itself, which is the original model p0 for the adaptive variant (it starts from the base model)."""

    def __init__(
        self,
        teacher,
        guide,
        delta: float,
        kl_weight: float,
        direction: str,
        adaptive: bool = False,
        general_weight: float = 0.0,
    ):
        self.teacher, self.guide = teacher, guide
        self.delta, self.kl_weight, self.direction = delta, kl_weight, direction
        self.adaptive, self.general_weight = adaptive, general_weight

    def __call__(self, policy, batch):
        logq, logp_teacher = guided_targets(self.teacher, self.guide, batch, self.delta)
        logp, targets, mask = next_token_log_probs(policy, batch)
        if not self.adaptive:
            return nado_reg_loss(logp, targets, mask, logq, self.kl_weight, self.direction)
        return nado_reg_loss(
            logp,
            targets,
            mask,
            logq,
            self.kl_weight,
            self.direction,
            general=~batch["constraint"],
            logp0=logp_teacher,
            general_weight=self.general_weight,
        )
