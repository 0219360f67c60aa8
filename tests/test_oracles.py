"""Oracles: the embedded profanity classifier, the trained embedding oracle, an HF classifier from a local
directory, score checks, and Perspective's key kept out of every error."""

from __future__ import annotations

import pytest

from attrctl.config import OracleConfig
from attrctl.oracles import build, checked
from attrctl.oracles.external import HFClassifier, Perspective


def test_profanity_check_ranks_insults_above_neutral_text():
    oracle = build("profanity_check", OracleConfig())
    toxic, neutral = oracle.score(["you stupid idiot, shut the hell up", "we walked to the market for bread"])
    assert toxic > 0.9 > 0.5 > neutral


def test_hf_classifier_from_a_local_directory(tmp_path, tokenizer):
    from transformers import LlamaConfig, LlamaForSequenceClassification

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        num_labels=2,
        id2label={0: "neutral", 1: "toxic"},
        label2id={"neutral": 0, "toxic": 1},
        pad_token_id=tokenizer.pad_token_id,
    )
    LlamaForSequenceClassification(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    oracle = build("hf_classifier", OracleConfig(name="hf_classifier", hf_model=str(tmp_path), batch_size=2))
    assert oracle.index == 1
    scores = oracle.score(["a", "b c", "d e f"])
    assert len(scores) == 3 and all(0.0 <= s <= 1.0 for s in scores)
    with pytest.raises(ValueError, match="not a label"):
        HFClassifier(str(tmp_path), "hateful", 2)


def test_perspective_key_from_env_only(monkeypatch):
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(RuntimeError, match="MY_KEY"):
        Perspective("MY_KEY")
    monkeypatch.setenv("MY_KEY", "secret-123")
    oracle = Perspective("MY_KEY")
    assert "secret-123" not in repr(oracle)
    assert "secret-123" not in str(OracleConfig(name="perspective", perspective_key_env="MY_KEY").model_dump())


def test_the_key_travels_in_a_header_and_never_in_an_error(monkeypatch):
    import traceback

    import requests

    seen = {}

    def fail(url, **kwargs):
        seen.update(url=url, **kwargs)
        raise requests.ConnectionError(f"cannot reach {url} with {kwargs}")  # what requests puts in its message

    monkeypatch.setenv("MY_KEY", "SECRET123abc")
    monkeypatch.setattr(requests, "post", fail)
    with pytest.raises(RuntimeError) as err:
        Perspective("MY_KEY", qps=1000).score(["hi"])
    assert "SECRET123abc" not in seen["url"] and seen["headers"]["x-goog-api-key"] == "SECRET123abc"
    text = "".join(traceback.format_exception(err.value))
    assert "SECRET123abc" not in text and "text 0" in text


class Fixed:
    name = "fixed"

    def __init__(self, scores):
        self.scores = scores

    def score(self, texts):
        return self.scores


@pytest.mark.parametrize("bad", [1.7, -0.3, float("nan"), float("inf")])
def test_out_of_range_scores_are_an_error_naming_oracle_and_text(bad):
    with pytest.raises(RuntimeError, match=r"oracle fixed scored text 1 as"):
        checked(Fixed([0.2, bad]), ["a", "b"])
    assert checked(Fixed([0.0, 1.0]), ["a", "b"]) == [0.0, 1.0]


def test_embedding_oracle_learns_statements(tmp_path):
    import numpy as np

    from attrctl.oracles import embedding

    texts = ["these people are vermin and should leave", "they are lazy criminals", "I love my neighbours"]
    texts += ["the museum opens at nine", "we baked bread together", "those animals ruin our country"]
    labels = np.array([1, 1, 0, 0, 0, 1])
    encoder = embedding.Encoder()
    coef, intercept = embedding.fit(encoder(texts), labels, c=10.0, seed=0)
    embedding.save(tmp_path, "embedded", coef, intercept)
    oracle = build("embedding", OracleConfig(), tmp_path)
    scores = checked(oracle, texts)
    assert min(s for s, y in zip(scores, labels, strict=True) if y) > max(
        s for s, y in zip(scores, labels, strict=True) if not y
    )
