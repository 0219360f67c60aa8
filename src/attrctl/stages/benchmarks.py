"""lm-eval benchmarks for one model: every task metric as `<task>/<metric>`, with 95% bootstrap intervals
over items for accuracies.

Options:
  --name NAME   the model's name (MLflow run)
  --model PATH  input: model directory (guided ones included)
  --tasks PATH  input: the folder of embedded lm-eval tasks
  --out PATH    output: metrics (.json)
"""

from __future__ import annotations

import time

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import models, runtime
    from attrctl.evaluation import benchmarks
    from attrctl.io import write_json
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "benchmarks", args.name, model=args.name) as run:
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        model, tokenizer = models.load_for_scoring(args.model, precision.device, precision.frozen)
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
