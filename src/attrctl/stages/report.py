"""Write the paper tables, plots and results/README.md, and log them to MLflow, with every table number also on
a per-model run `model:<model>` under the same name.

Tables: toxicity (per subset and oracle), detox (the main table), paired (each model against base and sft on the
same prompts), classification, nado, oracle, tnt, l3m, dglm, efficiency. Values carry 95% bootstrap intervals.
"""

from __future__ import annotations

from pathlib import Path

from attrctl.stages import cli

INPUTS = {
    "toxicity": "toxicity metrics per model",
    "lm_eval": "benchmark metrics per model",
    "annotations": "annotated eval samples per model",
    "nado": "NADO diagnostics",
    "train": "training metrics",
    "timing": "sampling times",
    "tnt": "TNT measures",
    "greedy": "annotated greedy eval continuations per model (TNT)",
    "oracle": "the trained oracle's held-out metrics",
    "task_ppl": "task perplexity per model (L3M)",
    "dglm": "DGLM's classifiers' and decoder's held-out metrics",
}
"""The report's inputs (`--<option>`, each a list of files, possibly empty); the methods' `report_inputs` fill them."""


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    for name, what in INPUTS.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=Path, nargs="*", default=[], help=f"inputs: {what}")
    p.add_argument("--tables", type=Path, nargs="+", required=True, help="outputs: <table>.md and <table>.csv")
    p.add_argument("--plots", type=Path, nargs="+", required=True, help="outputs: <plot>.png")
    p.add_argument("--readme", type=Path, required=True, help="output: the results README")
    p.add_argument("--experiment", help="one paper's experiment (nado, tnt, l3m, dglm): its models and tables only")
    p.add_argument("--summary", type=Path, help="output: every table number, model -> metric (DVC metrics)")
    p.add_argument("--plot-data", type=Path, nargs="*", default=[], help="outputs: training.csv, reliability.csv")
    p.add_argument("--benchmarks", type=Path, help="Snakemake's benchmark files, read when present (efficiency)")
    args, cfg = cli.start(p, argv)
    from attrctl import methods
    from attrctl.evaluation import report
    from attrctl.io import read_jsonl, read_metrics, write_json, write_text
    from attrctl.tracking import stage_run

    if args.experiment:
        cfg = cfg.model_copy(update={"models": methods.experiment_models(args.experiment, cfg.model_dump())})
    res = report.Results(
        toxicity={f.parent.name: read_metrics(f) for f in args.toxicity},
        lm_eval={f.parent.name: read_metrics(f) for f in args.lm_eval},
        annotations={f.parent.name: read_jsonl(f) for f in args.annotations},
        nado={f.stem: read_metrics(f) for f in args.nado},
        train={f.parent.name: read_metrics(f) for f in args.train},
        timing={(f.parent.name, f.stem.removeprefix("sample_")): read_metrics(f) for f in args.timing},
        tnt={f.parent.name: read_metrics(f) for f in args.tnt},
        greedy={f.parent.name: read_jsonl(f) for f in args.greedy},
        oracle=read_metrics(args.oracle[0]) if args.oracle else {},
        benchmarks=report.read_benchmarks(args.benchmarks),
        task_ppl={f.parent.name: read_metrics(f) for f in args.task_ppl},
        dglm={f.stem: read_metrics(f) for f in args.dglm},
    )
    specs = methods.tables()  # every table and plot, as the method packages declare them
    outputs = {(f.stem, f.suffix): f for f in args.tables}
    tables = {name: methods.resolve(t.rows)(cfg, res) for name, t in specs.items() if (name, ".md") in outputs}
    for name, rows in tables.items():
        spec = specs[name]
        note = " ".join(n for n in (spec.note, spec.notes and methods.resolve(spec.notes)(cfg, res)) if n) or None
        write_text(outputs[(name, ".md")], report.markdown(rows, spec.title, note, spec.columns))
        write_text(outputs[(name, ".csv")], report.csv_text(rows))

    data = {"training": report.training_rows(res), "reliability": report.reliability_rows(res)}
    for path in args.plot_data:
        write_text(path, report.csv_text(data[path.stem]))
    if args.summary:
        write_json(args.summary, report.summary(tables))
    figures = methods.plots()
    for path in args.plots:
        methods.resolve(figures[path.stem])(cfg, res, tables, path)
    write_text(args.readme, report.describe(cfg, [f.name for f in args.tables if f.suffix == ".md"]))

    if args.experiment:  # the full report logs the model runs
        print(outputs[(methods.experiments()[args.experiment].tables[0], ".md")].read_text())
        return
    paired = {(r["model"], r["vs"]): r for r in tables["paired"]}
    for row in tables["detox"]:  # every table number on the run of its model, under the table's column name
        numbers = report.flat_numbers(row)
        for ref in ("base", "sft"):
            numbers |= {f"vs_{ref}/{k}": v for k, v in report.flat_numbers(paired.get((row["model"], ref), {})).items()}
        with stage_run(
            cfg, args.params, "report", row["model"], run_name=f"model:{row['model']}", model=row["model"]
        ) as run:
            run.log_metrics(numbers)
    with stage_run(cfg, args.params, "report", "tables") as run:
        for path in [*args.tables, *args.plots, args.readme]:
            run.log_artifact(path, "tables" if path in args.tables else "plots" if path in args.plots else None)
    print(outputs[("detox", ".md")].read_text())


if __name__ == "__main__":
    main()
