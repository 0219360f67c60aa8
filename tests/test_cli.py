"""Every stage is a CLI with a helpful --help: its command as the program name, its docstring's first paragraph
whole, and each input and output named."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from attrctl import methods

STAGES = sorted(s.name for s in methods.stages())


def test_every_stage_module_is_declared():
    """A stage CLI that no method declares would be run by no rule (and tracked by no test)."""
    import pkgutil

    import attrctl

    found = set()
    for info in pkgutil.walk_packages(attrctl.__path__, "attrctl."):
        package, _, name = info.name.rpartition(".")
        if package.endswith(".stages") and name != "cli":
            found.add(info.name)
    assert found == {methods.stage_module(s) for s in STAGES}


@pytest.mark.parametrize("stage", STAGES)
def test_help(stage, capsys):
    module = importlib.import_module(methods.stage_module(stage))
    with pytest.raises(SystemExit) as exit_:
        module.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: python -m {methods.stage_module(stage)} ")
    first = " ".join(module.__doc__.strip().split("\n\n")[0].split())
    assert first in " ".join(text.split()), "the description must not break mid-sentence"
    assert "--params" in text and "--log-file" in text


DOC = """A stage.

Options:
  --name NAME        a string
  --model PATH       input: a path
  [--guide PATH]     input: an optional path
  --samples PATHS    input: one or more paths

What the stage does, at length.
"""


def test_the_docstring_declares_the_options():
    from pathlib import Path

    from attrctl.stages import cli

    # a training stage (its method declares Stage("finetune", training=True)) also takes checkpoints and outputs
    p = cli.parser(DOC, SimpleNamespace(name="attrctl.finetune.stages.finetune"))
    args = p.parse_args(
        ["--name", "x", "--model", "m", "--samples", "a", "b", "--checkpoints", "c", "--out", "o", "--metrics", "t"]
    )
    assert (args.name, args.model, args.guide, args.samples) == ("x", Path("m"), None, [Path("a"), Path("b")])
    assert args.checkpoints == Path("c") and args.out == Path("o")
    assert cli.inputs(args) == [Path("m"), Path("a"), Path("b")]  # the `input:` options given (what resumes hash)
    with pytest.raises(SystemExit):  # --model is required
        p.parse_args(["--name", "x", "--samples", "a", "--checkpoints", "c", "--out", "o", "--metrics", "t"])
    assert p.epilog == "What the stage does, at length."
    plain = cli.parser(DOC, SimpleNamespace(name="attrctl.stages.sample"))
    assert "--checkpoints" not in plain.format_help()
    with pytest.raises(ValueError, match="--bad"):
        cli.parser("A stage.\n\nOptions:\n  --bad thing\n", None)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_job_ends_when_the_snakemake_that_started_it_is_killed(tmp_path):
    """A SIGKILLed Snakemake cannot stop its jobs: each job watches it and ends itself (no orphan goes on writing
    the outputs the next run deletes). The stand-in is a shell script named snakemake, as the real one is a script."""
    job = "from attrctl.stages import cli; cli.follow_launcher(0.1); open('ready', 'w'); import time; time.sleep(60)"
    fake = tmp_path / "snakemake"
    fake.write_text(f'#!/bin/sh\n{sys.executable} -c "{job}" &\necho $! > job.pid\nwait\n')
    fake.chmod(0o755)
    launcher = subprocess.Popen([str(fake)], cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not (tmp_path / "ready").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = int((tmp_path / "job.pid").read_text())
    time.sleep(0.5)
    assert _running(pid), "the job must run while its launcher lives"
    launcher.kill()
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    launcher.wait()
    assert not _running(pid), "the job outlived the killed launcher"
