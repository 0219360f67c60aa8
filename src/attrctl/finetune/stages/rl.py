"""The RL baseline: GRPO (or RLOO) from trl on the corpus prompts, reward = 1 − oracle toxicity of the
completion, KL penalty to the base model p0; a killed run starts again (trl's resume is not reproducible).

Options:
  --data PATH         input: the corpus (its continuation prompts)
  --base PATH         input: the base model p0
  [--oracle PATH]     input: the trained embedding oracle's directory, when one is used
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import models, oracles, runtime, train_stage, trl_loop
    from attrctl.finetune import rl
    from attrctl.io import read_jsonl
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "rl", "rl", model="rl") as run:
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        policy, tokenizer = models.load(args.base, precision.device, trainable=True)
        oracle = oracles.build(cfg.oracle.name, cfg.oracle, args.oracle)
        prompts = sorted({e["prompt"] for e in read_jsonl(args.data) if e["kind"] == "continuation"})
        run.log_input(args.data, "training")
        policy, metrics = rl.train(policy, tokenizer, oracle, prompts, cfg, args.checkpoints, precision, run.log_step)
        trl_loop.save(run, args, policy, tokenizer, metrics, "rl")
    train_stage.finished(args, metrics)


if __name__ == "__main__":
    main()
