"""What the constraints measure on a sample: g(x, y) of the average constraints E[g] ≤ b.

The response whose length is bounded is the continuation's first sentence. The model continues raw text and
almost never emits EOS within `max_new_tokens` (761 of 768 sft samples of the default run ran to the cap): with
every sample at the cap, g − ḡ(x) = 0 and the length constraint has no gradient. Cut at the first sentence end,
as a stop sequence would, the response length varies (sft: mean 11.4 words, 10th–90th percentile 3–18) and can
be learnt.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from attrctl.l3m.method import Constraint

if TYPE_CHECKING:
    import torch


def response_length(text: str) -> int:
    """Words of the response: the continuation up to its first sentence end (. ! ? or a line break)."""
    end = re.search(r"[.!?\n]", text)
    return len((text[: end.end()] if end else text).split())


def measure(constraint: Constraint, texts: list[str], oracle) -> torch.Tensor:
    """g of each sample, in the units ĉ is written in: response words / bound for length, the oracle's score."""
    import torch

    if constraint.metric == "length":
        return torch.tensor([response_length(t) / constraint.bound for t in texts])
    return torch.tensor(oracle.score(texts), dtype=torch.float32)
