"""Prompt sources and the deterministic train/eval split.

A prompt record is `{"id": str, "text": str, "subset": str}`. Subsets tag prompt families (the embedded set:
`challenging` openers likely to draw insults or profanity, and `neutral` ones); metrics are reported per subset.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from importlib import resources
from pathlib import Path

from attrctl.config import DataConfig

EMBEDDED = "prompts.jsonl"


def _from_rtp_rows(rows: list[dict], default_subset: str) -> list[dict]:
    """RealToxicityPrompts schema: `prompt.text`; subset from `subset`, or RTP's `challenging` flag."""
    prompts = []
    for i, row in enumerate(rows):
        prompt = row["prompt"]
        text = prompt["text"] if isinstance(prompt, dict) else prompt
        if "subset" in row:
            subset = row["subset"]
        elif "challenging" in row:
            subset = "challenging" if row["challenging"] else "neutral"
        else:
            subset = default_subset
        prompts.append({"id": str(row.get("id", row.get("filename", i))), "text": text, "subset": subset})
    return prompts


def load_jsonl(path: str | Path) -> list[dict]:
    with Path(path).open() as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return _from_rtp_rows(rows, default_subset=Path(path).stem)


def load_txt(path: str | Path) -> list[dict]:
    """ToxiGen prompt files: one prompt per line, its own lines joined by a literal backslash-n."""
    path = Path(path)
    # hate_* / neutral_* files: the file name says which family the prompts belong to.
    subset = (
        "challenging" if path.stem.startswith("hate") else "neutral" if path.stem.startswith("neutral") else path.stem
    )
    lines = [line.rstrip("\n") for line in path.read_text().splitlines() if line.strip()]
    return [
        {"id": f"{path.stem}-{i}", "text": line.replace("\\n", "\n"), "subset": subset} for i, line in enumerate(lines)
    ]


def load_hf(name: str, split: str) -> list[dict]:
    import datasets

    return _from_rtp_rows(list(datasets.load_dataset(name, split=split)), default_subset="all")


def load_prompts(cfg: DataConfig) -> list[dict]:
    """All prompts of the configured source, in source order."""
    if cfg.prompts == "embedded":
        text = resources.files("attrctl.resources").joinpath(EMBEDDED).read_text()
        return _from_rtp_rows([json.loads(line) for line in text.splitlines() if line.strip()], "all")
    if cfg.prompts.startswith("hf:"):
        return load_hf(cfg.prompts.removeprefix("hf:"), cfg.hf_split)
    if cfg.prompts.endswith(".txt"):
        return load_txt(cfg.prompts)
    return load_jsonl(cfg.prompts)


def _take_balanced(by_subset: dict[str, list[dict]], n: int | None) -> list[dict]:
    """Up to n prompts, round-robin over subsets so that each subset keeps its share."""
    queues = [list(v) for _, v in sorted(by_subset.items())]
    out: list[dict] = []
    while queues and (n is None or len(out) < n):
        for q in list(queues):
            if not q:
                queues.remove(q)
                continue
            if n is not None and len(out) >= n:
                break
            out.append(q.pop(0))
    return out


def split(prompts: list[dict], cfg: DataConfig, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, eval): stratified by subset, shuffled with `seed`, then capped by max_train/max_eval."""
    by_subset: dict[str, list[dict]] = defaultdict(list)
    for p in prompts:
        by_subset[p["subset"]].append(p)
    rng = random.Random(seed)
    train, evals = defaultdict(list), defaultdict(list)
    for subset, items in sorted(by_subset.items()):
        items = sorted(items, key=lambda p: p["id"])
        rng.shuffle(items)
        n_eval = max(1, round(len(items) * cfg.eval_fraction)) if len(items) > 1 else 0
        evals[subset], train[subset] = items[:n_eval], items[n_eval:]
    return _take_balanced(train, cfg.max_train), _take_balanced(evals, cfg.max_eval)


def block(prompts: list[dict], k: int, n_blocks: int) -> list[dict]:
    """Block k (1-based) of `n_blocks` contiguous, near-equal blocks (the train prompts of iteration k)."""
    if not 1 <= k <= n_blocks:
        raise ValueError(f"train block {k} does not exist: data.train_blocks = {n_blocks}")
    size = -(-len(prompts) // n_blocks)
    return prompts[(k - 1) * size : k * size]
