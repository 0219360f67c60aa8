"""lm-eval benchmarks for one model: every task metric as `<task>/<metric>`, with 95% bootstrap intervals
over items for accuracies."""

from __future__ import annotations

import time
from pathlib import Path

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--name", required=True, help="the model's name (MLflow run)")
    p.add_argument("--model", type=Path, required=True, help="input: model directory (guided ones included)")
    p.add_argument("--tasks", type=Path, required=True, help="input: the folder of embedded lm-eval tasks")
    p.add_argument("--out", type=Path, required=True, help="output: metrics (.json)")
    args = p.parse_args(argv)
    cfg = cli.start(args)
    from attrctl import runtime
    from attrctl.config import sections
    from attrctl.evaluation import benchmarks
    from attrctl.io import write_json
    from attrctl.nado.decode import load_for_scoring
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "benchmarks", args.name, model=args.name) as run:
        run.log_params(sections(cfg, ["benchmarks"]))
        device = runtime.setup_torch(cfg.runtime, cfg.seed)
        model, tokenizer = load_for_scoring(args.model, device, runtime.Precision(cfg.runtime, device).frozen)
        start = time.perf_counter()
        metrics = benchmarks.run(model, tokenizer, cfg.benchmarks, cfg.seed, args.tasks)
        metrics["benchmarks_seconds"] = time.perf_counter() - start
        write_json(args.out, metrics)
        run.log_metrics(metrics)
    for key, value in sorted(metrics.items()):
        if key != "items":
            print(f"{key:>40}: {value:.4g}")


if __name__ == "__main__":
    main()
