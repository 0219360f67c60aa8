"""What the methods trained by trl's own Trainer loop share (the RL baseline, DPO): the loop settings every one
of them takes from attrctl, a run that passes each step's logs on as they come, and the stage's epilogue.

A killed run starts again from the beginning: trl's resume does not reach the weights of an uninterrupted run
(measured for GRPO: final reward 0.8390 against 0.8402), and a model that is not the run asked for is worse than a
re-run. So trl saves no checkpoints."""

from __future__ import annotations

import shutil
import time
from pathlib import Path


def loop_settings(checkpoints: Path, seed: int, precision) -> dict:
    """The keyword arguments of a trl config that attrctl sets the same way for every trl method."""
    return dict(
        output_dir=str(checkpoints),
        gradient_checkpointing=False,  # recomputation buys memory these models do not need, at a speed cost
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=seed,
        use_cpu=precision.device.type == "cpu",
        bf16=precision.autocast is not None,  # mixed precision: the fp32 policy's forward passes in bf16
        disable_tqdm=False,
    )


def live(on_log, key: str):
    """A callback passing trl's logs of each step that hold `key` to `on_log` (MLflow, live)."""
    from transformers import TrainerCallback

    class Live(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if on_log is not None and logs and key in logs:
                on_log({**logs, "step": state.global_step})

    return Live()


def train(trainer, checkpoints: Path, key: str) -> tuple[float, list[dict]]:
    """Run `trainer` from the start, removing what an earlier run left in `checkpoints` (its output directory):
    (seconds, the logs of the steps that hold `key`)."""
    shutil.rmtree(checkpoints, ignore_errors=True)
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start, [h for h in trainer.state.log_history if key in h]


def save(run, args, policy, tokenizer, metrics: dict, name: str) -> None:
    """The stage's outputs: the policy (bf16: it is only evaluated from here on) and its metrics, logged."""
    import torch

    from attrctl import models
    from attrctl.io import atomic_path, write_json

    with atomic_path(args.out, directory=True) as tmp, torch.no_grad():
        models.save(policy, tokenizer, tmp, torch.bfloat16)
    write_json(args.metrics, metrics)
    run.log_metrics(metrics)
    run.log_model(args.out, name)
