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

from attrctl.config import DataConfig, PromptFields

MAX_REPORTED = 20


class PromptError(ValueError):
    """A prompt source that cannot be used; the message lists every bad record (up to MAX_REPORTED)."""


def _check(problems: list[tuple[int, str]], path: Path) -> None:
    """Raise with every (line, problem), in line order."""
    problems = [f"{path}:{line}: {text}" for line, text in sorted(problems)]
    if problems:
        more = f"\n  ... and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
        raise PromptError(f"bad prompt file {path}:\n  " + "\n  ".join(problems[:MAX_REPORTED]) + more)


def _at(row: dict, dotted: str):
    """The value at a dotted field path (`prompt.text`), None where there is none."""
    for key in dotted.split("."):
        if not isinstance(row, dict) or key not in row:
            return None
        row = row[key]
    return row


def _record(row, fields: PromptFields, default_subset: str, lineno: int) -> tuple[dict | None, str | None]:
    """(prompt, None) from a row (RealToxicityPrompts' schema unless `fields` maps it), or (None, what is
    wrong)."""
    if not isinstance(row, dict):
        return None, f"expected a JSON object, got {type(row).__name__}"
    if fields.text:
        text, where = _at(row, fields.text), f"{fields.text} (data.fields.text)"
    else:
        text, where = _at(row, "prompt.text") or row.get("prompt"), "prompt.text or prompt"
    if not isinstance(text, str) or not text.strip():
        return None, f"no prompt text (expected a non-empty string at {where})"
    if fields.subset:
        subset = _at(row, fields.subset)
        if subset is None:
            return None, f"no {fields.subset} (data.fields.subset)"
    elif "subset" in row:
        subset = row["subset"]
    elif "challenging" in row:
        subset = "challenging" if row["challenging"] else "neutral"
    else:
        subset = default_subset
    if fields.id:
        id_ = _at(row, fields.id)
        if id_ is None:
            return None, f"no {fields.id} (data.fields.id)"
    else:  # a RealToxicityPrompts document gives several prompts: its file name alone is no id
        id_ = row.get("id", f"{row['filename']}#{lineno}" if "filename" in row else lineno)
    return {"id": str(id_), "text": text, "subset": str(subset)}, None


def _rows(
    lines: list[tuple[int, object]],
    path: Path,
    default_subset: str,
    problems: list | None = None,
    fields: PromptFields | None = None,
) -> list[dict]:
    """Prompts from (line number, row) pairs; raises with every problem found (`problems`: earlier ones)."""
    prompts, problems, first_line = [], list(problems or []), {}
    for lineno, row in lines:
        prompt, problem = _record(row, fields or PromptFields(), default_subset, lineno)
        if problem:
            problems.append((lineno, problem))
        elif prompt["id"] in first_line:
            problems.append((lineno, f"duplicate id {prompt['id']!r} (first on line {first_line[prompt['id']]})"))
        else:
            first_line[prompt["id"]] = lineno
            prompts.append(prompt)
    _check(problems, path)
    return prompts


def load_jsonl(path: str | Path, default_subset: str | None = None, fields: PromptFields | None = None) -> list[dict]:
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
    return _rows(lines, path, default_subset or path.stem, problems, fields)


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


def load_table(source: str, cfg: DataConfig) -> list[dict]:
    """Prompts from a `datasets` table: a hub dataset (`hf:<id>`), a `save_to_disk` directory, a .parquet or
    .csv file; each row checked, its row number standing for a line number."""
    import datasets

    path = Path(source)
    if source.startswith("hf:"):
        table = datasets.load_dataset(source.removeprefix("hf:"), split=cfg.hf_split)
    elif path.is_dir():
        table = datasets.load_from_disk(str(path))
        if isinstance(table, datasets.DatasetDict):
            if cfg.hf_split not in table:
                raise PromptError(f"{path} holds the splits {sorted(table)}, not data.hf_split = {cfg.hf_split!r}")
            table = table[cfg.hf_split]
    else:
        table = datasets.load_dataset(path.suffix.lstrip("."), data_files=str(path), split="train")
    return _rows(list(enumerate(table, 1)), path, "all", fields=cfg.fields)


def load_prompts(source: str | Path, cfg: DataConfig) -> list[dict]:
    """All prompts of a source (data.prompts: a file, a `save_to_disk` directory or `hf:<dataset>`), in source
    order, each checked."""
    source = str(source)
    if source.startswith("hf:") or Path(source).is_dir() or source.endswith((".parquet", ".csv")):
        prompts = load_table(source, cfg)
    elif source.endswith(".txt"):
        prompts = load_txt(source)
    else:
        prompts = load_jsonl(source, "all", cfg.fields)
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


def _shuffled(prompts: list[dict], rng: random.Random) -> dict[str, list[dict]]:
    """{subset: its prompts in id order, shuffled}, subsets in name order (the rng's order of use)."""
    by_subset: dict[str, list[dict]] = defaultdict(list)
    for p in prompts:
        by_subset[p["subset"]].append(p)
    out = {}
    for subset, items in sorted(by_subset.items()):
        out[subset] = sorted(items, key=lambda p: p["id"])
        rng.shuffle(out[subset])
    return out


def split(
    prompts: list[dict], cfg: DataConfig, seed: int, eval_prompts: list[dict] | None = None
) -> tuple[list[dict], list[dict]]:
    """(train, eval): stratified by subset, shuffled with `seed`, then capped by max_train/max_eval; with
    `eval_prompts` (data.eval_prompts), all of `prompts` train and all of `eval_prompts` evaluate. Too few
    prompts for the configured split is an error naming the keys."""
    if len(prompts) > 1 and len({p["text"] for p in prompts}) == 1:
        raise PromptError(f"all {len(prompts)} prompts are the same text {prompts[0]['text']!r}: nothing to split")
    rng = random.Random(seed)
    by_subset = _shuffled(prompts, rng)
    if eval_prompts is not None:
        train, evals = by_subset, _shuffled(eval_prompts, rng)
    else:
        train, evals = {}, {}
        for subset, items in by_subset.items():
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
