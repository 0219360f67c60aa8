# Validate params before any job runs; the helpers every rule uses (paths from attrctl.pipeline.paths).
from attrctl.pipeline import paths
from attrctl.pipeline.rules import (
    EXPERIMENTS,
    code,
    finetune_inputs,
    flag,
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
    tracked,
    trained_models,
    validated,
)

config = validated(config)
STAGE = "python -m attrctl.stages.{} --params params.yaml --log {{log}}"
TRAIN_STAGE = config["runtime"]["launcher"] + " -m attrctl.stages.{} --params params.yaml --log {{log}}"
MODELS = config["models"]
ITERATIONS = config["nado_reg"]["iterations"]


rule validate:
    input:
        prompts=prompt_inputs(config),
        code=code("validate"),
    output:
        paths.VALIDATED,
    params:
        source=prompt_source(config),
    log:
        paths.log("validate"),
    shell:
        STAGE.format("validate") + " --prompts {params.source} --out {output}"
