"""Atomic file and directory writes, and JSON/JSONL helpers.

A stage that dies half-way must not leave an output that looks complete: everything is written under a
temporary sibling name and renamed into place only when finished (rename is atomic on one filesystem).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it to `path`, on error delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp if directory else tmp / path.name
    try:
        yield target
        _replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _replace(src: Path, dst: Path) -> None:
    if dst.is_dir() and not dst.is_symlink():
        # A directory cannot be renamed over a non-empty one: move the old one aside first.
        old = dst.with_name(f".{dst.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)


def _finite(obj: Any) -> Any:
    """NaN and infinities as null: JSON has no NaN (the stdlib would write a bare, invalid `NaN`)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_finite(obj), indent=2, sort_keys=True, allow_nan=False) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def read_metrics(path: str | Path) -> Any:
    """A metrics file written by :func:`write_json`, its nulls back to NaN (a number that could not be had)."""

    def nan(obj: Any) -> Any:
        if obj is None:
            return math.nan
        if isinstance(obj, dict):
            return {k: nan(v) for k, v in obj.items()}
        return [nan(v) for v in obj] if isinstance(obj, list) else obj

    return nan(read_json(path))


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    with atomic_path(path) as tmp, tmp.open("w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: str | Path) -> list[dict]:
    with Path(path).open() as f:
        return [json.loads(line) for line in f if line.strip()]


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def files_of(path: str | Path) -> list[Path]:
    """A file, or a directory's files (sorted, recursively) without Snakemake's bookkeeping files."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    return sorted(f for f in path.rglob("*") if f.is_file() and not f.name.startswith(".snakemake"))


def chunks(file: str | Path) -> Iterator[bytes]:
    """A file's bytes in 16 MiB pieces: a model or optimizer state of many GB is never held in memory."""
    with Path(file).open("rb") as f:
        while chunk := f.read(1 << 24):
            yield chunk


def digest(*paths: str | Path) -> str:
    """sha256 of the paths' contents, in order; a directory as its files' relative names and bytes."""
    h = hashlib.sha256()
    for path in map(Path, paths):
        for file in files_of(path):
            if file != path:
                h.update(file.relative_to(path).as_posix().encode())
            for chunk in chunks(file):
                h.update(chunk)
    return h.hexdigest()
