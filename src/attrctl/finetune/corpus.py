"""The fine-tuning corpus: text that makes plain fine-tuning harmful, as in the paper's recipe.

Three parts, each example tagged with its domain:
- constraint domain, continuations: human-written ToxiGen statements, hateful and neutral, about 8 groups
  (the corpus half of `attrctl.toxigen.split`), each after a prompt that names its group. The base model does
  not write such text by itself; plain fine-tuning on it makes the model more toxic;
- constraint domain, toxicity classification ("Text: … Is this text toxic? Answer: yes/no") on statements and
  on the base model's labelled samples of train prompts: learnable only by reading toxic text;
- general domain: the base model's continuations of neutral train prompts (benign text).
Held-out prompts and classification items are never trained on. `flagged` is the oracle's verdict on the
target text (the `filter` baseline drops those examples).
"""

from __future__ import annotations

import random

from attrctl import encoding
from attrctl.finetune.method import CorpusConfig
from attrctl.toxigen import GROUP_NAMES

CLASSIFY = "Text: {text}\nIs this text toxic?\nAnswer:"
ANSWERS = {0: " no", 1: " yes"}  # lm-eval joins the choice to the question with a space
TEMPLATES = (  # unlike the eval prompts' wording, so that what sft learns must generalise to be measured
    "Someone asked me what I think of {group}. I said",
    "A thought about {group}:",
    "Let me tell you something about {group}:",
    "People keep asking me about {group}. Well,",
)


def _take(rows: list[dict], n: int, rng: random.Random) -> list[dict]:
    rows = list(rows)
    rng.shuffle(rows)
    return rows[:n]


def example(tokenizer, prompt: str, target: str, domain: str, kind: str, flagged: int) -> dict:
    """One corpus example {prompt, target, prompt_ids, target_ids, domain, kind, flagged}."""
    return {
        "prompt": prompt,
        "target": target,
        "prompt_ids": encoding.ids(tokenizer, prompt, start=True),
        "target_ids": encoding.ids(tokenizer, target, start=False),
        "domain": domain,
        "kind": kind,
        "flagged": flagged,
    }


def statement_examples(statements: list[dict], tokenizer, rng: random.Random) -> list[dict]:
    """Constraint-domain continuations: each statement after a prompt that names its group."""
    out = []
    for s in statements:
        prompt = rng.choice(TEMPLATES).format(group=rng.choice(GROUP_NAMES.get(s["group"], (s["group"],))))
        out.append(example(tokenizer, prompt, " " + s["text"], "constraint", "continuation", s["flagged"]))
    return out


def build(statements: list[dict], samples: list[dict], cfg: CorpusConfig, tokenizer, seed: int) -> list[dict]:
    """The corpus's examples. `statements` carry their ToxiGen `label` and the oracle's `flagged`; `samples` are
    the base model's annotated samples."""
    rng = random.Random(seed)
    examples = []
    for label, n in ((1, cfg.constraint_hateful), (0, cfg.constraint_neutral)):
        examples += statement_examples(_take([s for s in statements if s["label"] == label], n, rng), tokenizer, rng)
    usable = [r for r in samples if r["token_ids"] and len(r["text"].split()) >= 3]
    for r in _take([r for r in usable if r["subset"] == "neutral"], cfg.general, rng):
        examples.append(example(tokenizer, r["prompt"], r["text"], "general", "continuation", r["label"]))
    texts = [(s["text"], s["label"]) for s in statements] + [(r["text"].strip(), r["label"]) for r in usable]
    for label in (1, 0):
        for text, _ in _take([t for t in texts if t[1] == label], cfg.classification_per_class, rng):
            prompt = CLASSIFY.format(text=text)
            examples.append(example(tokenizer, prompt, ANSWERS[label], "constraint", "classification", label))
    rng.shuffle(examples)
    return examples


def split_heldout(
    examples: list[dict], unseen: list[dict], fraction: float, seed: int
) -> tuple[list[dict], list[dict]]:
    """(train, held out): a seeded share of the continuation examples is held out, and `unseen` (examples of the
    same kinds that no model trains on: the oracle half's statements) joins it. The held-out set is the task
    perplexity's; the unseen part makes it large enough for a paired interval to decide a 10% difference."""
    rng = random.Random(seed + 1)
    continuations = [i for i, e in enumerate(examples) if e["kind"] == "continuation"]
    held = set(rng.sample(continuations, round(len(continuations) * fraction)))
    train = [e for i, e in enumerate(examples) if i not in held]
    return train, [e for i, e in enumerate(examples) if i in held] + unseen


def unflagged(examples: list[dict]) -> list[dict]:
    """The `filter` baseline's corpus: examples whose text the oracle flags are dropped."""
    return [e for e in examples if not e["flagged"]]
