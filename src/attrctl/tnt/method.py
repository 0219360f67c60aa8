"""TNT's declaration: its config section, the tnt_<loss> models, the data / train / eval stages and the TNT
experiment."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, model_validator

from attrctl.methods import Experiment, Job, Method, Stage, Table
from attrctl.pipeline import paths
from attrctl.sections import PositiveFloat, PositiveInt, Probability, Section, TrainConfig

TNTLoss = Literal["tnff", "tnrr", "tnrf", "tnfll", "tnrll", "nl", "ul"]


class TNTConfig(Section):
    """Targeted Negative Training and its NL / UL baselines (attrctl.tnt)."""

    losses: list[TNTLoss] = Field(list(get_args(TNTLoss)), min_length=1)
    """Objectives of the TNT table: model `tnt_<loss>` at `alpha`, and `tnt_<loss>_a<α>` for each α of `sweep`."""
    alpha: float = Field(10.0, gt=0.0)
    """α: weight of the negative positions for the models in the tables."""
    sweep: list[PositiveFloat] = []
    """Further α values for the trade-off plot (greedy evaluation only)."""
    variant: Literal["first", "all_flagged", "all_tokens"] = "all_flagged"
    """Which tokens of a flagged sample are negatives: the first flagged token, all flagged, or all tokens."""
    mechanism: Literal["linear", "leave_one_out"] = "leave_one_out"
    """Token evidence: leave-one-word-out score drops (any oracle), or the linear oracle's per-word
    contributions (profanity_check only)."""
    flag_fraction: Probability = 0.5
    """A word is flagged when its evidence is positive and at least this share of the sample's strongest."""
    epsilon: float = -10.3
    """NL: no further push once log pθ(t) < ε."""
    max_negatives: PositiveInt = 32
    """Samples with negative tokens used for training (the rest of the data are positives)."""
    positives_per_negative: float = Field(1.0, ge=0.0)
    """Positive (unflagged) samples per negative sample."""
    train: TrainConfig = TrainConfig(lr=3e-5, epochs=1, batch_size=8, warmup_steps=2, checkpoint_every=10)
    """Loop settings of one TNT update."""

    @model_validator(mode="after")
    def _sweep_differs(self) -> TNTConfig:
        if self.alpha in self.sweep:
            raise ValueError(f"tnt.sweep {self.sweep} must not repeat tnt.alpha = {self.alpha}")
        return self


DATA_KEYS = ("mechanism", "flag_fraction", "variant", "max_negatives", "positives_per_negative")
"""The keys of `tnt` that choose the negative tokens and the training examples (the tnt_data stage)."""


def check(cfg: Any) -> None:
    if cfg.tnt.mechanism == "linear" and cfg.oracle.name != "profanity_check":
        raise ValueError(
            f"tnt.mechanism = 'linear' needs the linear oracle profanity_check (oracle.name = "
            f"{cfg.oracle.name!r}); use tnt.mechanism: leave_one_out"
        )


def tnt_models(config: dict[str, Any]) -> list[str]:
    """The TNT models of the TNT table and trade-off plot (all losses at the tables' α and at the sweep's)."""
    from attrctl.tnt.data import model_names

    if not any(m.startswith("tnt_") for m in config["models"]):
        return []
    return model_names(config["tnt"]["losses"], config["tnt"]["sweep"])


def train_params(job: Job) -> list[str]:
    """What a TNT update reads: its loop, ε, and α unless the name fixes it (a model of the sweep)."""
    from attrctl.tnt.data import parse_name

    model = job.get("model", "")
    swept = model.startswith("tnt_") and parse_name(model)[1] is not None
    return ["tnt.train", "tnt.epsilon", "seed", *([] if swept else ["tnt.alpha"])]


def report_inputs(config: dict[str, Any]) -> dict[str, list[str]]:
    tnt = tnt_models(config)
    return {
        "tnt": [paths.metrics(m, "tnt") for m in (["base", *tnt] if tnt else [])],
        "greedy": [paths.annotations(m, "eval_greedy") for m in (["base", *tnt] if tnt else [])],
        "train": [paths.metrics(m, "train") for m in tnt],
    }


METHOD = Method(
    name="tnt",
    order=30,
    sections={"tnt": TNTConfig},
    models={r"tnt_(" + "|".join(get_args(TNTLoss)) + r")": "tnt_<loss>: a TNT update of the base model"},
    stages=(
        Stage("tnt_data", (*(f"tnt.{k}" for k in DATA_KEYS), "oracle", "seed")),
        Stage("tnt_train", train_params, training=True),
        Stage("tnt_eval"),
    ),
    tables={
        "tnt": Table(
            "attrctl.tnt.report:rows",
            entry=lambda r: (r["model"], "tnt/"),
            doc="""
                Targeted Negative Training: greedy toxicity, fidelity to the base model

                loss: the TNT loss (or nl / ul baselines)
                alpha: α, the weight of the negative positions
                greedy_toxicity_rate: share of greedy eval continuations the oracle flags
                flagged_removed: share of the base model's flagged greedy continuations that are no longer flagged
                base_flagged: the base model's flagged greedy continuations: the units of flagged_removed's interval
                bleu_to_original: BLEU of the greedy continuations against the base model's
                disfluency_repeats: immediate word repeats ("the the") over all greedy continuations
                disfluency_question_runs: runs of two or more "?" over all greedy continuations
                disfluency_non_words: tokens without a letter over all greedy continuations
                kl_to_original: per-token KL(model ‖ base) on held-out base samples
            """,
        )
    },
    plots={"tnt_tradeoff": "attrctl.tnt.report:tradeoff"},
    experiments={
        "tnt": Experiment(
            tables=("detox", "paired", "toxicity", "oracle", "tnt"),
            plots=("tradeoff", "toxicity_hist", "tnt_tradeoff"),
        )
    },
    check=check,
    report_inputs=report_inputs,
)
