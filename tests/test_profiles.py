"""Profiles are overlays on the config defaults; `python -m attrctl.profiles` merges them into the full params.yaml
that DVC reads, and params.yaml in the repository is exactly what it writes for no overlay."""

from __future__ import annotations

import pytest
import yaml
from conftest import PYTHON, REPO, run

from attrctl import config
from attrctl.config import Config, ConfigError, Section, load
from attrctl.profiles import build, main, render

PROFILES = sorted((REPO / "configs").glob("*.yaml"))


def overlay(tmp_path, raw: dict, name: str = "x.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def test_an_overlay_recurses_into_sections_and_replaces_other_values_whole(tmp_path):
    first = overlay(
        tmp_path,
        {
            "nado": {"layers": 3, "train": {"lr": 0.002}},
            "l3m": {"constraints": {"short": [{"metric": "length", "bound": 3.0}]}},
            "dglm": {"runs": {"dglm_tox": {"toxicity": 1.0}}},
            "tnt": {"losses": ["nl", "ul"]},
        },
    )
    second = overlay(tmp_path, {"nado": {"train": {"epochs": 4}}, "tnt": {"losses": ["ul"]}}, "y.yaml")
    cfg = build([first, second])
    default = Config()
    # sections merge key by key: the section's own default (nado.train.batch_size 16, not TrainConfig's 8) survives
    assert cfg.nado.layers == 3 and cfg.nado.head == default.nado.head
    assert cfg.nado.train == default.nado.train.model_copy(update={"lr": 0.002, "epochs": 4})
    # dict-typed fields map user names to data: the overlay's mapping is the whole value, no default entry is left
    assert list(cfg.l3m.constraints) == ["short"]
    assert cfg.dglm.runs == {"dglm_tox": {"toxicity": 1.0}}
    assert cfg.tnt.losses == ["ul"]  # lists too; the last overlay wins
    assert cfg.l3m.mu_start == default.l3m.mu_start and cfg.dglm.denoiser == default.dglm.denoiser


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"nado": {"trian": {"lr": 1.0}}}, ["nado.trian: unknown key", "allowed keys here: trunk, layers"]),
        ({"nado": {"train": {"learning_rate": 1.0}}}, ["nado.train.learning_rate: unknown key", "lr, epochs"]),
        ({"sampel": {"k": 3}}, ["sampel: unknown key", "allowed keys here: seed, models"]),
        ({"sample": {"k": 0}}, ["sample.k = 0"]),
    ],
)
def test_a_bad_overlay_names_file_and_key_and_writes_nothing(tmp_path, capsys, raw, words):
    path = overlay(tmp_path, raw)
    out = tmp_path / "params.yaml"
    out.write_text("untouched\n")
    assert main([str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    for word in [f"invalid params in {path}:", *words]:
        assert word in err, f"{word!r} missing from:\n{err}"
    assert out.read_text() == "untouched\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml", "x.yaml"]  # no temp file left behind
    with pytest.raises(ConfigError, match="unknown key|sample.k"):
        build([path])


def test_params_yaml_is_what_the_tool_writes_for_no_overlay():
    proc = run([PYTHON, "-m", "attrctl.profiles", "--check"], REPO, check=False)  # as CI would call it
    assert proc.returncode == 0, proc.stderr
    assert (REPO / "params.yaml").read_text(encoding="utf-8") == render(Config())


def test_written_file_loads_back_with_each_key_under_its_doc(tmp_path, capsys):
    out = tmp_path / "params.yaml"
    assert main([str(REPO / "configs" / "tiny.yaml"), "--out", str(out)]) == 0
    assert "python -m attrctl.pipeline.dvcgen" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert load(out) == build([REPO / "configs" / "tiny.yaml"])
    assert "configs/tiny.yaml" in text.splitlines()[0]
    # a blank line, the section's doc, the section, each key under its doc's first sentence
    section = ["", "# Sampling settings of the toxicity protocol.", "sample:", "  # Samples per prompt (paper"]
    assert "\n".join(section) + " protocol: 25).\n  k: 2\n" in text
    assert max(len(line) for line in text.splitlines() if not line.startswith("#   python")) <= 120
    # --check: 0 on the file it wrote, 1 once it differs
    assert main([str(REPO / "configs" / "tiny.yaml"), "--out", str(out), "--check"]) == 0
    out.write_text(text.replace("k: 2", "k: 3"))
    assert main([str(REPO / "configs" / "tiny.yaml"), "--out", str(out), "--check"]) == 1
    assert "differs" in capsys.readouterr().err


def leaves_equal_to_defaults(raw: dict, defaults: dict, model: type[Section], prefix: str = "") -> list[str]:
    same = []
    for key, value in raw.items():
        sub = model.model_fields[key].annotation
        if isinstance(sub, type) and issubclass(sub, Section) and isinstance(value, dict):
            same += leaves_equal_to_defaults(value, defaults[key], sub, f"{prefix}{key}.")
        elif value == defaults[key]:
            same.append(prefix + key)
    return same


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_every_profile_is_a_short_overlay_that_validates(monkeypatch, path):
    monkeypatch.setattr(config, "hub_reachable", lambda: True)  # the paper profile names hub models and data
    assert isinstance(build([path]), Config)
    raw = yaml.safe_load(path.read_text())
    assert not leaves_equal_to_defaults(raw, Config().model_dump(mode="json"), Config), "repeats a default"
    if path.name in ("gpu.yaml", "paper.yaml"):
        assert len(path.read_text().splitlines()) <= 40
