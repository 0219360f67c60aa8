# The toxicity protocol for one model: sample -> annotate -> evaluate.


rule sample:
    input:
        VALIDATED,
        "results/models/{model}",
        prompts_of,
        code("sample"),
    output:
        "results/samples/{model}/{split}.jsonl",
        "results/metrics/{model}/sample_{split}.json",
    wildcard_constraints:
        split=r"(eval|train\d+)(_greedy)?",
    params:
        tracked("sample"),
    resources:
        gpu=1,
    priority: schedule_priority
    shell:
        STAGE.format("sample") + " --model {wildcards.model} --split {wildcards.split}"


rule annotate:
    input:
        VALIDATED,
        "results/samples/{model}/{split}.jsonl",
        "results/models/base",
        code("annotate"),
    output:
        "results/annotations/{model}/{split}.jsonl",
    params:
        tracked("annotate"),
    priority: schedule_priority
    shell:
        STAGE.format("annotate") + " --model {wildcards.model} --split {wildcards.split}"


rule evaluate:
    input:
        VALIDATED,
        "results/annotations/{model}/eval.jsonl",
        "results/models/" + config["evaluate"]["reference_model"],
        code("evaluate"),
    output:
        "results/metrics/{model}/toxicity.json",
    params:
        tracked("evaluate"),
    resources:
        gpu=1,
    shell:
        STAGE.format("evaluate") + " --model {wildcards.model}"
