"""What the finetune stage assembles: adapters, the method's objective with its frozen models, diagnostics."""

from __future__ import annotations

import torch

from attrctl import models, nado, paths
from attrctl.config import Config
from attrctl.objectives.common import collate, next_token_log_probs, token_mean
from attrctl.objectives.nado_reg import NadoReg, guided_targets, kl
from attrctl.objectives.sft import SFT
from attrctl.objectives.tnt import TNT
from attrctl.schedule import FinetunePlan

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def with_adapters(policy, rank: int):
    """LoRA adapters (rank > 0) or the full model trainable (rank 0)."""
    if not rank:
        return policy
    from peft import LoraConfig, get_peft_model

    return get_peft_model(policy, LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=LORA_TARGETS))


def merged(policy):
    """A plain model to save: LoRA adapters merged into the weights."""
    return policy.merge_and_unload() if hasattr(policy, "merge_and_unload") else policy


def objective(plan: FinetunePlan, policy, cfg: Config, device, dtype):
    """(loss function, frozen teacher or None, NADO or None) for the plan's objective."""
    if plan.objective == "sft":
        return SFT(policy), None, None
    if plan.objective == "tnt":
        original, _ = models.load(paths.model_dir(plan.init), device, dtype)  # frozen p0
        alpha = plan.alpha if plan.alpha is not None else cfg.tnt.alpha
        return TNT(policy, original, plan.loss, alpha, cfg.tnt.epsilon), None, None
    teacher, _ = models.load(paths.model_dir(plan.init), device, dtype)  # frozen p_{k-1}
    guide = nado.load(paths.nado_dir(plan.guide), teacher)
    reg = cfg.nado_reg
    loss = NadoReg(
        policy,
        teacher,
        guide,
        cfg.nado.delta,
        reg.kl_weight,
        reg.kl_direction,
        adaptive=plan.objective == "nado_reg_adaptive",
        original=None,
        general_weight=reg.general_weight,
    )
    return loss, teacher, guide


@torch.no_grad()
def heldout_kl(
    model, teacher, guide, rows: list[dict], cfg: Config, tokenizer, limit: int = 200, batch_size: int = 16
) -> float:
    """Mean per-token KL(model ‖ q*(teacher, guide)) over the continuations of held-out samples."""
    examples = [{"prompt_ids": r["prompt_ids"], "target_ids": r["token_ids"]} for r in rows if r["token_ids"]][:limit]
    total, count = 0.0, 0.0
    for start in range(0, len(examples), batch_size):
        batch = collate(examples[start : start + batch_size], tokenizer.pad_token_id)
        logq, _ = guided_targets(teacher, guide, batch, cfg.nado.delta)
        logp, _, mask = next_token_log_probs(model, batch)
        total += float(token_mean(kl(logp, logq), mask)) * float(mask.sum())
        count += float(mask.sum())
    return total / max(count, 1.0)
