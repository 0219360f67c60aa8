"""Human-curated ToxiGen statements (MIT; resources/toxigen/): hateful and neutral statements about 8 groups.

They are split once, by seed, into two halves stratified by group and label: the embedding oracle trains on one
half and the fine-tuning corpus takes the other, so the oracle never saw the text it later judges the
fine-tuned models on (its held-out AUROC is measured on that same half).
"""

from __future__ import annotations

import random
from collections import defaultdict

from attrctl.io import read_jsonl


class StatementError(ValueError):
    """A statements file that cannot be used (data.statements)."""


def load(path) -> list[dict]:
    """Statements {id, text, group, label} (label 1: the attribute to avoid; in ToxiGen, from a `hate_*` prompt
    file), checked: every record's fields, and both labels present."""
    rows, problems = read_jsonl(path), []
    for line, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not {"id", "text", "group", "label"} <= set(row):
            problems.append(f"{path}:{line}: expected an object with id, text, group and label")
        elif row["label"] not in (0, 1) or not isinstance(row["text"], str) or not row["text"].strip():
            problems.append(f"{path}:{line}: label must be 0 or 1 and text a non-empty string")
    if not problems and {r["label"] for r in rows} != {0, 1}:
        problems.append(f"{path}: needs statements of both labels (0 and 1)")
    if problems:
        raise StatementError("bad statements file (data.statements):\n  " + "\n  ".join(problems[:20]))
    return rows


def split(statements: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """(oracle half, corpus half): within each (group, label) stratum, shuffled by seed, alternating."""
    strata: dict[tuple, list[dict]] = defaultdict(list)
    for s in statements:
        strata[(s["group"], s["label"])].append(s)
    rng = random.Random(seed)
    oracle, corpus = [], []
    for key in sorted(strata):
        items = sorted(strata[key], key=lambda s: s["id"])
        rng.shuffle(items)
        oracle += items[0::2]
        corpus += items[1::2]
    return oracle, corpus


GROUP_NAMES = {
    "asian": ("Asian people", "Asians", "Asian Americans"),
    "chinese": ("Chinese people", "the Chinese", "people from China"),
    "immigrant": ("immigrants", "migrants", "refugees"),
    "latino": ("Latinos", "Mexicans", "Hispanic people"),
    "mental_disability": ("people with mental illness", "people with autism", "mentally ill people"),
    "middle_east": ("people from the Middle East", "Arabs", "Muslims"),
    "native_american": ("Native Americans", "Indigenous people", "people on reservations"),
    "physical_disability": ("people in wheelchairs", "disabled people", "blind people"),
}
"""How the prompts name each ToxiGen group (the embedded `group` prompts use the same names)."""
