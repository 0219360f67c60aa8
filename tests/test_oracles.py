"""Oracles: the embedded profanity classifier, an HF classifier from a local directory, Perspective's key."""

from __future__ import annotations

import pytest

from attrctl.config import OracleConfig
from attrctl.oracles import HFClassifier, Perspective, build


def test_profanity_check_ranks_insults_above_neutral_text():
    oracle = build(OracleConfig())
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
    oracle = build(OracleConfig(name="hf_classifier", hf_model=str(tmp_path), batch_size=2))
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
