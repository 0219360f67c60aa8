"""Every path the pipeline writes, in one place (the Snakemake rules and dvc.yaml spell the same paths)."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path("results")
VALIDATED = RESULTS / "validated_params.txt"
BASE = "base"


def model_dir(model: str) -> Path:
    return RESULTS / "models" / model


def prompts(split: str) -> Path:
    return RESULTS / "data" / f"prompts_{split}.jsonl"


def samples(model: str, split: str) -> Path:
    return RESULTS / "samples" / model / f"{split}.jsonl"


def annotations(model: str, split: str) -> Path:
    return RESULTS / "annotations" / model / f"{split}.jsonl"


def metrics(model: str, name: str) -> Path:
    return RESULTS / "metrics" / model / f"{name}.json"


def table(name: str, ext: str) -> Path:
    return RESULTS / "tables" / f"{name}.{ext}"


def plot(name: str) -> Path:
    return RESULTS / "plots" / f"{name}.png"


def classification_items(split: str) -> Path:
    return RESULTS / "data" / f"toxicity_cls_{split}.jsonl"


def nado_dir(name: str) -> Path:
    return RESULTS / "nado" / name


def checkpoints(name: str) -> Path:
    """Resumable training state: not a declared output, so neither Snakemake nor DVC deletes it on a failure."""
    return RESULTS / "checkpoints" / name


CORPUS = RESULTS / "data" / "corpus.jsonl"
TNT_DATA = RESULTS / "data" / "tnt_train.jsonl"
