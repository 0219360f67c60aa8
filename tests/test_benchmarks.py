"""The embedded lm-eval tasks load from the shipped files with no network and run on the tiny model."""

from __future__ import annotations

import json
import os

import pytest
from conftest import REPO

from attrctl.config import EMBEDDED_TASKS, BenchmarksConfig, ConfigError, parse
from attrctl.evaluation import benchmarks
from attrctl.pipeline.paths import TASK_DIR


@pytest.fixture()
def in_repo(monkeypatch, tmp_path):
    """Run from a project root whose results/ holds a generated classification file."""
    monkeypatch.chdir(tmp_path)
    os.symlink(REPO / "workflow", tmp_path / "workflow")
    (tmp_path / "results/data").mkdir(parents=True)
    items = [{"id": f"g{i}", "text": t, "label": y} for i, (t, y) in enumerate([("you idiot", 1), ("nice day", 0)])]
    (tmp_path / "results/data/toxicity_cls_eval.jsonl").write_text("\n".join(json.dumps(i) for i in items))
    return tmp_path


@pytest.mark.parametrize("task", EMBEDDED_TASKS)
def test_each_embedded_task_runs_offline(in_repo, tiny_model, tokenizer, task):
    assert os.environ["HF_DATASETS_OFFLINE"] == "1"
    cfg = BenchmarksConfig(tasks=[task], classification_tasks=[t for t in [task] if "cls" in t], limit=8, batch_size=8)
    metrics = benchmarks.run(tiny_model, tokenizer, cfg, seed=0, task_dir=TASK_DIR)
    expected = {
        "attrctl_knowledge": ["acc", "acc_norm"],
        "attrctl_text_ppl": ["word_perplexity", "bits_per_byte"],
        "attrctl_toxicity_cls": ["acc", "f1"],
    }[task]
    for name in expected:
        assert f"{task}/{name}" in metrics, metrics
    if task != "attrctl_text_ppl":
        assert 0.0 <= metrics[f"{task}/acc"] <= 1.0


def test_toxicity_cls_reads_the_fixed_and_the_generated_items(in_repo):
    import sys

    sys.path.insert(0, str(REPO / "workflow/lm_eval_tasks"))
    import utils

    rows = utils.toxicity_cls()["test"]
    fixed = (REPO / "workflow/lm_eval_tasks/data/toxicity_cls_fixed.jsonl").read_text().splitlines()
    assert len(rows) == len(fixed) + 2 and {"g0", "g1"} <= set(rows["id"])


def test_shipped_task_data_sizes():
    mc = (REPO / "workflow/lm_eval_tasks/data/knowledge_mc.jsonl").read_text().splitlines()
    assert len(mc) >= 150
    for line in mc:
        item = json.loads(line)
        assert len(item["choices"]) == 4 and len(set(item["choices"])) == 4 and 0 <= item["label"] < 4


def test_headline_and_average():
    cfg = BenchmarksConfig(tasks=["a", "b", "t", "cls"], classification_tasks=["cls"])
    metrics = {"a/acc": 0.5, "b/acc": 0.7, "t/word_perplexity": 30.0, "cls/acc": 0.9, "cls/f1": 0.8, "a/acc_norm": 1}
    row = benchmarks.headline(metrics, cfg)
    assert row == {
        "a/acc": 0.5,
        "b/acc": 0.7,
        "t/word_perplexity": 30.0,
        "cls/acc": 0.9,
        "cls/f1": 0.8,
        "benchmark_avg_acc": pytest.approx(0.6),
    }
    metrics["items"] = {"a": [1, 0], "b": [1, 1, 0, 1, 1, 1, 1, 0, 1, 1], "cls": [1]}
    row = benchmarks.headline({**metrics, "a/acc": 0.5, "b/acc": 0.8}, cfg)
    assert row["benchmark_avg_acc"] == pytest.approx(0.65)
    assert row["benchmark_avg_acc_ci_lo"] <= 0.65 <= row["benchmark_avg_acc_ci_hi"]


def test_classification_items_balanced():
    rows = [{"prompt_id": "p", "sample": i, "text": f"some text number {i}", "label": int(i < 3)} for i in range(10)]
    items = benchmarks.classification_items(rows, per_class=5, seed=0)
    assert sum(i["label"] for i in items) == 3 and len(items) == 6


def test_paper_tasks_need_the_network_at_validation_time(monkeypatch):
    import yaml

    from attrctl import config

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["benchmarks"] = {"tasks": ["mmlu", "hellaswag", "attrctl_toxicity_cls"]}
    with pytest.raises(ConfigError, match=r"\['mmlu', 'hellaswag'\] are not shipped.*need the network or a local copy"):
        parse(raw)
    raw["runtime"]["offline"] = False  # online, but the hub cannot be reached
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    monkeypatch.setattr(config, "hub_reachable", lambda: False)
    with pytest.raises(ConfigError, match="huggingface.co is unreachable"):
        parse(raw)
