# The toxicity protocol for one model: sample -> annotate (both oracles) -> evaluate.


rule sample:
    input:
        paths.VALIDATED,
        model=paths.model(),
        prompts=lambda wc: prompts_of(wc.split),
        code=job_code("sample"),
        sources=job_sources(config, "sample"),
    output:
        samples=paths.samples(),
        timing=paths.metrics("{model}", "sample_{split}"),
    wildcard_constraints:
        split=r"(eval|train\d+)(_greedy)?",
    params:
        job_params(config, "sample"),
    log:
        paths.log("sample", "{model}-{split}"),
    benchmark:
        paths.benchmark("sample", "{model}-{split}"),
    threads: THREADS
    resources:
        gpu=GPU,
    priority: priority
    shell:
        command("sample")
        + " --name {wildcards.model} --model {input.model} --prompts {input.prompts} --split {wildcards.split}"
        + " --out {output.samples} --timing {output.timing}"


rule annotate:
    input:
        paths.VALIDATED,
        samples=paths.samples(),
        oracle=paths.ORACLE,
        code=job_code("annotate"),
        sources=job_sources(config, "annotate"),
    output:
        annotations=paths.annotations(),
    params:
        job_params(config, "annotate"),
    log:
        paths.log("annotate", "{model}-{split}"),
    benchmark:
        paths.benchmark("annotate", "{model}-{split}"),
    threads: THREADS
    priority: priority
    shell:
        command("annotate")
        + " --name {wildcards.model}/{wildcards.split} --samples {input.samples} --oracle {input.oracle}"
        + " --out {output.annotations}"


rule evaluate:
    input:
        paths.VALIDATED,
        annotations=paths.annotations("{model}", "eval"),
        reference=paths.model(config["evaluate"]["reference_model"]),
        code=job_code("evaluate"),
        sources=job_sources(config, "evaluate"),
    output:
        metrics=paths.metrics("{model}", "toxicity"),
    params:
        job_params(config, "evaluate"),
    log:
        paths.log("evaluate", "{model}"),
    benchmark:
        paths.benchmark("evaluate", "{model}"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        command("evaluate")
        + " --name {wildcards.model} --annotations {input.annotations} --reference {input.reference}"
        + " --out {output.metrics}"
