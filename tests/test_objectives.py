"""Fine-tuning objectives against hand-computed values on a two-token vocabulary."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import randomise

from attrctl.batch import SFT, collate
from attrctl.finetune.objectives import NadoReg, nado_reg_loss
from attrctl.nado.model import build


def lg(*probs):
    return torch.tensor(probs).log()


def kl(a, b):
    return sum(x * math.log(x / y) for x, y in zip(a, b, strict=True))


# two examples, one target position each
LOGP = torch.stack([lg(0.6, 0.4), lg(0.3, 0.7)])[:, None]  # (B=2, T=1, V=2)
TARGETS = torch.tensor([[0], [1]])
MASK = torch.ones(2, 1)
LOGQ = torch.stack([lg(0.8, 0.2), lg(0.9, 0.1)])[:, None]
TASK = (-math.log(0.6) - math.log(0.7)) / 2


@pytest.mark.parametrize("direction", ["reverse", "forward"])
def test_nado_reg_loss_both_directions(direction):
    loss, logs = nado_reg_loss(LOGP, TARGETS, MASK, LOGQ, kl_weight=0.5, direction=direction)
    p, q = [(0.6, 0.4), (0.3, 0.7)], [(0.8, 0.2), (0.9, 0.1)]
    kls = [kl(p[i], q[i]) if direction == "reverse" else kl(q[i], p[i]) for i in range(2)]
    assert logs["task"] == pytest.approx(TASK, rel=1e-5)
    assert float(loss) == pytest.approx(TASK + 0.5 * sum(kls) / 2, rel=1e-5)


def test_adaptive_routes_by_domain():
    logp0 = torch.stack([lg(0.5, 0.5), lg(0.5, 0.5)])[:, None]
    general = torch.tensor([False, True])  # example 0: constraint domain, example 1: general domain
    loss, _ = nado_reg_loss(LOGP, TARGETS, MASK, LOGQ, kl_weight=0.5, general=general, logp0=logp0, general_weight=2.0)
    # constraint: λ·KL(pθ ‖ q*); general: β·KL(pθ ‖ p0)
    expected = TASK + (0.5 * kl((0.6, 0.4), (0.8, 0.2)) + 2.0 * kl((0.3, 0.7), (0.5, 0.5))) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_lambda_zero_is_sft_exactly(tiny_model, tokenizer):
    import copy

    examples = [
        {"prompt_ids": [5, 6, 7], "target_ids": [8, 9], "domain": "constraint"},
        {"prompt_ids": [10, 11], "target_ids": [12, 13, 14], "domain": "general"},
    ]
    batch = collate(examples, tokenizer.pad_token_id)
    teacher = copy.deepcopy(tiny_model)
    guide = build(teacher, "small", 1, 4, "embedding")
    randomise(guide)
    results = []
    for objective in (SFT(), NadoReg(teacher, guide, 1.0, 0.0, "reverse")):
        tiny_model.zero_grad()
        tiny_model.requires_grad_(True)
        loss, _ = objective(tiny_model, batch)
        loss.backward()
        results.append((loss.item(), [p.grad.clone() for p in tiny_model.parameters()]))
    tiny_model.requires_grad_(False)
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1], strict=True):
        assert torch.equal(a, b)


def test_collate_marks_targets_and_domains():
    batch = collate(
        [
            {"prompt_ids": [1, 2], "target_ids": [3], "domain": "general"},
            {"prompt_ids": [4], "target_ids": [5, 6, 7], "domain": "constraint"},
        ],
        pad_id=0,
    )
    assert batch["input_ids"].tolist() == [[1, 2, 3, 0], [4, 5, 6, 7]]
    assert batch["target_mask"].tolist() == [[0, 0, 1, 0], [0, 1, 1, 1]]
    assert batch["constraint"].tolist() == [False, True]
