"""DPO from the base model: preference pairs from the base model's annotated train-block samples (per prompt, a
sample the oracle does not flag chosen over one it flags), trl's DPOTrainer against the frozen base model as the
reference; a killed run starts again (trl's resume is not reproducible).

Options:
  --samples PATH  input: the base model's annotated samples of train block 1
  --base PATH     input: the base model (the policy's start and the reference)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import models, runtime, train_stage, trl_loop
    from attrctl.dpo import train
    from attrctl.dpo.pairs import pairs
    from attrctl.io import read_jsonl
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "dpo_train", "dpo", model="dpo") as run:
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        found = pairs(read_jsonl(args.samples), cfg.dpo.pairs_per_prompt, cfg.seed)
        if not found:
            cli.fail(
                f"{args.samples}: no prompt has both a sample the oracle flags and one it does not; more samples "
                "per prompt (nado.samples_per_prompt) or another oracle.threshold give pairs"
            )
        run.log_input(args.samples, "training")
        policy, tokenizer = models.load(args.base, precision.device, trainable=True)
        reference, _ = models.load(args.base, precision.device, precision.frozen)  # dpo.reference: base
        policy, metrics = train.train(
            policy, reference, tokenizer, found, cfg, args.checkpoints, precision, run.log_step
        )
        trl_loop.save(run, args, policy, tokenizer, metrics, "dpo")
    train_stage.finished(args, metrics)


if __name__ == "__main__":
    main()
