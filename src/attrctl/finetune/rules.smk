# The fine-tuning corpus and every fine-tuned model of the NADO paper (plans in attrctl.finetune.schedule):
# sft, filter, the nado_reg schedules, the adaptive variant and the λ sweep, plus the trl RL baseline.
from attrctl.finetune.method import finetune_inputs



rule corpus:
    input:
        paths.VALIDATED,
        statements=statements(config),
        samples=paths.annotations("base", "train1"),
        tokenizer=paths.model("base"),
        oracle=paths.ORACLE,
        code=job_code("corpus"),
        sources=job_sources(config, "corpus"),
    output:
        corpus=paths.CORPUS,
        heldout=paths.CORPUS_HELDOUT,
    params:
        job_params(config, "corpus"),
    log:
        paths.log("corpus"),
    benchmark:
        paths.benchmark("corpus"),
    threads: THREADS
    shell:
        command("corpus")
        + " --statements {input.statements} --samples {input.samples} --tokenizer {input.tokenizer}"
        + " --oracle {input.oracle} --out {output.corpus} --heldout {output.heldout}"


rule finetune:
    input:
        paths.VALIDATED,
        unpack(lambda wc: finetune_inputs(wc.model, config["nado_reg"]["iterations"])),
        code=job_code("finetune"),
        sources=job_sources(config, "finetune"),
    output:
        model=directory(paths.model()),
        metrics=paths.metrics("{model}", "train"),
    params:
        job_params(config, "finetune"),
        guide=lambda wc: flag(finetune_inputs(wc.model, config["nado_reg"]["iterations"]), "guide", "--guide"),
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
    priority: priority
    shell:
        command("finetune")
        + " --name {wildcards.model} --data {input.data} --init {input.init} {params.guide}"
        + " --heldout {input.heldout} --checkpoints {params.checkpoints} --out {output.model} --metrics {output.metrics}"


rule rl:
    input:
        paths.VALIDATED,
        data=paths.CORPUS,
        base=paths.model("base"),
        oracle=paths.ORACLE,
        code=job_code("rl"),
        sources=job_sources(config, "rl"),
    output:
        model=directory(paths.model("rl")),
        metrics=paths.metrics("rl", "train"),
    params:
        job_params(config, "rl"),
        checkpoints=paths.checkpoints("rl"),
    log:
        paths.log("rl"),
    benchmark:
        paths.benchmark("rl"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        command("rl")
        + " --data {input.data} --base {input.base} --oracle {input.oracle} --checkpoints {params.checkpoints}"
        + " --out {output.model} --metrics {output.metrics}"
