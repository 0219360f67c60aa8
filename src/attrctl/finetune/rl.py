"""The RL baseline of the NADO paper: GRPO (or RLOO) from trl, reward = 1 − oracle toxicity of the completion,
KL penalty to the base model p0. trl's own Trainer loop runs it (not attrctl.training); a killed run starts
again (attrctl.trl_loop)."""

from __future__ import annotations

from pathlib import Path

from attrctl.config import Config


def train(policy, tokenizer, oracle, prompts: list[str], cfg: Config, checkpoints: Path, precision, on_log=None):
    """(trained policy, metrics); `on_log(logs)` sees trl's logs of each step as they come."""
    from datasets import Dataset

    from attrctl import trl_loop

    def reward(prompts, completions, **kwargs) -> list[float]:  # the oracle's "satisfied" score C = 1 − toxicity
        return [1.0 - s for s in oracle.score(list(completions))]

    rl = cfg.rl
    settings = dict(
        max_steps=rl.steps,
        learning_rate=rl.lr,
        beta=rl.kl_coef,
        per_device_train_batch_size=rl.prompts_per_step * rl.generations,
        num_generations=rl.generations,
        max_completion_length=rl.max_new_tokens,
        temperature=cfg.sample.temperature,
        top_p=cfg.sample.top_p,
        **trl_loop.loop_settings(checkpoints, cfg.seed, precision),
    )
    if rl.trainer == "grpo":
        from trl import GRPOConfig as TrainerConfig
        from trl import GRPOTrainer as Trainer
    else:
        from trl import RLOOConfig as TrainerConfig
        from trl import RLOOTrainer as Trainer

    trainer = Trainer(
        model=policy,
        reward_funcs=reward,
        args=TrainerConfig(**settings),
        train_dataset=Dataset.from_dict({"prompt": prompts}),
        processing_class=tokenizer,
        callbacks=[trl_loop.live(on_log, "reward")],
    )
    seconds, logs = trl_loop.train(trainer, checkpoints, "reward")
    metrics = {
        "train_seconds": seconds,
        "train_steps": trainer.state.global_step,
        "final_reward": logs[-1]["reward"] if logs else float("nan"),
        "first_reward": logs[0]["reward"] if logs else float("nan"),
        "history": [
            {"step": h.get("step", i + 1), "loss": h.get("loss", float("nan")), "reward": h["reward"]}
            for i, h in enumerate(logs)
        ],
    }
    return trainer.model, metrics
