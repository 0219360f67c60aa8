"""What every stage CLI shares: the argument parser, validated config loading and the log file."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from attrctl.config import Config, ConfigError, load
from attrctl.runtime import is_main_process, prepare_env


def parser(doc: str | None, spec) -> argparse.ArgumentParser:
    """A parser whose description is the module docstring's first paragraph and whose program name is the
    command that runs it (`python -m attrctl.stages.<stage>`)."""
    first, _, rest = (doc or "").strip().partition("\n\n")
    p = argparse.ArgumentParser(
        prog=f"python -m {spec.name}" if spec else None,
        description=" ".join(first.split()),
        epilog=rest.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file (default: params.yaml)")
    p.add_argument("--log-file", type=Path, help="also write everything the stage prints to this file")
    return p


class _Tee:
    """A text stream that writes to the terminal and to a log file."""

    def __init__(self, stream, log):
        self.stream, self.log = stream, log

    def write(self, text: str) -> int:
        self.log.write(text)
        self.log.flush()
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def fail(message: str) -> None:
    """Stop on bad input: the message on stderr, exit status 2 (the same for every validation error)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def start(args: argparse.Namespace) -> Config:
    """Validate params (exit 2 with the message on error), open the log, prepare the process environment.
    SIGTERM (what Snakemake and schedulers send to stop a job) raises SystemExit, so temporary outputs are
    removed and the MLflow run is marked FAILED on the way out."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if args.log_file and is_main_process():  # one log per job, written by the first of its processes
        args.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = args.log_file.open("w")
        sys.stdout, sys.stderr = _Tee(sys.stdout, log), _Tee(sys.stderr, log)
    try:
        cfg = load(args.params)
    except ConfigError as err:
        fail(str(err))
    prepare_env(cfg.runtime)
    return cfg


def training_arguments(p: argparse.ArgumentParser) -> None:
    """What every training stage takes besides its inputs: its checkpoint folder and its two outputs."""
    p.add_argument("--checkpoints", type=Path, required=True, help="resumable training state (removed when done)")
    p.add_argument("--out", type=Path, required=True, help="output: the model's directory")
    p.add_argument("--metrics", type=Path, required=True, help="output: training metrics and history (.json)")


def save_trained(run, args, model, tokenizer, history, examples, epochs: int, dtype=None, extra=None) -> dict:
    """Write a trained model and its metrics (with the per-step history) and log both; returns the metrics."""
    from attrctl import models, training
    from attrctl.io import atomic_path, write_json

    with atomic_path(args.out, directory=True) as tmp:
        models.save(model, tokenizer, tmp, dtype)
    metrics = {**training.summary(history, examples, epochs), **(extra or {})}
    write_json(args.metrics, {**metrics, "history": history})
    run.log_metrics(metrics)
    run.log_model(args.out, args.name)
    return metrics


def finished(args, metrics: dict) -> None:
    """The checkpoints go once the outputs are safely written; the numbers are printed."""
    import shutil

    shutil.rmtree(args.checkpoints, ignore_errors=True)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, int | float)))
