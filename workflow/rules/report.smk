# The paper tables and plots: all configured models (results/tables/), or one paper's experiment alone
# (`snakemake --cores N nado` or `... tnt`: results/experiments/<name>/).

REPORT = (
    STAGE.format("report")
    + " --toxicity {input.toxicity} --lm-eval {input.lm_eval} --annotations {input.annotations}"
    + " --nado {input.nado} --train {input.train} --timing {input.timing} --tnt {input.tnt}"
    + " --oracle {input.oracle} --tables {output.tables} --plots {output.plots} --readme {output.readme}"
)


rule report:
    input:
        paths.VALIDATED,
        **report_inputs(config),
        code=code("report"),
    output:
        **report_outputs(),
    params:
        tracked(config, "report"),
    log:
        paths.log("report"),
    shell:
        REPORT


for _experiment in EXPERIMENTS:

    rule:
        name:
            f"report_{_experiment}"
        input:
            paths.VALIDATED,
            **report_inputs(config, _experiment),
            code=code("report"),
        output:
            **report_outputs(_experiment),
        params:
            tracked(config, "report"),
        log:
            paths.log(f"report_{_experiment}"),
        shell:
            REPORT + f" --experiment {_experiment}"

    rule:
        name:
            _experiment
        input:
            report_outputs(_experiment)["tables"],
