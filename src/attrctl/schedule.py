"""Which models, samples and NADOs each iteration of the NADO-regularised schedules uses (DESIGN §2.2).

Iteration k of the sequential schedule: sample block k from p_{k-1} -> annotate -> train NADO_k (warm start
NADO_{k-1}) on those samples -> fine-tune p_k from p_{k-1} against q*(p_{k-1}, NADO_k).
Parallel: iteration 1 as sequential; from k = 2 on, the three jobs of iteration k have no edges between them:
sample block k from p_{k-1}; train NADO_k on the samples of iteration k-1; fine-tune p_k against
q*(p_{k-1}, NADO_{k-1}). The Snakemake rules ask these functions for their inputs, so the DAG is the schedule.
"""

from __future__ import annotations

SCHEDULES = ("sequential", "parallel")
PREFIX = {"sequential": "nado_reg", "parallel": "nado_reg_parallel"}


def lm(schedule: str, k: int) -> str:
    """Model name of p_k (iteration 1 is shared by both schedules)."""
    if k == 0:
        return "base"
    return f"{PREFIX['sequential' if k == 1 else schedule]}_i{k}"


def nado(schedule: str, k: int) -> str:
    """Name of NADO_k under results/nado/ (iteration 1 is shared: the sequential one)."""
    return f"{'sequential' if k == 1 else schedule}_iter{k}"


def sample_source(schedule: str, k: int) -> tuple[str, str]:
    """(model, split) of the samples drawn in iteration k of `schedule`."""
    return lm(schedule, k - 1), f"train{k}"


def nado_data(schedule: str, k: int) -> tuple[str, str]:
    """(model, split) of the labelled samples NADO_k trains on."""
    if schedule == "sequential" or k == 1:
        return sample_source(schedule, k)
    return sample_source(schedule, k - 1)  # parallel: the samples of the previous iteration


def nado_warm_start(schedule: str, k: int) -> str | None:
    return None if k == 1 else nado(schedule, k - 1)


def guide(schedule: str, k: int) -> str:
    """The NADO whose q* regularises the fine-tuning of p_k."""
    if schedule == "sequential" or k == 1:
        return nado(schedule, k)
    return nado(schedule, k - 1)  # parallel: the newest NADO that exists when iteration k starts
