"""Shared fixtures: the embedded tokenizer and tiny random models built from a config (no download)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from attrctl import methods

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
# dvc.yaml is generated per profile
PROJECT_FILES = ["Snakefile", "workflow", "src", "profiles", ".gitignore", ".dvcignore"]


def pytest_collection_modifyitems(config, items):
    import torch

    # `make test` hands out whole files (--dist loadfile: xdist 3.8's xdist_group marks never reach pytest 9's
    # node ids), in this order: the end-to-end files start first, one per worker
    items.sort(key=lambda item: "slow" not in item.keywords)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA: no NVIDIA GPU here (run `make test-gpu` on a GPU machine)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tokenizer():
    from attrctl.models import embedded_tokenizer

    tok = embedded_tokenizer()
    tok.padding_side = "left"
    return tok


@pytest.fixture(scope="session")
def tiny_model(tokenizer):
    from attrctl.config import TinyModelConfig
    from attrctl.models import tiny_model

    return tiny_model(tokenizer, TinyModelConfig(layers=2, hidden=32, heads=2), seed=0).eval()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_model, tokenizer) -> Path:
    from attrctl.models import save

    path = tmp_path_factory.mktemp("models") / "tiny"
    save(tiny_model, tokenizer, path)
    return path


def greedy_changes(rows: list[dict], scorer, base) -> list[bool]:
    """Asserts that each greedy row's tokens are what `scorer` ranks first over the whole sequence (an
    incremental decoder agrees with whole-sequence scoring); for each row, whether `base` alone would have
    picked other tokens."""
    import torch

    changed = []
    for row in rows:
        ids = torch.tensor([row["prompt_ids"] + row["token_ids"]])
        p, n = len(row["prompt_ids"]), len(row["token_ids"])
        assert scorer(ids).logits[0, p - 1 : p - 1 + n].argmax(-1).tolist() == row["token_ids"]
        changed.append(base(ids).logits[0, p - 1 : p - 1 + n].argmax(-1).tolist() != row["token_ids"])
    return changed


def nado_greedy(lm, tokenizer, prompts: list[dict], trunk: str = "small") -> tuple[list[dict], object]:
    """Greedy rows of `lm` under a random NADO (δ = 1, γ = 1, where q* does not depend on R(x)) through the
    incremental logits processor, and the GuidedLM that scores whole sequences under the same q."""
    import torch

    from attrctl.config import SampleConfig
    from attrctl.nado import decode, model
    from attrctl.sampling import generate

    torch.manual_seed(0)
    nado_model = model.build(lm, trunk, 1, 4, "vocab").eval()
    randomise(nado_model, 2.0)  # a non-trivial NADO
    processor = decode.NadoLogitsProcessor(lm, nado_model, 1.0, 1.0, tokenizer.pad_token_id)
    try:
        cfg = SampleConfig(greedy=True, max_new_tokens=5)
        rows = generate(lm, tokenizer, prompts, cfg, 0, 32, logits_processor=processor)
    finally:
        processor.remove()
    return rows, decode.GuidedLM(lm, nado_model, delta=1.0, strength=1.0)


def randomise(nado_model, std: float = 1.0) -> None:
    """A non-trivial NADO: its head's weights drawn at random (both heads start at zero)."""
    import torch

    head = nado_model.head
    torch.nn.init.normal_(head.proj.weight if hasattr(head, "proj") else head.weight, std=std)


def make_project(root: Path, params: str | Path = REPO / "configs" / "tiny.yaml") -> Path:
    """A scratch copy of the project (rules, sources, profiles) whose params.yaml is the defaults with `params` (a
    profile overlay, or a full params file) merged on top, as `python -m attrctl.profiles` writes it; no dvc.yaml
    (generate one for the profile with `python -m attrctl.pipeline.dvcgen` where a test needs it)."""
    from attrctl.profiles import build, render

    root.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)
    (root / "params.yaml").write_text(render(build([params]), [params]), encoding="utf-8")
    return root


def untracked(root: Path) -> None:
    """MLflow off in a project whose runs no test reads: each stage then skips ~3 s of MLflow start-up."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["tracking"]["enabled"] = False
    (root / "params.yaml").write_text(yaml.safe_dump(params))


def run(
    cmd: list[str], cwd: Path, check: bool = True, timeout: int = 2700, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run a command (with `env` added to the environment), failing the test with its output's tail. The timeout
    only catches a hang: the whole tiny DAG takes 7-9 min on 2 cores beside the other xdist worker, past 15 when
    more shared it (CI allows 90)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


# the pipeline's stages (dvc.yaml names a stage `<rule>`, `<rule>-<model>` or `<rule>@<key>`): the tiny profile
# has a model of every method, so its DAG runs every declared stage
STAGES = {s.name for s in methods.stages()}


def stage_rule(name: str) -> str:
    """The rule of a DVC stage name: `sample@base-eval`, `finetune-sft` or `report`."""
    return name.split("@")[0].split("-")[0]


def ran_stages(dvc_output: str) -> set[str]:
    return {stage_rule(s) for s in re.findall(r"Running stage '([\w.@-]+)'", dvc_output)}


PYTHON = sys.executable
SNAKEMAKE = ["snakemake", "--cores", "2"]


def git_project(path, copy: bool = True):
    """A scratch git + DVC repository whose dvc.yaml is generated for its params (the test profile's DAG)."""
    root = make_project(path) if copy else path
    run([PYTHON, "-m", "attrctl.pipeline.dvcgen"], root)
    run(["git", "init", "-q"], root)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "empty"], root)
    run(["dvc", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "project"], root)
    return root


def copy_results(source: Path, root: Path, paths: list[str]) -> None:
    """Copy outputs of a finished run into another project: inputs a test needs, built once per session."""
    for rel in paths:
        src, dst = source / rel, root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)


@pytest.fixture(scope="session")
def snakemake_project(tmp_path_factory):
    """The tiny profile's whole DAG, run by Snakemake two jobs at a time: the project folder. Only test_pipeline
    uses it, so that `make test` (one test file per pytest-xdist worker at a time) builds it once. Tests may change
    its params or code; each leaves Snakemake with nothing to do (or puts the file back)."""
    root = git_project(tmp_path_factory.mktemp("smk") / "p")
    run(SNAKEMAKE, root)
    return root
