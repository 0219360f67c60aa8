# L3M: constrained fine-tuning (l3m_<name>) and its fixed-multiplier baseline (mm_<name>), and the task
# perplexity the L3M table holds them against. `snakemake --cores 2 l3m` runs the experiment alone.


rule l3m_train:
    input:
        paths.VALIDATED,
        data=paths.CORPUS,
        prompts=paths.prompts("train"),
        base=paths.model("base"),
        oracle=paths.ORACLE,
        code=job_code("l3m_train"),
        sources=job_sources(config, "l3m_train"),
    output:
        model=directory(paths.model("{model}")),
        metrics=paths.metrics("{model}", "train"),
    params:
        job_params(config, "l3m_train"),
        checkpoints=lambda wc: paths.checkpoints(f"l3m-{wc.model}"),
    wildcard_constraints:
        model=r"(l3m|mm)_[a-z0-9]+",
    log:
        paths.log("l3m_train", "{model}"),
    benchmark:
        paths.benchmark("l3m_train", "{model}"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        command("l3m_train")
        + " --name {wildcards.model} --data {input.data} --prompts {input.prompts}"
        + " --base {input.base} --oracle {input.oracle}"
        + " --checkpoints {params.checkpoints} --out {output.model} --metrics {output.metrics}"


rule task_ppl:
    input:
        paths.VALIDATED,
        model=paths.model(),
        heldout=paths.CORPUS_HELDOUT,
        code=job_code("task_ppl"),
        sources=job_sources(config, "task_ppl"),
    output:
        metrics=paths.metrics("{model}", "task_ppl"),
    params:
        job_params(config, "task_ppl"),
    log:
        paths.log("task_ppl", "{model}"),
    benchmark:
        paths.benchmark("task_ppl", "{model}"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        command("task_ppl")
        + " --name {wildcards.model} --model {input.model} --heldout {input.heldout} --out {output.metrics}"
