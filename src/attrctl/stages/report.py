"""Write the paper tables, plots and results/README.md, and log them to MLflow, with every table number also on
a per-model run `model:<model>` under the same name.

Tables: toxicity (per subset and oracle), detox (the main table), paired (each model against base and sft on the
same prompts), classification, nado, oracle, tnt, l3m, dglm, efficiency. Values carry 95% bootstrap intervals.
"""

from __future__ import annotations

from pathlib import Path

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    for name, what in (
        ("toxicity", "toxicity metrics per model"),
        ("lm-eval", "benchmark metrics per model"),
        ("annotations", "annotated eval samples per model"),
        ("nado", "NADO diagnostics"),
        ("train", "training metrics"),
        ("timing", "sampling times of the schedules"),
        ("tnt", "TNT measures"),
        ("oracle", "the trained oracle's held-out metrics"),
        ("task-ppl", "task perplexity per model (L3M)"),
        ("dglm", "DGLM's classifiers' and decoder's held-out metrics"),
    ):
        p.add_argument(f"--{name}", type=Path, nargs="*", default=[], help=f"inputs: {what}")
    p.add_argument("--tables", type=Path, nargs="+", required=True, help="outputs: <table>.md and <table>.csv")
    p.add_argument("--plots", type=Path, nargs="+", required=True, help="outputs: <plot>.png")
    p.add_argument("--readme", type=Path, required=True, help="output: the results README")
    p.add_argument("--experiment", help="one paper's experiment (nado, tnt, l3m, dglm): its models and tables only")
    p.add_argument("--summary", type=Path, help="output: every table number, model -> metric (DVC metrics)")
    p.add_argument("--plot-data", type=Path, nargs="*", default=[], help="outputs: training.csv, reliability.csv")
    p.add_argument("--benchmarks", type=Path, help="Snakemake's benchmark files, read when present (efficiency)")
    args, cfg = cli.start(p, argv)
    from attrctl import methods, oracles, plots
    from attrctl.dglm import report as dglm_report
    from attrctl.evaluation import report
    from attrctl.io import read_jsonl, read_metrics, write_json, write_text
    from attrctl.l3m import report as l3m_report
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
        oracle=read_metrics(args.oracle[0]) if args.oracle else {},
        benchmarks=report.read_benchmarks(args.benchmarks),
        task_ppl={f.parent.name: read_metrics(f) for f in args.task_ppl},
        dglm={f.stem: read_metrics(f) for f in args.dglm},
    )
    names = oracles.names(cfg.oracle)
    second = f" (second oracle: {names[1]})" if len(names) > 1 else ""
    tables = {  # name: (title, note, rows)
        "toxicity": (
            "Toxicity protocol per prompt subset, under every oracle",
            None,
            report.toxicity_rows(cfg, res, names),
        ),
        "detox": (
            "Detoxification vs utility",
            f"Oracle: {names[0]}{second}. Values: estimate [95% bootstrap interval over prompts or items].",
            report.detox_rows(cfg, res, names),
        ),
        "paired": (
            "Each model against base and sft on the same prompts (paired bootstrap)",
            "diff = model − reference; ratio = model / reference; an interval that excludes 0 (diff) or 1 (ratio) "
            "is a difference the data support.",
            report.paired_rows(cfg, res, names),
        ),
        "classification": (
            "Toxicity classification next to generation toxicity",
            None,
            report.classification_rows(cfg, res),
        ),
        "nado": ("NADO diagnostics on fresh samples of held-out prompts", None, report.nado_rows(res)),
        "oracle": ("The trained oracle on held-out ToxiGen statements", None, report.oracle_rows(cfg, res)),
        "tnt": (
            "Targeted Negative Training: greedy toxicity, fidelity to the base model",
            None,
            report.tnt_rows(cfg, res),
        ),
        "efficiency": ("Wall time per job; critical path of the schedules", None, report.efficiency_rows(cfg, res)),
        "l3m": (
            "L3M: average constraints on held-out prompts, task perplexity, response lengths",
            "measured: mean over eval prompts [95% interval]; met: the whole interval on the bound's side.",
            l3m_report.rows(cfg, cfg.models, res.annotations, res.task_ppl),
        ),
        "dglm": (
            "DGLM: plug-and-play control by latent classifiers, next to base and NADO-guided decoding",
            "Estimates [95% bootstrap interval over prompts]; *_vs_base: paired difference (model − base) on the same "
            "prompts and ratio; positive_sentiment: share of samples VADER scores positive; proposal_cosine: the "
            "proposal's embedding against the text's. "
            + dglm_report.classifier_note(res.dglm.get("classifiers", {}), res.dglm.get("decoder", {})),
            dglm_report.rows(cfg, cfg.models, res),
        ),
    }
    outputs = {(f.stem, f.suffix): f for f in args.tables}
    for name, (title, note, rows) in tables.items():
        if (name, ".md") in outputs:
            write_text(outputs[(name, ".md")], report.markdown(rows, title, note))
            write_text(outputs[(name, ".csv")], report.csv_text(rows))

    data = {"training": report.training_rows(res), "reliability": report.reliability_rows(res)}
    for path in args.plot_data:
        write_text(path, report.csv_text(data[path.stem]))
    if args.summary:
        write_json(args.summary, report.summary({name: rows for name, (_, _, rows) in tables.items()}))
    detox = tables["detox"][2]
    sweep = [r for r in detox if r["model"] in {"base", "sft", "filter", "rl"} or r["model"].startswith("nado_reg_l")]
    axes = {
        "xlabel": "toxicity probability (share of prompts with a sample scoring > threshold)",
        "ylabel": "benchmark accuracy (mean over utility tasks)",
    }
    figures = {  # name: how to draw it
        "tradeoff": lambda f: plots.tradeoff(
            detox, "toxicity_probability", "benchmark_avg_acc", f, **axes, title="Toxicity vs utility (95% intervals)"
        ),
        "lambda_sweep": lambda f: plots.tradeoff(
            sweep,
            "toxicity_probability",
            "benchmark_avg_acc",
            f,
            **axes,
            title="NADO regulariser strength λ (nado_reg_l<λ>) against the baselines",
        ),
        "nado_reg_kl": lambda f: plots.kl_iterations(report.kl_rows(cfg, res), f),
        "l3m_lengths": lambda f: l3m_report.lengths_plot(cfg, res.annotations, f),
        "l3m_multipliers": lambda f: l3m_report.multipliers_plot(
            {m: t.get("history", []) for m, t in res.train.items() if m.startswith("l3m_")}, f
        ),
        "tnt_tradeoff": lambda f: plots.tnt_tradeoff(tables["tnt"][2], f),
        "dglm_guidance": lambda f: dglm_report.guidance_plot(cfg, tables["dglm"][2], f),
        "toxicity_hist": lambda f: plots.histograms(
            {m: [r["toxicity"] for r in rows] for m, rows in res.annotations.items()},
            f,
            cfg.oracle.threshold,
            xlabel=f"oracle toxicity score ({cfg.oracle.name})",
            title="Toxicity of eval samples",
        ),
    }
    for path in args.plots:
        figures[path.stem](path)
    write_text(args.readme, report.describe(cfg, [f.name for f in args.tables if f.suffix == ".md"]))

    if args.experiment:  # the full report logs the model runs
        print(outputs[(methods.experiments()[args.experiment].tables[0], ".md")].read_text())
        return
    paired = {(r["model"], r["vs"]): r for r in tables["paired"][2]}
    for row in detox:  # every table number on the run of its model, under the table's column name
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
