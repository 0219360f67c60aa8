# Validate params before any job runs; the helpers every rule uses (paths from attrctl.pipeline.paths, the rest
# from attrctl.pipeline.rules and the method packages' method.py).
import os

from attrctl import methods
from attrctl.pipeline import paths
from attrctl.pipeline.rules import (
    commands,
    eval_prompts_option,
    flag,
    gpu_per_job,
    job_code,
    job_params,
    job_sources,
    priority,
    prompt_inputs,
    prompt_source,
    prompts_of,
    report_inputs,
    report_options,
    report_outputs,
    statements,
    task_files,
    threads,
    validated,
)

# `snakemake --lint` asks for a conda environment or container per rule: every rule runs the same
# environment, the project's virtualenv (Makefile, requirements.lock), so none is declared.
config = validated(config)
command = commands(config)
THREADS = threads(config)
GPU = gpu_per_job(config)


rule validate:
    input:
        prompts=prompt_inputs(config),
        eval_prompts=prompt_inputs(config, "eval_prompts"),
        statements=statements(config),
        code=job_code("validate"),
        sources=job_sources(config, "validate"),
    output:
        paths.VALIDATED,
    params:
        source=lambda wc, input: input.prompts or prompt_source(config),
        eval_prompts=eval_prompts_option(config),
    log:
        paths.log("validate"),
    benchmark:
        paths.benchmark("validate"),
    threads: THREADS
    shell:
        command("validate")
        + " --prompts {params.source} --statements {input.statements} --dvc-yaml dvc.yaml --out {output}"
        + " {params.eval_prompts}"
