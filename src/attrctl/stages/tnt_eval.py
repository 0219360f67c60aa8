"""The TNT measures for one model: results/metrics/<model>/tnt.json — toxicity of its greedy generations on the
eval prompts (the TNT paper decodes greedily), how many of the base model's flagged greedy generations it no
longer produces, BLEU of its greedy generations against the base model's, disfluency counts, and the
token-level KL to the base model on held-out prompts."""

from __future__ import annotations

from attrctl import paths
from attrctl.config import sections
from attrctl.io import read_jsonl, write_json
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="model name under results/models/")
    args = p.parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl import fidelity, models, runtime
    from attrctl.tracking import stage_run

    new = {r["prompt_id"]: r for r in read_jsonl(paths.annotations(args.model, "eval_greedy"))}
    old = {r["prompt_id"]: r for r in read_jsonl(paths.annotations(paths.BASE, "eval_greedy"))}
    ids = sorted(old)
    flagged_before = [i for i in ids if old[i]["label"]]
    counts = [fidelity.disfluencies(new[i]["text"]) for i in ids]
    metrics = {
        "greedy_toxicity_rate": sum(new[i]["label"] for i in ids) / len(ids),
        "flagged_removed": (
            sum(not new[i]["label"] for i in flagged_before) / len(flagged_before) if flagged_before else float("nan")
        ),
        "bleu_to_original": fidelity.bleu([new[i]["text"] for i in ids], [old[i]["text"] for i in ids]),
        **{f"disfluency_{k}": sum(c[k] for c in counts) for k in counts[0]},
    }
    device = runtime.setup_torch(cfg.runtime, cfg.seed)
    model, tokenizer = models.load(paths.model_dir(args.model), device, runtime.dtype_for(device))
    original, _ = models.load(paths.model_dir(paths.BASE), device, runtime.dtype_for(device))
    metrics["kl_to_original"] = fidelity.kl_to_original(
        model, original, read_jsonl(paths.annotations(paths.BASE, "eval")), tokenizer.pad_token_id
    )
    write_json(paths.metrics(args.model, "tnt"), metrics)
    with stage_run(cfg, args.params, "tnt_eval", args.model, model=args.model) as run:
        run.log_params(sections(cfg, ["tnt"]))
        run.log_metrics(metrics)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items()))


if __name__ == "__main__":
    main()
