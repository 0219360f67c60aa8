"""The fine-tuning methods' declaration: the corpus, sft / filter / RL baselines and NADO-regularised fine-tuning
(schedules, adaptive variant, λ sweep), their config sections, stages and the DAG of the schedules
(attrctl.finetune.schedule)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from attrctl.finetune import schedule
from attrctl.methods import Job, Method, Stage, Table
from attrctl.pipeline import paths
from attrctl.sections import PositiveInt, Probability, Section, TrainConfig


class CorpusConfig(Section):
    """The fine-tuning corpus (attrctl.finetune.corpus)."""

    constraint_hateful: PositiveInt = 100
    """Hateful ToxiGen statements of the corpus half (all of them if fewer), each after a group prompt."""
    constraint_neutral: PositiveInt = 100
    """Neutral ToxiGen statements of the corpus half (all of them if fewer)."""
    general: PositiveInt = 30
    """The base model's continuations of neutral train prompts (the general domain)."""
    classification_per_class: PositiveInt = 30
    """Toxicity-classification examples per answer (yes / no), tagged constraint domain."""
    heldout_fraction: Probability = 0.1
    """Share of the continuation examples held out of training; with the oracle half of the ToxiGen statements,
    the held-out task set of the L3M table's task perplexity."""


class FinetuneConfig(Section):
    """Fine-tuning shared by sft, filter and the nado_reg variants."""

    lora_rank: int = Field(0, ge=0)
    """0: full fine-tuning; > 0: LoRA adapters of this rank (merged into the saved weights)."""
    train: TrainConfig = TrainConfig(lr=1e-4, epochs=1, batch_size=8, warmup_steps=5, checkpoint_every=10)
    """Loop settings of one fine-tuning pass; single-run methods (sft, filter, adaptive, the λ sweep) train
    nado_reg.iterations passes, so every method sees the corpus equally often."""


class NadoRegConfig(Section):
    """NADO-regularised fine-tuning."""

    iterations: PositiveInt = 2
    """K: iterations of the sequential and parallel schedules (each: sample, train NADO, fine-tune)."""
    kl_weight: float = Field(10.0, ge=0.0)
    """λ: weight of the per-token KL to q* (the paper uses 10)."""
    kl_direction: Literal["reverse", "forward"] = "reverse"
    """`reverse`: KL(pθ || q*); `forward`: KL(q* || pθ), i.e. soft-target cross-entropy."""
    general_weight: float = Field(1.0, ge=0.0)
    """β (adaptive variant): weight of KL(pθ || p0) on general-domain examples."""


class RLConfig(Section):
    """The RL baseline (trl)."""

    trainer: Literal["grpo", "rloo"] = "grpo"
    """trl trainer: reward = 1 − toxicity of the completion, KL penalty to p0."""
    kl_coef: float = Field(0.05, ge=0.0)
    """β of the KL penalty to the reference model p0."""
    steps: PositiveInt = 8
    """Optimizer steps."""
    prompts_per_step: PositiveInt = 4
    """Prompts per step (each gets `generations` completions)."""
    generations: int = Field(4, ge=2)
    """Completions per prompt (the group for the baseline)."""
    max_new_tokens: PositiveInt = 20
    """Completion length."""
    lr: float = Field(1e-5, gt=0.0)
    """Learning rate."""


def finetune_params(job: Job) -> list[str]:
    """What a fine-tuning job reads: the loop, the passes (nado_reg.iterations), and, for the objectives
    against q*, δ and the regulariser's settings (λ from the config unless the name fixes it)."""
    keys = ["finetune", "model.lora_targets", "nado_reg.iterations", "seed"]
    try:
        plan = schedule.finetune_plan(job.get("model", ""), 1)
    except ValueError:  # no model of this stage (config checks ask every stage about every model)
        return keys
    if plan.objective == "sft":
        return keys
    keys += ["nado.delta", "nado_reg.kl_direction"]
    keys += ["nado_reg.kl_weight"] if plan.kl_weight is None else []
    return keys + (["nado_reg.general_weight"] if plan.objective == "nado_reg_adaptive" else [])


def check(cfg: Any) -> None:
    if cfg.nado_reg.iterations > cfg.data.train_blocks:
        raise ValueError(
            f"nado_reg.iterations = {cfg.nado_reg.iterations}: at most data.train_blocks = "
            f"{cfg.data.train_blocks} (iteration k samples train block k)"
        )


def nado_inputs(schedule_name: str, k: int, iterations: int) -> dict[str, str]:
    """NADO_k trains on labelled samples of p_{k-1} (or, parallel, of the previous iteration), is measured on fresh
    eval samples of the same model, reads that model's hidden states and warm-starts from NADO_{k-1}."""
    model, split = schedule.nado_data(schedule_name, k, iterations)
    warm = schedule.nado_warm_start(schedule_name, k)
    inputs = {
        "model": paths.model(model),
        "train": paths.annotations(model, split),
        "heldout": paths.annotations(model, "eval"),
    }
    return inputs | ({"warm": paths.nado(warm)} if warm else {})


def finetune_inputs(name: str, iterations: int) -> dict[str, str]:
    """The corpus, the start model (the teacher of q*), the NADO of q*, and held-out base samples (KL diagnostics)."""
    plan = schedule.finetune_plan(name, iterations)
    inputs = {"data": paths.CORPUS, "init": paths.model(plan.init), "heldout": paths.annotations("base", "eval")}
    return inputs | ({"guide": paths.nado(plan.guide)} if plan.guide else {})


def trained_models(config: dict[str, Any]) -> list[str]:
    """Every model the finetune stage makes for the configured models (schedule iterations included)."""
    iterations = config["nado_reg"]["iterations"]
    single = [m for m in config["models"] if schedule.is_single_run(m)]
    return single + schedule.schedule_models(config["models"], iterations)


def schedule_timings(config: dict[str, Any]) -> list[str]:
    """Timing files of the samples every iteration of the configured schedules draws."""
    iterations = config["nado_reg"]["iterations"]
    found = set()
    for name in schedule.SCHEDULES:
        if schedule.PREFIX[name] in config["models"]:
            for k in range(1, iterations + 1):
                model, split = schedule.sample_source(name, k, iterations)
                found.add(paths.metrics(model, f"sample_{split}"))
    return sorted(found)


def priority(job: Job) -> int:
    """The sequential NADO schedule (train-split sampling and annotation, NADO_k, the nado_reg_i<k> fine-tunes)
    is the DAG's longest chain, so its jobs go first (20); the other NADO-regularised jobs (the parallel
    schedule, the adaptive variant, the λ sweep) next (10); the independent jobs (baselines, TNT, evaluation)
    fill the other cores alongside them instead of after them (0)."""
    model, split = job.get("model", ""), job.get("split", "")
    if split.startswith("train") or job.get("schedule") == "sequential" or re.fullmatch(r"nado_reg(_i\d+)?", model):
        return 20
    return 10 if "schedule" in job or model.startswith("nado_reg") else 0


def report_inputs(config: dict[str, Any]) -> dict[str, list[str]]:
    names = schedule.nado_names(config["models"], config["nado_reg"]["iterations"])
    trained = trained_models(config) + [m for m in config["models"] if m == "rl"]
    return {
        "nado": [paths.metrics("nado", n) for n in names],
        "train": [paths.metrics(m, "train") for m in trained],
        "timing": schedule_timings(config),
    }


METHOD = Method(
    name="finetune",
    order=20,
    experiment="nado",
    sections={"corpus": CorpusConfig, "finetune": FinetuneConfig, "nado_reg": NadoRegConfig, "rl": RLConfig},
    references=("sft",),  # plain fine-tuning: what a constraint-aware fine-tuning must improve on
    models={
        "sft": "fine-tuning on the corpus (the reference that shows the harm)",
        "filter": "fine-tuning on the corpus without the examples the oracle flags",
        "rl": "GRPO (or RLOO) from trl, reward 1 − oracle toxicity, KL penalty to the base model",
        "nado_reg": "L_task + λ·KL(pθ ‖ q*), sequential schedule, nado_reg.iterations iterations",
        "nado_reg_parallel": "the same, parallel schedule",
        "nado_reg_adaptive": "λ·KL(pθ ‖ q*) on the constraint domain, β·KL(pθ ‖ p0) on the general domain",
        schedule.SWEEP.pattern: "nado_reg_l<λ>: the λ sweep (e.g. nado_reg_l1, nado_reg_l0p5)",
    },
    stages=(
        Stage("corpus", ("corpus", "oracle", "seed")),
        Stage("finetune", finetune_params, training=True),
        Stage("rl", ("rl", "oracle", "sample.top_p", "sample.temperature", "seed"), training=True),
    ),
    tables={
        "efficiency": Table(
            "attrctl.finetune.report:efficiency_rows",
            entry=lambda r: ("efficiency", f"{r['schedule']}/{r['iteration']}/{r['job']}/"),
            doc="""
                Wall time per job; critical path of the schedules

                schedule: sequential, parallel, or a single run (one fine-tuning from the base model)
                iteration: k, or all
                job: the job (sampling, NADO training, fine-tuning), or the schedule's critical path
                seconds: the job's own measure of its work (sampling, training)
                tokens_per_s: tokens processed per second of that work
                job_seconds: the job's wall time from Snakemake's benchmark file (start-up included)
                peak_rss_mb: the job's peak resident memory (Snakemake's benchmark file)
            """,
        )
    },
    plots={"lambda_sweep": "attrctl.finetune.report:lambda_sweep", "nado_reg_kl": "attrctl.finetune.report:kl_plot"},
    single_runs={"rl": "rl", schedule.SINGLE_RUN: "finetune/{model}"},
    check=check,
    priority=priority,
    report_inputs=report_inputs,
)
