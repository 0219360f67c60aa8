"""The L3M table and figures: each constraint's bound against its mean on held-out prompts (with a 95% interval),
whether the interval says it is met, task perplexity (and its ratio to sft's, paired over the same held-out
examples: as a ratio of mean per-example perplexities, pooled over tokens, and pooled over the text the oracle
does not flag), and the response-length distribution."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from attrctl import stats
from attrctl.config import Config
from attrctl.l3m.constraints import response_length


def measured(rows: list[dict], metric: str, seed: int) -> tuple[float, float, float]:
    """(mean, lower, upper) of a metric over eval samples, resampling prompts (each prompt's mean as a unit)."""
    per_prompt: dict[str, list[float]] = {}
    for r in rows:
        value = response_length(r["text"]) if metric == "length" else r["toxicity"]
        per_prompt.setdefault(r["prompt_id"], []).append(value)
    return stats.mean_ci([float(np.mean(v)) for v in per_prompt.values()], seed)


def _renamed_ratio(name: str, paired: dict[str, float]) -> dict[str, float]:
    """A paired result's ratio and its interval under `name` (`name`, `name_ci_lo`, `name_ci_hi`)."""
    return {f"{name}{k.removeprefix('ratio')}": v for k, v in paired.items() if k.startswith("ratio")}


def versus_sft(task_ppl: dict[str, dict], model: str, seed: int) -> dict[str, float]:
    """The model's task perplexity over sft's, paired over the examples both score: the ratio of mean
    per-example perplexities (`task_ppl_vs_sft`), and pooled over tokens on all examples (`pooled_vs_sft`) and
    on those the oracle does not flag (`unflagged_vs_sft`). The pooled ratios separate what a constraint costs
    on ordinary text from what a toxicity constraint is meant to cost: likelihood of the flagged statements."""
    if model == "sft" or "per_example" not in task_ppl.get(model, {}) or "per_example" not in task_ppl.get("sft", {}):
        return {}
    a, b = np.array(task_ppl[model]["per_example"]), np.array(task_ppl["sft"]["per_example"])
    both = np.isfinite(a) & np.isfinite(b)
    out = _renamed_ratio("task_ppl_vs_sft", stats.paired(a[both], b[both], seed))
    tokens, flagged = np.array(task_ppl[model]["tokens"]), np.array(task_ppl[model]["flagged"])
    nll_a, nll_b = tokens * np.log(a), tokens * np.log(b)  # each example's summed NLL: its tokens × log ppl
    for name, keep in (("pooled_vs_sft", both), ("unflagged_vs_sft", both & (flagged == 0))):
        out |= _renamed_ratio(name, stats.paired_pooled(nll_a[keep], nll_b[keep], tokens[keep], seed))
    return out


def rows(cfg: Config, models: list[str], annotations: dict[str, list[dict]], task_ppl: dict[str, dict]) -> list[dict]:
    """One row per (model, constraint): l3m_* and mm_* against their own constraints, base and sft against every
    constraint (where they stand without one)."""
    table = []
    for model in models:
        if model not in annotations:
            continue
        name = model.split("_", 1)[1] if model.startswith(("l3m_", "mm_")) else None
        constraints = cfg.l3m.constraints[name] if name else [c for cs in cfg.l3m.constraints.values() for c in cs]
        lengths = [response_length(r["text"]) for r in annotations[model]]
        ppl = task_ppl.get(model, {})
        vs_sft = versus_sft(task_ppl, model, cfg.seed)
        for c in {(c.metric, c.bound, c.sense): c for c in constraints}.values():
            mean, lo, hi = measured(annotations[model], c.metric, cfg.seed)
            met = hi <= c.bound if c.sense == "le" else lo >= c.bound
            table.append(
                {
                    "model": model,
                    "constraint": f"{c.metric} {'<=' if c.sense == 'le' else '>='} {c.bound:g}",
                    "measured": mean,
                    "measured_ci_lo": lo,
                    "measured_ci_hi": hi,
                    "met": ("yes" if met else "no") if name else "–",
                    "task_ppl": ppl.get("task_ppl", math.nan),
                    "task_ppl_std": ppl.get("task_ppl_std", math.nan),
                    **{
                        f"{name}{suffix}": vs_sft.get(f"{name}{suffix}", math.nan)
                        for name in ("task_ppl_vs_sft", "pooled_vs_sft", "unflagged_vs_sft")
                        for suffix in ("", "_ci_lo", "_ci_hi")
                    },
                    "length_mean": float(np.mean(lengths)),
                    "length_median": float(np.median(lengths)),
                    "length_p90": float(np.percentile(lengths, 90)),
                }
            )
    return table


def lengths_plot(cfg: Config, annotations: dict[str, list[dict]], path: Path) -> None:
    """Response-length distribution per model, each length bound drawn (as the L3M paper's Figure 2)."""
    from attrctl.plots import plt, save

    names = [m for m in annotations if m in ("base", "sft") or m.startswith(("l3m_len", "mm_len"))]
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(names) + 1.5))
    if names:
        ax.violinplot([[response_length(r["text"]) for r in annotations[m]] for m in names], vert=False, showmeans=True)
        ax.set_yticks(range(1, len(names) + 1), names)
    for c in {c.bound for cs in cfg.l3m.constraints.values() for c in cs if c.metric == "length"}:
        ax.axvline(c, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("response length (words of the first sentence); dashed: the length bounds")
    ax.set_title("Response lengths on held-out prompts")
    save(fig, path)


def multipliers_plot(histories: dict[str, list[dict]], path: Path) -> None:
    """Each constraint's multiplier estimate B′(ĉ_j) and its value ĉ_j over training, per L3M model, and the scale
    `l3m.gradient_cap` put on the constraints' gradient (below 1: the cap bound)."""
    from attrctl.plots import plt, save

    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(7, 8), sharex=True)
    for model, history in sorted(histories.items()):
        steps = [h["step"] for h in history]
        for key in sorted({k.removesuffix("_multiplier") for h in history for k in h if k.endswith("_multiplier")}):
            top.plot(steps, [h[f"{key}_multiplier"] for h in history], label=f"{model}: {key}")
            bottom.plot(steps, [h[f"{key}_c_hat"] for h in history], label=f"{model}: {key}")
        if all("constraint_scale" in h for h in history):
            middle.plot(steps, [h["constraint_scale"] for h in history], label=model)
    top.set_yscale("log")
    top.set_ylabel("multiplier B′(ĉ)")
    middle.set_yscale("log")
    middle.set_ylabel("constraints' gradient scale")
    bottom.axhline(0, color="black", linewidth=1)
    bottom.set_ylabel("ĉ (≤ 0: constraint met)")
    bottom.set_xlabel("step")
    if histories:
        top.legend(fontsize=7)
    top.set_title("L3M: Lagrange-multiplier estimates and constraint values over training")
    save(fig, path)


def table(cfg: Config, res) -> list[dict]:
    """The L3M table's rows from the report's results."""
    return rows(cfg, cfg.models, res.annotations, res.task_ppl)


def lengths(cfg: Config, res, tables: dict[str, list[dict]], path: Path) -> None:
    lengths_plot(cfg, res.annotations, path)


def multipliers(cfg: Config, res, tables: dict[str, list[dict]], path: Path) -> None:
    multipliers_plot({m: t.get("history", []) for m, t in res.train.items() if m.startswith("l3m_")}, path)
