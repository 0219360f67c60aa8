# The paper tables and plots, from every model's metrics.

TNT = tnt_models(config)


rule report:
    input:
        paths.VALIDATED,
        toxicity=expand(paths.metrics("{model}", "toxicity"), model=MODELS),
        lm_eval=expand(paths.metrics("{model}", "lm_eval"), model=MODELS),
        annotations=expand(paths.annotations("{model}", "eval"), model=MODELS),
        nado=expand(paths.metrics("nado", "{name}"), name=nado_names(config)),
        train=expand(paths.metrics("{model}", "train"), model=trained_models(config) + TNT + [m for m in MODELS if m == "rl"]),
        timing=schedule_timings(config),
        tnt=expand(paths.metrics("{model}", "tnt"), model=["base", *TNT] if TNT else []),
        oracle=paths.metrics("oracle", "heldout"),
        code=code("report"),
    output:
        tables=[paths.table(t, ext) for t in paths.TABLES for ext in ("md", "csv")],
        plots=[paths.plot(p) for p in paths.PLOTS],
        readme=paths.README,
    params:
        tracked(config, "report"),
    log:
        paths.log("report"),
    shell:
        STAGE.format("report")
        + " --toxicity {input.toxicity} --lm-eval {input.lm_eval} --annotations {input.annotations}"
        + " --nado {input.nado} --train {input.train} --timing {input.timing} --tnt {input.tnt}"
        + " --oracle {input.oracle} --tables {output.tables} --plots {output.plots} --readme {output.readme}"
