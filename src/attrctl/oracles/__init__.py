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


def problems(cfg: OracleConfig, offline: bool) -> list[str]:
    """What this machine lacks for the configured oracles (checked by the validate stage, so that a missing key
    or package stops the run before sampling, not at annotation): the `detoxify` package, the Perspective key
    (by variable name: the key itself is never printed), and an HF classifier that is one and is reachable."""
    import importlib.util
    import os

    found = []
    chosen = names(cfg)
    if "detoxify" in chosen and importlib.util.find_spec("detoxify") is None:
        found.append("oracle 'detoxify' needs the `detoxify` package: pip install detoxify")
    if "perspective" in chosen and not os.environ.get(cfg.perspective_key_env):
        found.append(f"oracle 'perspective' needs an API key in the environment variable {cfg.perspective_key_env}")
    if "hf_classifier" in chosen and cfg.hf_model:
        found += _classifier_problems(cfg.hf_model, offline)
    return found


def _classifier_problems(model: str, offline: bool) -> list[str]:
    import json

    from attrctl.config import HUB_ID

    key = f"oracle.hf_model = {model!r}"
    path = Path(model)
    if path.is_dir():
        if not (path / "config.json").is_file():
            return [f"{key}: {path} has no config.json, so it is no HF model directory"]
        config = json.loads((path / "config.json").read_text())
        kinds = config.get("architectures") or [config.get("model_type", "unknown")]
        if not any(str(k).endswith("ForSequenceClassification") for k in kinds):
            return [f"{key} is a {', '.join(map(str, kinds))} model, not a sequence classifier"]
        if not any((path / f).is_file() for f in TOKENIZER_FILES):
            return [f"{key}: {path} has no tokenizer (none of {', '.join(TOKENIZER_FILES)})"]
        return []
    if not HUB_ID.match(model):
        return [f"{key}: no such directory (and no hub id 'org/name')"]
    if offline:
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(model, "config.json"), str):
            return [
                f"{key} is a hub id that is not in the local HF cache, and runtime.offline is true: download it once "
                "with runtime.offline: false, or point oracle.hf_model at a local directory"
            ]
    return []


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "spiece.model")
