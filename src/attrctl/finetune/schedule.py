"""Which models, samples and NADOs each iteration of the NADO-regularised schedules uses (docs/methods.md).

Iteration k of the sequential schedule: sample block k from p_{k-1} -> annotate -> train NADO_k (warm start
NADO_{k-1}) on those samples -> fine-tune p_k from p_{k-1} against q*(p_{k-1}, NADO_k).
Parallel: iteration 1 as sequential; from k = 2 on, the three jobs of iteration k have no edges between them:
sample block k from p_{k-1}; train NADO_k on the samples of iteration k-1; fine-tune p_k against
q*(p_{k-1}, NADO_{k-1}). The Snakemake rules ask these functions for their inputs, so the DAG is the schedule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from attrctl.sections import TrainConfig

SCHEDULES = ("sequential", "parallel")
PREFIX = {"sequential": "nado_reg", "parallel": "nado_reg_parallel"}


def lm(schedule: str, k: int, iterations: int) -> str:
    """Model name of p_k (iteration 1 is shared by both schedules; the last iteration carries the method name)."""
    if k == 0:
        return "base"
    prefix = PREFIX["sequential" if k == 1 else schedule]
    return PREFIX[schedule] if k == iterations else f"{prefix}_i{k}"


def parse_lm(name: str, iterations: int) -> tuple[str, int]:
    """(schedule, k) of a model name written by :func:`lm`."""
    for schedule in sorted(SCHEDULES, key=lambda s: -len(PREFIX[s])):  # nado_reg_parallel before nado_reg
        prefix = PREFIX[schedule]
        if name == prefix:
            return schedule, iterations
        if name.startswith(prefix + "_i") and name[len(prefix) + 2 :].isdigit():
            return schedule, int(name[len(prefix) + 2 :])
    raise ValueError(f"{name!r} is not a model of the nado_reg schedules")


def nado(schedule: str, k: int) -> str:
    """Name of NADO_k under results/nado/ (iteration 1 is shared: the sequential one)."""
    return f"{'sequential' if k == 1 else schedule}_iter{k}"


def sample_source(schedule: str, k: int, iterations: int) -> tuple[str, str]:
    """(model, split) of the samples drawn in iteration k of `schedule`: block k of the train prompts, p_{k-1}."""
    return lm(schedule, k - 1, iterations), f"train{k}"


def nado_data(schedule: str, k: int, iterations: int) -> tuple[str, str]:
    """(model, split) of the labelled samples NADO_k trains on."""
    if schedule == "sequential" or k == 1:
        return sample_source(schedule, k, iterations)
    return sample_source(schedule, k - 1, iterations)  # parallel: the samples of the previous iteration


def nado_warm_start(schedule: str, k: int) -> str | None:
    return None if k == 1 else nado(schedule, k - 1)


def guide(schedule: str, k: int) -> str:
    """The NADO whose q* regularises the fine-tuning of p_k."""
    if schedule == "sequential" or k == 1:
        return nado(schedule, k)
    return nado(schedule, k - 1)  # parallel: the newest NADO that exists when iteration k starts


@dataclass(frozen=True)
class FinetunePlan:
    """How one fine-tuned model is made: its objective, start point, q* sources and passes over the corpus."""

    objective: str  # sft | nado_reg | nado_reg_adaptive
    init: str  # model the weights start from (and, for the nado_reg objectives, the frozen teacher of q*)
    guide: str | None  # NADO of q*
    passes: int  # finetune.train epochs are multiplied by this
    filtered: bool = False
    kl_weight: float | None = None  # λ of a sweep model; None: nado_reg.kl_weight

    def train(self, loop: TrainConfig) -> TrainConfig:
        """The loop settings of this model: `loop` (finetune.train) over `passes` times its epochs."""
        return loop.model_copy(update={"epochs": loop.epochs * self.passes})


SWEEP = re.compile(r"nado_reg_l(\d+(?:p\d+)?)")


def sweep_name(kl_weight: float) -> str:
    """`nado_reg_l<λ>`, λ spelled for file and stage names (0.5 -> 0p5)."""
    return "nado_reg_l" + f"{kl_weight:g}".replace(".", "p")


SINGLE_RUN = rf"sft|filter|nado_reg_adaptive|{SWEEP.pattern}"
"""The fine-tuned models of one run from the base model (sft, filter, the adaptive variant, the λ sweep)."""


def is_single_run(name: str) -> bool:
    """A model of one run from the base model (:data:`SINGLE_RUN`)."""
    return bool(re.fullmatch(SINGLE_RUN, name))


def is_intermediate(name: str) -> bool:
    """p_k of an iteration before the last: the next iteration trains on from it, so it keeps fp32 weights."""
    return bool(re.fullmatch(r"nado_reg(_parallel)?_i\d+", name))


def finetune_plan(name: str, iterations: int) -> FinetunePlan:
    """sft / filter / nado_reg_adaptive / the λ sweep: one run from the base model over `iterations` passes, so
    every method sees the corpus equally often; nado_reg schedules: one pass per iteration from p_{k-1}."""
    if name in ("sft", "filter"):
        return FinetunePlan("sft", "base", None, iterations, filtered=name == "filter")
    if name == "nado_reg_adaptive":
        return FinetunePlan("nado_reg_adaptive", "base", nado("sequential", 1), iterations)
    if match := SWEEP.fullmatch(name):
        weight = float(match.group(1).replace("p", "."))
        return FinetunePlan("nado_reg", "base", nado("sequential", 1), iterations, kl_weight=weight)
    schedule, k = parse_lm(name, iterations)
    return FinetunePlan("nado_reg", lm(schedule, k - 1, iterations), guide(schedule, k), 1)


def nado_names(models: list[str], iterations: int) -> list[str]:
    """Every NADO the configured models need, with the NADO_k each schedule trains in iteration k."""
    names = set()
    if {"nado_decode", "nado_reg_adaptive"} & set(models) or any(SWEEP.fullmatch(m) for m in models):
        names.add(nado("sequential", 1))
    for schedule in SCHEDULES:
        if PREFIX[schedule] in models:
            names |= {nado(schedule, k) for k in range(1, iterations + 1)}
    return sorted(names)


def schedule_models(models: list[str], iterations: int) -> list[str]:
    """Every p_k of the configured schedules (intermediate iterations included)."""
    return sorted({lm(s, k, iterations) for s in SCHEDULES if PREFIX[s] in models for k in range(1, iterations + 1)})
