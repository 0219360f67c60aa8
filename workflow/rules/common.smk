# Validate params before any job runs, and the helpers every rule uses.
from attrctl.workflow import code_deps, task_files, tracked_params, validated

config = validated(config)
VALIDATED = "results/validated_params.txt"
STAGE = "python -m attrctl.stages.{} --params params.yaml"
MODELS = config["models"]


def code(stage):
    return code_deps(stage)


def tracked(stage):
    return tracked_params(config, stage)
