# The toxicity protocol for one model: sample -> annotate (both oracles) -> evaluate.


rule sample:
    input:
        paths.VALIDATED,
        model=paths.model(),
        prompts=lambda wc: prompts_of(wc.split),
        code=code("sample"),
    output:
        samples=paths.samples(),
        timing=paths.metrics("{model}", "sample_{split}"),
    wildcard_constraints:
        split=r"(eval|train\d+)(_greedy)?",
    params:
        tracked(config, "sample"),
    log:
        paths.log("sample", "{model}-{split}"),
    resources:
        gpu=1,
    priority: schedule_priority
    shell:
        STAGE.format("sample")
        + " --name {wildcards.model} --model {input.model} --prompts {input.prompts} --split {wildcards.split}"
        + " --out {output.samples} --timing {output.timing}"


rule annotate:
    input:
        paths.VALIDATED,
        samples=paths.samples(),
        oracle=paths.ORACLE,
        code=code("annotate"),
    output:
        annotations=paths.annotations(),
    params:
        tracked(config, "annotate"),
    log:
        paths.log("annotate", "{model}-{split}"),
    priority: schedule_priority
    shell:
        STAGE.format("annotate")
        + " --name {wildcards.model}/{wildcards.split} --samples {input.samples} --oracle {input.oracle}"
        + " --out {output.annotations}"


rule evaluate:
    input:
        paths.VALIDATED,
        annotations=paths.annotations("{model}", "eval"),
        reference=paths.model(config["evaluate"]["reference_model"]),
        code=code("evaluate"),
    output:
        metrics=paths.metrics("{model}", "toxicity"),
    params:
        tracked(config, "evaluate"),
    log:
        paths.log("evaluate", "{model}"),
    resources:
        gpu=1,
    shell:
        STAGE.format("evaluate")
        + " --name {wildcards.model} --annotations {input.annotations} --reference {input.reference}"
        + " --out {output.metrics}"
