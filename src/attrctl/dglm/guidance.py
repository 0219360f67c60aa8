"""Plug-and-play control of DGLM: one logistic regression per attribute on the (standardised) latent, trained on
labelled (prompt, continuation) pairs; guidance steers proposals towards each attribute's wanted class, and
several attributes compose by summing their scaled log-likelihoods. A new attribute is a new classifier, not a
new fine-tune.
"""

from __future__ import annotations

import numpy as np
import torch

from attrctl import stats

WANTED = {"toxicity": 0, "sentiment": 1}
"""The class guidance steers towards: non-toxic (oracle label 0), positive sentiment (label 1)."""
SENTIMENT_THRESHOLD = 0.05
"""VADER's compound score above which a text is positive (its authors' convention)."""


def sentiment_labels(texts: list[str]) -> list[int]:
    """1 for texts VADER scores positive (compound > 0.05), else 0: the second attribute, labelled offline."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return [int(analyzer.polarity_scores(t)["compound"] > SENTIMENT_THRESHOLD) for t in texts]


def fit(latents: np.ndarray, labels: np.ndarray, heldout: np.ndarray, c: float, seed: int) -> dict:
    """A logistic regression on the training pairs; its AUROC (with a 95% interval) on the held-out ones. With
    one class only among the training pairs there is nothing to learn: a constant classifier (zero gradient, so
    guidance on it does nothing) and a NaN AUROC."""
    from sklearn.linear_model import LogisticRegression

    train = ~heldout
    if len(set(labels[train].tolist())) < 2:
        rate = float(np.clip(labels[train].mean() if train.any() else 0.5, 1e-3, 1 - 1e-3))
        coef, intercept = np.zeros(latents.shape[1]), float(np.log(rate / (1 - rate)))
        print(f"warning: one class only among {int(train.sum())} training pairs: a constant classifier")
    else:
        clf = LogisticRegression(C=c, max_iter=5000, random_state=seed).fit(latents[train], labels[train])
        coef, intercept = clf.coef_[0], float(clf.intercept_[0])
    scores = latents[heldout] @ coef + intercept
    lo, hi = stats.auroc_ci(scores, labels[heldout], seed)
    return {
        "coef": [round(float(w), 8) for w in coef],
        "intercept": intercept,
        "heldout_auroc": stats.auroc(scores, labels[heldout]),
        "heldout_auroc_ci_lo": lo,
        "heldout_auroc_ci_hi": hi,
        "positive_rate": float(labels.mean()),
        "pairs": int(labels.size),
    }


def probabilities(classifiers: dict[str, dict], x0: np.ndarray) -> dict[str, np.ndarray]:
    """P(label 1 | x0) under each attribute's classifier (toxic; positive sentiment)."""
    return {
        name: 1.0 / (1.0 + np.exp(-(x0 @ np.asarray(c["coef"]) + c["intercept"]))) for name, c in classifiers.items()
    }


class Guide:
    """x0 -> Σ_a s_a · log p(y_a = wanted_a | x0): the log-likelihood classifier guidance climbs."""

    def __init__(self, classifiers: dict[str, dict], scales: dict[str, float]) -> None:
        self.terms = [
            (
                scale,
                torch.tensor(classifiers[name]["coef"], dtype=torch.float32),
                classifiers[name]["intercept"],
                1.0 if WANTED[name] else -1.0,
            )
            for name, scale in scales.items()
        ]

    def __call__(self, x0: torch.Tensor) -> torch.Tensor:
        total = x0.new_zeros(x0.shape[0])
        for scale, coef, intercept, sign in self.terms:
            logit = x0 @ coef + intercept
            total = total + scale * torch.nn.functional.logsigmoid(sign * logit)  # log σ(±logit)
        return total
