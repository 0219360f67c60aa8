"""lm-eval benchmarks for one model: results/metrics/<model>/lm_eval.json (every task metric, `<task>/<metric>`)."""

from __future__ import annotations

import time

from attrctl import paths
from attrctl.config import sections
from attrctl.io import write_json
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", default=paths.BASE, help="model name under results/models/ (default: base)")
    args = p.parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl import benchmarks, guidance, runtime
    from attrctl.tracking import stage_run

    device = runtime.setup_torch(cfg.runtime, cfg.seed)
    model, tokenizer = guidance.load_for_scoring(paths.model_dir(args.model), device, runtime.dtype_for(device))
    start = time.perf_counter()
    metrics = benchmarks.run(model, tokenizer, cfg.benchmarks, cfg.seed)
    metrics["benchmarks_seconds"] = time.perf_counter() - start
    write_json(paths.metrics(args.model, "lm_eval"), metrics)
    with stage_run(cfg, args.params, "benchmarks", args.model, model=args.model) as run:
        run.log_params(sections(cfg, ["benchmarks"]))
        run.log_metrics(metrics)
    for key, value in sorted(metrics.items()):
        print(f"{key:>40}: {value:.4g}")


if __name__ == "__main__":
    main()
