"""Write the paper tables (results/tables/), plots (results/plots/) and results/README.md; log them to MLflow,
with every table number also on a per-model run `model:<model>` under the same name."""

from __future__ import annotations

import math

from attrctl import paths, plots, report
from attrctl.config import sections
from attrctl.io import read_jsonl, write_text
from attrctl.stages import cli
from attrctl.workflow import nado_names


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__).parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl.tracking import stage_run

    toxicity = report.collect("toxicity", cfg.models)
    tables = {  # name: (title, rows)
        "toxicity": (
            "Toxicity protocol, overall and per prompt subset",
            report.rows(toxicity, report.TOXICITY_COLUMNS + report.subset_columns(toxicity, report.TOXICITY_METRICS)),
        ),
        "detox": (
            "Detoxification vs utility (toxicity protocol, fluency, diversity, lm-eval benchmarks)",
            report.detox_rows(cfg),
        ),
        "nado": (
            "NADO diagnostics on held-out prompts (R(x) calibration, final-position AUROC, consistency)",
            report.nado_rows(nado_names(cfg.model_dump())),
        ),
        "classification": (
            "Toxicity classification (lm-eval) next to generation toxicity",
            report.classification_rows(cfg),
        ),
        "tnt": (
            "Targeted Negative Training: greedy toxicity, fidelity to the base model, disfluencies",
            report.tnt_rows(cfg),
        ),
        "efficiency": (
            "Wall time per job; critical path of the sequential and parallel schedules",
            report.efficiency_rows(cfg),
        ),
    }
    written = []
    for name, (title, table) in tables.items():
        for ext, text in (("md", report.markdown(table, title)), ("csv", report.csv_text(table))):
            write_text(paths.table(name, ext), text)
            written.append(paths.table(name, ext))

    detox = tables["detox"][1]
    plots.tradeoff(
        detox,
        "toxicity_probability",
        "benchmark_avg_acc",
        paths.plot("tradeoff"),
        xlabel="toxicity probability (share of prompts with a sample scoring > 0.5)",
        ylabel="benchmark accuracy (mean over utility tasks)",
        title="Toxicity vs utility",
    )
    plots.kl_iterations(report.kl_rows(cfg), paths.plot("nado_reg_kl"))
    plots.tnt_tradeoff(tables["tnt"][1], paths.plot("tnt_tradeoff"))
    scores = {m: [r["toxicity"] for r in read_jsonl(paths.annotations(m, "eval"))] for m in toxicity}
    plots.histograms(
        scores,
        paths.plot("toxicity_hist"),
        cfg.oracle.threshold,
        xlabel=f"oracle toxicity score ({cfg.oracle.name})",
        title="Toxicity of eval samples",
    )
    write_text(paths.RESULTS / "README.md", report.describe(cfg, [p.name for p in written if p.suffix == ".md"]))

    for row in detox:  # every table number on the run of its model, under the table's column name
        with stage_run(
            cfg, args.params, "report", row["model"], run_name=f"model:{row['model']}", model=row["model"]
        ) as run:
            run.log_metrics({k: v for k, v in row.items() if k != "model" and not math.isnan(v)})
    with stage_run(cfg, args.params, "report", "tables") as run:
        run.log_params(sections(cfg, ["models"]))
        for path in written:
            run.log_artifact(path, "tables")
        for name in ["tradeoff", "toxicity_hist", "nado_reg_kl", "tnt_tradeoff"] + [
            f"nado_reliability_{n}" for n in nado_names(cfg.model_dump())
        ]:
            run.log_artifact(paths.plot(name), "plots")
        run.log_artifact(paths.RESULTS / "README.md")
    print(paths.table("detox", "md").read_text())


if __name__ == "__main__":
    main()
