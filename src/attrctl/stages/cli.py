"""What every stage CLI shares: the argument parser, validated config loading and the log file."""

from __future__ import annotations

import argparse
import re
import signal
import sys
from pathlib import Path

from attrctl.config import Config, ConfigError, load
from attrctl.runtime import is_main_process, prepare_env

TRAINING = [
    "--checkpoints PATH  resumable training state (removed when done)",
    "--out PATH  output: the model's directory",
    "--metrics PATH  output: training metrics and per-step history (.json)",
]
"""The options of every training stage besides its inputs: its checkpoint folder and its two outputs."""
_OPTION = re.compile(r"(\[)?--([\w-]+) (NAME|PATH|PATHS)\]?\s+(\S.*)")


def parser(doc: str | None, spec, training: bool = False) -> argparse.ArgumentParser:
    """The stage's parser, built from its docstring: the first paragraph is the description, the `Options:`
    block (up to a blank line) declares the options (the usage text is the one place they are written), the rest
    is the epilog.

    One option per line: `--flag PATH  help` is a required path, `[--flag PATH]` an optional one, `--flag PATHS`
    one or more paths, `--flag NAME` a required string. A training stage (`training`) also takes TRAINING."""
    first, _, rest = (doc or "").strip().partition("\n\n")
    rest, _, options = rest.partition("Options:\n")
    options, _, after = options.partition("\n\n")  # the block ends at a blank line
    rest = f"{rest.strip()}\n\n{after.strip()}"
    p = argparse.ArgumentParser(
        prog=f"python -m {spec.name}" if spec else None,
        description=" ".join(first.split()),
        epilog=rest.strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file (default: params.yaml)")
    p.add_argument("--log-file", type=Path, help="also write everything the stage prints to this file")
    for line in options.strip().splitlines() + (TRAINING if training else []):
        match = _OPTION.fullmatch(line.strip())
        if match is None:
            raise ValueError(f"option line {line.strip()!r} is not `--flag KIND  help` (KIND: NAME, PATH, PATHS)")
        optional, flag, kind, help = match.groups()
        kwargs = {} if kind == "NAME" else {"type": Path, "nargs": "+" if kind == "PATHS" else None}
        p.add_argument(f"--{flag}", required=not optional, metavar=kind, help=help, **kwargs)
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


def start(p: argparse.ArgumentParser, argv: list[str] | None) -> tuple[argparse.Namespace, Config]:
    """Parse the command line, validate params (exit 2 with the message on error), open the log, prepare the
    process environment. SIGTERM (what Snakemake and schedulers send to stop a job) raises SystemExit, so
    temporary outputs are removed and the MLflow run is marked FAILED on the way out."""
    args = p.parse_args(argv)
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
    return args, cfg


def job(run, args, cfg, data: Path, precision, **extra: str):
    """The training job of a stage: checkpoints in `args.checkpoints`, resumed only under the same tracked params
    of the stage (plus `extra`), model name and training data; every step logged live to the MLflow `run`."""
    from attrctl import training
    from attrctl.config import tracked

    fingerprint = training.fingerprint({**tracked(cfg, run.stage), **extra}, args.name, data)
    return training.Job(args.checkpoints, fingerprint, f"{run.stage} {args.name}", precision, run.log_step)


def fit_policy(run, args, cfg, policy, tokenizer, objective, examples, train_cfg, precision) -> list[dict]:
    """Train a policy on corpus-style examples (those of `args.data`) with `objective` in the shared loop;
    returns the per-step history."""
    from attrctl import training
    from attrctl.batch import collate

    pad, training_job = tokenizer.pad_token_id, job(run, args, cfg, args.data, precision)
    return training.fit(policy, objective, examples, lambda b: collate(b, pad), train_cfg, cfg.seed, training_job)


def save_component(run, args, write, history, examples, epochs: int, extra=None) -> dict:
    """Write a trained part into `args.out` with `write(directory)`, and its metrics (with the per-step history)
    into `args.metrics`; log both; returns the metrics."""
    from attrctl import training
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
