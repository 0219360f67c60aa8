"""LoRA adapters on a causal LM, shared by every method that fine-tunes one (kept apart from any method's
objectives, so that a job that only adds adapters does not depend on their code)."""

from __future__ import annotations


def with_adapters(policy, rank: int, targets: str | list[str]):
    """LoRA adapters (rank > 0) on the modules `targets` names (model.lora_targets), or the full model trainable
    (rank 0)."""
    if not rank:
        return policy
    from peft import LoraConfig, get_peft_model

    return get_peft_model(policy, LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=targets))


def merged(policy):
    """A plain model to save: LoRA adapters merged into the weights."""
    return policy.merge_and_unload() if hasattr(policy, "merge_and_unload") else policy
