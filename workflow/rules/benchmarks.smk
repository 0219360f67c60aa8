# Utility benchmarks (lm-eval) for every model, and the held-out toxicity-classification items they use.


rule classification_data:
    input:
        paths.VALIDATED,
        annotations=paths.annotations("base", "eval"),
        code=code("classification_data"),
    output:
        cls_items=paths.CLS_ITEMS,
    params:
        tracked(config, "classification_data"),
    log:
        paths.log("classification_data"),
    shell:
        STAGE.format("classification_data") + " --annotations {input.annotations} --out {output.cls_items}"


rule benchmarks:
    input:
        paths.VALIDATED,
        model=paths.model(),
        cls_items=paths.CLS_ITEMS,
        tasks=task_files(),
        code=code("benchmarks"),
    output:
        metrics=paths.metrics("{model}", "lm_eval"),
    params:
        tracked(config, "benchmarks"),
        tasks=paths.TASK_DIR,
    log:
        paths.log("benchmarks", "{model}"),
    resources:
        gpu=1,
    shell:
        STAGE.format("benchmarks") + " --name {wildcards.model} --model {input.model} --tasks {params.tasks} --out {output.metrics}"
