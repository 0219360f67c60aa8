"""DPO with trl's DPOTrainer: the policy starts from the base model, the reference is the base model frozen.
trl's own Trainer loop runs it (not attrctl.training); a killed run starts again (attrctl.trl_loop)."""

from __future__ import annotations

import math
from pathlib import Path

from attrctl.config import Config


def train(policy, reference, tokenizer, pairs: list[dict], cfg: Config, checkpoints: Path, precision, on_log=None):
    """(trained policy, metrics) after DPO on `pairs` ({prompt, chosen, rejected}); `on_log(logs)` sees trl's logs
    of each step as they come."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from attrctl import trl_loop

    dpo = cfg.dpo
    args = DPOConfig(
        num_train_epochs=dpo.epochs,
        max_steps=dpo.max_steps or -1,  # -1: the Trainer's "epochs decide"
        learning_rate=dpo.lr,
        beta=dpo.beta,
        per_device_train_batch_size=dpo.batch_size,
        **trl_loop.loop_settings(checkpoints, cfg.seed, precision),
    )
    trainer = DPOTrainer(
        model=policy,
        ref_model=reference,
        args=args,
        train_dataset=Dataset.from_list([{k: p[k] for k in ("prompt", "chosen", "rejected")} for p in pairs]),
        processing_class=tokenizer,
        callbacks=[trl_loop.live(on_log, "rewards/margins")],
    )
    seconds, logs = trl_loop.train(trainer, checkpoints, "rewards/margins")
    final = logs[-1] if logs else {}
    tokens = final.get("num_tokens", math.nan)  # trl's running count of chosen and rejected tokens, this process
    metrics = {
        "train_seconds": seconds,
        "train_steps": trainer.state.global_step,
        "train_pairs": len(pairs),
        "train_tokens": tokens,
        "train_tokens_per_s": tokens / seconds if seconds > 0 else math.nan,
        "final_loss": final.get("loss", math.nan),
        "reward_accuracy": final.get("rewards/accuracies", math.nan),
        "reward_margin": final.get("rewards/margins", math.nan),
        "history": [
            {
                "step": h.get("step", i + 1),
                "loss": h.get("loss", math.nan),
                "reward_accuracy": h["rewards/accuracies"],
                "reward_margin": h["rewards/margins"],
            }
            for i, h in enumerate(logs)
        ],
    }
    return trainer.model, metrics
