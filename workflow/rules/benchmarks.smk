# Utility benchmarks (lm-eval) for every model, and the held-out toxicity-classification items they use.


rule classification_data:
    input:
        paths.VALIDATED,
        annotations=paths.annotations("base", "eval"),
        code=job_code("classification_data"),
        sources=job_sources(config, "classification_data"),
    output:
        cls_items=paths.CLS_ITEMS,
    params:
        job_params(config, "classification_data"),
    log:
        paths.log("classification_data"),
    benchmark:
        paths.benchmark("classification_data"),
    threads: THREADS
    shell:
        command("classification_data") + " --annotations {input.annotations} --out {output.cls_items}"


rule benchmarks:
    input:
        paths.VALIDATED,
        model=paths.model(),
        cls_items=paths.CLS_ITEMS,
        tasks=task_files(),
        code=job_code("benchmarks"),
        sources=job_sources(config, "benchmarks"),
    output:
        metrics=paths.metrics("{model}", "lm_eval"),
    params:
        job_params(config, "benchmarks"),
        tasks=lambda wc, input: os.path.commonpath(input.tasks),
    log:
        paths.log("benchmarks", "{model}"),
    benchmark:
        paths.benchmark("benchmarks", "{model}"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        command("benchmarks") + " --name {wildcards.model} --model {input.model} --tasks {params.tasks} --out {output.metrics}"
