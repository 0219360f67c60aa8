# Targeted Negative Training: data from the base model's own generations, the TNT updates, their measures.


rule tnt_data:
    input:
        paths.VALIDATED,
        sampled=paths.annotations("base", "train1"),
        greedy=paths.annotations("base", "train1_greedy"),
        tokenizer=paths.model("base"),
        oracle=paths.ORACLE,
        code=job_code("tnt_data"),
        sources=job_sources(config, "tnt_data"),
    output:
        data=paths.TNT_DATA,
    params:
        job_params(config, "tnt_data"),
    log:
        paths.log("tnt_data"),
    benchmark:
        paths.benchmark("tnt_data"),
    threads: THREADS
    shell:
        command("tnt_data")
        + " --samples {input.sampled} {input.greedy} --tokenizer {input.tokenizer} --oracle {input.oracle}"
        + " --out {output.data}"


rule tnt_train:
    input:
        paths.VALIDATED,
        data=paths.TNT_DATA,
        base=paths.model("base"),
        code=job_code("tnt_train"),
        sources=job_sources(config, "tnt_train"),
    output:
        model=directory(paths.model("{model}")),
        metrics=paths.metrics("{model}", "train"),
    params:
        job_params(config, "tnt_train"),
        checkpoints=lambda wc: paths.checkpoints(f"tnt-{wc.model}"),
    wildcard_constraints:
        model=r"tnt_[a-z]+(_a[\dpem]+)?",
    log:
        paths.log("tnt_train", "{model}"),
    benchmark:
        paths.benchmark("tnt_train", "{model}"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        command("tnt_train")
        + " --name {wildcards.model} --data {input.data} --base {input.base} --checkpoints {params.checkpoints}"
        + " --out {output.model} --metrics {output.metrics}"


rule tnt_eval:
    input:
        paths.VALIDATED,
        model=paths.model(),
        greedy=paths.annotations("{model}", "eval_greedy"),
        base=paths.model("base"),
        base_greedy=paths.annotations("base", "eval_greedy"),
        heldout=paths.annotations("base", "eval"),
        code=job_code("tnt_eval"),
        sources=job_sources(config, "tnt_eval"),
    output:
        metrics=paths.metrics("{model}", "tnt"),
    params:
        job_params(config, "tnt_eval"),
    log:
        paths.log("tnt_eval", "{model}"),
    benchmark:
        paths.benchmark("tnt_eval", "{model}"),
    threads: THREADS
    resources:
        gpu=GPU,
    shell:
        command("tnt_eval")
        + " --name {wildcards.model} --model {input.model} --greedy {input.greedy} --base {input.base}"
        + " --base-greedy {input.base_greedy} --heldout {input.heldout} --out {output.metrics}"
