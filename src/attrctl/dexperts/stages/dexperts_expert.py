"""Fine-tune DExperts' expert or anti-expert from the base model: the expert on the corpus's continuations the
oracle does not flag, the anti-expert on those it flags (plain likelihood, the shared training loop; a killed
run resumes where it stopped).

Options:
  --name NAME    the part: dexperts_expert or dexperts_anti
  --data PATH    input: the corpus (.jsonl)
  --base PATH    input: the base model
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl.dexperts.method import ROLES

    role = args.name.removeprefix("dexperts_")
    if role not in ROLES:
        cli.fail(f"--name {args.name!r}: allowed: {', '.join(f'dexperts_{r}' for r in ROLES)}")
    import torch

    from attrctl import adapters, models, runtime, train_stage
    from attrctl.batch import SFT
    from attrctl.io import read_jsonl
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "dexperts_expert", args.name, model=args.name) as run:
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        policy, tokenizer = models.load(args.base, precision.device, trainable=True)
        policy = adapters.with_adapters(policy, cfg.dexperts.lora_rank, cfg.model.lora_targets)
        flagged = role == "anti"
        examples = [e for e in read_jsonl(args.data) if e["kind"] == "continuation" and bool(e["flagged"]) == flagged]
        if not examples:
            cli.fail(f"{args.data}: no continuation the oracle {'flags' if flagged else 'passes'}: nothing to train")
        run.log_input(args.data, "training")
        train_cfg = cfg.dexperts.train
        history = train_stage.fit_policy(run, args, cfg, policy, tokenizer, SFT(), examples, train_cfg, precision)
        if not runtime.is_main_process():  # under a multi-process launcher only the first process writes
            return
        policy = adapters.merged(policy)
        metrics = train_stage.save_trained(
            run, args, policy, tokenizer, history, examples, train_cfg.epochs, torch.bfloat16
        )
    train_stage.finished(args, metrics)


if __name__ == "__main__":
    main()
