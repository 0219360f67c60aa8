"""What every stage CLI shares: the argument parser, validated config loading and the log file."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from attrctl.config import Config, ConfigError, load
from attrctl.runtime import prepare_env


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
    p.add_argument("--log", type=Path, help="also write everything the stage prints to this file")
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
    if args.log:
        args.log.parent.mkdir(parents=True, exist_ok=True)
        log = args.log.open("w")
        sys.stdout, sys.stderr = _Tee(sys.stdout, log), _Tee(sys.stderr, log)
    try:
        cfg = load(args.params)
    except ConfigError as err:
        fail(str(err))
    prepare_env(cfg.runtime)
    return cfg
