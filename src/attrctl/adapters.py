"""LoRA adapters on a causal LM, shared by every method that fine-tunes one (kept apart from any method's
objectives, so that a job that only adds adapters does not depend on their code)."""

from __future__ import annotations

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
