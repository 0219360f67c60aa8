"""L3M: the relaxed log barrier against hand-computed values, the μ schedule, and the objective on a tiny model."""

from __future__ import annotations

import math

import pytest

from attrctl.l3m.barrier import barrier, barrier_slope, mu_at


def test_barrier_on_the_log_part():
    # μ = 0.5, s = 0.25; z = -1 <= -s: -0.5·log(1) = 0; slope -μ/z = 0.5
    assert barrier(-1.0, 0.5) == pytest.approx(0.0)
    assert barrier_slope(-1.0, 0.5) == pytest.approx(0.5)
    assert barrier(-0.5, 0.5) == pytest.approx(-0.5 * math.log(0.5))


def test_barrier_on_the_linear_part():
    # μ = 0.5, s = 0.25; z = 0.1 > -s: 0.5·0.1/0.25 − 0.5·log(0.25) + 0.5
    assert barrier(0.1, 0.5) == pytest.approx(0.2 - 0.5 * math.log(0.25) + 0.5)
    assert barrier_slope(0.1, 0.5) == pytest.approx(2.0)  # μ/s


@pytest.mark.parametrize("mu", [1.0, 0.3, 0.01])
def test_value_and_slope_are_continuous_at_the_junction(mu):
    s, eps = mu * mu, 1e-12
    assert barrier(-s - eps, mu) == pytest.approx(barrier(-s + eps, mu), rel=1e-6, abs=1e-6)
    assert barrier_slope(-s - eps, mu) == pytest.approx(barrier_slope(-s + eps, mu), rel=1e-5)
    assert barrier(-s, mu) == pytest.approx(-mu * math.log(s))


def test_small_mu_approaches_the_indicator():
    """Satisfied constraints cost almost nothing, violated ones a lot, as μ shrinks."""
    assert abs(barrier(-0.5, 0.001)) < 0.001
    assert barrier(0.1, 0.001) > 50 * barrier(0.1, 0.1) > 50
    assert barrier_slope(-0.5, 0.001) < barrier_slope(-0.5, 0.1)


def test_mu_schedule():
    assert mu_at(0, 11, 1.0, 0.01) == pytest.approx(1.0)
    assert mu_at(10, 11, 1.0, 0.01) == pytest.approx(0.01)
    assert mu_at(5, 11, 1.0, 0.01) == pytest.approx(0.1)  # geometric: halfway in log space


def test_a_satisfied_constraint_leaves_sft(tiny_model, tokenizer):
    """Far inside its bound, a constraint's multiplier B′(ĉ) = −μ/ĉ vanishes with μ: the objective is SFT's."""
    import copy

    import torch

    from attrctl.batch import SFT, collate
    from attrctl.l3m.method import Constraint, L3MConfig
    from attrctl.l3m.objective import L3M

    examples = [
        {"prompt_ids": [5, 6, 7], "target_ids": [8, 9]},
        {"prompt_ids": [10, 11], "target_ids": [12, 13, 14]},
    ]
    prompts = [e["prompt_ids"] for e in examples]
    batch = collate(examples, tokenizer.pad_token_id)
    batch.update(step=9, total_steps=10)  # what the training loop adds
    cfg = L3MConfig(mu_start=1e-6, mu_end=1e-6, generations=2, max_new_tokens=3)
    grads = []
    for make in (
        lambda m: SFT(),
        lambda m: L3M(m, tokenizer, None, prompts, [Constraint(metric="length", bound=1000.0)], cfg, 0.9, 0),
    ):
        model = copy.deepcopy(tiny_model).train().requires_grad_(True)
        loss, logs = make(model)(model, batch)
        loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
        if "length_c_hat" in logs:
            assert logs["length_c_hat"] < -0.99 + cfg.margin and logs["length_multiplier"] < 2e-6 and logs["mu"] == 1e-6
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


def test_the_constraints_gradient_is_capped_at_the_task_gradients_norm():
    """∇task = (3, 4) (norm 5), ∇push = (0, 10) (norm 10): at cap 1 the push is halved, gradient (3, 9); at cap
    4 it is left alone (scale 1); the loss's value is task + scale·push."""
    import torch

    from attrctl.l3m.objective import capped

    model = torch.nn.Module()
    model.w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    for cap, scale, grad in ((1.0, 0.5, [3.0, 9.0]), (4.0, 1.0, [3.0, 14.0]), (None, 1.0, [3.0, 14.0])):
        model.w.grad = None
        task, push = model.w @ torch.tensor([3.0, 4.0]), model.w @ torch.tensor([0.0, 10.0])  # 11 and 20
        loss, s = capped(task, push, model, cap)
        loss.backward()
        assert s == pytest.approx(scale)
        assert loss.item() == pytest.approx(11.0 + scale * 20.0)
        assert model.w.grad.tolist() == pytest.approx(grad)


def test_a_violated_length_constraint_pushes_towards_shorter_samples(tiny_model, tokenizer):
    """The score-function term rewards the shorter samples of each prompt (a bound of 1 token is violated)."""
    import copy

    from attrctl.batch import collate
    from attrctl.l3m.method import Constraint, L3MConfig
    from attrctl.l3m.objective import L3M

    batch = collate([{"prompt_ids": [5, 6, 7], "target_ids": [8, 9]}], tokenizer.pad_token_id)
    batch.update(step=0, total_steps=10)
    cfg = L3MConfig(generations=4, max_new_tokens=6, mu_start=1.0)
    model = copy.deepcopy(tiny_model).train().requires_grad_(True)
    bounded = [Constraint(metric="length", bound=1.0)]
    _, logs = L3M(model, tokenizer, None, [[5, 6, 7]], bounded, cfg, 1.0, 0)(model, batch)
    assert logs["length_c_hat"] > 0 and logs["length_multiplier"] == pytest.approx(1.0)  # μ/s at μ = 1
    assert logs["length_mean"] > 1.0
    # ĉ is measured against the bound tightened by the margin: mean/b − (1 − margin)
    assert logs["length_c_batch"] == pytest.approx(logs["length_mean"] - (1.0 - cfg.margin))
    mm, _ = L3M(model, tokenizer, None, [[5, 6, 7]], bounded, cfg, 1.0, 0, {"length": 0.0})(model, batch)
    assert mm.item() == pytest.approx(logs["task"], rel=1e-5)  # mm with λ = 0 is SFT


def test_a_metric_bounded_on_both_sides_logs_each_bound(tiny_model, tokenizer):
    """length ≥ 1 and ≤ 1000 in one set: each bound gets its own log keys, measured against its own bound."""
    import copy

    from attrctl.batch import collate
    from attrctl.l3m.method import Constraint, L3MConfig
    from attrctl.l3m.objective import L3M

    batch = collate([{"prompt_ids": [5, 6, 7], "target_ids": [8, 9]}], tokenizer.pad_token_id)
    batch.update(step=0, total_steps=10)
    cfg = L3MConfig(generations=2, max_new_tokens=4, margin=0.0)
    both = [Constraint(metric="length", bound=1.0, sense="ge"), Constraint(metric="length", bound=1000.0)]
    model = copy.deepcopy(tiny_model).train().requires_grad_(True)
    _, logs = L3M(model, tokenizer, None, [[5, 6, 7]], both, cfg, 1.0, 0)(model, batch)
    assert "length_c_hat" not in logs
    assert logs["length_ge_mean"] == pytest.approx(logs["length_le_mean"])  # the same samples
    assert logs["length_ge_c_batch"] == pytest.approx(1.0 - logs["length_ge_mean"])  # −(mean/1 − 1)
    assert logs["length_le_c_batch"] == pytest.approx(logs["length_le_mean"] / 1000.0 - 1.0)


def test_the_l3m_table_says_met_only_when_the_interval_does(tmp_path):
    import yaml
    from conftest import REPO

    from attrctl.config import parse
    from attrctl.l3m import report

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["l3m"]["constraints"] = {"len5": [{"metric": "length", "bound": 5.0, "sense": "le"}]}
    cfg = parse(raw)

    def rows(lengths):
        return [
            {"prompt_id": f"p{i % 10}", "text": " ".join(["w"] * n) + ". More.", "toxicity": 0.0}
            for i, n in enumerate(lengths)
        ]

    annotations = {"l3m_len5": rows([2, 3] * 20), "mm_len5": rows([4, 7] * 20), "base": rows([9] * 40)}
    nan = float("nan")
    # per example; a NaN (an empty target) in either model drops that example from the pairing. Unflagged
    # examples cost 1.2x sft's perplexity, the flagged one (3 tokens) 2x.
    flags = {"tokens": [1, 3, 2, 4], "flagged": [0, 1, 0, 0]}
    task_ppl = {
        "l3m_len5": {"task_ppl": 12.0, "per_example": [12.0, 10.0, 18.0, nan], **flags},
        "sft": {"task_ppl": 10.0, "per_example": [10.0, 5.0, 15.0, 7.0], **flags},
    }
    table = report.rows(cfg, ["base", "sft", "l3m_len5", "mm_len5"], annotations | {"sft": rows([9] * 40)}, task_ppl)
    by_model = {r["model"]: r for r in table}
    l3m = by_model["l3m_len5"]
    # ratio of means: (12 + 10 + 18) / (10 + 5 + 15); pooled: exp((1·log 1.2 + 3·log 2 + 2·log 1.2) / 6)
    assert l3m["task_ppl_vs_sft"] == pytest.approx(40 / 30)
    assert l3m["pooled_vs_sft"] == pytest.approx((1.2 * 2.0) ** 0.5)
    # unflagged: every example 1.2x sft's, so the ratio and its whole interval are 1.2
    assert (l3m["unflagged_vs_sft"], l3m["unflagged_vs_sft_ci_lo"], l3m["unflagged_vs_sft_ci_hi"]) == pytest.approx(
        (1.2, 1.2, 1.2)
    )
    assert math.isnan(by_model["mm_len5"]["task_ppl_vs_sft"]) and math.isnan(by_model["sft"]["task_ppl_vs_sft"])
    assert by_model["l3m_len5"]["measured"] == pytest.approx(2.5) and by_model["l3m_len5"]["met"] == "yes"
    assert by_model["mm_len5"]["measured"] == pytest.approx(5.5) and by_model["mm_len5"]["met"] == "no"
    assert by_model["base"]["met"] == "–" and l3m["task_ppl"] == 12.0
    report.lengths_plot(cfg, annotations, tmp_path / "l.png")
    report.multipliers_plot({}, tmp_path / "m.png")
    assert (tmp_path / "l.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("text", "words"),
    [(" It is fine. And more", 3), (" yes!", 1), ("\nA new line", 0), (" no end in sight", 4), ("", 0)],
)
def test_the_response_is_the_first_sentence(text, words):
    from attrctl.l3m.constraints import response_length

    assert response_length(text) == words


def test_the_multiplier_follows_a_running_estimate_of_the_constraint(tiny_model, tokenizer):
    """B′ is evaluated at ĉ's moving average: the first step's is its batch's, each later one mixes in the past by
    l3m.smoothing; the average travels in state_dict (the training checkpoint)."""
    import copy

    from attrctl.batch import collate
    from attrctl.l3m.method import Constraint, L3MConfig
    from attrctl.l3m.objective import L3M

    batch = collate([{"prompt_ids": [5, 6, 7], "target_ids": [8, 9]}], tokenizer.pad_token_id)
    cfg = L3MConfig(generations=4, max_new_tokens=6, smoothing=0.75)
    model = copy.deepcopy(tiny_model).train().requires_grad_(True)

    def make():
        return L3M(model, tokenizer, None, [[5, 6, 7]], [Constraint(metric="length", bound=2.0)], cfg, 1.0, 0)

    objective, logs = make(), []
    for step in range(3):
        batch.update(step=step, total_steps=10)
        logs.append(objective(model, batch)[1])
    assert logs[0]["length_c_hat"] == logs[0]["length_c_batch"]
    for past, now in zip(logs, logs[1:], strict=False):
        assert now["length_c_hat"] == pytest.approx(0.75 * past["length_c_hat"] + 0.25 * now["length_c_batch"])
        assert now["length_multiplier"] == pytest.approx(barrier_slope(now["length_c_hat"], now["mu"]))
    resumed = make()
    resumed.load_state_dict(objective.state_dict())
    batch.update(step=3)
    assert resumed(model, batch)[1]["length_c_hat"] == pytest.approx(objective(model, batch)[1]["length_c_hat"])
