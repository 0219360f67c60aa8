"""Write the paper tables under results/tables/ (Markdown + CSV) and log them to MLflow."""

from __future__ import annotations

from attrctl import paths, report
from attrctl.io import write_text
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args = cli.parser(__doc__).parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl.tracking import stage_run

    metrics = report.collect("toxicity", cfg.models)
    columns = report.TOXICITY_COLUMNS + report.subset_columns(metrics, report.TOXICITY_METRICS)
    table = report.rows(metrics, columns)
    md, csv = paths.table("toxicity", "md"), paths.table("toxicity", "csv")
    write_text(md, report.markdown(table, "Toxicity protocol (eval prompts × k samples)"))
    write_text(csv, report.csv_text(table))
    with stage_run(cfg, args.params, "report", "tables") as run:
        run.log_metrics({"num_models": len(table)})
        for path in (md, csv):
            run.log_artifact(path, "tables")
    print(md.read_text())


if __name__ == "__main__":
    main()
