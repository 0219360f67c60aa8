"""L3M's declaration: its config section, the l3m_<name> / mm_<name> models, the training and task-perplexity
stages and the L3M experiment."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from attrctl.methods import Experiment, Method, Stage, Table
from attrctl.pipeline import paths
from attrctl.sections import PositiveFloat, PositiveInt, Section

MODEL = r"(l3m|mm)_[a-z0-9]+"


class Constraint(Section):
    """One average constraint E[g(x, y)] ≤ bound (sense `le`) or ≥ bound (`ge`) on the policy's own samples."""

    metric: Literal["length", "toxicity"]
    """`length`: words of the response, the continuation's first sentence (attrctl.l3m.constraints.response_length;
    relative to the bound in the barrier); `toxicity`: the oracle's score."""
    bound: float = Field(gt=0.0)
    """b: the bound on the mean of the metric."""
    sense: Literal["le", "ge"] = "le"
    """`le`: mean ≤ bound; `ge`: mean ≥ bound (written as −(mean − bound) ≤ 0)."""


class L3MConfig(Section):
    """L3M: constrained fine-tuning with a relaxed log barrier, and `mm`, the same constraints as fixed penalties."""

    constraints: dict[str, list[Constraint]] = {
        "len5": [Constraint(metric="length", bound=5.0)],
        "len7": [Constraint(metric="length", bound=7.0)],
        "len9": [Constraint(metric="length", bound=9.0)],
        "tox": [Constraint(metric="toxicity", bound=0.15)],
    }
    """Models l3m_<name> (and mm_<name>) with their constraints."""
    mu_start: float = Field(0.1, gt=0.0)
    """μ of the relaxed barrier at the first step. The barrier pushes a met constraint inward by μ/|ĉ|: from
    μ = 1 (the paper's start) the default profile's ~50 steps ended the lengths at 46-59% of their bounds."""
    mu_end: float = Field(0.003, gt=0.0)
    """μ at the last step (decreasing geometrically). A met constraint ends about μ/λ inside its bound (λ its
    multiplier at the optimum); a violated one is pushed with slope 1/μ."""
    smoothing: float = Field(0.7, ge=0.0, lt=1.0)
    """Weight of the past in the running estimate of ĉ_j (an exponential moving average over steps) at which the
    multiplier B′ is evaluated; 0 evaluates it at the mini-batch estimate alone. At 0.9 the estimate lagged the
    batches by about ten steps, and the push went on after the bound was crossed."""
    margin: float = Field(0.15, ge=0.0, lt=1.0)
    """Share by which each bound is tightened in training (b·(1 − margin) for ≤, b·(1 + margin) for ≥): the
    final iterate sits on the bound it trains against, and the held-out mean's interval must clear the real one."""
    mm_weights: dict[Literal["length", "toxicity"], PositiveFloat] = {"length": 1.0, "toxicity": 10.0}
    """The mm baseline's fixed multiplier λ_j per metric (what L3M replaces by B′(ĉ_j))."""
    gradient_cap: float | None = Field(1.0, gt=0.0)
    """Each step, the constraints' gradient is scaled down to at most this multiple of the task gradient's norm
    (null: never). Their score-function estimate is large (norm ~40 at multiplier 1 against the task's ~10) and
    the loop clips every step, so unscaled the constraints took most of the early steps from the task, and L3M's
    task perplexity trailed sft's by 13-30% (docs/methods.md)."""
    generations: int = Field(4, ge=2)
    """On-policy samples per prompt at each step (ĉ_j's estimate and the score-function baseline)."""
    max_new_tokens: PositiveInt = 20
    """Length of those samples (and the cap of the length metric)."""


def check(cfg: Any) -> None:
    for model in cfg.models:
        if re.fullmatch(MODEL, model) and model.split("_", 1)[1] not in cfg.l3m.constraints:
            raise ValueError(
                f"models: {model!r} names no constraint set: l3m.constraints has {sorted(cfg.l3m.constraints)}"
            )


def l3m_models(config: dict[str, Any]) -> list[str]:
    """The L3M experiment's models: base, sft, and l3m_<name> and mm_<name> for every constraint set."""
    names = sorted(config["l3m"]["constraints"])
    return ["base", "sft", *(f"l3m_{n}" for n in names), *(f"mm_{n}" for n in names)]


def report_inputs(config: dict[str, Any]) -> dict[str, list[str]]:
    """Its models' training metrics and, where any is reported, the task perplexity of its table's models (base
    and sft beside them): a report without an L3M model reads none, so its DAG has no task_ppl job."""
    models = config["models"]
    mine = [m for m in models if re.fullmatch(MODEL, m)]
    return {
        "train": [paths.metrics(m, "train") for m in mine],
        "task_ppl": [paths.metrics(m, "task_ppl") for m in models if mine and m in l3m_models(config)],
    }


METHOD = Method(
    name="l3m",
    order=40,
    sections={"l3m": L3MConfig},
    models={MODEL: "l3m_<name> / mm_<name>: L3M or its fixed-multiplier baseline under l3m.constraints[<name>]"},
    stages=(
        Stage(
            "l3m_train",
            (
                "l3m",
                "finetune.train",
                "nado_reg.iterations",
                "oracle",
                "sample.top_p",
                "data.max_prompt_tokens",
                "seed",
            ),
            training=True,
        ),
        Stage("task_ppl"),
    ),
    tables={
        "l3m": Table(
            "attrctl.l3m.report:table",
            entry=lambda r: (r["model"], f"l3m/{r['constraint']}/"),
            note="measured: mean over eval prompts [95% interval]; met: the whole interval on the bound's side.",
            doc="""
                L3M: average constraints on held-out prompts, task perplexity, response lengths

                constraint: the constraint: metric, sense and bound
                measured: the metric's mean over eval prompts [95% interval]
                met: yes when the whole interval is on the bound's side, no when it is on the other, else unclear
                task_ppl: mean per-example perplexity on the held-out task set
                task_ppl_std: its standard deviation over examples
                task_ppl_vs_sft: ratio of mean per-example perplexities to sft's (paired over examples)
                pooled_vs_sft: ratio of pooled perplexity (exp of the mean NLL per token) to sft's
                unflagged_vs_sft: the pooled ratio on the examples the oracle does not flag
                length_mean: mean response length (words of the continuation's first sentence)
                length_median: median response length
                length_p90: 90th percentile of response length
            """,
        )
    },
    plots={"l3m_lengths": "attrctl.l3m.report:lengths", "l3m_multipliers": "attrctl.l3m.report:multipliers"},
    experiments={
        "l3m": Experiment(
            tables=("l3m", "detox", "paired", "toxicity"),
            plots=("l3m_lengths", "l3m_multipliers", "tradeoff"),
            models=l3m_models,
        )
    },
    check=check,
    report_inputs=report_inputs,
)
