# Validate params before any job runs, and the helpers every rule uses.
from attrctl.workflow import code_deps, tracked_params, validated

config = validated(config)
VALIDATED = "results/validated_params.txt"
STAGE = "python -m attrctl.stages.{} --params params.yaml"


def code(stage):
    return code_deps(stage)


def tracked(stage):
    return tracked_params(config, stage)
