"""NADO's declaration: its config section, nado_decode, the train_nado stage and the NADO experiment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from attrctl.methods import Experiment, Method, Stage, Table
from attrctl.sections import PositiveInt, Probability, Section, TrainConfig


class NadoConfig(Section):
    """The NADO auxiliary model R and its guided distribution q*."""

    trunk: Literal["small", "lora"] = "small"
    """`small`: `layers` transformer layers over the frozen base model's last hidden states (default);
    `lora`: a LoRA copy of the base model."""
    layers: PositiveInt = 2
    """Layers of the small trunk."""
    lora_rank: PositiveInt = 8
    """Rank of the LoRA trunk."""
    head: Literal["vocab", "embedding"] = "embedding"
    """`embedding`: r[v] = E_v · (W s) + b_v over the base model's frozen output embeddings E, so a token never
    sampled shares what tokens of similar embedding taught (default: 1,920 labelled samples leave most rows of a
    free head untrained); `vocab`: a free zero-initialised row per token, the reference code's head."""
    samples_per_prompt: PositiveInt = 16
    """Samples per training prompt drawn from the current model to train NADO (iteration k)."""
    label: Literal["soft", "threshold"] = "soft"
    """Target c: `soft` = 1 - toxicity, as the reference code (every sample a graded target: with the embedding
    head, nado_decode's toxicity probability 0.26 against 0.33 with threshold labels, at 1,920 labelled samples);
    `threshold` = 1 if toxicity <= oracle.threshold."""
    lambda_cons: float = Field(0.5, ge=0.0)
    """Weight of the consistency regulariser KL(Bern(R(x,y<=i)) || Bern(sum_v p(v) R(x,y<=i+v)))."""
    consistency_top_k: int = Field(64, ge=0)
    """The consistency sum runs over the model's k most likely next tokens (renormalised; 0: the whole
    vocabulary). Keeps a NADO step cheap: the full vocabulary costs two vocabulary-sized products per token."""
    delta: Probability = 1.0
    """Target satisfaction rate of q*: 1 gives q* proportional to p(v) R(x, y<i+v); at or below R(x), q* = p."""
    decode_strength: float = Field(5.0, gt=0.0)
    """γ of `nado_decode` only: it samples from q proportional to p(v) R(x, y<i+v)^γ (δ = 1), the reference code's
    `constraint_factor` (1 there, and 1 is q* itself). The NADO's values stay near their mean (docs/methods.md),
    so q* barely re-weights; 5 was the most detoxifying of 1, 2, 3, 5 on held-out train prompts at no cost in
    conditional perplexity (README). The regulariser's teacher is always q*."""
    train: TrainConfig = TrainConfig(lr=1e-3, epochs=2, batch_size=16, warmup_steps=10, checkpoint_every=20)
    """Training loop settings for NADO."""


METHOD = Method(
    name="nado",
    order=10,
    sections={"nado": NadoConfig},
    models={"nado_decode": "the base model decoding from p · R^γ, NADO-guided (γ = nado.decode_strength; 1 is q*)"},
    decoders={"nado_decode": "attrctl.nado.decode"},
    stages=(
        Stage(
            "train_nado",
            [
                f"nado.{k}"
                for k in NadoConfig.model_fields
                if k not in ("delta", "decode_strength", "samples_per_prompt")
            ]
            + ["seed", "oracle.threshold", "sample.temperature"],
            training=True,
        ),
        Stage("nado_decode", ("nado.delta", "nado.decode_strength")),
    ),
    tables={
        "nado": Table(
            "attrctl.nado.report:rows",
            entry=lambda r: (f"nado:{r['nado']}", ""),
            doc="""
                NADO diagnostics on fresh samples of held-out prompts

                nado: the NADO: <schedule>_iter<k>
                nado_auroc: AUROC of R(x, y) for the sample's oracle label, on fresh eval samples
                nado_auroc_prompt_only: the same AUROC from R(x), the prompt alone (how much is the prompt's)
                nado_auroc_within_prompt: AUROC after removing each prompt's mean (ranking samples of one prompt)
                nado_ece: expected calibration error of R against the label it trained on
                nado_brier: Brier score of R against that label
                nado_consistency_gap: mean |R(x, y<i) − Σ_v p(v) R(x, y<i v)| (the consistency it is trained to)
                nado_r_x_mean: mean R(x) over eval prompts
                nado_target_mean: mean training target c
                nado_success_rate: share of eval samples the oracle does not flag
                nado_train_loss_final: training loss at the last step
            """,
        )
    },
    experiments={
        "nado": Experiment(
            tables=("detox", "paired", "toxicity", "classification", "nado", "oracle", "efficiency"),
            plots=("tradeoff", "lambda_sweep", "toxicity_hist", "nado_reg_kl"),
        )
    },
)
