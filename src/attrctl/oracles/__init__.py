"""Sequence oracles C: each maps texts to a toxicity score in [0, 1] (the "satisfied" score is 1 − toxicity).

`embedding` (the default) is trained by the pipeline on labelled statements and sees implicit hate;
`profanity_check` is the embedded profanity classifier; `hf_classifier`, `detoxify` and `perspective` are the
options of the papers' scale. Every metric is reported under the oracle and under `oracle.second`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from attrctl.config import OracleConfig


class Oracle(Protocol):
    name: str

    def score(self, texts: list[str]) -> list[float]:
        """Toxicity in [0, 1] for each text."""
        ...


def encoded_batches(tokenizer, model, texts: list[str], batch_size: int, max_length: int) -> Iterator[tuple]:
    """(encoding, model outputs) of `texts`, a padded batch at a time, truncated to `max_length` tokens. The
    caller holds torch's inference mode around the loop."""
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(
            texts[start : start + batch_size], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        yield enc, model(**enc)


def build(name: str, cfg: OracleConfig, trained: str | Path | None = None) -> Oracle:
    """The oracle `name`; `trained` is the directory the train_oracle stage wrote (for `embedding`)."""
    from attrctl.oracles import external

    if name == "embedding":
        from attrctl.oracles.embedding import EmbeddingOracle

        if trained is None:
            raise ValueError("the embedding oracle needs the directory written by the train_oracle stage")
        return EmbeddingOracle(trained)
    if name == "profanity_check":
        return external.ProfanityCheck()
    if name == "hf_classifier":
        return external.HFClassifier(cfg.hf_model or "", cfg.hf_toxic_label, cfg.batch_size)
    if name == "detoxify":
        return external.Detoxify(cfg.detoxify_variant)
    return external.Perspective(cfg.perspective_key_env)


def checked(oracle: Oracle, texts: list[str]) -> list[float]:
    """The oracle's scores, refused unless each is a finite number in [0, 1] (a broken oracle must not pass
    for a harmless one: NaN compares false against every threshold)."""
    scores = [float(s) for s in oracle.score(texts)]
    if len(scores) != len(texts):
        raise RuntimeError(f"oracle {oracle.name} returned {len(scores)} scores for {len(texts)} texts")
    for i, s in enumerate(scores):
        if not (math.isfinite(s) and 0.0 <= s <= 1.0):
            raise RuntimeError(f"oracle {oracle.name} scored text {i} as {s!r}: scores must be finite, in [0, 1]")
    return scores


def names(cfg: OracleConfig) -> list[str]:
    """The oracle, then the second oracle if one is set."""
    return [cfg.name] + ([cfg.second] if cfg.second and cfg.second != cfg.name else [])


def annotate(rows: list[dict], cfg: OracleConfig, trained: str | Path | None = None) -> float:
    """Add `scores` {oracle: score}, and `toxicity` and `label` under the first oracle, to every sample row;
    returns the share of samples labelled toxic."""
    texts = [r["text"] for r in rows]
    per_oracle = {name: checked(build(name, cfg, trained), texts) for name in names(cfg)}
    for i, row in enumerate(rows):
        row["scores"] = {name: round(scores[i], 6) for name, scores in per_oracle.items()}
        row["toxicity"] = row["scores"][cfg.name]
        row["label"] = int(row["toxicity"] > cfg.threshold)
    return sum(r["label"] for r in rows) / max(1, len(rows))
