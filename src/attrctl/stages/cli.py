"""What every stage CLI shares: the argument parser, validated config loading and the log file."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from attrctl import methods
from attrctl.config import Config, ConfigError, load
from attrctl.runtime import is_main_process, prepare_env

TRAINING = [
    "--checkpoints PATH  resumable training state (removed when done)",
    "--out PATH  output: the model's directory",
    "--metrics PATH  output: training metrics and per-step history (.json)",
]
"""The options of every training stage besides its inputs: its checkpoint folder and its two outputs."""
_OPTION = re.compile(r"(\[)?--([\w-]+) (NAME|PATH|PATHS)\]?\s+(\S.*)")


def parser(doc: str | None, spec) -> argparse.ArgumentParser:
    """The stage's parser, built from its docstring: the first paragraph is the description, the `Options:`
    block (up to a blank line) declares the options (the usage text is the one place they are written), the rest
    is the epilog.

    One option per line: `--flag PATH  help` is a required path, `[--flag PATH]` an optional one, `--flag PATHS`
    one or more paths, `--flag NAME` a required string. A training stage (its method's `Stage.training`) also
    takes TRAINING."""
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
    training = spec is not None and methods.stage(spec.name.rsplit(".", 1)[-1]).training
    inputs = []
    for line in options.strip().splitlines() + (TRAINING if training else []):
        match = _OPTION.fullmatch(line.strip())
        if match is None:
            raise ValueError(f"option line {line.strip()!r} is not `--flag KIND  help` (KIND: NAME, PATH, PATHS)")
        optional, flag, kind, help = match.groups()
        kwargs = {} if kind == "NAME" else {"type": Path, "nargs": "+" if kind == "PATHS" else None}
        action = p.add_argument(f"--{flag}", required=not optional, metavar=kind, help=help, **kwargs)
        inputs += [action.dest] if help.startswith("input:") else []
    p.set_defaults(input_options=inputs)
    return p


def _given(args: argparse.Namespace) -> Iterator[tuple[str, Path]]:
    """(option, path) of each input path a stage was given (its options whose help starts with `input:`)."""
    for dest in args.input_options:
        value = getattr(args, dest)
        for path in value if isinstance(value, list) else [] if value is None else [value]:
            yield f"--{dest.replace('_', '-')}", path


def inputs(args: argparse.Namespace) -> list[Path]:
    """The paths a stage was given as inputs, in option order."""
    return [path for _, path in _given(args)]


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


DISK_FULL = ("No space left on device", "iostream error", "file write failed", "PytorchStreamWriter failed")
"""How a full disk shows in errors that lose errno (torch's C++ writers, safetensors)."""


def disk_full(error: BaseException | None) -> bool:
    """Whether an error (or one it was raised from) is a full disk."""
    while error is not None:
        if (isinstance(error, OSError) and error.errno == errno.ENOSPC) or any(s in str(error) for s in DISK_FULL):
            return True
        error = error.__cause__ or error.__context__
    return False


def _explained(kind: type[BaseException], error: BaseException, tb) -> None:
    """The traceback, then what a full disk means for the job (libraries say `iostream error`)."""
    sys.__excepthook__(kind, error, tb)
    if disk_full(error):
        free = shutil.disk_usage(Path.cwd()).free / 2**30
        print(
            f"error: the disk is full ({free:.2f} GiB free under {Path.cwd()}): this job's partial outputs were "
            "removed; free space (results/checkpoints/, `dvc gc`) and run the same command again",
            file=sys.stderr,
        )


LAUNCHERS = ("snakemake", "dvc")
"""Workflow managers whose death ends the jobs they started (found among a job's ancestors by program name)."""


def _proc_stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process from /proc, None when it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in "ZX" else (int(fields[1]), fields[19])


def _launcher() -> tuple[int, str] | None:
    """(pid, start time) of the nearest Snakemake or DVC process among this process's ancestors, if any."""
    pid = os.getppid()
    for _ in range(8):  # job <- shell <- (accelerate <- shell <-) snakemake; never the user's login chain
        stat = _proc_stat(pid)
        if stat is None or pid <= 1:
            return None
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
            if any(Path(a).name in LAUNCHERS for a in argv[:3] if " " not in a):  # a program, not a `sh -c` line
                return pid, stat[1]
        pid = stat[0]
    return None


def follow_launcher(interval: float = 2.0) -> None:
    """End this job (as SIGTERM does: outputs cleaned, MLflow run FAILED) when the Snakemake or DVC process that
    started it dies. A SIGKILLed Snakemake cannot stop its jobs, and an orphan would go on writing outputs that
    the next run's Snakemake deletes. Linux only (/proc); elsewhere a no-op."""
    launcher = _launcher()
    if launcher is None:
        return
    pid, started = launcher

    def watch() -> None:
        while (stat := _proc_stat(pid)) is not None and stat[1] == started:  # same start time: not a reused pid
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="follow-launcher", daemon=True).start()


def start(p: argparse.ArgumentParser, argv: list[str] | None) -> tuple[argparse.Namespace, Config]:
    """Parse the command line, validate params and check that every input path exists (exit 2 with the message
    on error), open the log, prepare the process environment. SIGTERM (what Snakemake and schedulers send to
    stop a job) raises SystemExit, so temporary outputs are removed and the MLflow run is marked FAILED on the
    way out."""
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.excepthook = _explained
    follow_launcher()
    if args.log_file and is_main_process():  # one log per job, written by the first of its processes
        args.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = args.log_file.open("w")
        sys.stdout, sys.stderr = _Tee(sys.stdout, log), _Tee(sys.stderr, log)
    try:
        cfg = load(args.params)
    except ConfigError as err:
        fail(str(err))
    for option, path in _given(args):  # before any loading: a library's error would not name the option
        if not path.exists():
            fail(f"{option} {path}: no such file or directory")
    prepare_env(cfg.runtime)
    return args, cfg
