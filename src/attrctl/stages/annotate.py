"""Score every sample with the oracle and the second oracle.

Each row gains `toxicity` and `label` (score strictly above oracle.threshold) under the primary oracle, and
`scores`: {oracle name: score} under both, so every metric can be reported twice.
"""

from __future__ import annotations

from pathlib import Path

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--name", required=True, help="<model>/<split> (MLflow run)")
    p.add_argument("--samples", type=Path, required=True, help="input: samples (.jsonl)")
    p.add_argument("--oracle", type=Path, help="input: the trained embedding oracle's directory, when one is used")
    p.add_argument("--out", type=Path, required=True, help="output: annotated samples (.jsonl)")
    args = p.parse_args(argv)
    cfg = cli.start(args)
    from attrctl import oracles
    from attrctl.config import sections
    from attrctl.io import read_jsonl, write_jsonl
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "annotate", args.name) as run:
        run.log_params(sections(cfg, ["oracle"]))
        rows = read_jsonl(args.samples)
        rate = oracles.annotate(rows, cfg.oracle, args.oracle)
        write_jsonl(args.out, rows)
        run.log_metrics({"toxic_sample_rate": rate, "num_samples": len(rows)})
    print(f"{cfg.oracle.name}: {len(rows)} samples, {rate:.1%} toxic")


if __name__ == "__main__":
    main()
