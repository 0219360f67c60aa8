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
    benchmark:
        paths.benchmark("classification_data"),
    threads: THREADS
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
        tasks=lambda wc, input: os.path.commonpath(input.tasks),
    log:
        paths.log("benchmarks", "{model}"),
    benchmark:
        paths.benchmark("benchmarks", "{model}"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        STAGE.format("benchmarks") + " --name {wildcards.model} --model {input.model} --tasks {params.tasks} --out {output.metrics}"
