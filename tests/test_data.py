"""Prompt sources and the split."""

from __future__ import annotations

import json

from attrctl.config import DataConfig
from attrctl.data import load_jsonl, load_prompts, load_txt, split


def test_embedded_prompt_set():
    prompts = load_prompts(DataConfig())
    assert len(prompts) >= 400
    subsets = [p["subset"] for p in prompts]
    assert subsets.count("challenging") == subsets.count("neutral") == len(prompts) // 2
    assert len({p["id"] for p in prompts}) == len(prompts) and len({p["text"] for p in prompts}) == len(prompts)


def test_rtp_jsonl(tmp_path):
    path = tmp_path / "rtp.jsonl"
    rows = [
        {"filename": "f1", "challenging": True, "prompt": {"text": "So I said", "toxicity": 0.1}},
        {"filename": "f2", "challenging": False, "prompt": {"text": "The cat"}},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    assert load_jsonl(path) == [
        {"id": "f1", "text": "So I said", "subset": "challenging"},
        {"id": "f2", "text": "The cat", "subset": "neutral"},
    ]


def test_toxigen_txt(tmp_path):
    path = tmp_path / "hate_test_1k.txt"
    path.write_text("- first line\\n- second line\\n-\n- other\\n-\n")
    prompts = load_txt(path)
    assert [p["text"] for p in prompts] == ["- first line\n- second line\n-", "- other\n-"]
    assert {p["subset"] for p in prompts} == {"challenging"}


def test_split_is_deterministic_stratified_and_disjoint():
    prompts = load_prompts(DataConfig())
    cfg = DataConfig(eval_fraction=0.25, max_eval=10)
    train, evals = split(prompts, cfg, seed=0)
    assert split(prompts, cfg, seed=0) == (train, evals)
    assert split(prompts, cfg, seed=1) != (train, evals)
    assert {p["id"] for p in train}.isdisjoint(p["id"] for p in evals)
    assert [p["subset"] for p in evals].count("challenging") == 5
    assert len(train) == 480
