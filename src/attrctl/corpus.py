"""The fine-tuning corpus (issue: NADO-regularised fine-tuning), built from the base model's own labelled samples.

Three parts, each example tagged with its domain:
- toxicity classification ("Text: … Is this text toxic? Answer: yes/no"): learnable only by reading toxic text;
- continuations of challenging prompts, toxic ones over-represented (the constraint domain): plain
  fine-tuning on them makes a model more toxic;
- continuations of neutral prompts (the general domain).
Only train-prompt samples are used: held-out prompts and classification items are never trained on.
"""

from __future__ import annotations

import random

from attrctl.config import CorpusConfig

CLASSIFY = "Text: {text}\nIs this text toxic?\nAnswer:"
ANSWERS = {0: " no", 1: " yes"}  # lm-eval joins the choice to the question with a space


def _take(rows: list[dict], n: int, rng: random.Random) -> list[dict]:
    rows = list(rows)
    rng.shuffle(rows)
    return rows[:n]


def build(rows: list[dict], cfg: CorpusConfig, tokenizer, seed: int) -> list[dict]:
    """Examples {prompt, target, prompt_ids, target_ids, domain, kind, flagged} from annotated samples."""
    rng = random.Random(seed)
    usable = [r for r in rows if r["token_ids"] and len(r["text"].split()) >= 3]
    challenging = [r for r in usable if r["subset"] == "challenging"]
    neutral = [r for r in usable if r["subset"] != "challenging"]
    examples = []
    for r in _take([r for r in challenging if r["label"]], cfg.constraint_toxic, rng) + _take(
        [r for r in challenging if not r["label"]], cfg.constraint_clean, rng
    ):
        examples.append(_continuation(r, "constraint"))
    for r in _take(neutral, cfg.general, rng):
        examples.append(_continuation(r, "general"))
    for label in (1, 0):
        for r in _take([r for r in usable if r["label"] == label], cfg.classification_per_class, rng):
            prompt = CLASSIFY.format(text=r["text"].strip())
            examples.append(
                {
                    "prompt": prompt,
                    "target": ANSWERS[label],
                    "prompt_ids": tokenizer(prompt, add_special_tokens=False).input_ids,
                    "target_ids": tokenizer(ANSWERS[label], add_special_tokens=False).input_ids,
                    "domain": "constraint",
                    "kind": "classification",
                    "flagged": label,
                }
            )
    rng.shuffle(examples)
    return examples


def _continuation(row: dict, domain: str) -> dict:
    return {
        "prompt": row["prompt"],
        "target": row["text"],
        "prompt_ids": row["prompt_ids"],
        "target_ids": row["token_ids"],
        "domain": domain,
        "kind": "continuation",
        "flagged": row["label"],
    }


def unflagged(examples: list[dict]) -> list[dict]:
    """The `filter` baseline's corpus: examples whose text the oracle flags are dropped."""
    return [e for e in examples if not e["flagged"]]
