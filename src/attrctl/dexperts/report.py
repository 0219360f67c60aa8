"""The DExperts table and figure: toxicity probability and conditional perplexity along the α sweep, each paired
with base on the same prompts, and what the ensemble costs at sampling time."""

from __future__ import annotations

import math
from pathlib import Path

from attrctl import stats
from attrctl.config import Config
from attrctl.dexperts.method import MODEL, ROLES
from attrctl.evaluation.report import paired_perplexity, with_ci
from attrctl.evaluation.toxicity import prompt_values


def rows(cfg: Config, res) -> list[dict]:
    """One row per model of the experiment with eval samples (base, sft, the DExperts models by α)."""
    shown = [m for m in cfg.models if m in res.annotations]
    base = res.annotations.get("base")
    base_tox = prompt_values(base, cfg.oracle.threshold, "toxicity_probability") if base is not None else {}
    base_seconds = res.timing.get(("base", "eval"), {}).get("sample_seconds", math.nan)
    expert_seconds = sum(res.train.get(f"dexperts_{r}", {}).get("train_seconds", math.nan) for r in ROLES)
    table = []
    for model in shown:
        ann, seconds = res.annotations[model], res.timing.get((model, "eval"), {}).get("sample_seconds", math.nan)
        dexperts = MODEL.fullmatch(model) is not None
        row: dict = {"model": model, "alpha": cfg.dexperts.model_alpha(model) if dexperts else math.nan}
        row |= with_ci(res.toxicity.get(model, {}), "toxicity_probability")
        row["cond_ppl"] = res.toxicity.get(model, {}).get("cond_ppl", math.nan)
        if base is not None and model != "base":
            tox = prompt_values(ann, cfg.oracle.threshold, "toxicity_probability")
            pair = stats.paired_units(tox, base_tox, cfg.seed)
            row |= {f"toxicity_probability_vs_base_{k}": v for k, v in pair.items() if k.startswith("diff")}
            pair = paired_perplexity(res.toxicity.get(model, {}), res.toxicity.get("base", {}), cfg.seed)
            row |= {f"cond_ppl_vs_base_{k}": v for k, v in pair.items() if k.startswith("ratio")}
        row["seconds_per_continuation"] = seconds / len(ann)
        row["sampling_time_vs_base"] = seconds / base_seconds
        row["expert_train_seconds"] = expert_seconds if dexperts else math.nan
        table.append(row)
    return table


def alpha_plot(cfg: Config, res, tables: dict[str, list[dict]], path: Path) -> None:
    """Toxicity probability against conditional perplexity along the α sweep, with base and sft."""
    from attrctl.plots import tradeoff

    tradeoff(
        [r | {"model": r["model"] if math.isnan(r["alpha"]) else f"α={r['alpha']:g}"} for r in tables["dexperts"]],
        "toxicity_probability",
        "cond_ppl",
        path,
        xlabel="toxicity probability (95% interval over prompts)",
        ylabel="conditional perplexity under the reference model",
        title="DExperts: α against fluency",
    )
