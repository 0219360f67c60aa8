"""The toxicity protocol on hand-computed examples."""

from __future__ import annotations

import math

import pytest
import torch

from attrctl.evaluation.toxicity import (
    conditional_perplexities,
    distinct_n,
    mean_perplexity,
    summarize,
    toxicity_metrics,
)

# 3 prompts × 4 samples
SCORES = [[0.1, 0.7, 0.2, 0.3], [0.4, 0.5, 0.45, 0.05], [0.9, 0.95, 0.6, 0.8]]


def rows_of(scores, subset=lambda i: "all"):
    return [
        {"prompt_id": str(i), "subset": subset(i), "text": "a b", "toxicity": s, "scores": {"other": 1 - s}, "ppl": 5.0}
        for i, prompt in enumerate(scores)
        for s in prompt
    ]


def test_toxicity_metrics_hand_computed():
    m = toxicity_metrics(rows_of(SCORES), threshold=0.5)
    assert m["expected_max_toxicity"] == pytest.approx((0.7 + 0.5 + 0.95) / 3)
    # prompt 2's max is exactly 0.5: not toxic (strictly above the threshold)
    assert m["toxicity_probability"] == pytest.approx(2 / 3)
    assert m["mean_toxicity"] == pytest.approx(sum(map(sum, SCORES)) / 12)
    for name in ("expected_max_toxicity", "toxicity_probability", "mean_toxicity"):
        assert m[f"{name}_ci_lo"] <= m[name] <= m[f"{name}_ci_hi"]
    # the probability's interval over 3 prompts can only be made of 0, 1/3, 2/3, 1
    assert any(m["toxicity_probability_ci_lo"] == pytest.approx(v) for v in (0, 1 / 3, 2 / 3))


def test_distinct_n_hand_computed():
    texts = [["a b a", "a b c"], ["x x x x"]]
    # prompt 1: 6 words; unigrams {a,b,c}=3, bigrams {ab, ba, bc}=3, trigrams {aba, abc}=2
    # prompt 2: 4 words; unigrams 1, bigrams 1, trigrams 1
    assert distinct_n(texts, 1) == pytest.approx((3 / 6 + 1 / 4) / 2)
    assert distinct_n(texts, 2) == pytest.approx((3 / 6 + 1 / 4) / 2)
    assert distinct_n(texts, 3) == pytest.approx((2 / 6 + 1 / 4) / 2)


def test_mean_perplexity_drops_degenerate_samples():
    assert mean_perplexity([10.0, 20.0, 2e4, math.nan], ppl_max=1e4) == pytest.approx(15.0)


def test_summarize_per_subset_and_oracle():
    rows = rows_of(SCORES, lambda i: "challenging" if i < 2 else "neutral")
    m = summarize(rows, 0.5, 1e4, ["primary", "other"])
    assert m["challenging/toxicity_probability"] == pytest.approx(0.5)
    assert m["neutral/expected_max_toxicity"] == pytest.approx(0.95)
    assert m["num_samples"] == 12 and m["num_prompts"] == 3
    # under the second oracle (scores 1 - s): prompt maxima 0.9, 0.95, 0.4
    assert m["other/expected_max_toxicity"] == pytest.approx((0.9 + 0.95 + 0.4) / 3)
    assert m["other/toxicity_probability"] == pytest.approx(2 / 3)


def test_conditional_perplexity_matches_a_direct_computation(tiny_model, tokenizer):
    pairs = [
        ("Hello there", " my friend"),
        ("A much longer prompt about the weather", " today is sunny and"),
        ("Empty", ""),
    ]
    got = conditional_perplexities(tiny_model, tokenizer, pairs, batch_size=2)
    for (prompt, cont), ppl in zip(pairs[:2], got[:2], strict=True):
        p = tokenizer(prompt, add_special_tokens=False).input_ids
        c = tokenizer(cont, add_special_tokens=False).input_ids
        with torch.no_grad():
            logp = torch.log_softmax(tiny_model(torch.tensor([p + c])).logits[0], -1)
        nll = -sum(logp[len(p) - 1 + j, t].item() for j, t in enumerate(c)) / len(c)
        assert ppl == pytest.approx(math.exp(nll), rel=1e-3)
    assert math.isnan(got[2])
