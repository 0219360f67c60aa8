"""Fine-tune the base model on the corpus under average constraints: l3m_<name> with the relaxed log barrier,
or mm_<name> with fixed multipliers (the heuristic L3M removes); the constraints are l3m.constraints[<name>].

The task loss is trained as sft is (finetune.train, over as many passes as sft makes). Every step samples the
policy on train prompts, as many as the batch holds (l3m.generations each), to estimate each constraint and its
gradient; it logs ĉ_j, the multiplier (B′(ĉ_j) for L3M) and μ. Checkpoints every N steps; resumes after a kill.

Options:
  --name NAME         l3m_<name> or mm_<name>
  --data PATH         input: the corpus (.jsonl)
  --prompts PATH      input: the train prompts (the constraints' expectations are over them)
  --base PATH         input: the base model
  [--oracle PATH]     input: the trained embedding oracle's directory, when one is used
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import models, oracles, runtime, sampling, train_stage
    from attrctl.finetune import schedule
    from attrctl.io import read_jsonl
    from attrctl.l3m.objective import L3M
    from attrctl.tracking import stage_run

    kind, _, constraint_set = args.name.partition("_")
    with stage_run(cfg, args.params, "l3m_train", args.name, model=args.name, objective=kind) as run:
        run.log_params({"constraint_set": constraint_set})
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        policy, tokenizer = models.load(args.base, precision.device, trainable=True)
        examples = read_jsonl(args.data)
        run.log_input(args.data, "training")
        # L_task is trained exactly as sft is (its loop settings and passes over the corpus), so that the task
        # perplexities of the table compare like with like.
        train_cfg = schedule.finetune_plan("sft", cfg.nado_reg.iterations).train(cfg.finetune.train)
        objective = L3M(
            policy,
            tokenizer,
            oracles.build(cfg.oracle.name, cfg.oracle, args.oracle),
            sampling.encode_prompts(tokenizer, read_jsonl(args.prompts), cfg.data.max_prompt_tokens),
            cfg.l3m.constraints[constraint_set],
            cfg.l3m,
            cfg.sample.top_p,
            cfg.seed,
            fixed=cfg.l3m.mm_weights if kind == "mm" else None,
        )
        history = train_stage.fit_policy(run, args, cfg, policy, tokenizer, objective, examples, train_cfg, precision)
        if not runtime.is_main_process():
            return
        metrics = train_stage.save_trained(run, args, policy, tokenizer, history, examples, train_cfg.epochs)
    train_stage.finished(args, metrics)


if __name__ == "__main__":
    main()
