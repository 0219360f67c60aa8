"""Fine-tune one model on the corpus with its method's objective (sft, filter, the nado_reg family).

Models: sft, filter (flagged examples dropped), nado_reg_adaptive, the λ sweep nado_reg_l<λ>, and the iterations
of the nado_reg schedules (nado_reg_i<k>, nado_reg, nado_reg_parallel_i<k>, nado_reg_parallel; see
attrctl.finetune.schedule). Checkpoints every N steps; a killed run resumes where it stopped. For the nado_reg
objectives the metrics include KL(p ‖ q*) on held-out prefixes before and after.

Options:
  --name NAME         the model to make, e.g. sft or nado_reg_i1
  --data PATH         input: the corpus (.jsonl)
  --init PATH         input: the model to start from (the teacher of q*)
  [--guide PATH]      input: the NADO of q* (nado_reg objectives)
  --heldout PATH      input: annotated eval samples (KL diagnostics)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    import torch

    from attrctl import adapters, models, runtime, train_stage
    from attrctl.finetune import corpus, schedule, setup
    from attrctl.io import read_jsonl
    from attrctl.tracking import stage_run

    plan = schedule.finetune_plan(args.name, cfg.nado_reg.iterations)
    with stage_run(cfg, args.params, "finetune", args.name, model=args.name, objective=plan.objective) as run:
        run.log_params({"plan": plan.__dict__})
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        policy, tokenizer = models.load(args.init, precision.device, trainable=True)
        policy = adapters.with_adapters(policy, cfg.finetune.lora_rank, cfg.model.lora_targets)
        objective, teacher, guide = setup.objective(
            plan, cfg, args.init, args.guide, precision.device, precision.frozen
        )
        examples = read_jsonl(args.data)
        run.log_input(args.data, "training")
        if plan.filtered:
            examples = corpus.unflagged(examples)
        train_cfg = plan.train(cfg.finetune.train)
        history = train_stage.fit_policy(run, args, cfg, policy, tokenizer, objective, examples, train_cfg, precision)
        if not runtime.is_main_process():  # under a multi-process launcher only the first process writes
            return
        policy = adapters.merged(policy)
        diagnostics = {}
        if guide is not None:  # KL(p ‖ q*) on held-out prefixes, before (teacher) and after (policy) this fine-tuning
            heldout, pad = read_jsonl(args.heldout), tokenizer.pad_token_id
            diagnostics["kl_to_qstar_before"] = setup.heldout_kl(teacher, teacher, guide, heldout, cfg.nado.delta, pad)
            diagnostics["kl_to_qstar_after"] = setup.heldout_kl(policy, teacher, guide, heldout, cfg.nado.delta, pad)
        dtype = None if schedule.is_intermediate(args.name) else torch.bfloat16  # evaluated only: half the bytes
        metrics = train_stage.save_trained(
            run, args, policy, tokenizer, history, examples, train_cfg.epochs, dtype, diagnostics
        )
    train_stage.finished(args, metrics)


if __name__ == "__main__":
    main()
