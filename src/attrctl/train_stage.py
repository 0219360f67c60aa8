"""What every training stage CLI shares besides its parser: the resumable training job, fitting a policy on
corpus-style examples, writing the trained part with its metrics, and clearing the checkpoints. Kept apart from
attrctl.stages.cli so that stages that do not train do not import the training loop (nor depend on its code)."""

from __future__ import annotations

from attrctl import training
from attrctl.config import tracked


def job(run, args, cfg, precision):
    """The training job of a stage: checkpoints in `args.checkpoints`, resumed only by the same job (the same tracked
    params of the stage, model name, input contents and code); every step logged live to `run`. Only the main
    process checks and writes checkpoints, so only it reads the inputs to fingerprint them."""
    from attrctl.pipeline.rules import REPO, code
    from attrctl.runtime import is_main_process
    from attrctl.stages.cli import inputs

    fingerprint = ""
    if is_main_process():
        code_files = [REPO / f for f in code(run.stage, run.tags)]
        fingerprint = training.fingerprint(tracked(cfg, run.stage, run.tags), args.name, inputs(args), code_files)
    return training.Job(args.checkpoints, fingerprint, f"{run.stage} {args.name}", precision, run.log_step)


def fit_policy(run, args, cfg, policy, tokenizer, objective, examples, train_cfg, precision) -> list[dict]:
    """Train a policy on corpus-style examples (those of `args.data`) with `objective` in the shared loop;
    returns the per-step history."""
    from attrctl.batch import collate

    pad, training_job = tokenizer.pad_token_id, job(run, args, cfg, precision)
    return training.fit(policy, objective, examples, lambda b: collate(b, pad), train_cfg, cfg.seed, training_job)


def save_component(run, args, write, history, examples, epochs: int, extra=None) -> dict:
    """Write a trained part into `args.out` with `write(directory)`, and its metrics (with the per-step history)
    into `args.metrics`; log both; returns the metrics."""
    from attrctl.io import atomic_path, write_json

    with atomic_path(args.out, directory=True) as tmp:
        write(tmp)
    metrics = {**training.summary(history, examples, epochs), **(extra or {})}
    write_json(args.metrics, {**metrics, "history": history})
    run.log_metrics(metrics)
    run.log_model(args.out, args.name)
    return metrics


def save_trained(run, args, model, tokenizer, history, examples, epochs: int, dtype=None, extra=None) -> dict:
    """Write a trained model (safetensors and tokenizer) and its metrics, and log both; returns the metrics."""
    from attrctl import models

    write = lambda tmp: models.save(model, tokenizer, tmp, dtype)  # noqa: E731
    return save_component(run, args, write, history, examples, epochs, extra)


def finished(args, metrics: dict) -> None:
    """The checkpoints go once the outputs are safely written; the numbers are printed."""
    import shutil

    shutil.rmtree(args.checkpoints, ignore_errors=True)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, int | float)))
