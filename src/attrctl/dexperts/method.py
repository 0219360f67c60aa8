"""DExperts' declaration: its config section, the dexperts / dexperts_a<α> models, the expert and anti-expert
fine-tunes, and the DExperts experiment (`snakemake --cores N dexperts`)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

from attrctl.methods import Experiment, Job, Method, Stage, Table
from attrctl.pipeline import paths
from attrctl.sections import Probability, Section, TrainConfig

MODEL = re.compile(r"dexperts(_a\d+(p\d+)?)?")
ROLES = ("expert", "anti")
"""The two fine-tunes: the expert on the corpus's text the oracle does not flag, the anti-expert on the text it
flags (results/models/dexperts_<role>)."""


class DExpertsConfig(Section):
    """DExperts (Liu et al., 2021): the base model's next-token logits plus α times the expert's minus the
    anti-expert's."""

    alpha: float = Field(2.0, ge=0.0)
    """α of the `dexperts` model: the paper's 2.0 (its toxicity experiments' setting)."""
    sweep: list[Annotated[float, Field(ge=0.0)]] = [1.0, 4.0]
    """The α of the sweep models `dexperts_a<α>` the experiment adds (e.g. 4.0 -> dexperts_a4, 0.5 -> dexperts_a0p5)."""
    filter_p: Probability = 0.9
    """Tokens outside the base model's own top-p nucleus get no probability before the experts re-weight the
    rest (the reference code's filter_p = 0.9); 1: no restriction."""
    lora_rank: int = Field(0, ge=0)
    """0: the experts are full fine-tunes of the base model; > 0: LoRA adapters of this rank (merged when saved)."""
    train: TrainConfig = TrainConfig(lr=1e-4, epochs=3, batch_size=8, warmup_steps=5, checkpoint_every=10)
    """Loop settings of each expert's fine-tuning; each sees only its half of the corpus's continuations (about a
    third of sft's examples), so three passes."""

    def model_alpha(self, model: str) -> float:
        """α of a DExperts model: `alpha` for `dexperts`, the name's for `dexperts_a<α>`."""
        if model == "dexperts":
            return self.alpha
        return float(model.removeprefix("dexperts_a").replace("p", "."))


def sweep_name(alpha: float) -> str:
    """The model name of a sweep α (4.0 -> dexperts_a4, 0.5 -> dexperts_a0p5)."""
    return "dexperts_a" + f"{alpha:g}".replace(".", "p")


def model_params(job: Job) -> list[str]:
    """A DExperts model directory records α (from the config only for `dexperts`) and filter_p."""
    return ["dexperts.filter_p"] + (["dexperts.alpha"] if job.get("model") == "dexperts" else [])


def dexperts_models(config: dict[str, Any]) -> list[str]:
    """The experiment's models: base, sft (the fine-tuning reference), dexperts and the α sweep."""
    sweep = [sweep_name(a) for a in config["dexperts"]["sweep"]]
    return ["base", "sft", "dexperts", *(m for m in sweep if m != "dexperts")]


def report_inputs(config: dict[str, Any]) -> dict[str, list[str]]:
    """The experts' training metrics and the eval sampling times (DExperts runs three models per token)."""
    mine = [m for m in config["models"] if MODEL.fullmatch(m)]
    if not mine:
        return {}
    return {
        "train": [paths.metrics(f"dexperts_{role}", "train") for role in ROLES],
        "timing": [paths.metrics(m, "sample_eval") for m in config["models"]],
    }


METHOD = Method(
    name="dexperts",
    order=60,
    sections={"dexperts": DExpertsConfig},
    models={MODEL.pattern: "dexperts / dexperts_a<α>: base + α·(expert − anti-expert) logits (α = dexperts.alpha)"},
    decoders={MODEL.pattern: "attrctl.dexperts.ensemble"},
    report_inputs=report_inputs,
    stages=(
        Stage("dexperts_expert", ("dexperts.train", "dexperts.lora_rank", "model.lora_targets", "seed"), training=True),
        Stage("dexperts_model", model_params),
    ),
    tables={
        "dexperts": Table(
            "attrctl.dexperts.report:rows",
            entry=lambda r: (r["model"], "dexperts/"),
            note="Each model against base on the same prompts: *_vs_base are paired differences (toxicity) and "
            "ratios (perplexity, time) with 95% bootstrap intervals over prompts.",
            doc="""
                DExperts: the α sweep against base and sft

                alpha: α of the ensemble (–: not a DExperts model)
                toxicity_probability_vs_base_diff: model − base, toxicity probability (paired over prompts)
                cond_ppl_vs_base_ratio: model / base, conditional perplexity (paired over prompts)
                seconds_per_continuation: eval sampling time per continuation
                sampling_time_vs_base: eval sampling time / base model's
                expert_train_seconds: training time of the expert and the anti-expert together
            """,
        )
    },
    plots={"dexperts_alpha": "attrctl.dexperts.report:alpha_plot"},
    experiments={
        "dexperts": Experiment(
            tables=("dexperts", "detox", "paired", "toxicity"),
            plots=("dexperts_alpha", "tradeoff", "toxicity_hist"),
            models=dexperts_models,
        )
    },
)
