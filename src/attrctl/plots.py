"""Figures: where a picture says more than a table (results/plots/, and each NADO's reliability diagram)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from attrctl.io import atomic_path  # noqa: E402


def save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, bbox_inches="tight", format="png")
    plt.close(fig)


def _error(row: dict, key: str) -> list[list[float]] | None:
    """Matplotlib's [[below], [above]] error from a row's `<key>_ci_lo` / `<key>_ci_hi`, if present."""
    lo, hi, value = row.get(f"{key}_ci_lo", math.nan), row.get(f"{key}_ci_hi", math.nan), row[key]
    return None if math.isnan(lo) or math.isnan(hi) else [[value - lo], [hi - value]]


def tradeoff(rows: list[dict], x: str, y: str, path: Path, xlabel: str, ylabel: str, title: str) -> None:
    """One labelled point per model with its 95% intervals as error bars: attribute (x, lower is better)
    against utility (y, higher is better)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for row in rows:
        if math.isnan(row.get(x, math.nan)) or math.isnan(row.get(y, math.nan)):
            continue
        ax.errorbar(row[x], row[y], xerr=_error(row, x), yerr=_error(row, y), fmt="o", capsize=3, alpha=0.85)
        ax.annotate(row["model"], (row[x], row[y]), textcoords="offset points", xytext=(5, 4), fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    save(fig, path)


def histograms(scores: dict[str, list[float]], path: Path, threshold: float, xlabel: str, title: str) -> None:
    """Score distribution per model, one small panel each, sharing the axes."""
    n = max(1, len(scores))
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), sharex=True, sharey=True, squeeze=False)
    for ax, (model, values) in zip(axes.flat, scores.items(), strict=False):
        ax.hist(values, bins=20, range=(0, 1), color="tab:red", alpha=0.75)
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
        ax.set_title(f"{model} (n={len(values)})", fontsize=10)
        ax.set_yscale("log")
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel("samples (log scale)")
    fig.suptitle(title, y=1.02)
    save(fig, path)


def reliability(table: list[dict], path: Path, title: str) -> None:
    """Reliability diagram: mean predicted R(x) per bin against the observed mean of the NADO's label (the success
    rate, or 1 − toxicity for soft labels) of fresh samples (point size: count)."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    if table:
        sizes = [20 + 200 * b["count"] / max(b2["count"] for b2 in table) for b in table]
        ax.scatter(
            [b["pred"] for b in table],
            [b["observed"] for b in table],
            s=sizes,
            color="tab:blue",
            label="bins (size: prompts)",
        )
        ax.plot([b["pred"] for b in table], [b["observed"] for b in table], color="tab:blue", alpha=0.5)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("NADO estimate R(x) (mean over the bin's prompts)")
    ax.set_ylabel("observed mean label of fresh samples")
    ax.set_title(title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    save(fig, path)


def tnt_tradeoff(rows: list[dict], path: Path) -> None:
    """Greedy toxicity against BLEU to the original generations, one curve per loss over α."""
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for loss in sorted({r["loss"] for r in rows if r["loss"] != "–"}):
        part = sorted((r for r in rows if r["loss"] == loss), key=lambda r: r["alpha"])
        ax.plot(
            [r["bleu_to_original"] for r in part],
            [r["greedy_toxicity_rate"] for r in part],
            marker="o",
            label=loss.upper(),
        )
        for r in part:
            ax.annotate(
                f"α={r['alpha']:g}",
                (r["bleu_to_original"], r["greedy_toxicity_rate"]),
                fontsize=7,
                textcoords="offset points",
                xytext=(3, 3),
            )
    for r in rows:
        if r["loss"] == "–":
            ax.scatter(
                r["bleu_to_original"],
                r["greedy_toxicity_rate"],
                marker="*",
                s=150,
                color="black",
                label="base",
                zorder=3,
            )
    ax.set_xlabel("BLEU of greedy generations against the base model's (higher: smaller change)")
    ax.set_ylabel("share of eval prompts whose greedy continuation is flagged")
    ax.set_title("TNT: toxicity vs fidelity to the original model, over α")
    if rows:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, path)


def kl_iterations(rows: list[dict], path: Path) -> None:
    """KL(p ‖ q*) on held-out prefixes per iteration: the model before (p_{k-1}) and after (p_k) fine-tuning."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for schedule in sorted({r["schedule"] for r in rows}):
        part = [r for r in rows if r["schedule"] == schedule]
        ks = [r["iteration"] for r in part]
        ax.plot(ks, [r["before"] for r in part], marker="o", linestyle="--", label=f"{schedule}: p_(k-1), before")
        ax.plot(ks, [r["after"] for r in part], marker="s", label=f"{schedule}: p_k, after")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("mean per-token KL(p || q*) on held-out prefixes (nats)")
    ax.set_title("NADO-regularised fine-tuning: distance to q*")
    if rows:
        ax.set_xticks(sorted({r["iteration"] for r in rows}))
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, path)
