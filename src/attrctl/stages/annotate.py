"""Score every sample with the oracle and the second oracle.

Each row gains `toxicity` and `label` (score strictly above oracle.threshold) under the primary oracle, and
`scores`: {oracle name: score} under both, so every metric can be reported twice.

Options:
  --name NAME      <model>/<split> (MLflow run)
  --samples PATH   input: samples (.jsonl)
  [--oracle PATH]  input: the trained embedding oracle's directory, when one is used
  --out PATH       output: annotated samples (.jsonl)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import oracles
    from attrctl.io import read_jsonl, write_jsonl
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "annotate", args.name) as run:
        rows = read_jsonl(args.samples)
        rate = oracles.annotate(rows, cfg.oracle, args.oracle)
        write_jsonl(args.out, rows)
        run.log_metrics({"toxic_sample_rate": rate, "num_samples": len(rows)})
    print(f"{cfg.oracle.name}: {len(rows)} samples, {rate:.1%} toxic")


if __name__ == "__main__":
    main()
