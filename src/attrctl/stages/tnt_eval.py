"""The TNT measures for one model, on the eval prompts with greedy decoding (as the TNT paper).

Toxicity of its greedy generations, the share of the base model's flagged greedy generations it no longer
produces, BLEU of its greedy generations against the base model's, disfluency counts, and the token-level KL
to the base model on held-out samples.
"""

from __future__ import annotations

from pathlib import Path

from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__, __spec__)
    p.add_argument("--name", required=True, help="the model's name")
    p.add_argument("--model", type=Path, required=True, help="input: the model's directory")
    p.add_argument("--greedy", type=Path, required=True, help="input: its annotated greedy eval generations")
    p.add_argument("--base", type=Path, required=True, help="input: the base model's directory")
    p.add_argument("--base-greedy", type=Path, required=True, help="input: the base model's greedy generations")
    p.add_argument("--heldout", type=Path, required=True, help="input: the base model's annotated eval samples")
    p.add_argument("--out", type=Path, required=True, help="output: metrics (.json)")
    args = p.parse_args(argv)
    cfg = cli.start(args)
    from attrctl import models, runtime
    from attrctl.config import sections
    from attrctl.io import read_jsonl, write_json
    from attrctl.tnt import fidelity
    from attrctl.tracking import stage_run

    with stage_run(cfg, args.params, "tnt_eval", args.name, model=args.name) as run:
        run.log_params(sections(cfg, ["tnt"]))
        metrics = fidelity.greedy_measures(read_jsonl(args.greedy), read_jsonl(args.base_greedy))
        device = runtime.setup_torch(cfg.runtime, cfg.seed)
        dtype = runtime.Precision(cfg.runtime, device).frozen
        model, tokenizer = models.load(args.model, device, dtype)
        original, _ = models.load(args.base, device, dtype)
        metrics["kl_to_original"] = fidelity.kl_to_original(
            model, original, read_jsonl(args.heldout), tokenizer.pad_token_id
        )
        write_json(args.out, metrics)
        run.log_metrics(metrics)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items()))


if __name__ == "__main__":
    main()
