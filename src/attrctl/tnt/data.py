"""TNT's training data and model names.

The data are the base model's own generations of train block 1 (sampled and greedy): samples the oracle flags
carry token weights −1 on their negative tokens (annotation variant), the rest +1; a share of unflagged samples
join as positives. Models: `tnt_<loss>` at tnt.alpha and `tnt_<loss>_a<α>` for the α sweep.
"""

from __future__ import annotations

import random

from attrctl.tnt.annotate import token_weights


def annotate(rows: list[dict], annotator) -> None:
    """Add `flagged_words` and `neg_tokens` to every oracle-flagged sample row."""
    for row in rows:
        if row["label"]:
            row["flagged_words"], row["neg_tokens"] = annotator(row["text"], row["token_ids"])


def examples(rows: list[dict], variant: str, max_negatives: int, positives_per_negative: float, seed: int):
    """Every sample with negative tokens (up to `max_negatives`) and a share of the others as positives."""
    rng = random.Random(seed)
    usable = [r for r in rows if r["token_ids"]]
    negatives = [r for r in usable if r.get("neg_tokens")]
    positives = [r for r in usable if not r.get("neg_tokens")]
    rng.shuffle(negatives)
    rng.shuffle(positives)
    negatives = negatives[:max_negatives]
    positives = positives[: round(len(negatives) * positives_per_negative)]
    out = [
        {
            "prompt_ids": r["prompt_ids"],
            "target_ids": r["token_ids"],
            "text": r["text"],
            "weights": token_weights(len(r["token_ids"]), r.get("neg_tokens", []), variant),
            "negative": bool(r.get("neg_tokens")),
        }
        for r in negatives + positives
    ]
    rng.shuffle(out)
    return out


def model_name(loss: str, alpha: float | None = None) -> str:
    """`tnt_<loss>`, or `tnt_<loss>_a<α>` with α spelled for file and stage names (0.5 -> 0p5, 1e-05 -> 1em05)."""
    if alpha is None:
        return f"tnt_{loss}"
    return f"tnt_{loss}_a" + f"{alpha:g}".replace(".", "p").replace("+", "").replace("-", "m")


def parse_name(name: str) -> tuple[str, float | None]:
    """(loss, α or None for tnt.alpha) of a name written by :func:`model_name`."""
    loss, _, alpha = name.removeprefix("tnt_").partition("_a")
    return loss, float(alpha.replace("p", ".").replace("m", "-")) if alpha else None


def model_names(losses: list[str], sweep: list[float]) -> list[str]:
    """Every TNT model: one per loss at the tables' α, and one per loss and sweep α."""
    return [model_name(loss, alpha) for loss in losses for alpha in [None, *sweep]]
