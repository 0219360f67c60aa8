"""DPO's declaration: its config section, the `dpo` model, its training stage and the DPO experiment."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from attrctl.methods import Experiment, Method, Stage
from attrctl.pipeline import paths
from attrctl.sections import PositiveInt, Section


class DpoConfig(Section):
    """DPO (Rafailov et al. 2023) on preference pairs of the base model's own samples (trl's DPOTrainer)."""

    reference: Literal["base"] = "base"
    """The reference model π_ref of the DPO loss, held frozen: `base`, the base model p0 (the policy's start)."""
    beta: float = Field(0.1, gt=0.0)
    """β: the inverse temperature of the implicit reward β·log(πθ/π_ref); larger keeps the policy nearer π_ref."""
    pairs_per_prompt: PositiveInt = 4
    """Pairs a prompt gives at most (each sample in one pair). On the default profile a prompt's 16 samples hold
    1-3 flagged ones where they hold any (126 flagged samples over 53 of 120 prompts), so 4 uses nearly every
    flagged sample once (about 120 pairs) while a prompt still weighs at most 4 pairs; 1 gives 53 pairs."""
    lr: float = Field(2e-5, gt=0.0)
    """Learning rate (AdamW, linear decay to 0). Higher than the 5e-7-5e-6 of 7B-scale recipes: with about 120
    pairs a run is a few dozen steps, and a 135M model at 5e-6 would stay within noise of its start."""
    epochs: PositiveInt = 3
    """Passes over the pairs (about 45 steps of 8 pairs on the default profile)."""
    max_steps: int | None = Field(None, gt=0)
    """Optimizer steps; null: epochs × steps per epoch."""
    batch_size: PositiveInt = 8
    """Pairs per optimizer step."""


def dpo_models(config: dict[str, Any]) -> list[str]:
    """The DPO experiment's models: base, sft (the paired table's second reference) and dpo."""
    return ["base", "sft", "dpo"]


def report_inputs(config: dict[str, Any]) -> dict[str, list[str]]:
    return {"train": [paths.metrics("dpo", "train")] if "dpo" in config["models"] else []}


METHOD = Method(
    name="dpo",
    order=70,
    sections={"dpo": DpoConfig},
    models={"dpo": "DPO from the base model: its own clean samples preferred to its flagged ones, reference p0"},
    stages=(
        # the labels come with the annotated samples (a file dependency), so the oracle's keys are not its params
        Stage("dpo_train", ("dpo", "seed"), training=True),
    ),
    single_runs={"dpo": "dpo_train"},
    experiments={
        "dpo": Experiment(
            tables=("detox", "paired", "toxicity", "efficiency"),
            plots=("tradeoff",),
            models=dpo_models,
        )
    },
    report_inputs=report_inputs,
)
