"""Preference pairs from annotated samples: per prompt, a sample the oracle does not flag (chosen) against one it
flags (rejected)."""

from __future__ import annotations

import random
from collections.abc import Iterable


def pairs(rows: Iterable[dict], max_pairs_per_prompt: int, seed: int) -> list[dict]:
    """Up to `max_pairs_per_prompt` pairs {prompt_id, prompt, chosen, rejected} per prompt, sorted by prompt id;
    a prompt without both a clean and a flagged sample gives none. Within a prompt the clean and the flagged
    samples are shuffled and zipped, so no sample is in two pairs. Each prompt's draw is seeded by `seed` and its
    id alone: the same rows in any order, or other prompts added, leave its pairs as they were."""
    prompts: dict[str, str] = {}
    clean: dict[str, list[str]] = {}
    flagged: dict[str, list[str]] = {}
    for row in rows:
        if not row["text"].strip():  # a continuation with no text has no likelihood for DPO to move
            continue
        pid = str(row["prompt_id"])
        prompts[pid] = row["prompt"]
        (flagged if row["label"] else clean).setdefault(pid, []).append(row["text"])
    found = []
    for pid in sorted(prompts):
        if pid not in clean or pid not in flagged:
            continue
        rng = random.Random(f"{seed}:{pid}")
        chosen, rejected = sorted(clean[pid]), sorted(flagged[pid])  # sorted: independent of the rows' order
        rng.shuffle(chosen)
        rng.shuffle(rejected)
        for c, r in list(zip(chosen, rejected, strict=False))[:max_pairs_per_prompt]:  # the shorter list ends it
            found.append({"prompt_id": pid, "prompt": prompts[pid], "chosen": c, "rejected": r})
    return found
