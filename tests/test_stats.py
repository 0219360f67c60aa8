"""Bootstrap intervals on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from attrctl import stats


def test_a_constant_metric_has_a_zero_width_interval():
    assert stats.mean_ci([0.3] * 50) == pytest.approx((0.3, 0.3, 0.3))


def test_identical_models_differ_by_exactly_zero():
    values = np.random.default_rng(1).random(40)
    pair = stats.paired(values, values)
    assert (pair["diff"], pair["diff_ci_lo"], pair["diff_ci_hi"]) == (0.0, 0.0, 0.0)
    assert (pair["ratio"], pair["ratio_ci_lo"], pair["ratio_ci_hi"]) == pytest.approx((1.0, 1.0, 1.0))


def test_paired_difference_hand_computed():
    # every unit moves by exactly +0.25, whatever is resampled
    a = [0.25, 0.5, 1.0, 0.75]
    pair = stats.paired(a, [x - 0.25 for x in a])
    assert (pair["diff"], pair["diff_ci_lo"], pair["diff_ci_hi"]) == pytest.approx((0.25, 0.25, 0.25))


def test_pooled_ratio_weighs_units_by_their_tokens():
    # summed NLLs a = [2, 4], b = [1, 1] over 1 and 3 tokens: exp((6 − 2) / 4) = e, where the ratio of the
    # per-unit perplexities' means would be (e² + e^(4/3)) / (e + e^(1/3))
    assert stats.paired_pooled([2.0, 4.0], [1.0, 1.0], [1, 3])["ratio"] == pytest.approx(np.e)
    same = stats.paired_pooled([2.0, 4.0, 3.0], [2.0, 4.0, 3.0], [1, 3, 2])
    assert (same["ratio"], same["ratio_ci_lo"], same["ratio_ci_hi"]) == pytest.approx((1.0, 1.0, 1.0))


def test_interval_of_a_proportion_covers_the_estimate_and_shrinks_with_more_units():
    small = stats.mean_ci([1, 0] * 10, seed=0)
    large = stats.mean_ci([1, 0] * 500, seed=0)
    assert small[1] < 0.5 < small[2] and large[1] < 0.5 < large[2]
    assert large[2] - large[1] < (small[2] - small[1]) / 5
    # the normal approximation for n = 1000: ± 1.96 · 0.5 / √1000 ≈ 0.031
    assert large[2] - large[1] == pytest.approx(2 * 0.031, abs=0.006)


def test_same_seed_same_interval():
    values = np.random.default_rng(2).random(30)
    assert stats.mean_ci(values, seed=5) == stats.mean_ci(values, seed=5)


def test_task_average_resamples_each_task():
    mean, lo, hi = stats.task_average([[1.0] * 10, [0.0] * 10])
    assert (mean, lo, hi) == (0.5, 0.5, 0.5)
    diff = stats.paired_tasks([[1, 0, 1, 1]], [[1, 0, 1, 1]], name="avg")
    assert diff == {"avg_diff": 0.0, "avg_diff_ci_lo": 0.0, "avg_diff_ci_hi": 0.0}


def test_auroc_and_its_interval():
    score, label = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])
    assert stats.auroc(score, label) == pytest.approx(0.75)
    lo, hi = stats.auroc_ci(score, label)
    assert 0.0 <= lo <= 0.75 <= hi <= 1.0


def test_demeaned_subtracts_each_groups_mean():
    out = stats.demeaned([1.0, 2.0, 3.0, 5.0, 7.0], ["a", "a", "b", "b", "c"])
    assert out.tolist() == [-0.5, 0.5, -1.0, 1.0, 0.0]
