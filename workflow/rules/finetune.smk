# The fine-tuning corpus and every fine-tuned model of the NADO paper (plans in attrctl.finetune.schedule):
# sft, filter, the nado_reg schedules, the adaptive variant and the λ sweep, plus the trl RL baseline.


rule corpus:
    input:
        paths.VALIDATED,
        statements=paths.TOXIGEN_STATEMENTS,
        samples=paths.annotations("base", "train1"),
        tokenizer=paths.model("base"),
        oracle=paths.ORACLE,
        code=code("corpus"),
    output:
        corpus=paths.CORPUS,
        heldout=paths.CORPUS_HELDOUT,
    params:
        tracked(config, "corpus"),
    log:
        paths.log("corpus"),
    benchmark:
        paths.benchmark("corpus"),
    threads: THREADS
    shell:
        STAGE.format("corpus")
        + " --statements {input.statements} --samples {input.samples} --tokenizer {input.tokenizer}"
        + " --oracle {input.oracle} --out {output.corpus} --heldout {output.heldout}"


rule finetune:
    input:
        paths.VALIDATED,
        unpack(lambda wc: finetune_inputs(wc.model, ITERATIONS)),
        code=code("finetune"),
    output:
        model=directory(paths.model()),
        metrics=paths.metrics("{model}", "train"),
    params:
        tracked(config, "finetune"),
        guide=lambda wc: flag(finetune_inputs(wc.model, ITERATIONS), "guide", "--guide"),
        checkpoints=lambda wc: paths.checkpoints(f"finetune-{wc.model}"),
    wildcard_constraints:
        model=r"sft|filter|nado_reg(_parallel)?(_adaptive|_i\d+|_l\d+(p\d+)?)?",
    log:
        paths.log("finetune", "{model}"),
    benchmark:
        paths.benchmark("finetune", "{model}"),
    threads: THREADS
    resources:
        gpu=GPU,
    priority: schedule_priority
    shell:
        TRAIN_STAGE.format("finetune")
        + " --name {wildcards.model} --data {input.data} --init {input.init} {params.guide}"
        + " --heldout {input.heldout} --checkpoints {params.checkpoints} --out {output.model} --metrics {output.metrics}"


rule rl:
    input:
        paths.VALIDATED,
        data=paths.CORPUS,
        base=paths.model("base"),
        oracle=paths.ORACLE,
        code=code("rl"),
    output:
        model=directory(paths.model("rl")),
        metrics=paths.metrics("rl", "train"),
    params:
        tracked(config, "rl"),
        checkpoints=paths.checkpoints("rl"),
    log:
        paths.log("rl"),
    benchmark:
        paths.benchmark("rl"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        TRAIN_STAGE.format("rl")
        + " --data {input.data} --base {input.base} --oracle {input.oracle} --checkpoints {params.checkpoints}"
        + " --out {output.model} --metrics {output.metrics}"
