# The base model, the prompt split and the trained oracle.


rule prepare_model:
    input:
        paths.VALIDATED,
        code=job_code("prepare_model"),
        sources=job_sources(config, "prepare_model"),
    output:
        model=directory(paths.model("base")),
    params:
        job_params(config, "prepare_model"),
    log:
        paths.log("prepare_model"),
    benchmark:
        paths.benchmark("prepare_model"),
    threads: THREADS
    shell:
        command("prepare_model") + " --out {output.model}"


rule prepare_data:
    input:
        paths.VALIDATED,
        source=prompt_inputs(config),
        eval_source=prompt_inputs(config, "eval_prompts"),
        code=job_code("prepare_data"),
        sources=job_sources(config, "prepare_data"),
    output:
        train=paths.prompts("train"),
        eval=paths.prompts("eval"),
    params:
        job_params(config, "prepare_data"),
        source=lambda wc, input: input.source or prompt_source(config),
        eval_prompts=eval_prompts_option(config),
    log:
        paths.log("prepare_data"),
    benchmark:
        paths.benchmark("prepare_data"),
    threads: THREADS
    shell:
        command("prepare_data")
        + " --source {params.source} --train {output.train} --eval {output.eval} {params.eval_prompts}"


rule train_oracle:
    input:
        paths.VALIDATED,
        statements=statements(config),
        extra=paths.ORACLE_EXTRA,
        code=job_code("train_oracle"),
        sources=job_sources(config, "train_oracle"),
    output:
        oracle=directory(paths.ORACLE),
        metrics=paths.metrics("oracle", "heldout"),
    params:
        job_params(config, "train_oracle"),
    log:
        paths.log("train_oracle"),
    benchmark:
        paths.benchmark("train_oracle"),
    threads: THREADS
    shell:
        command("train_oracle")
        + " --statements {input.statements} --extra {input.extra} --out {output.oracle} --metrics {output.metrics}"
