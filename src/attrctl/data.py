"""Prompt sources and the deterministic train/eval split.

A prompt record is `{"id": str, "text": str, "subset": str}`. Subsets tag prompt families (the embedded set:
`challenging` openers likely to draw insults or profanity, `neutral` everyday ones, and `group` openers about the
ToxiGen groups); metrics are reported per subset. A prompt file is checked whole before any work: every bad
record is reported as `file:line: what is wrong`.
"""

from __future__ import annotations

import json
import random
import warnings
from collections import defaultdict
from pathlib import Path

from attrctl.config import DataConfig

MAX_REPORTED = 20


class PromptError(ValueError):
    """A prompt source that cannot be used; the message lists every bad record (up to MAX_REPORTED)."""


def _check(problems: list[tuple[int, str]], path: Path) -> None:
    """Raise with every (line, problem), in line order."""
    problems = [f"{path}:{line}: {text}" for line, text in sorted(problems)]
    if problems:
        more = f"\n  ... and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
        raise PromptError(f"bad prompt file {path}:\n  " + "\n  ".join(problems[:MAX_REPORTED]) + more)


def _record(row, default_subset: str, fallback_id: str) -> tuple[dict | None, str | None]:
    """(prompt, None) from a RealToxicityPrompts-style row, or (None, what is wrong)."""
    if not isinstance(row, dict):
        return None, f"expected a JSON object, got {type(row).__name__}"
    prompt = row.get("prompt")
    text = prompt.get("text") if isinstance(prompt, dict) else prompt
    if not isinstance(text, str) or not text.strip():
        return None, "no prompt text (expected a non-empty string at prompt.text or prompt)"
    if "subset" in row:
        subset = str(row["subset"])
    elif "challenging" in row:
        subset = "challenging" if row["challenging"] else "neutral"
    else:
        subset = default_subset
    return {"id": str(row.get("id", row.get("filename", fallback_id))), "text": text, "subset": subset}, None


def _rows(lines: list[tuple[int, object]], path: Path, default_subset: str, problems: list | None = None) -> list[dict]:
    """Prompts from (line number, row) pairs; raises with every problem found (`problems`: earlier ones)."""
    prompts, problems, first_line = [], list(problems or []), {}
    for lineno, row in lines:
        prompt, problem = _record(row, default_subset, str(lineno))
        if problem:
            problems.append((lineno, problem))
        elif prompt["id"] in first_line:
            problems.append((lineno, f"duplicate id {prompt['id']!r} (first on line {first_line[prompt['id']]})"))
        else:
            first_line[prompt["id"]] = lineno
            prompts.append(prompt)
    _check(problems, path)
    return prompts


def load_jsonl(path: str | Path, default_subset: str | None = None) -> list[dict]:
    path = Path(path)
    lines, problems = [], []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise PromptError(f"bad prompt file {path}: not UTF-8 text (byte {err.start})") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            lines.append((lineno, json.loads(line)))
        except json.JSONDecodeError as err:
            problems.append((lineno, f"not valid JSON ({err.msg}, column {err.colno})"))
    return _rows(lines, path, default_subset or path.stem, problems)


def load_txt(path: str | Path) -> list[dict]:
    """ToxiGen prompt files: one prompt per line, its own lines joined by a literal backslash-n."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise PromptError(f"bad prompt file {path}: not UTF-8 text (byte {err.start})") from None
    # hate_* / neutral_* files: the file name says which family the prompts belong to.
    subset = (
        "challenging" if path.stem.startswith("hate") else "neutral" if path.stem.startswith("neutral") else path.stem
    )
    lines = [
        (n, {"id": f"{path.stem}-{n}", "prompt": line.replace("\\n", "\n")})
        for n, line in enumerate(text.splitlines(), 1)
    ]
    return _rows([(n, row) for n, row in lines if row["prompt"].strip()], path, subset)


def load_hf(name: str, split: str) -> list[dict]:
    import datasets

    rows = list(enumerate(datasets.load_dataset(name, split=split), 1))
    return _rows(rows, Path(f"hf:{name}[{split}]"), "all")


def load_prompts(source: str | Path, cfg: DataConfig) -> list[dict]:
    """All prompts of a source (a .jsonl / .txt file, or `hf:<dataset>`), in source order, each checked."""
    source = str(source)
    if source.startswith("hf:"):
        prompts = load_hf(source.removeprefix("hf:"), cfg.hf_split)
    elif source.endswith(".txt"):
        prompts = load_txt(source)
    else:
        prompts = load_jsonl(source, "all")
    if not prompts:
        raise PromptError(f"prompt source {source} holds no prompts")
    return prompts


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
    """(train, eval): stratified by subset, shuffled with `seed`, then capped by max_train/max_eval. Too few
    prompts for the configured split is an error naming the keys."""
    if len(prompts) > 1 and len({p["text"] for p in prompts}) == 1:
        raise PromptError(f"all {len(prompts)} prompts are the same text {prompts[0]['text']!r}: nothing to split")
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
    train_out, eval_out = _take_balanced(train, cfg.max_train), _take_balanced(evals, cfg.max_eval)
    if not eval_out and len(by_subset) > 1 and all(len(items) == 1 for items in by_subset.values()):
        raise PromptError(
            f"each of the {len(prompts)} prompts is its own subset, and a subset of one prompt gives no eval prompt "
            "(the split is made within each subset): give prompts of one family the same `subset`"
        )
    if not eval_out or len(train_out) < cfg.train_blocks:
        raise PromptError(
            f"{len(prompts)} prompts give {len(train_out)} train and {len(eval_out)} eval prompts: need at least one "
            f"eval prompt (data.eval_fraction = {cfg.eval_fraction}) and one train prompt per block "
            f"(data.train_blocks = {cfg.train_blocks}); add prompts or change those keys"
        )
    if shared := {p["text"] for p in train_out} & {p["text"] for p in eval_out}:
        warnings.warn(
            f"{len(shared)} prompt texts are both train and eval prompts (e.g. {min(shared)!r}): NADO trains on "
            "samples of the prompts the evaluation scores; remove repeated texts from the prompt source",
            stacklevel=2,
        )
    return train_out, eval_out


def block(prompts: list[dict], k: int, n_blocks: int) -> list[dict]:
    """Block k (1-based) of `n_blocks` contiguous, near-equal blocks (the train prompts of iteration k)."""
    if not 1 <= k <= n_blocks:
        raise ValueError(f"train block {k} does not exist: data.train_blocks = {n_blocks}")
    size = -(-len(prompts) // n_blocks)
    return prompts[(k - 1) * size : k * size]
