"""How good a NADO is, measured on fresh labelled samples of held-out prompts: calibration of R(x) against
empirical success rates, discrimination of the final-position estimate, and how well the consistency identity holds."""

from __future__ import annotations

import numpy as np
import torch

from attrctl.nado.qstar import success_rate
from attrctl.nado.train import collate, examples, forward
from attrctl.stats import auroc, auroc_ci, demeaned


@torch.no_grad()
def diagnostics(
    base,
    nado_model,
    rows: list[dict],
    threshold: float,
    label: str,
    pad_id: int,
    seed: int = 0,
    batch_size: int = 16,
):
    """Metrics of NADO on fresh labelled samples of held-out prompts, and the reliability table of R(x).

    R(x) estimates the mean of the label NADO trained on (`label`, as nado.label: the 0/1 success, or the soft
    1 − toxicity), so its calibration is against that mean; discrimination (AUROC) is of the 0/1 success."""
    data = examples(rows, label, threshold)
    r_x, final, success, target, gaps, prompt_of = [], [], [], [], [], []
    for start in range(0, len(data), batch_size):
        part = data[start : start + batch_size]
        batch = collate(part, pad_id)
        ids, base_logp, r = forward(base, nado_model, batch)
        s = success_rate(base_logp, r).cpu()  # S_j for every position
        a = torch.sigmoid(r[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)).cpu()  # R(x, t<=j+1)
        cont = batch["target_mask"]
        for i, e in enumerate(part):
            p, t = len(e["prompt_ids"]), len(e["target_ids"])
            r_x.append(float(s[i, p - 1]))  # R(x) = Σ_v p(v|x) σ(r_{P-1}[v])
            final.append(float(a[i, p + t - 2]))  # the estimate after the last token
            success.append(e["success"])
            target.append(e["label"])
            prompt_of.append(e["prompt_id"])
            pairs = (cont[i, 1:-1] * cont[i, 2:]).bool()  # positions j with t_j, t_{j+1} in the continuation
            gaps += (a[i, :-1] - s[i, 1:-1])[pairs].abs().tolist()
    final_a, success_a, target_a = np.array(final), np.array(success), np.array(target)
    by_prompt: dict[str, list[int]] = {}
    for i, pid in enumerate(prompt_of):
        by_prompt.setdefault(pid, []).append(i)
    pred = np.array([np.mean([r_x[i] for i in idx]) for idx in by_prompt.values()])
    observed = np.array([target_a[idx].mean() for idx in by_prompt.values()])
    # Guided decoding re-weights tokens after a given prompt, so what it can use is the estimate's signal within a
    # prompt (its deviation from the prompt's mean), not which prompts are risky (R(x), before any token)
    metrics = {
        "nado_ece": ece(pred, observed),
        "nado_auroc": auroc(final_a, success_a),
        **dict(zip(("nado_auroc_ci_lo", "nado_auroc_ci_hi"), auroc_ci(final_a, success_a, seed), strict=True)),
        "nado_auroc_prompt_only": auroc(np.array(r_x), success_a),
        "nado_auroc_within_prompt": auroc(demeaned(final_a, prompt_of), success_a),
        "nado_brier": brier(final_a, success_a),
        "nado_consistency_gap": float(np.mean(gaps)) if gaps else float("nan"),
        "nado_r_x_mean": float(pred.mean()),
        "nado_target_mean": float(observed.mean()),
        "nado_success_rate": float(success_a.mean()),
        "nado_eval_prompts": len(pred),
    }
    return metrics, reliability(pred, observed)


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
