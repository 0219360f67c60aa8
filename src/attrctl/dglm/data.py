"""DGLM's data: (prompt, continuation) pairs, their latents and their attribute labels.

The latent of a continuation is its sentence embedding under the frozen encoder (all-MiniLM-L6-v2 by default),
standardised per dimension; the diffusion model is conditioned on the prompt's embedding. The generative parts
(diffusion model, decoder) train on the base model's own samples of train prompts, so that unguided DGLM writes
like the base model and any change comes from guidance; the attribute classifiers also see the corpus'
continuations (ToxiGen statements after group prompts, which hold most of the toxic examples).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

PAIRS = "pairs.jsonl"
LATENTS = "latents.npz"


def pairs(samples: list[dict], corpus: list[dict], heldout_fraction: float, seed: int) -> list[dict]:
    """Pairs {prompt, text, prompt_ids, target_ids, generative, heldout, labels}; `heldout` marks a seeded share
    of the train prompts whose pairs no part trains on (the classifiers' AUROC and the decoder's held-out loss are
    measured on them); `labels.toxicity` is the oracle's."""
    rows = [
        {"prompt": r["prompt"], "text": r["text"], "prompt_ids": r["prompt_ids"], "target_ids": r["token_ids"],
         "generative": True, "labels": {"toxicity": r["label"]}}
        for r in samples if r["token_ids"]
    ]  # fmt: skip
    rows += [
        {"prompt": e["prompt"], "text": e["target"], "prompt_ids": e["prompt_ids"], "target_ids": e["target_ids"],
         "generative": False, "labels": {"toxicity": e["flagged"]}}
        for e in corpus if e["kind"] == "continuation"
    ]  # fmt: skip
    prompts = sorted({r["prompt"] for r in rows})
    held = set(random.Random(seed).sample(prompts, round(len(prompts) * heldout_fraction)))
    for r in rows:
        r["heldout"] = r["prompt"] in held
    return rows


def encode(encoder, rows: list[dict]) -> dict[str, np.ndarray]:
    """Standardised continuation latents, prompt embeddings, and the per-dimension mean and std."""
    raw = encoder([r["text"] for r in rows])
    mean, std = raw.mean(0), raw.std(0) + 1e-6
    return {"latent": (raw - mean) / std, "cond": encoder([r["prompt"] for r in rows]), "mean": mean, "std": std}


def save(path: Path, rows: list[dict], arrays: dict[str, np.ndarray]) -> None:
    from attrctl.io import write_jsonl

    path.mkdir(parents=True, exist_ok=True)
    write_jsonl(path / PAIRS, rows)
    np.savez(path / LATENTS, **{k: v.astype(np.float32) for k, v in arrays.items()})


def load(path: Path) -> tuple[list[dict], dict[str, np.ndarray]]:
    from attrctl.io import read_jsonl

    with np.load(path / LATENTS) as arrays:
        return read_jsonl(path / PAIRS), dict(arrays)


def load_examples(path: Path) -> tuple[list[dict], dict[str, np.ndarray], list[dict]]:
    """(pairs, arrays, the generative parts' training examples) of DGLM's data directory."""
    rows, arrays = load(path)
    return rows, arrays, examples(rows, arrays)


def examples(rows: list[dict], arrays: dict[str, np.ndarray], heldout: bool = False) -> list[dict]:
    """Examples of the generative parts: token ids, latent and prompt embedding of each base sample, of the
    training prompts (or, `heldout`, of the held-out ones)."""
    return [
        {"prompt_ids": r["prompt_ids"], "target_ids": r["target_ids"], "latent": arrays["latent"][i].tolist(),
         "cond": arrays["cond"][i].tolist()}
        for i, r in enumerate(rows) if r["generative"] and r["heldout"] == heldout
    ]  # fmt: skip
