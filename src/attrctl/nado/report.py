"""The NADO table: each NADO's diagnostics on fresh samples of held-out prompts."""

from __future__ import annotations

import math

from attrctl.config import Config

NADO_COLUMNS = [
    "nado_auroc",
    "nado_auroc_ci_lo",
    "nado_auroc_ci_hi",
    "nado_auroc_prompt_only",
    "nado_auroc_within_prompt",
    "nado_ece",
    "nado_brier",
    "nado_consistency_gap",
    "nado_r_x_mean",
    "nado_target_mean",
    "nado_success_rate",
    "nado_train_loss_final",
]


def rows(cfg: Config, res) -> list[dict]:
    """NADO diagnostics, one row per NADO (iteration x schedule)."""
    return [{"nado": n, **{c: m.get(c, math.nan) for c in NADO_COLUMNS}} for n, m in sorted(res.nado.items())]
