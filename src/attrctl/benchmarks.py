"""Utility benchmarks through lm-evaluation-harness, on an already-loaded model.

Embedded tasks are read from workflow/lm_eval_tasks/ (offline); other task names come from lm-eval's registry
(mmlu, hellaswag, ...: data from the HF hub or a local cache). Results are flattened to `<task>/<metric>`.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from attrctl.config import EMBEDDED_TASKS, BenchmarksConfig

TASK_DIR = Path("workflow/lm_eval_tasks")
AVERAGE = "benchmark_avg_acc"


def run(model, tokenizer, cfg: BenchmarksConfig, seed: int, task_dir: Path = TASK_DIR) -> dict[str, float]:
    """Every numeric task metric as {`<task>/<metric>`: value} (stderr and per-filter suffixes dropped)."""
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
        log_samples=False,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
    )
    return flatten(out["results"])


def flatten(results: dict[str, dict]) -> dict[str, float]:
    flat = {}
    for task, metrics in results.items():
        for key, value in metrics.items():
            name, _, _ = key.partition(",")
            if name.endswith("_stderr") or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            flat[f"{task}/{name}"] = float(value)
    return flat


def headline(metrics: dict[str, float], cfg: BenchmarksConfig) -> dict[str, float]:
    """The table's benchmark columns: each task's accuracy (F1 too for classification tasks; word perplexity
    for perplexity tasks) and the average accuracy over the utility (non-classification) tasks."""
    row: dict[str, float] = {}
    utility = []
    for task in cfg.tasks:
        for name in ("acc", "f1") if task in cfg.classification_tasks else ("acc", "word_perplexity"):
            if f"{task}/{name}" in metrics:
                row[f"{task}/{name}"] = metrics[f"{task}/{name}"]
        if task not in cfg.classification_tasks and f"{task}/acc" in metrics:
            utility.append(metrics[f"{task}/acc"])
    row[AVERAGE] = sum(utility) / len(utility) if utility else math.nan
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
