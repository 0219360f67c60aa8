"""The TNT measures for one model, on the eval prompts with greedy decoding (as the TNT paper).

Toxicity of its greedy generations, the share of the base model's flagged greedy generations it no longer
produces, BLEU of its greedy generations against the base model's, disfluency counts, and the token-level KL
to the base model on held-out samples.

Options:
  --name NAME         the model's name
  --model PATH        input: the model's directory
  --greedy PATH       input: its annotated greedy eval generations
  --base PATH         input: the base model's directory
  --base-greedy PATH  input: the base model's greedy generations
  --heldout PATH      input: the base model's annotated eval samples
  --out PATH          output: metrics (.json)
"""

from __future__ import annotations

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    args, cfg = cli.start(cli.parser(__doc__, __spec__), argv)
    from attrctl import models, runtime
    from attrctl.io import read_jsonl, write_json
    from attrctl.tnt import fidelity
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "tnt_eval", args.name, model=args.name) as run:
        metrics = fidelity.greedy_measures(read_jsonl(args.greedy), read_jsonl(args.base_greedy))
        precision = runtime.setup_torch(cfg.runtime, cfg.seed)
        dtype = precision.frozen
        model, tokenizer = models.load(args.model, precision.device, dtype)
        original, _ = models.load(args.base, precision.device, dtype)
        metrics["kl_to_original"] = fidelity.kl_to_original(
            model, original, read_jsonl(args.heldout), tokenizer.pad_token_id
        )
        write_json(args.out, metrics)
        run.log_metrics(metrics)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items()))


if __name__ == "__main__":
    main()
