"""The RL baseline: GRPO (or RLOO) from trl on the corpus prompts, reward = 1 − oracle toxicity of the completion,
KL penalty to the base model p0: results/models/rl/ and results/metrics/rl/train.json.

trl's own Trainer loop (not attrctl.training): it checkpoints every few steps under results/checkpoints/rl and
resumes from the last checkpoint after a kill.
"""

from __future__ import annotations

import shutil
import time

from attrctl import paths
from attrctl.config import sections
from attrctl.io import atomic_path, read_jsonl, write_json
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__).parse_args(argv)
    cfg = cli.start(args.params)
    import torch
    from datasets import Dataset
    from transformers.trainer_utils import get_last_checkpoint

    from attrctl import models, oracles, runtime
    from attrctl.tracking import stage_run

    device = runtime.setup_torch(cfg.runtime, cfg.seed)
    policy, tokenizer = models.load(paths.model_dir(paths.BASE), device, runtime.dtype_for(device), trainable=True)
    oracle = oracles.build(cfg.oracle)

    def reward(prompts, completions, **kwargs) -> list[float]:  # the oracle's "satisfied" score C = 1 − toxicity
        return [1.0 - s for s in oracle.score(list(completions))]

    prompts = sorted({e["prompt"] for e in read_jsonl(paths.CORPUS) if e["kind"] == "continuation"})
    rl = cfg.rl
    checkpoints = paths.checkpoints("rl")
    common = dict(
        output_dir=str(checkpoints),
        max_steps=rl.steps,
        learning_rate=rl.lr,
        beta=rl.kl_coef,
        per_device_train_batch_size=rl.prompts_per_step * rl.generations,
        num_generations=rl.generations,
        max_completion_length=rl.max_new_tokens,
        temperature=cfg.sample.temperature,
        top_p=cfg.sample.top_p,
        gradient_checkpointing=False,  # recomputation buys memory this model does not need, at a speed cost
        logging_steps=1,
        save_strategy="steps",
        save_steps=max(1, rl.steps // 4),
        report_to="none",
        seed=cfg.seed,
        use_cpu=device.type == "cpu",
        bf16=device.type == "cuda",
        disable_tqdm=False,
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
        args=TrainerConfig(**common),
        train_dataset=Dataset.from_dict({"prompt": prompts}),
        processing_class=tokenizer,
    )
    start = time.perf_counter()
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - start
    policy = trainer.model
    with atomic_path(paths.model_dir("rl"), directory=True) as tmp, torch.no_grad():
        models.save(policy, tokenizer, tmp)
    logs = [h for h in trainer.state.log_history if "reward" in h]
    metrics = {
        "train_seconds": seconds,
        "train_steps": trainer.state.global_step,
        "final_reward": logs[-1]["reward"] if logs else float("nan"),
        "first_reward": logs[0]["reward"] if logs else float("nan"),
    }
    write_json(paths.metrics("rl", "train"), metrics)
    with stage_run(cfg, args.params, "rl", "rl", model="rl") as run:
        run.log_params(sections(cfg, ["rl", "seed"]))
        for h in logs:
            run.log_metrics(
                {k: v for k, v in h.items() if isinstance(v, int | float) and k != "step"}, step=int(h.get("step", 0))
            )
        run.log_metrics(metrics)
    shutil.rmtree(checkpoints, ignore_errors=True)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items()))


if __name__ == "__main__":
    main()
