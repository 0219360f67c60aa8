"""docs/adding-a-method.md holds: its worked example, written into a scratch project as a new folder and nothing
else, is a method the config, Snakemake and DVC know, and its model samples on the test profile."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import PYTHON, REPO, make_project, run, untracked

BLOCK = re.compile(r"^```\w+ file=(\S+)\n(.*?)^```$", re.M | re.S)


def example_files() -> dict[str, str]:
    return dict(BLOCK.findall((REPO / "docs" / "adding-a-method.md").read_text()))


def test_the_guide_writes_one_new_folder():
    files = example_files()
    assert {"method.py", "rules.smk", "stages/hot_model.py"} <= {f.removeprefix("src/attrctl/hot/") for f in files}
    assert all(f.startswith("src/attrctl/hot/") for f in files)


@pytest.mark.slow
def test_the_worked_example_runs_on_the_test_profile(tmp_path):
    root = make_project(tmp_path / "p")
    for name, text in example_files().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    env = {"PYTHONPATH": str(root / "src")}  # the project's own sources, with the new folder
    overlay = root / "mine.yaml"
    tiny = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())
    overlay.write_text(yaml.safe_dump({**tiny, "models": ["base", "hot"], "hot": {"temperature": 3.0}}))
    run([PYTHON, "-m", "attrctl.profiles", str(overlay)], root, env=env)
    untracked(root)
    run([PYTHON, "-m", "attrctl.pipeline.dvcgen"], root, env=env)

    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    assert stages["hot_model"]["params"] == ["hot.temperature"]
    hot_sample = next(s for name, s in stages.items() if name.startswith("sample") and "hot" in name)
    assert "src/attrctl/hot/decode.py" in hot_sample["deps"]  # the loader is a dependency of hot's jobs only
    on_hot = [name for name, s in stages.items() if "src/attrctl/hot/decode.py" in str(s.get("deps", s.get("do")))]
    assert len(on_hot) == 2 and "hot_model" in on_hot

    run(["snakemake", "--cores", "2", "results/samples/hot/eval.jsonl"], root, env=env)
    spec = yaml.safe_load((root / "results" / "models" / "hot" / "guided.json").read_text())
    assert spec["module"] == "attrctl.hot.decode" and spec["temperature"] == 3.0
    rows = [yaml.safe_load(line) for line in (root / "results" / "samples" / "hot" / "eval.jsonl").open()]
    assert rows and all(r["token_ids"] for r in rows)
