"""Loaders for the embedded lm-eval tasks (referenced from the YAMLs as `!function utils.<name>`).

Shipped data is found relative to this file, so the tasks load from any working directory; the
toxicity-classification items drawn from the pipeline's own samples are read from `generated` (a path relative
to the project root, where the stages run).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import datasets

DATA = Path(__file__).parent / "data"


def _rows(path: Path) -> list[dict]:
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]


def knowledge(**kwargs) -> dict:
    return {"test": datasets.Dataset.from_list(_rows(DATA / "knowledge_mc.jsonl"))}


def general_text(**kwargs) -> dict:
    return {"test": datasets.Dataset.from_list(_rows(DATA / "general_text.jsonl"))}


def toxicity_cls(generated: str = "results/data/toxicity_cls_eval.jsonl", **kwargs) -> dict:
    """The fixed shipped items plus the held-out items built by the classification_data stage."""
    rows = _rows(DATA / "toxicity_cls_fixed.jsonl")
    if Path(generated).is_file():
        rows += _rows(Path(generated))
    return {"test": datasets.Dataset.from_list([{"id": r["id"], "text": r["text"], "label": r["label"]} for r in rows])}


def text_results(doc: dict, results: tuple) -> dict:
    """Per-document log-likelihood with the word and byte counts that the perplexity aggregations need."""
    (loglikelihood,) = results
    words = len(re.split(r"\s+", doc["text"]))
    n_bytes = len(doc["text"].encode("utf-8"))
    return {
        "word_perplexity": (loglikelihood, words),
        "byte_perplexity": (loglikelihood, n_bytes),
        "bits_per_byte": (loglikelihood, n_bytes),
    }
