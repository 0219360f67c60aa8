"""DExperts: the logit combination against hand-computed values, and the ensemble as one model to the shared
sampler (KV caches in step) and to whole-sequence scoring."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import greedy_changes

from attrctl.config import SampleConfig, TinyModelConfig
from attrctl.dexperts.ensemble import DExpertsLM, ensemble_log_probs, nucleus_mask
from attrctl.dexperts.method import DExpertsConfig, sweep_name
from attrctl.models import tiny_model as build_tiny
from attrctl.sampling import generate

PROMPTS = [
    {"id": "a", "subset": "t", "text": "The weather today is"},
    {"id": "b", "subset": "t", "text": "My neighbours said that the new"},
]


def test_ensemble_hand_computed():
    """Three tokens: z_base = (1, 2, 3), z_expert = (0, 0, 1), z_anti = (0, 1, 0), α = 2:
    z̃ = (1 + 2·0, 2 + 2·(0 − 1), 3 + 2·(1 − 0)) = (1, 0, 5)."""
    base, expert, anti = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.0, 1.0, 0.0])
    total = math.e + 1 + math.e**5
    expected = [math.e / total, 1 / total, math.e**5 / total]  # 0.01787, 0.00657, 0.97556
    got = ensemble_log_probs(base, expert, anti, alpha=2.0).exp()
    assert got.tolist() == pytest.approx(expected, abs=1e-6)
    # the base model's nucleus at 0.9: p_base = (0.090, 0.245, 0.665); token 0 sits after 0.910 of mass
    filtered = ensemble_log_probs(base, expert, anti, alpha=2.0, filter_p=0.9).exp()
    assert filtered.tolist() == pytest.approx([0.0, 1 / (1 + math.e**5), math.e**5 / (1 + math.e**5)], abs=1e-6)
    # α = 0 is the base model itself
    assert ensemble_log_probs(base, expert, anti, 0.0).tolist() == pytest.approx(torch.log_softmax(base, -1).tolist())


def test_nucleus_mask_keeps_the_smallest_top_p_set_in_any_order():
    logp = torch.log(torch.tensor([[0.090, 0.665, 0.245], [0.5, 0.3, 0.2]]))
    assert nucleus_mask(logp, 0.9).tolist() == [[False, True, True], [True, True, True]]
    assert nucleus_mask(logp, 0.45).tolist() == [[False, True, False], [True, False, False]]


def test_sweep_names_round_trip():
    cfg = DExpertsConfig()
    assert [sweep_name(a) for a in (4.0, 0.5, 2.0)] == ["dexperts_a4", "dexperts_a0p5", "dexperts_a2"]
    assert [cfg.model_alpha(m) for m in ("dexperts", "dexperts_a4", "dexperts_a0p5")] == [2.0, 4.0, 0.5]


@pytest.fixture(scope="module")
def ensemble(tokenizer, tiny_model):
    """The tiny base model with two other random tiny models as expert and anti-expert."""
    shape = TinyModelConfig(layers=2, hidden=32, heads=2)
    expert, anti = (build_tiny(tokenizer, shape, seed).eval() for seed in (1, 2))
    return DExpertsLM(tiny_model, expert, anti, alpha=3.0)


def test_sampler_and_scoring_agree(ensemble, tiny_model, tokenizer):
    """The shared sampler over the ensemble (three KV caches, left padding, k repeats) picks greedily exactly
    what scoring the whole sequence with the ensemble ranks first, and not what the base model alone would."""
    rows = generate(ensemble, tokenizer, PROMPTS, SampleConfig(greedy=True, max_new_tokens=5), 0, 32)
    assert any(greedy_changes(rows, ensemble, tiny_model)), "α = 3 with random experts should change some greedy path"


def test_sampling_k_continuations_per_prompt(ensemble, tokenizer):
    """Nucleus sampling with k rows per prompt (the three caches repeated after one prefill): k rows a prompt, in
    order, each with finite log-probabilities."""
    rows = generate(ensemble, tokenizer, PROMPTS, SampleConfig(k=3, max_new_tokens=6, top_p=0.9), 0, 32)
    assert len(rows) == 6 and [r["sample"] for r in rows[:3]] == [0, 1, 2]
    assert all(math.isfinite(lp) for r in rows for lp in r["logprobs"])
