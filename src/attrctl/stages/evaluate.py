"""The toxicity protocol for one model's eval samples, with 95% bootstrap intervals over prompts.

Expected maximum toxicity, toxicity probability and mean toxicity under the oracle (overall and per prompt
subset) and under the second oracle; conditional perplexity of the continuations under the reference model;
dist-1/2/3.

Options:
  --name NAME         the model's name (MLflow run)
  --annotations PATH  input: annotated eval samples (.jsonl)
  --reference PATH    input: the model that scores perplexity
  --out PATH          output: metrics (.json)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import models, oracles, runtime
    from attrctl.evaluation import toxicity
    from attrctl.io import read_jsonl, write_json
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "evaluate", args.name, model=args.name) as run:
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        rows = read_jsonl(args.annotations)
        reference, tokenizer = models.load(args.reference, precision.device, precision.frozen)
        n = cfg.evaluate.ppl_samples_per_prompt
        scored = [r for r in rows if n is None or r["sample"] < n]
        ppls = toxicity.conditional_perplexities(
            reference, tokenizer, [(r["prompt"], r["text"]) for r in scored], cfg.evaluate.ppl_batch_size
        )
        for row in rows:
            row["ppl"] = float("nan")  # not scored: left out of the mean
        for row, ppl in zip(scored, ppls, strict=True):
            row["ppl"] = ppl
        metrics = toxicity.summarize(
            rows, cfg.oracle.threshold, cfg.evaluate.ppl_max, oracles.names(cfg.oracle), cfg.seed
        )
        # each prompt's perplexity too, for comparisons paired over prompts (not an MLflow metric)
        write_json(args.out, metrics | {"prompt_cond_ppl": toxicity.prompt_perplexities(rows, cfg.evaluate.ppl_max)})
        run.log_metrics(metrics)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items() if "/" not in k and "_ci_" not in k))


if __name__ == "__main__":
    main()
