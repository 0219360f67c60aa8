"""Every stage is a CLI with a helpful --help: its command as the program name, its docstring's first paragraph
whole, and each input and output named."""

from __future__ import annotations

import importlib
import pkgutil
from types import SimpleNamespace

import pytest

import attrctl.stages

STAGES = sorted(m.name for m in pkgutil.iter_modules(attrctl.stages.__path__) if m.name != "cli")


@pytest.mark.parametrize("stage", STAGES)
def test_help(stage, capsys):
    module = importlib.import_module(f"attrctl.stages.{stage}")
    with pytest.raises(SystemExit) as exit_:
        module.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: python -m attrctl.stages.{stage} ")
    first = " ".join(module.__doc__.strip().split("\n\n")[0].split())
    assert first in " ".join(text.split()), "the description must not break mid-sentence"
    assert "--params" in text and "--log-file" in text


DOC = """A stage.

Options:
  --name NAME        a string
  --model PATH       input: a path
  [--guide PATH]     input: an optional path
  --samples PATHS    inputs: one or more paths

What the stage does, at length.
"""


def test_the_docstring_declares_the_options():
    from pathlib import Path

    from attrctl.stages import cli

    # a training stage (its method declares Stage("finetune", training=True)) also takes checkpoints and outputs
    p = cli.parser(DOC, SimpleNamespace(name="attrctl.stages.finetune"))
    args = p.parse_args(
        ["--name", "x", "--model", "m", "--samples", "a", "b", "--checkpoints", "c", "--out", "o", "--metrics", "t"]
    )
    assert (args.name, args.model, args.guide, args.samples) == ("x", Path("m"), None, [Path("a"), Path("b")])
    assert args.checkpoints == Path("c") and args.out == Path("o")
    with pytest.raises(SystemExit):  # --model is required
        p.parse_args(["--name", "x", "--samples", "a", "--checkpoints", "c", "--out", "o", "--metrics", "t"])
    assert p.epilog == "What the stage does, at length."
    plain = cli.parser(DOC, SimpleNamespace(name="attrctl.stages.sample"))
    assert "--checkpoints" not in plain.format_help()
    with pytest.raises(ValueError, match="--bad"):
        cli.parser("A stage.\n\nOptions:\n  --bad thing\n", None)
