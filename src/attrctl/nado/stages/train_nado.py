"""Train NADO_k on the labelled samples of iteration k, then measure it on fresh samples of held-out prompts.

The NADO reads the hidden states of the model the samples came from (p_{k-1}); it warm-starts from the previous
iteration's NADO when one is given, checkpoints every N steps and each epoch, and resumes after a kill.
Diagnostics: AUROC of the final-position estimate, ECE and reliability diagram of R(x), consistency gap.

Options:
  --name NAME          the NADO's name, e.g. sequential_iter1
  --model PATH         input: the model the samples came from
  --train PATH         input: annotated samples to train on
  --heldout PATH       input: annotated eval samples of the same model
  [--warm-start PATH]  input: the NADO to start from
  --plot PATH          output: reliability diagram (.png)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import models, plots, runtime, train_stage
    from attrctl.io import atomic_path, read_jsonl, write_json
    from attrctl.nado import diagnostics, model, train
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "train_nado", args.name, nado=args.name) as run:
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        base, tokenizer = models.load(args.model, precision.device, precision.frozen)
        run.log_input(args.train, "training")
        if args.warm_start:
            nado_model = model.load(args.warm_start, base)
        else:
            nado_model = model.build(base, cfg.nado.trunk, cfg.nado.layers, cfg.nado.lora_rank, cfg.nado.head)
        train.make_trainable(nado_model)
        job = train_stage.job(run, args, cfg, precision)
        rows, pad = read_jsonl(args.train), tokenizer.pad_token_id
        history, cache_seconds = train.train(
            base, nado_model, rows, cfg.nado, cfg.oracle.threshold, cfg.sample.temperature, cfg.seed, pad, job
        )
        if not runtime.is_main_process():  # under a multi-process launcher only the first process writes
            return
        with atomic_path(args.out, directory=True) as tmp:
            nado_model.save(tmp)
        metrics, table = diagnostics.diagnostics(
            base,
            nado_model,
            read_jsonl(args.heldout),
            cfg.oracle.threshold,
            cfg.nado.label,
            tokenizer.pad_token_id,
            cfg.seed,
        )
        metrics["nado_train_loss_final"] = history[-1]["loss"] if history else float("nan")
        metrics["nado_train_seconds"] = cache_seconds + history[-1]["seconds"]  # the whole training, resumes included
        write_json(args.metrics, {**metrics, "reliability": table, "history": history})
        plots.reliability(
            table, args.plot, title=f"NADO {args.name}: R(x) vs fresh samples (ECE {metrics['nado_ece']:.3f})"
        )
        run.log_metrics(metrics)
        run.log_artifact(args.plot, "plots")
        run.log_model(args.out, f"nado-{args.name}")
    train_stage.finished(args, metrics)


if __name__ == "__main__":
    main()
