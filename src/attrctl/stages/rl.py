"""The RL baseline: GRPO (or RLOO) from trl on the corpus prompts, reward = 1 − oracle toxicity of the
completion, KL penalty to the base model p0; resumes from its last checkpoint after a kill."""

from __future__ import annotations

from pathlib import Path

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--data", type=Path, required=True, help="input: the corpus (its continuation prompts)")
    p.add_argument("--base", type=Path, required=True, help="input: the base model p0")
    p.add_argument("--oracle", type=Path, help="input: the trained embedding oracle's directory, when one is used")
    p.add_argument("--checkpoints", type=Path, required=True, help="resumable training state (removed when done)")
    p.add_argument("--out", type=Path, required=True, help="output: the model's directory")
    p.add_argument("--metrics", type=Path, required=True, help="output: training metrics (.json)")
    args = p.parse_args(argv)
    cfg = cli.start(args)
    import torch

    from attrctl import models, oracles, runtime
    from attrctl.config import sections
    from attrctl.finetune import rl
    from attrctl.io import atomic_path, read_jsonl, write_json
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "rl", "rl", model="rl") as run:
        run.log_params(sections(cfg, ["rl", "seed"]))
        device = runtime.setup_torch(cfg.runtime, cfg.seed)
        policy, tokenizer = models.load(args.base, device, trainable=True)
        oracle = oracles.build(cfg.oracle.name, cfg.oracle, args.oracle)
        prompts = sorted({e["prompt"] for e in read_jsonl(args.data) if e["kind"] == "continuation"})
        precision = runtime.Precision(cfg.runtime, device)
        run.log_input(args.data, "training")
        policy, metrics = rl.train(policy, tokenizer, oracle, prompts, cfg, args.checkpoints, precision, run.log_step)
        with atomic_path(args.out, directory=True) as tmp, torch.no_grad():
            models.save(policy, tokenizer, tmp, torch.bfloat16)  # evaluated only: bf16 halves the bytes
        write_json(args.metrics, metrics)
        run.log_metrics(metrics)
        run.log_model(args.out, "rl")
    cli.finished(args, metrics)


if __name__ == "__main__":
    main()
