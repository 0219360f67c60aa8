"""Fine-tune the base model on the corpus under average constraints: l3m_<name> with the relaxed log barrier,
or mm_<name> with fixed multipliers (the heuristic L3M removes); the constraints are l3m.constraints[<name>].

Every step samples the policy on the batch's prompts (l3m.generations each) to estimate each constraint and its
gradient; it logs ĉ_j, the multiplier (B′(ĉ_j) for L3M) and μ. Checkpoints every N steps; resumes after a kill.
"""

from __future__ import annotations

from pathlib import Path

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--name", required=True, help="l3m_<name> or mm_<name>")
    p.add_argument("--data", type=Path, required=True, help="input: the corpus (.jsonl)")
    p.add_argument("--base", type=Path, required=True, help="input: the base model")
    p.add_argument("--oracle", type=Path, help="input: the trained embedding oracle's directory, when one is used")
    cli.training_arguments(p)
    args = p.parse_args(argv)
    cfg = cli.start(args)
    from attrctl import models, oracles, runtime, training
    from attrctl.batch import collate
    from attrctl.config import sections
    from attrctl.io import read_jsonl
    from attrctl.l3m.objective import L3M
    from attrctl.tracking import stage_run

    kind, _, constraint_set = args.name.partition("_")
    with stage_run(cfg, args.params, "l3m_train", args.name, model=args.name, objective=kind) as run:
        run.log_params({**sections(cfg, ["l3m", "seed"]), "constraint_set": constraint_set})
        device = runtime.setup_torch(cfg.runtime, cfg.seed)
        precision = runtime.Precision(cfg.runtime, device)
        policy, tokenizer = models.load(args.base, device, trainable=True)
        examples = read_jsonl(args.data)
        run.log_input(args.data, "training")
        train_cfg = cfg.l3m.train
        objective = L3M(
            policy,
            tokenizer,
            oracles.build(cfg.oracle.name, cfg.oracle, args.oracle),
            cfg.l3m.constraints[constraint_set],
            cfg.l3m,
            cfg.sample.top_p,
            cfg.seed,
            fixed=cfg.l3m.mm_weights if kind == "mm" else None,
        )
        history = training.fit(
            policy,
            objective,
            examples,
            lambda b: collate(b, tokenizer.pad_token_id),
            train_cfg,
            cfg.seed,
            args.checkpoints,
            training.fingerprint(sections(cfg, ["l3m", "oracle", "seed"]), args.name, args.data),
            desc=f"{kind.upper()} {args.name}",
            precision=precision,
            on_step=run.log_step,
        )
        if not runtime.is_main_process():
            return
        metrics = cli.save_trained(run, args, policy, tokenizer, history, examples, train_cfg.epochs)
    cli.finished(args, metrics)


if __name__ == "__main__":
    main()
