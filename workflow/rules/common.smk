# Validate params before any job runs, and the helpers every rule uses.
from attrctl.workflow import (
    code_deps,
    finetune_inputs,
    nado_names,
    prompt_file,
    schedule_priority,
    schedule_samples,
    task_files,
    trained_models,
    tnt_models,
    tracked_params,
    train_nado_inputs,
    validated,
)

config = validated(config)
VALIDATED = "results/validated_params.txt"
STAGE = "python -m attrctl.stages.{} --params params.yaml"
TRAIN_STAGE = config["runtime"]["launcher"] + " -m attrctl.stages.{} --params params.yaml"  # multi-GPU capable
MODELS = config["models"]
NADOS = nado_names(config)
ITERATIONS = config["nado_reg"]["iterations"]
TRAINED = trained_models(config)
SCHEDULE_SAMPLES = schedule_samples(config)
TNT_MODELS = tnt_models(config)


def code(stage):
    return code_deps(stage)


def tracked(stage):
    return tracked_params(config, stage)


def prompts_of(wildcards):
    return prompt_file(wildcards.split)


def nado_inputs(wildcards):
    return train_nado_inputs(wildcards.schedule, int(wildcards.k), ITERATIONS)
