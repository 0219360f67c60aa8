"""The fine-tuning methods' report: the efficiency table (each schedule's jobs and critical path, the single
runs), the λ sweep and the KL of each iteration to q*."""

from __future__ import annotations

import math
from pathlib import Path

from attrctl import methods
from attrctl.config import Config
from attrctl.finetune import schedule


def _speed(metrics: dict, prefix: str) -> tuple[float, float]:
    """(seconds, tokens/s) of a job's `<prefix>_seconds` and `<prefix>_tokens_per_s` metrics."""
    return metrics.get(f"{prefix}_seconds", math.nan), metrics.get(f"{prefix}_tokens_per_s", math.nan)


def efficiency_rows(cfg: Config, res) -> list[dict]:
    """Wall time and tokens/s of each job of the schedules, and the critical path of each DAG: sequential runs
    sample -> NADO -> fine-tune K times (3K jobs); parallel runs iteration 1 so, then each later iteration's three
    jobs side by side (K + 2 jobs), so its critical path takes the slowest of the three. `job_seconds` and
    `peak_rss_mb` come from Snakemake's benchmark files (start-up included) when the run was Snakemake's."""
    iterations = cfg.nado_reg.iterations

    def row(schedule_name, k, job, benchmark, seconds, tps):
        bench = res.benchmarks.get(benchmark, {})
        return {
            "schedule": schedule_name,
            "iteration": k,
            "job": job,
            "seconds": seconds,
            "tokens_per_s": tps,
            "job_seconds": bench.get("s", math.nan),
            "peak_rss_mb": bench.get("max_rss", math.nan),
        }

    rows = []
    for name in schedule.SCHEDULES:
        if schedule.PREFIX[name] not in cfg.models:
            continue
        total = 0.0
        for k in range(1, iterations + 1):
            model, split = schedule.sample_source(name, k, iterations)
            lm, nado = schedule.lm(name, k, iterations), schedule.nado(name, k)
            timing, train = res.timing.get((model, split), {}), res.train.get(lm, {})
            nado_seconds = res.nado.get(nado, {}).get("nado_train_seconds", math.nan)
            parts = [  # (job, its benchmark file, seconds, tokens/s)
                (f"sample {model}/{split}", f"sample/{model}-{split}", *_speed(timing, "sample")),
                (f"train NADO {nado}", f"train_nado/{nado}", nado_seconds, math.nan),
                (f"finetune {lm}", f"finetune/{lm}", *_speed(train, "train")),
            ]
            jobs = [row(name, k, *part) for part in parts]
            rows += jobs
            times = [j["seconds"] for j in jobs]
            total += max(times) if (name == "parallel" and k > 1) else sum(times)
        length = 3 * iterations if name == "sequential" else 3 + (iterations - 1)
        rows.append(row(name, "all", f"critical path ({length} jobs)", "", total, math.nan))
    for model in cfg.models:
        benchmark = methods.single_run(model)  # every method's models trained in one job, as it declares them
        if benchmark is not None:
            rows.append(
                row("single run", "all", f"finetune {model}", benchmark, *_speed(res.train.get(model, {}), "train"))
            )
    return rows


def kl_rows(cfg: Config, res) -> list[dict]:
    """KL(p ‖ q*) on held-out prefixes before and after each iteration's fine-tuning, per schedule."""
    rows = []
    for name in schedule.SCHEDULES:
        if schedule.PREFIX[name] not in cfg.models:
            continue
        for k in range(1, cfg.nado_reg.iterations + 1):
            m = res.train.get(schedule.lm(name, k, cfg.nado_reg.iterations))
            if m:
                rows.append(
                    {
                        "schedule": name,
                        "iteration": k,
                        "before": m.get("kl_to_qstar_before", math.nan),
                        "after": m.get("kl_to_qstar_after", math.nan),
                    }
                )
    return rows


def lambda_sweep(cfg: Config, res, tables: dict[str, list[dict]], path: Path) -> None:
    """The λ sweep (nado_reg_l<λ>) against the baselines, toxicity against utility."""
    from attrctl.evaluation.figures import tradeoff

    sweep = [
        r
        for r in tables["detox"]
        if r["model"] in {"base", "sft", "filter", "rl"} or schedule.SWEEP.fullmatch(r["model"])
    ]
    tradeoff(cfg, res, tables, path, sweep, "NADO regulariser strength λ (nado_reg_l<λ>) against the baselines")


def kl_plot(cfg: Config, res, tables: dict[str, list[dict]], path: Path) -> None:
    from attrctl.plots import kl_iterations

    kl_iterations(kl_rows(cfg, res), path)
