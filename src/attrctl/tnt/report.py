"""The TNT table (greedy toxicity and fidelity to the base model, per loss and α) and its trade-off plot."""

from __future__ import annotations

import math
from pathlib import Path

from attrctl import stats
from attrctl.config import Config

TNT_COLUMNS = [
    "greedy_toxicity_rate",
    "flagged_removed",
    "bleu_to_original",
    "disfluency_repeats",
    "disfluency_question_runs",
    "disfluency_non_words",
    "kl_to_original",
]


def intervals(greedy: list[dict], base: list[dict], seed: int) -> dict[str, float]:
    """95% intervals over prompts of the greedy toxicity rate and of the flagged-removed share (whose units are
    the prompts whose base continuation is flagged: few, so its interval is wide)."""
    from attrctl.tnt.fidelity import greedy_units

    units = greedy_units(greedy, base)
    out: dict[str, float] = {"base_flagged": len(units["flagged_removed"])}
    for name, values in units.items():
        _, out[f"{name}_ci_lo"], out[f"{name}_ci_hi"] = stats.mean_ci(values, seed)
    return out


def rows(cfg: Config, res) -> list[dict]:
    """The TNT measures for the base model and every TNT model (each loss at the tables' α and the sweep)."""
    from attrctl.tnt.data import model_names, parse_name

    table = []
    for name in ["base", *model_names(cfg.tnt.losses, cfg.tnt.sweep)]:
        if name not in res.tnt:
            continue
        loss, alpha = parse_name(name) if name != "base" else ("–", math.nan)
        alpha = cfg.tnt.alpha if alpha is None else alpha
        row = {"model": name, "loss": loss, "alpha": alpha, **{c: res.tnt[name].get(c, math.nan) for c in TNT_COLUMNS}}
        if name in res.greedy and "base" in res.greedy:
            row |= intervals(res.greedy[name], res.greedy["base"], cfg.seed)
        table.append(row)
    return table


def tradeoff(cfg: Config, res, tables: dict[str, list[dict]], path: Path) -> None:
    from attrctl.plots import tnt_tradeoff

    tnt_tradeoff(tables["tnt"], path)
