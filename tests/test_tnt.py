"""TNT: each loss against hand-computed values on a three-token vocabulary, the target distribution, and the
token-level annotation."""

from __future__ import annotations

import math

import pytest
import torch

from attrctl.tnt.annotate import Annotator, flagged, token_spans, token_weights
from attrctl.tnt.losses import LOSSES, negative_target, tnt_loss

P0 = (0.5, 0.3, 0.2)
PT = (0.2, 0.5, 0.3)
EPS = 1e-6


def lg(p):
    return torch.tensor(p).log()[None, None]  # (B=1, T=1, V=3)


def run(name, weight, token=0, alpha=2.0, pt=PT):
    loss, _ = tnt_loss(name, lg(pt), lg(P0), torch.tensor([[token]]), torch.tensor([[weight]]), alpha)
    return float(loss)


def ce(p, q):
    return -sum(a * math.log(b) for a, b in zip(p, q, strict=True) if a > 0)


def kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q, strict=True) if a > 0)


PD = (0.0, 0.6, 0.4)  # p0 without token 0, renormalised
PD_SMOOTH = tuple((x + EPS) / (1 + 3 * EPS) for x in PD)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("tnff", 2.0 * ce(PD, PT)),
        ("tnfll", 2.0 * ce(PD, PT)),
        ("tnrr", 2.0 * kl(PT, PD_SMOOTH)),
        ("tnrf", 2.0 * kl(PT, PD_SMOOTH)),
        ("tnrll", 2.0 * kl(PT, PD_SMOOTH)),
        ("nl", 2.0 * math.log(0.2)),
        ("ul", -2.0 * math.log(1 - 0.2)),
    ],
)
def test_negative_positions(name, expected):
    assert run(name, -1) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("tnff", ce(P0, PT)),
        ("tnrf", ce(P0, PT)),
        ("tnrr", kl(PT, P0)),
        ("tnfll", -math.log(0.2)),
        ("tnrll", -math.log(0.2)),
        ("nl", -math.log(0.2)),
        ("ul", -math.log(0.2)),
    ],
)
def test_positive_positions(name, expected):
    assert run(name, +1) == pytest.approx(expected, rel=1e-5)


def test_nl_stops_pushing_below_epsilon():
    tiny = (math.exp(-12), 0.5, 0.5 - math.exp(-12))
    assert run("nl", -1, pt=tiny) == 0.0  # log pθ(t) = −12 < ε = −10.3


def test_padding_counts_for_nothing():
    loss, _ = tnt_loss(
        "tnff", lg(PT).expand(1, 2, 3), lg(P0).expand(1, 2, 3), torch.tensor([[0, 0]]), torch.tensor([[1, 0]]), 2.0
    )
    assert float(loss) == pytest.approx(ce(P0, PT), rel=1e-5)


@pytest.mark.parametrize("name", LOSSES)
def test_tnrr_positive_only_batch_is_zero_at_the_original_model(name):
    loss = run(name, +1, pt=P0)
    if name == "tnrr":
        assert loss == pytest.approx(0.0, abs=1e-6)
    else:
        assert loss > 0  # cross-entropy and likelihood terms are not zero at θ0


def test_target_distribution_commutes():
    """Removing t1, then t2 from the result, gives the same target as removing {t1, t2} at once."""
    logp0 = torch.log_softmax(torch.randn(1, 1, 6), -1)
    twice = negative_target(negative_target(logp0, torch.tensor([[1]]), False), torch.tensor([[4]]), False)
    keep = torch.tensor([1, 0, 1, 1, 0, 1], dtype=torch.bool)
    union = torch.where(keep, logp0 - torch.logsumexp(logp0[..., keep], -1, keepdim=True), -torch.inf)
    assert torch.allclose(twice.exp(), union.exp(), atol=1e-6)
    reverse = negative_target(negative_target(logp0, torch.tensor([[4]]), False), torch.tensor([[1]]), False)
    assert torch.allclose(twice.exp(), reverse.exp(), atol=1e-6)


def test_token_weights_variants():
    assert token_weights(5, [1, 2, 4], "all_flagged") == [1, -1, -1, 1, -1]
    assert token_weights(5, [1, 2, 4], "first") == [1, -1, 1, 1, 1]
    assert token_weights(3, [2], "all_tokens") == [-1, -1, -1]
    assert token_weights(3, [], "all_tokens") == [1, 1, 1]
    assert flagged([0.1, 2.0, -1.0, 1.2], 0.5) == [1, 3]


@pytest.mark.parametrize("mechanism", ["linear", "leave_one_out"])
def test_a_known_flagged_word_maps_to_exactly_its_tokens(tokenizer, mechanism):
    from attrctl.config import OracleConfig
    from attrctl.oracles import build

    text = " we walked to the shitty market and bought bread"
    ids = tokenizer(text, add_special_tokens=False).input_ids
    words, negatives = Annotator(build("profanity_check", OracleConfig()), tokenizer, mechanism, 0.5)(text, ids)
    assert words == ["shitty"]
    spans = token_spans(tokenizer, ids)
    start = text.index("shitty")
    expected = [i for i, (s, e) in enumerate(spans) if s < start + len("shitty") and start < e]
    assert negatives == expected and expected
    assert "shitty" in tokenizer.decode([ids[i] for i in negatives])
    assert "market" not in tokenizer.decode([ids[i] for i in negatives])


def test_tnt_intervals_count_the_base_models_flagged_prompts():
    """flagged_removed's units are the prompts whose base continuation is flagged: two here, one removed."""
    from attrctl.tnt.report import intervals

    base = [{"prompt_id": p, "label": int(p in "ab")} for p in "abcd"]
    model = [{"prompt_id": p, "label": int(p in "bc")} for p in "abcd"]
    out = intervals(model, base, seed=0)
    assert out["base_flagged"] == 2
    assert (out["flagged_removed_ci_lo"], out["flagged_removed_ci_hi"]) == (0.0, 1.0)  # 2 units: means 0, ½, 1
    assert 0.0 <= out["greedy_toxicity_rate_ci_lo"] <= 0.5 <= out["greedy_toxicity_rate_ci_hi"] <= 1.0
