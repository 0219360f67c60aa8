# DPO: the base model trained on its own train-block samples, a clean one preferred to a flagged one, against the
# frozen base model. `snakemake --cores 2 dpo` runs the experiment alone (base, sft and dpo).


rule dpo_train:
    input:
        paths.VALIDATED,
        samples=paths.annotations("base", "train1"),
        base=paths.model("base"),
        code=job_code("dpo_train"),
        sources=job_sources(config, "dpo_train"),
    output:
        model=directory(paths.model("dpo")),
        metrics=paths.metrics("dpo", "train"),
    params:
        job_params(config, "dpo_train"),
        checkpoints=paths.checkpoints("dpo"),
    log:
        paths.log("dpo_train"),
    benchmark:
        paths.benchmark("dpo_train"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        command("dpo_train")
        + " --samples {input.samples} --base {input.base} --checkpoints {params.checkpoints}"
        + " --out {output.model} --metrics {output.metrics}"
