# Validate params before any job runs, and the helpers every rule uses.
from attrctl.workflow import (
    code_deps,
    nado_names,
    prompt_file,
    task_files,
    tracked_params,
    train_nado_inputs,
    validated,
)

config = validated(config)
VALIDATED = "results/validated_params.txt"
STAGE = "python -m attrctl.stages.{} --params params.yaml"
MODELS = config["models"]
NADOS = nado_names(config)


def code(stage):
    return code_deps(stage)


def tracked(stage):
    return tracked_params(config, stage)


def prompts_of(wildcards):
    return prompt_file(wildcards.split)
