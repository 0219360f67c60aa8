# The fine-tuning corpus and every fine-tuned model (plans in attrctl.schedule), plus the trl RL baseline.


def finetune_inputs_of(wildcards):
    return finetune_inputs(wildcards.model, ITERATIONS)


rule corpus:
    input:
        VALIDATED,
        "results/annotations/base/train1.jsonl",
        "results/models/base",
        code("corpus"),
    output:
        "results/data/corpus.jsonl",
    params:
        tracked("corpus"),
    shell:
        STAGE.format("corpus")


rule finetune:
    input:
        VALIDATED,
        finetune_inputs_of,
        code("finetune"),
    output:
        directory("results/models/{model}"),
        "results/metrics/{model}/train.json",
    params:
        tracked("finetune"),
    wildcard_constraints:
        model=r"sft|filter|nado_reg(_parallel)?(_adaptive|_i\d+)?|tnt_[a-z]+(_a[\dpem]+)?",
    resources:
        gpu=1,
    priority: schedule_priority
    shell:
        TRAIN_STAGE.format("finetune") + " --model {wildcards.model}"


rule rl:
    input:
        VALIDATED,
        "results/data/corpus.jsonl",
        "results/models/base",
        code("rl"),
    output:
        directory("results/models/rl"),
        "results/metrics/rl/train.json",
    params:
        tracked("rl"),
    resources:
        gpu=1,
    shell:
        TRAIN_STAGE.format("rl")
