"""How good NADO's estimates are: calibration of R(x) against empirical success rates, discrimination of the
final-position estimate, and how well the consistency identity holds (DESIGN §3, NADO diagnostics)."""

from __future__ import annotations

import numpy as np


def reliability(pred: np.ndarray, observed: np.ndarray, bins: int = 10) -> list[dict]:
    """Equal-width bins of predicted probability: count, mean prediction and mean observed rate per bin."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(pred, edges[1:-1]), 0, bins - 1)
    return [
        {
            "lo": float(edges[b]),
            "hi": float(edges[b + 1]),
            "count": int((index == b).sum()),
            "pred": float(pred[index == b].mean()),
            "observed": float(observed[index == b].mean()),
        }
        for b in range(bins)
        if (index == b).any()
    ]


def ece(pred: np.ndarray, observed: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: Σ_bins (n_b / N) · |mean prediction − mean observed rate|."""
    table = reliability(pred, observed, bins)
    return float(sum(b["count"] * abs(b["pred"] - b["observed"]) for b in table) / len(pred))


def brier(pred: np.ndarray, label: np.ndarray) -> float:
    return float(np.mean((pred - label) ** 2))


def auroc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve of `score` for the binary `label` (NaN when only one class is present)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(label, score)) if 0 < label.sum() < len(label) else float("nan")
