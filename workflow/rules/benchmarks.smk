# Utility benchmarks (lm-eval) for every model, and the held-out toxicity-classification items they use.


rule classification_data:
    input:
        VALIDATED,
        "results/annotations/base/eval.jsonl",
        code("classification_data"),
    output:
        "results/data/toxicity_cls_eval.jsonl",
    params:
        tracked("classification_data"),
    shell:
        STAGE.format("classification_data")


rule benchmarks:
    input:
        VALIDATED,
        "results/models/{model}",
        "results/data/toxicity_cls_eval.jsonl",
        task_files(),
        code("benchmarks"),
    output:
        "results/metrics/{model}/lm_eval.json",
    params:
        tracked("benchmarks"),
    resources:
        gpu=1,
    shell:
        STAGE.format("benchmarks") + " --model {wildcards.model}"
