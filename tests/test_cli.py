"""Every stage is a CLI with a helpful --help: its command as the program name, its docstring's first paragraph
whole, and each input and output named."""

from __future__ import annotations

import importlib
import pkgutil

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
