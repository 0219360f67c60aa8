"""Training NADO on oracle-labelled samples of the model p it guides.

The frozen model's last hidden states (the small trunk's input) are computed once per example, and so are its
top-k next-token log-probabilities on the continuation (the consistency term's p), so an epoch costs only the
trunk and the head rows it needs.
"""

from __future__ import annotations

import time

import torch

from attrctl import training
from attrctl.batch import collate as base_collate
from attrctl.nado.loss import consistency_sum, importance_weights, nado_loss
from attrctl.nado.method import NadoConfig
from attrctl.nado.model import base_features


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


def _pad(batch: list[dict], key: str, shape: tuple, dtype) -> torch.Tensor:
    """Cached per-position tensors of each example, placed at their positions in a (B, L, ...) tensor (the
    top-k caches start at the first continuation position)."""
    out = torch.zeros(*shape, *batch[0][key].shape[1:], dtype=dtype)
    for i, e in enumerate(batch):
        start = len(e["prompt_ids"]) if key.startswith("top_") else 0
        out[i, start : start + len(e[key])] = e[key]
    return out


def collate(batch: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """The shared prompt ⊕ target batch, plus labels, sequence log-probs and the cached tensors if any."""
    out = base_collate(batch, pad_id)
    out["labels"] = torch.tensor([e["label"] for e in batch])
    out["seq_logprobs"] = torch.tensor([e["seq_logprob"] for e in batch])
    shape = tuple(out["input_ids"].shape)
    for key, dtype in (("hidden", torch.float32), ("top_ids", torch.long), ("top_logp", torch.float32)):
        if key in batch[0]:
            out[key] = _pad(batch, key, shape, dtype)
    return out


@torch.no_grad()
def cache_base(base, data: list[dict], pad_id: int, top_k: int, batch_size: int = 32) -> list[dict]:
    """Per example: the frozen model's last hidden states, and (top_k > 0) its top-k next-token log-probs at
    the continuation positions, where the consistency term needs them. One decoder pass per batch; the output
    head runs on the continuation positions only."""
    head = base.get_output_embeddings()
    order = sorted(range(len(data)), key=lambda i: len(data[i]["prompt_ids"]) + len(data[i]["target_ids"]))
    for start in range(0, len(order), batch_size):  # similar lengths together: little padding
        part = [data[i] for i in order[start : start + batch_size]]
        batch = collate(part, pad_id)
        ids, mask = batch["input_ids"].to(base.device), batch["attention_mask"].to(base.device)
        hidden = base.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
        spans = [(len(e["prompt_ids"]), len(e["target_ids"])) for e in part]
        if top_k:
            rows = torch.cat([hidden[i, p : p + t] for i, (p, t) in enumerate(spans)])
            top = torch.log_softmax(head(rows).float(), -1).topk(min(top_k, head.out_features), dim=-1)
            values, indices = (
                top.values.cpu().split([t for _, t in spans]),
                top.indices.cpu().split([t for _, t in spans]),
            )
        for i, (e, (p, t)) in enumerate(zip(part, spans, strict=True)):
            e["hidden"] = hidden[i, : p + t].float().cpu()
            if top_k:
                e["top_logp"], e["top_ids"] = values[i], indices[i]
    return data


def forward(base, nado_model, batch):
    """(token ids, log p of the frozen model, NADO logits r) for a collated batch, over the whole vocabulary."""
    device = base.device
    ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
    if "hidden" in batch:
        head = base.get_output_embeddings()
        hidden = batch["hidden"].to(device)
        with torch.no_grad():
            base_logp = torch.log_softmax(head(hidden.to(head.weight.dtype)).float(), -1)
    else:
        base_logp, hidden = base_features(base, ids, mask)
    r, _ = nado_model(hidden, ids, mask)
    return ids, base_logp, r


def loss_terms(base, nado_model, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, s) of the NADO loss: the realised next tokens' logits a_j, and the consistency sums S_j over the
    cached top-k tokens (or, without a cache, over the whole vocabulary). `nado_model` may be wrapped for
    distributed training: only its forward pass is called."""
    device = base.device
    ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
    if "top_ids" not in batch:
        ids, base_logp, r = forward(base, nado_model, batch)
        a = r[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)
        return a, consistency_sum(base_logp[:, 1:-1], r[:, 1:-1])
    following = torch.cat([ids[:, 1:], ids[:, -1:]], 1)  # t_{j+1} at position j (the last one unused)
    (a, r_top), _ = nado_model(batch["hidden"].to(device), ids, mask, at=(following, batch["top_ids"].to(device)))
    return a[:, :-1], consistency_sum(batch["top_logp"][:, 1:-1].to(device), r_top[:, 1:-1])


def make_trainable(nado_model) -> None:
    """The small trunk (less its unused 1-token embedding: a distributed wrapper would wait for its gradient)
    and the head train; of a LoRA trunk, only the adapters and the head."""
    for key, param in nado_model.named_parameters():
        if nado_model.kind == "lora":
            param.requires_grad_("lora_" in key or key.startswith("head"))
        else:
            param.requires_grad_(not key.startswith("trunk.embed_tokens"))


def train(
    base,
    nado_model,
    rows: list[dict],
    cfg: NadoConfig,
    threshold: float,
    temperature: float,
    seed: int,
    pad_id: int,
    job: training.Job,
) -> tuple[list[dict], float]:
    """Train `nado_model` on the labelled samples `rows` of `base` in the shared loop; returns (its per-step logs,
    seconds of the cache pass)."""
    start = time.perf_counter()
    data = cache_base(base, examples(rows, cfg.label, threshold), pad_id, cfg.consistency_top_k)
    cache_seconds = time.perf_counter() - start

    def loss_fn(model, batch):  # `model`: the NADO as the training loop prepared it
        a, s = loss_terms(base, model, batch)
        weights = importance_weights(batch["seq_logprobs"], temperature).to(a.device)
        mask, labels = batch["target_mask"].to(a.device), batch["labels"].to(a.device)
        return nado_loss(a, s, mask, labels, weights, cfg.lambda_cons)

    return training.fit(nado_model, loss_fn, data, lambda b: collate(b, pad_id), cfg.train, seed, job), cache_seconds
