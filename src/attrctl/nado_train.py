"""Training NADO on oracle-labelled samples of the current model, and measuring how good it is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from attrctl import calibration, nado, training
from attrctl.config import NadoConfig
from attrctl.objectives import common


def examples(rows: list[dict], label: str, threshold: float) -> list[dict]:
    """Training examples from annotated samples; c = 1 − toxicity (soft) or toxicity ≤ threshold."""
    out = []
    for r in rows:
        if not r["token_ids"]:
            continue
        c = 1.0 - r["toxicity"] if label == "soft" else float(r["toxicity"] <= threshold)
        out.append(
            {
                "prompt_ids": r["prompt_ids"],
                "target_ids": r["token_ids"],
                "label": c,
                "seq_logprob": float(sum(r["logprobs"])),
                "prompt_id": r["prompt_id"],
                "success": float(r["toxicity"] <= threshold),
            }
        )
    return out


def collate(batch: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """The shared prompt ⊕ target batch, plus labels, sequence log-probs and cached hidden states if any."""
    out = common.collate(batch, pad_id)
    out["labels"] = torch.tensor([e["label"] for e in batch])
    out["seq_logprobs"] = torch.tensor([e["seq_logprob"] for e in batch])
    if "hidden" in batch[0]:
        hidden = torch.zeros(*out["input_ids"].shape, batch[0]["hidden"].shape[-1])
        for i, e in enumerate(batch):
            hidden[i, : len(e["hidden"])] = e["hidden"]
        out["hidden"] = hidden
    return out


@torch.no_grad()
def with_hidden_states(base, data: list[dict], pad_id: int, batch_size: int = 32) -> list[dict]:
    """Cache the frozen model's last hidden states per example: every epoch then needs only its output head
    (for p) instead of a full forward pass."""
    for start in range(0, len(data), batch_size):
        part = data[start : start + batch_size]
        batch = collate(part, pad_id)
        _, hidden = nado.base_features(
            base, batch["input_ids"].to(base.device), batch["attention_mask"].to(base.device)
        )
        for i, e in enumerate(part):
            e["hidden"] = hidden[i, : len(e["prompt_ids"]) + len(e["target_ids"])].cpu()
    return data


def _forward(base, nado_model, batch):
    device = base.device
    ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
    if "hidden" in batch:
        hidden = batch["hidden"].to(device)
        with torch.no_grad():
            base_logp = torch.log_softmax(base.get_output_embeddings()(hidden).float(), -1)
    else:
        base_logp, hidden = nado.base_features(base, ids, mask)
    r, _ = nado_model(hidden, ids, mask)
    return ids, base_logp, r


def train(
    base,
    nado_model,
    rows: list[dict],
    cfg: NadoConfig,
    threshold: float,
    temperature: float,
    seed: int,
    pad_id: int,
    checkpoint_dir: Path,
    fingerprint: str,
    desc: str = "train NADO",
) -> list[dict]:
    data = with_hidden_states(base, examples(rows, cfg.label, threshold), pad_id)

    def loss_fn(batch):
        ids, base_logp, r = _forward(base, nado_model, batch)
        weights = nado.importance_weights(batch["seq_logprobs"], temperature).to(r.device)
        return nado.nado_loss(
            r, base_logp, ids, batch["target_mask"].to(r.device), batch["labels"].to(r.device), weights, cfg.lambda_cons
        )

    return training.fit(
        nado_model, loss_fn, data, lambda b: collate(b, pad_id), cfg.train, seed, checkpoint_dir, fingerprint, desc
    )


@torch.no_grad()
def diagnostics(base, nado_model, rows: list[dict], threshold: float, pad_id: int, batch_size: int = 16):
    """Metrics of NADO on fresh labelled samples of held-out prompts, and the reliability table of R(x)."""
    data = examples(rows, "threshold", threshold)
    r_x, final, success, gaps, prompt_of = [], [], [], [], []
    for start in range(0, len(data), batch_size):
        part = data[start : start + batch_size]
        batch = collate(part, pad_id)
        ids, base_logp, r = _forward(base, nado_model, batch)
        s = nado.success_rate(base_logp, r).cpu()  # S_j for every position
        a = torch.sigmoid(r[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)).cpu()  # R(x, t<=j+1)
        cont = batch["target_mask"]
        for i, e in enumerate(part):
            p, t = len(e["prompt_ids"]), len(e["target_ids"])
            r_x.append(float(s[i, p - 1]))  # R(x) = Σ_v p(v|x) σ(r_{P-1}[v])
            final.append(float(a[i, p + t - 2]))  # the estimate after the last token
            success.append(e["success"])
            prompt_of.append(e["prompt_id"])
            pairs = (cont[i, 1:-1] * cont[i, 2:]).bool()  # positions j with t_j, t_{j+1} in the continuation
            gaps += (a[i, :-1] - s[i, 1:-1])[pairs].abs().tolist()
    final_a, success_a = np.array(final), np.array(success)
    by_prompt: dict[str, list[int]] = {}
    for i, pid in enumerate(prompt_of):
        by_prompt.setdefault(pid, []).append(i)
    pred = np.array([np.mean([r_x[i] for i in idx]) for idx in by_prompt.values()])
    observed = np.array([success_a[idx].mean() for idx in by_prompt.values()])
    metrics = {
        "nado_ece": calibration.ece(pred, observed),
        "nado_auroc": calibration.auroc(final_a, success_a),
        "nado_brier": calibration.brier(final_a, success_a),
        "nado_consistency_gap": float(np.mean(gaps)) if gaps else float("nan"),
        "nado_r_x_mean": float(pred.mean()),
        "nado_success_rate": float(observed.mean()),
        "nado_eval_prompts": len(pred),
    }
    return metrics, calibration.reliability(pred, observed)
