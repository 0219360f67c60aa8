"""How far an update moved a model: BLEU of its greedy generations against the original model's, disfluency
counts, and the token-level KL to the original model on held-out prompts (the TNT paper's measures)."""

from __future__ import annotations

import re

import torch

from attrctl.batch import collate, next_token_log_probs, token_mean

WORD = re.compile(r"\S+")


def greedy_units(new_rows: list[dict], old_rows: list[dict]) -> dict[str, list[int]]:
    """The per-prompt outcomes behind the two rates: for every prompt of the original model's greedy set, whether
    the new continuation is flagged (`greedy_toxicity_rate`); for the prompts whose original continuation is
    flagged, whether the new one no longer is (`flagged_removed`)."""
    new = {r["prompt_id"]: r for r in new_rows}
    old = {r["prompt_id"]: r for r in old_rows}
    ids = sorted(old)
    return {
        "greedy_toxicity_rate": [int(new[i]["label"]) for i in ids],
        "flagged_removed": [int(not new[i]["label"]) for i in ids if old[i]["label"]],
    }


def greedy_measures(new_rows: list[dict], old_rows: list[dict]) -> dict[str, float]:
    """Greedy toxicity, flagged-removed share, BLEU to the original and disfluency counts, prompt by prompt."""
    new = {r["prompt_id"]: r for r in new_rows}
    old = {r["prompt_id"]: r for r in old_rows}
    ids = sorted(old)
    counts = [disfluencies(new[i]["text"]) for i in ids]
    units = greedy_units(new_rows, old_rows)
    return {
        **{name: sum(u) / len(u) if u else float("nan") for name, u in units.items()},
        "bleu_to_original": bleu([new[i]["text"] for i in ids], [old[i]["text"] for i in ids]),
        **{f"disfluency_{k}": sum(c[k] for c in counts) for k in counts[0]},
    }


def bleu(new: list[str], original: list[str]) -> float:
    """Corpus BLEU (sacrebleu) of the new generations against the original model's, prompt by prompt."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu(new, [original]).score)


def disfluencies(text: str) -> dict[str, int]:
    """Immediate word repeats ("the the"), runs of two or more "?", and tokens that are not words (no letter)."""
    words = WORD.findall(text)
    lowered = [w.lower().strip(".,!?;:\"'") for w in words]
    return {
        "repeats": sum(1 for a, b in zip(lowered, lowered[1:], strict=False) if a and a == b),
        "question_runs": len(re.findall(r"\?{2,}", text)),
        "non_words": sum(1 for w in words if not re.search(r"[A-Za-z]", w)),
    }


@torch.no_grad()
def kl_to_original(model, original, rows: list[dict], pad_id: int, limit: int = 96, batch_size: int = 16) -> float:
    """Mean per-token KL(pθ ‖ p0) over the continuation positions of held-out samples."""
    examples = [{"prompt_ids": r["prompt_ids"], "target_ids": r["token_ids"]} for r in rows if r["token_ids"]][:limit]
    total, count = 0.0, 0.0
    for start in range(0, len(examples), batch_size):
        batch = collate(examples[start : start + batch_size], pad_id)
        logp, _, mask = next_token_log_probs(model, batch)
        logp0, _, _ = next_token_log_probs(original, batch)
        kl = (logp.exp() * (logp - logp0)).sum(-1)
        total += float(token_mean(kl, mask)) * float(mask.sum())
        count += float(mask.sum())
    return total / max(count, 1.0)
