"""Fine-tune one model on the corpus with its method's objective: results/models/<model>/ and
results/metrics/<model>/train.json (wall time, tokens/s, final losses, KL to q* on held-out prefixes).

Models: sft, filter (flagged examples dropped), nado_reg_adaptive, the iterations of the nado_reg schedules
(nado_reg_i<k>, nado_reg, nado_reg_parallel_i<k>, nado_reg_parallel; see attrctl.schedule), and the TNT
updates tnt_<loss> / tnt_<loss>_a<α> (on results/data/tnt_train.jsonl instead of the corpus). Checkpoints every
N steps; a killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time

from attrctl import paths, schedule
from attrctl.config import sections
from attrctl.io import atomic_path, read_jsonl, write_json
from attrctl.stages import cli


def main(argv: list[str] | None = None) -> None:
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="the model to make, e.g. sft or nado_reg_i1")
    args = p.parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl import corpus, finetuning, models, runtime, training
    from attrctl.objectives.common import collate
    from attrctl.tracking import stage_run

    plan = schedule.finetune_plan(args.model, cfg.nado_reg.iterations)
    device = runtime.setup_torch(cfg.runtime, cfg.seed)
    dtype = runtime.dtype_for(device)
    policy, tokenizer = models.load(paths.model_dir(plan.init), device, dtype, trainable=True)
    policy = finetuning.with_adapters(policy, cfg.finetune.lora_rank)
    objective, teacher, guide = finetuning.objective(plan, policy, cfg, device, dtype)
    data_file = paths.TNT_DATA if plan.objective == "tnt" else paths.CORPUS
    examples = read_jsonl(data_file)
    if plan.filtered:
        examples = corpus.unflagged(examples)
    loop = cfg.tnt.train if plan.objective == "tnt" else cfg.finetune.train
    train_cfg = loop.model_copy(update={"epochs": loop.epochs * plan.passes})
    fingerprint = hashlib.sha256(
        json.dumps([sections(cfg, ["finetune", "nado_reg", "nado", "tnt", "seed"]), args.model]).encode()
        + data_file.read_bytes()
    ).hexdigest()

    start = time.perf_counter()
    history = training.fit(
        policy,
        objective,
        examples,
        lambda b: collate(b, tokenizer.pad_token_id),
        train_cfg,
        cfg.seed,
        paths.checkpoints(f"finetune-{args.model}"),
        fingerprint,
        desc=f"finetune {args.model}",
    )
    seconds = time.perf_counter() - start
    if not runtime.is_main_process():  # under a multi-GPU launcher only the first process writes
        return
    policy = finetuning.merged(policy)
    with atomic_path(paths.model_dir(args.model), directory=True) as tmp:
        models.save(policy, tokenizer, tmp)

    tokens = sum(len(e["prompt_ids"]) + len(e["target_ids"]) for e in examples) * train_cfg.epochs
    metrics = {
        "train_seconds": seconds,
        "train_tokens": tokens,
        "train_tokens_per_s": tokens / seconds,
        "train_steps": len(history),
        "train_examples": len(examples),
        **{f"final_{k}": v for k, v in history[-1].items() if k not in ("step", "epoch", "lr")},
    }
    if guide is not None:  # KL(p ‖ q*) on held-out prefixes, before (teacher) and after (policy) this fine-tuning
        heldout = read_jsonl(paths.annotations(paths.BASE, "eval"))
        metrics["kl_to_qstar_before"] = finetuning.heldout_kl(teacher, teacher, guide, heldout, cfg, tokenizer)
        metrics["kl_to_qstar_after"] = finetuning.heldout_kl(policy, teacher, guide, heldout, cfg, tokenizer)
    write_json(paths.metrics(args.model, "train"), {**metrics, "plan": plan.__dict__})
    with stage_run(cfg, args.params, "finetune", args.model, model=args.model, objective=plan.objective) as run:
        run.log_params({**sections(cfg, ["finetune", "nado_reg", "seed"]), "plan": plan.__dict__})
        for h in history:
            run.log_metrics({k: v for k, v in h.items() if k not in ("step", "epoch")}, step=int(h["step"]))
        run.log_metrics(metrics)
    shutil.rmtree(paths.checkpoints(f"finetune-{args.model}"), ignore_errors=True)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items()))


if __name__ == "__main__":
    main()
