"""Validate params.yaml, the prompt source and what the run needs of this machine before any work.

The first job of every run: every other stage depends on its marker file, so a bad value or a bad prompt
record stops the pipeline before anything is written. Of this machine it checks the launcher, a GPU if asked
for, the oracles' packages, keys and models, and the tracking store. The marker's content never changes, so
re-validating re-runs nothing downstream.

Options:
  --out PATH  output: the marker file
"""

from __future__ import annotations

from pathlib import Path

from attrctl.stages import cli

MARKER = "params validated\n"


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--prompts", help="input: the prompt source (checked record by record, then split)")
    p.add_argument("--eval-prompts", help="input: the eval prompt source, when data.eval_prompts names one")
    p.add_argument("--statements", help="input: the labelled statements (data.statements), checked record by record")
    p.add_argument("--dvc-yaml", type=Path, help="fail when this dvc.yaml is not the current DAG's (regenerate it)")
    args, cfg = cli.start(p, argv)
    from attrctl import data, oracles, runtime, toxigen, tracking
    from attrctl.io import write_text

    found = runtime.problems(cfg.runtime) + oracles.problems(cfg.oracle, cfg.runtime.offline)
    if found := found + tracking.problems(cfg, args.params):
        cli.fail("; ".join(found))
    sources = [s for s in (args.prompts, args.eval_prompts) if s]
    if sources and not any(s.startswith("hf:") for s in sources):  # a hub dataset is read by prepare_data
        try:
            evals = data.load_prompts(args.eval_prompts, cfg.data) if args.eval_prompts else None
            data.split(data.load_prompts(args.prompts, cfg.data), cfg.data, cfg.seed, evals)
        except data.PromptError as err:
            cli.fail(str(err))
    if args.statements:
        try:
            toxigen.load(args.statements)
        except toxigen.StatementError as err:
            cli.fail(str(err))
    if args.dvc_yaml and args.dvc_yaml.is_file():
        from attrctl.pipeline import dvcgen

        if problem := dvcgen.staleness(dvcgen.render(dvcgen.snakemake_jobs()), args.dvc_yaml.read_text()):
            cli.fail(
                f"{args.dvc_yaml} is not the DAG of {args.params} ({problem}): "
                "run `python -m attrctl.pipeline.dvcgen`, then run again"
            )

    # Rewrite only when missing: a new mtime would make Snakemake re-run everything downstream.
    if not args.out.is_file() or args.out.read_text() != MARKER:
        write_text(args.out, MARKER)
    print(f"{args.params}: ok")


if __name__ == "__main__":
    main()
