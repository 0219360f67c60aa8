# Validate params before any job runs; the helpers every rule uses (paths from attrctl.pipeline.paths).
import os

from attrctl.config import DGLM_RUN, tracked
from attrctl.pipeline import paths
from attrctl.pipeline.rules import (
    EXPERIMENTS,
    code,
    finetune_inputs,
    flag,
    gpu_per_job,
    nado_inputs,
    nado_names,
    prompt_inputs,
    prompt_source,
    prompts_of,
    report_inputs,
    report_outputs,
    schedule_priority,
    schedule_timings,
    task_files,
    tnt_models,
    threads,
    trained_models,
    validated,
)

# `snakemake --lint` asks for a conda environment or container per rule: every rule runs the same
# environment, the project's virtualenv (Makefile, requirements.lock), so none is declared.
config = validated(config)
STAGE = "python -m attrctl.stages.{} --params params.yaml --log-file {{log}}"
TRAIN_STAGE = config["runtime"]["launcher"] + " -m attrctl.stages.{} --params params.yaml --log-file {{log}}"
MODELS = config["models"]
ITERATIONS = config["nado_reg"]["iterations"]
THREADS = threads(config)
GPU = gpu_per_job(config)


rule validate:
    input:
        prompts=prompt_inputs(config),
        code=code("validate"),
    output:
        paths.VALIDATED,
    params:
        source=lambda wc, input: input.prompts or prompt_source(config),
    log:
        paths.log("validate"),
    benchmark:
        paths.benchmark("validate"),
    threads: THREADS
    shell:
        STAGE.format("validate") + " --prompts {params.source} --dvc-yaml dvc.yaml --out {output}"
