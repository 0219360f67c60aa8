"""Task perplexity of one model: per-example perplexity of the held-out corpus targets given their prompts
(mean, standard deviation and 95% interval over examples) — the utility the L3M table holds constraints against.
The per-example values (null where a target is empty) are kept too, with each target's token count and the
oracle's flag, so the table can pair two models, pool over tokens and split flagged from unflagged text.

Options:
  --name NAME     the model's name
  --model PATH    input: model directory
  --heldout PATH  input: held-out corpus examples (.jsonl)
  --out PATH      output: metrics (.json)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    import numpy as np

    from attrctl import runtime, stats
    from attrctl.evaluation.toxicity import conditional_perplexities
    from attrctl.io import read_jsonl, write_json
    from attrctl.models import load
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "task_ppl", args.name, model=args.name) as run:
        examples = read_jsonl(args.heldout)
        pairs = [(e["prompt"], e["target"]) for e in examples]
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        model, tokenizer = load(args.model, precision.device, precision.frozen)
        per_example = np.array(conditional_perplexities(model, tokenizer, pairs, cfg.evaluate.ppl_batch_size))
        ppls = per_example[np.isfinite(per_example)]
        mean, lo, hi = stats.mean_ci(ppls, cfg.seed)
        metrics = {"task_ppl": mean, "task_ppl_ci_lo": lo, "task_ppl_ci_hi": hi, "task_ppl_std": float(ppls.std())}
        tokens = [len(e["target_ids"]) for e in examples]  # the corpus stage tokenized each target as scored here
        flagged = [int(e["flagged"]) for e in examples]
        write_json(args.out, {**metrics, "per_example": per_example.tolist(), "tokens": tokens, "flagged": flagged})
        run.log_metrics(metrics)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items()))


if __name__ == "__main__":
    main()
