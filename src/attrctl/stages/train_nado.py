"""Train NADO_k on the labelled samples of iteration k (DESIGN §2.1): results/nado/<name>/ plus diagnostics
(results/metrics/nado/<name>.json, results/plots/nado_reliability_<name>.png).

The NADO reads the hidden states of the model the samples came from (p_{k-1}); it warm-starts from the
previous iteration's NADO, checkpoints every N steps and each epoch, and resumes after a kill.
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
    p.add_argument("--schedule", default="sequential", choices=schedule.SCHEDULES)
    p.add_argument("--iter", type=int, default=1, help="iteration k (default 1)")
    args = p.parse_args(argv)
    cfg = cli.start(args.params)
    from attrctl import models, nado, nado_train, plots, runtime
    from attrctl.tracking import stage_run

    name = schedule.nado(args.schedule, args.iter)
    data_model, data_split = schedule.nado_data(args.schedule, args.iter, cfg.nado_reg.iterations)
    warm = schedule.nado_warm_start(args.schedule, args.iter)
    device = runtime.setup_torch(cfg.runtime, cfg.seed)
    base, tokenizer = models.load(paths.model_dir(data_model), device, runtime.dtype_for(device))
    nado_model = (
        nado.load(paths.nado_dir(warm), base)
        if warm
        else nado.build(base, cfg.nado.trunk, cfg.nado.layers, cfg.nado.lora_rank)
    )
    nado_model.requires_grad_(True)
    if cfg.nado.trunk == "lora":  # only the adapters and the head train
        for key, param in nado_model.named_parameters():
            param.requires_grad_("lora_" in key or key.startswith("head"))

    train_file = paths.annotations(data_model, data_split)
    fingerprint = hashlib.sha256(
        json.dumps([sections(cfg, ["nado", "seed"]), name, warm]).encode() + train_file.read_bytes()
    ).hexdigest()
    start = time.perf_counter()
    history = nado_train.train(
        base,
        nado_model,
        read_jsonl(train_file),
        cfg.nado,
        cfg.oracle.threshold,
        cfg.sample.temperature,
        cfg.seed,
        tokenizer.pad_token_id,
        paths.checkpoints(f"nado-{name}"),
        fingerprint,
        desc=f"train NADO {name}",
    )
    if not runtime.is_main_process():  # under a multi-GPU launcher only the first process writes
        return
    seconds = time.perf_counter() - start
    with atomic_path(paths.nado_dir(name), directory=True) as tmp:
        nado_model.save(tmp)

    metrics, table = nado_train.diagnostics(
        base,
        nado_model,
        read_jsonl(paths.annotations(data_model, "eval")),
        cfg.oracle.threshold,
        tokenizer.pad_token_id,
    )
    metrics["nado_train_loss_final"] = history[-1]["loss"] if history else float("nan")
    metrics["nado_train_seconds"] = seconds
    write_json(paths.metrics("nado", name), {**metrics, "reliability": table})
    plots.reliability(
        table,
        paths.plot(f"nado_reliability_{name}"),
        title=f"NADO {name}: R(x) vs fresh samples of {data_model} (ECE {metrics['nado_ece']:.3f})",
    )
    with stage_run(cfg, args.params, "train_nado", name, nado=name, data=f"{data_model}/{data_split}") as run:
        run.log_params(sections(cfg, ["nado", "seed"]))
        for h in history:
            run.log_metrics({k: v for k, v in h.items() if k not in ("step", "epoch")}, step=int(h["step"]))
        run.log_metrics(metrics)
        run.log_artifact(paths.plot(f"nado_reliability_{name}"), "plots")
    shutil.rmtree(paths.checkpoints(f"nado-{name}"), ignore_errors=True)
    print("  ".join(f"{k}={v:.4g}" for k, v in metrics.items()))


if __name__ == "__main__":
    main()
