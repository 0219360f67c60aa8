"""Utility benchmarks through lm-evaluation-harness, on an already-loaded model.

Embedded tasks are read from workflow/lm_eval_tasks/ (offline); other task names come from lm-eval's registry
(mmlu, hellaswag, ...: data from the HF hub or a local cache). Results are flattened to `<task>/<metric>`.
"""

from __future__ import annotations

import random
from pathlib import Path

from attrctl import stats
from attrctl.config import EMBEDDED_TASKS, BenchmarksConfig

AVERAGE = "benchmark_avg_acc"


def run(model, tokenizer, cfg: BenchmarksConfig, seed: int, task_dir: Path) -> dict:
    """Every numeric task metric as {`<task>/<metric>`: value} (stderr and per-filter suffixes dropped), each
    accuracy with its 95% bootstrap interval over items, and the per-item accuracies under `items`
    ({task: [0/1, ...]}, for paired comparisons between models)."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    # Pass the tokenizer: with a model object and no tokenizer, HFLM looks the model's name up on the hub.
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=cfg.batch_size)
    embedded_only = set(cfg.tasks) <= set(EMBEDDED_TASKS)
    manager = TaskManager(include_path=str(task_dir), include_defaults=not embedded_only)
    out = lm_eval.simple_evaluate(
        model=lm,
        tasks=list(cfg.tasks),
        task_manager=manager,
        num_fewshot=cfg.num_fewshot,
        limit=cfg.limit,
        bootstrap_iters=0,
        log_samples=True,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
    )
    metrics: dict = flatten(out["results"])
    items = {
        task: [float(s["acc"]) for s in samples]
        for task, samples in out["samples"].items()
        if samples and "acc" in samples[0]
    }
    for task, accs in items.items():
        _, metrics[f"{task}/acc_ci_lo"], metrics[f"{task}/acc_ci_hi"] = stats.mean_ci(accs, seed)
    metrics["items"] = items
    return metrics


def flatten(results: dict[str, dict]) -> dict[str, float]:
    flat = {}
    for task, metrics in results.items():
        for key, value in metrics.items():
            name, _, _ = key.partition(",")
            if name.endswith("_stderr") or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            flat[f"{task}/{name}"] = float(value)
    return flat


def headline(metrics: dict, cfg: BenchmarksConfig, seed: int = 0) -> dict[str, float]:
    """The table's benchmark columns: each task's accuracy with its interval (F1 too for classification tasks;
    word perplexity for perplexity tasks) and the average accuracy over the utility (non-classification) tasks,
    its interval from resampling each task's items."""
    row: dict[str, float] = {}
    for task in cfg.tasks:
        for name in ("acc", "acc_ci_lo", "acc_ci_hi", "f1" if task in cfg.classification_tasks else "word_perplexity"):
            if f"{task}/{name}" in metrics:
                row[f"{task}/{name}"] = metrics[f"{task}/{name}"]
    utility = [t for t in cfg.tasks if t not in cfg.classification_tasks and f"{t}/acc" in metrics]
    row[AVERAGE] = sum(metrics[f"{t}/acc"] for t in utility) / len(utility) if utility else float("nan")
    items = metrics.get("items", {})
    if utility and all(t in items for t in utility):
        _, row[f"{AVERAGE}_ci_lo"], row[f"{AVERAGE}_ci_hi"] = stats.task_average([items[t] for t in utility], seed)
    return row


def classification_items(rows: list[dict], per_class: int, seed: int, min_words: int = 3) -> list[dict]:
    """Balanced yes/no items from oracle-labelled samples: up to `per_class` toxic and as many non-toxic texts."""
    by_label: dict[int, list[dict]] = {0: [], 1: []}
    seen = set()
    for r in rows:
        text = r["text"].strip()
        if len(text.split()) >= min_words and text not in seen:
            seen.add(text)
            by_label[r["label"]].append({"id": f"{r['prompt_id']}-{r['sample']}", "text": text, "label": r["label"]})
    rng = random.Random(seed)
    n = min(per_class, len(by_label[0]), len(by_label[1]))
    items = []
    for label in (1, 0):
        pool = by_label[label]
        rng.shuffle(pool)
        items += pool[:n]
    return items
