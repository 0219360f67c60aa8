"""What a fine-tuning stage assembles around the shared loop: the method's objective with its frozen
models, and the KL-to-q* diagnostics."""

from __future__ import annotations

from pathlib import Path

import torch

from attrctl import models
from attrctl.batch import SFT, collate, next_token_log_probs, token_mean
from attrctl.config import Config
from attrctl.finetune.objectives import NadoReg, guided_targets, kl
from attrctl.finetune.schedule import FinetunePlan
from attrctl.nado.model import load as load_nado


def objective(plan: FinetunePlan, cfg: Config, teacher_dir: Path, guide_dir: Path | None, device, dtype):
    """(loss function, frozen teacher or None, NADO or None) for the plan's objective. The teacher is the
    model the policy starts from (p_{k-1}); with the NADO it defines q*."""
    if plan.objective == "sft":
        return SFT(), None, None
    if guide_dir is None:
        raise ValueError(f"objective {plan.objective} needs the NADO of q* (--guide)")
    teacher, _ = models.load(teacher_dir, device, dtype)
    guide = load_nado(guide_dir, teacher)
    reg = cfg.nado_reg
    loss = NadoReg(
        teacher,
        guide,
        cfg.nado.delta,
        reg.kl_weight if plan.kl_weight is None else plan.kl_weight,
        reg.kl_direction,
        adaptive=plan.objective == "nado_reg_adaptive",
        general_weight=reg.general_weight,
    )
    return loss, teacher, guide


@torch.no_grad()
def heldout_kl(model, teacher, guide, rows: list[dict], delta: float, pad_id: int, limit: int = 200) -> float:
    """Mean per-token KL(model ‖ q*(teacher, guide)) over the continuations of held-out samples."""
    examples = [{"prompt_ids": r["prompt_ids"], "target_ids": r["token_ids"]} for r in rows if r["token_ids"]][:limit]
    total, count = 0.0, 0.0
    for start in range(0, len(examples), 16):
        batch = collate(examples[start : start + 16], pad_id)
        logq, _ = guided_targets(teacher, guide, batch, delta)
        logp, _, mask = next_token_log_probs(model, batch)
        total += float(token_mean(kl(logp, logq), mask)) * float(mask.sum())
        count += float(mask.sum())
    return total / max(count, 1.0)
