# The paper tables and plots: all configured models (results/tables/), or one paper's experiment alone
# (`snakemake --cores N nado` or `... tnt`: results/experiments/<name>/).

REPORT = (
    command("report") + " " + report_options()
    + " --tables {output.tables} --plots {output.plots} --readme {output.readme} --benchmarks " + paths.BENCHMARKS
)


rule report:
    input:
        paths.VALIDATED,
        **report_inputs(config),
        code=job_code("report"),
        sources=job_sources(config, "report"),
    output:  # report(): `snakemake --report report.html` is a page of every table and plot
        tables=[report(t, category="Tables") for t in report_outputs()["tables"]],
        plots=[report(p, category="Plots") for p in report_outputs()["plots"]],
        readme=report(report_outputs()["readme"], category="About these results"),
        plot_data=[paths.plot_data(d) for d in paths.PLOT_DATA],
        summary=paths.SUMMARY,
    params:
        job_params(config, "report"),
    log:
        paths.log("report"),
    benchmark:
        paths.benchmark("report"),
    threads: THREADS
    shell:
        REPORT + " --summary {output.summary} --plot-data {output.plot_data}"


for _experiment in methods.experiments():

    rule:
        name:
            f"report_{_experiment}"
        input:
            paths.VALIDATED,
            **report_inputs(config, _experiment),
            code=job_code("report"),
            sources=job_sources(config, "report"),
        output:
            **report_outputs(_experiment),
        params:
            job_params(config, "report"),
            # bound here: `shell:` is evaluated when the job runs, when the loop has moved on to the last experiment
            experiment=_experiment,
        log:
            paths.log(f"report_{_experiment}"),
        benchmark:
            paths.benchmark(f"report_{_experiment}"),
        threads: THREADS
        shell:
            REPORT + " --experiment {params.experiment}"

    rule:
        name:
            _experiment
        input:
            report_outputs(_experiment)["tables"],
