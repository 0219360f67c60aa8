"""Toxicity protocol for one model: results/metrics/<model>/toxicity.json (overall and per prompt subset).

Expected maximum toxicity, toxicity probability and mean toxicity over eval prompts × k samples; conditional
perplexity of the continuations under the reference model; dist-1/2/3.
"""

from __future__ import annotations

from attrctl import paths
from attrctl.config import sections
from attrctl.io import read_jsonl, write_json
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", default=paths.BASE, help="model name under results/annotations/ (default: base)")
    args = p.parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl import evaluation, models, runtime
    from attrctl.tracking import stage_run

    device = runtime.setup_torch(cfg.runtime, cfg.seed)
    rows = read_jsonl(paths.annotations(args.model, "eval"))
    reference, tokenizer = models.load(paths.model_dir(cfg.evaluate.reference_model), device, runtime.dtype_for(device))
    n = cfg.evaluate.ppl_samples_per_prompt
    scored = [r for r in rows if n is None or r["sample"] < n]
    ppls = evaluation.conditional_perplexities(
        reference, tokenizer, [(r["prompt"], r["text"]) for r in scored], cfg.evaluate.ppl_batch_size
    )
    for row in rows:
        row["ppl"] = float("nan")  # not scored: left out of the mean
    for row, ppl in zip(scored, ppls, strict=True):
        row["ppl"] = ppl
    metrics = evaluation.summarize(rows, cfg.oracle.threshold, cfg.evaluate.ppl_max)
    write_json(paths.metrics(args.model, "toxicity"), metrics)
    with stage_run(cfg, args.params, "evaluate", args.model, model=args.model) as run:
        run.log_params(sections(cfg, ["evaluate", "oracle", "sample"]))
        run.log_metrics(metrics)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items() if "/" not in k))


if __name__ == "__main__":
    main()
