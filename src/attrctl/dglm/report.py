"""The DGLM table and figure: toxicity (with paired intervals against base), fluency, diversity, latency, how
closely the text follows its proposal, and the second attribute (positive sentiment), for base, nado_decode (the
other decoding-time method) and every DGLM run."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from attrctl import stats
from attrctl.config import Config
from attrctl.dglm.guidance import sentiment_labels
from attrctl.evaluation.toxicity import prompt_values
from attrctl.methods import decoder_modules


def _per_prompt_mean(rows: list[dict], values: list[float]) -> dict[str, float]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for row, value in zip(rows, values, strict=True):
        grouped[row["prompt_id"]].append(value)
    return {pid: float(np.mean(v)) for pid, v in grouped.items()}


def _with_ci(name: str, units: dict[str, float], seed: int) -> dict[str, float]:
    mean, lo, hi = stats.mean_ci(list(units.values()), seed)
    return {name: mean, f"{name}_ci_lo": lo, f"{name}_ci_hi": hi}


def _vs_base(name: str, mine: dict[str, float], base: dict[str, float], seed: int) -> dict[str, float]:
    pair = stats.paired_units(mine, base, seed)
    return {f"{name}_vs_base_{k}": pair[k] for k in ("diff", "diff_ci_lo", "diff_ci_hi", "ratio")}


def rows(cfg: Config, models: list[str], res) -> list[dict]:
    """One row per model (base, nado_decode, dglm runs) with eval samples; `res` is the report's Results."""
    shown = [m for m in models if m in res.annotations and (m == "base" or decoder_modules(m))]
    threshold, seed = cfg.oracle.threshold, cfg.seed
    units = {}
    for model in shown:
        ann = res.annotations[model]
        units[model] = {
            "toxicity_probability": prompt_values(ann, threshold, "toxicity_probability"),
            "positive_sentiment": _per_prompt_mean(ann, sentiment_labels([r["text"] for r in ann])),
        }
        if "proposal_cosine" in ann[0]:  # DGLM: how closely the text follows, and what the classifiers see
            units[model]["proposal_cosine"] = _per_prompt_mean(ann, [r["proposal_cosine"] for r in ann])
            for name, column in (("toxicity", "proposal_p_toxic"), ("sentiment", "proposal_p_positive")):
                units[model][column] = _per_prompt_mean(ann, [r["proposal_scores"][name] for r in ann])
    table, base = [], res.toxicity.get("base", {})
    for model in shown:
        tox, timing = res.toxicity.get(model, {}), res.timing.get((model, "eval"), {})
        row: dict = {"model": model, "guidance": _scales(cfg.dglm.runs.get(model))}
        for name, values in units[model].items():
            row.update(_with_ci(name, values, seed))
            if model != "base" and not name.startswith("proposal_") and "base" in units:
                row.update(_vs_base(name, values, units["base"][name], seed))
        row["cond_ppl"] = tox.get("cond_ppl", math.nan)
        row["cond_ppl_vs_base"] = row["cond_ppl"] / base.get("cond_ppl", math.nan)
        row.update({f"dist_{n}": tox.get(f"dist_{n}", math.nan) for n in (1, 2, 3)})
        row["dist_3_vs_base"] = row["dist_3"] / base.get("dist_3", math.nan)
        row["seconds_per_continuation"] = timing.get("sample_seconds", math.nan) / len(res.annotations[model])
        table.append(row)
    return table


def classifier_note(classifiers: dict, decoder: dict) -> str:
    """The latent classifiers' held-out AUROC and how much the decoder reads its latent, for the table's note."""
    parts = [
        f"{name} {classifiers[f'{name}/heldout_auroc']:.3f} [{classifiers[f'{name}/heldout_auroc_ci_lo']:.3f}, "
        f"{classifiers[f'{name}/heldout_auroc_ci_hi']:.3f}]"
        for name in ("toxicity", "sentiment")
        if f"{name}/heldout_auroc" in classifiers
    ]
    note = f"Latent classifiers, held-out AUROC: {'; '.join(parts)}. " if parts else ""
    if "latent_gain" in decoder:
        note += (
            f"Decoder on held-out pairs: NLL {decoder['heldout_nll']:.3f} with their own latents, "
            f"{decoder['heldout_nll_shuffled_latent']:.3f} with shuffled ones (gain {decoder['latent_gain']:.3f} nats)."
        )
    if "heldout_follow_cosine" in decoder:
        note += (
            f" Decoding held-out pairs' own latents, the text's cosine with its latent is "
            f"{decoder['heldout_follow_cosine']:.3f}, the most proposal following this decoder allows "
            f"({decoder['heldout_follow_cosine_shuffled']:.3f} for latents shuffled among the pairs, mostly "
            "another prompt's)."
        )
    return note


def _scales(scales: dict[str, float] | None) -> str:
    if scales is None:
        return "–"
    return ", ".join(f"{name} {s:g}" for name, s in scales.items()) or "none"


def guidance_plot(cfg: Config, table: list[dict], path: Path) -> None:
    """Toxicity probability against conditional perplexity as the toxicity guidance scale grows."""
    from attrctl.plots import tradeoff

    runs = cfg.dglm.runs
    # base and the runs guided by toxicity alone (the unguided run is scale 0)
    chosen = [r for r in table if r["model"] == "base" or set(runs.get(r["model"], {"-": 0})) <= {"toxicity"}]
    tradeoff(
        [r | {"model": f"{r['model']} ({r['guidance']})"} for r in chosen],
        "toxicity_probability",
        "cond_ppl",
        path,
        xlabel="toxicity probability (95% interval over prompts)",
        ylabel="conditional perplexity under the base model",
        title="DGLM: toxicity guidance scale against fluency",
    )


def table(cfg: Config, res) -> list[dict]:
    """The DGLM table's rows from the report's results."""
    return rows(cfg, cfg.models, res)


def note(cfg: Config, res) -> str:
    return classifier_note(res.dglm.get("classifiers", {}), res.dglm.get("decoder", {}))


def guidance(cfg: Config, res, tables: dict[str, list[dict]], path: Path) -> None:
    guidance_plot(cfg, tables["dglm"], path)
