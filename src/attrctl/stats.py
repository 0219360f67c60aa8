"""Intervals for every reported number: percentile bootstrap over prompts (or items), and the paired bootstrap
that compares two models on the same prompts. Seeded, so a re-run gives the same interval."""

from __future__ import annotations

import numpy as np

ITERATIONS = 2000
LEVEL = 0.95


def resamples(n: int, seed: int, iterations: int = ITERATIONS) -> np.ndarray:
    """(iterations, n) indices drawn with replacement: the same draws for every statistic of one seed."""
    return np.random.default_rng(seed).integers(0, n, size=(iterations, n))


def interval(draws: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central `level` interval of bootstrap draws."""
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)


def mean_ci(values, seed: int = 0, iterations: int = ITERATIONS) -> tuple[float, float, float]:
    """(mean, lower, upper) of per-unit values (one value per prompt or item)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    draws = values[resamples(values.size, seed, iterations)].mean(1)
    return (float(values.mean()), *interval(draws))


def paired(a, b, seed: int = 0, iterations: int = ITERATIONS) -> dict[str, float]:
    """Model a against model b on the same units (a[i] and b[i] belong to unit i): the difference of means
    a − b and the ratio a / b, each with its interval from resampling units (both models together)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"paired bootstrap needs two equal, non-empty sets of units (got {a.shape}, {b.shape})")
    idx = resamples(a.size, seed, iterations)
    mean_a, mean_b = a[idx].mean(1), b[idx].mean(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mean_b > 0, mean_a / mean_b, np.nan)
    point_ratio = a.mean() / b.mean() if b.mean() > 0 else float("nan")
    diff_lo, diff_hi = interval(mean_a - mean_b)
    ratio_lo, ratio_hi = interval(ratio[np.isfinite(ratio)]) if np.isfinite(ratio).any() else (np.nan, np.nan)
    return {
        "diff": float(a.mean() - b.mean()),
        "diff_ci_lo": diff_lo,
        "diff_ci_hi": diff_hi,
        "ratio": float(point_ratio),
        "ratio_ci_lo": float(ratio_lo),
        "ratio_ci_hi": float(ratio_hi),
    }


def paired_units(a: dict, b: dict, seed: int = 0, iterations: int = ITERATIONS) -> dict[str, float]:
    """:func:`paired` over the units both models have: `a` and `b` map a unit (a prompt id) to its value."""
    common = sorted(set(a) & set(b))
    return paired([a[u] for u in common], [b[u] for u in common], seed, iterations)


def paired_pooled(nll_a, nll_b, tokens, seed: int = 0, iterations: int = ITERATIONS) -> dict[str, float]:
    """Perplexity pooled over tokens, model a over model b on the same units: exp((Σ nll_a − Σ nll_b) / Σ tokens),
    nll_* each unit's summed negative log-likelihood and `tokens` its token count, with the ratio's interval
    from resampling units. Unlike a ratio of per-unit perplexities, a long unit weighs by its tokens and a
    heavy-tailed short one cannot dominate."""
    a, b, n = (np.asarray(x, dtype=float) for x in (nll_a, nll_b, tokens))
    if not (a.shape == b.shape == n.shape) or a.size == 0:
        raise ValueError(f"pooled bootstrap needs equal, non-empty sets of units ({a.shape}, {b.shape}, {n.shape})")
    idx = resamples(a.size, seed, iterations)
    ratio = np.exp((a[idx].sum(1) - b[idx].sum(1)) / n[idx].sum(1))
    lo, hi = interval(ratio)
    return {"ratio": float(np.exp((a.sum() - b.sum()) / n.sum())), "ratio_ci_lo": lo, "ratio_ci_hi": hi}


def task_average(arrays: list, seed: int = 0, iterations: int = ITERATIONS) -> tuple[float, float, float]:
    """(mean, lower, upper) of an average over tasks of per-task mean accuracies, resampling each task's items."""
    if not arrays:
        return float("nan"), float("nan"), float("nan")
    draws = np.zeros(iterations)
    for k, x in enumerate(arrays):
        x = np.asarray(x, dtype=float)
        draws += x[resamples(x.size, seed + k, iterations)].mean(1) / len(arrays)
    return (float(np.mean([np.mean(x) for x in arrays])), *interval(draws))


def paired_tasks(a: list, b: list, seed: int = 0, name: str = "mean", iterations: int = ITERATIONS) -> dict:
    """The difference (a − b) of an average over tasks of per-task mean accuracies, with its interval from
    resampling each task's items (the same items for both models)."""
    diffs = np.zeros(iterations)
    for k, (x, y) in enumerate(zip(a, b, strict=True)):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != y.shape:
            raise ValueError("paired_tasks needs the same items for both models")
        idx = resamples(x.size, seed + k, iterations)
        diffs += (x[idx].mean(1) - y[idx].mean(1)) / len(a)
    point = float(np.mean([np.mean(x) - np.mean(y) for x, y in zip(a, b, strict=True)]))
    lo, hi = interval(diffs)
    return {f"{name}_diff": point, f"{name}_diff_ci_lo": lo, f"{name}_diff_ci_hi": hi}


def demeaned(values, groups: list) -> np.ndarray:
    """Each value minus the mean of its group's values (e.g. a sample's score relative to its prompt's)."""
    values, groups = np.asarray(values, dtype=float), np.asarray(groups)
    means = {g: values[groups == g].mean() for g in set(groups.tolist())}
    return values - np.array([means[g] for g in groups.tolist()])


def auroc(score, label) -> float:
    """Area under the ROC curve of `score` for the binary `label` (NaN when only one class is present)."""
    from sklearn.metrics import roc_auc_score

    label = np.asarray(label)
    return float(roc_auc_score(label, score)) if 0 < label.sum() < len(label) else float("nan")


def auroc_ci(score, label, seed: int = 0, iterations: int = 500) -> tuple[float, float]:
    """95% bootstrap interval of the AUROC, resampling (score, label) pairs."""
    score, label = np.asarray(score, dtype=float), np.asarray(label)
    draws = [auroc(score[i], label[i]) for i in resamples(len(score), seed, iterations)]
    draws = np.array([d for d in draws if np.isfinite(d)])
    return interval(draws) if draws.size else (float("nan"), float("nan"))
