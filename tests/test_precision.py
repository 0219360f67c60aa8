"""Mixed precision: fp32 master weights with bf16 autocast, frozen models in bf16, explicit casts where a frozen
model's output meets a trained module. On CPU (bf16 autocast works there too) and, marked `cuda`, on a GPU."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import randomise

from attrctl.batch import SFT, collate
from attrctl.config import RuntimeConfig, TrainConfig
from attrctl.finetune.objectives import NadoReg
from attrctl.nado import decode, model, qstar, train
from attrctl.nado.diagnostics import diagnostics
from attrctl.nado.method import NadoConfig
from attrctl.runtime import Precision
from attrctl.training import Job, fit

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]
EXAMPLES = [
    {"prompt_ids": [5, 6, 7], "target_ids": [8, 9, 10], "domain": "constraint"},
    {"prompt_ids": [11, 12], "target_ids": [13, 14, 15, 16], "domain": "general"},
]


def bf16(device: str) -> Precision:
    return Precision(RuntimeConfig(precision="bf16"), torch.device(device))


def test_auto_is_bf16_on_cuda_and_fp32_on_cpu():
    auto = RuntimeConfig(precision="auto")
    assert Precision(auto, torch.device("cpu")).autocast is None
    assert Precision(auto, torch.device("cuda")).autocast is torch.bfloat16
    assert Precision(auto, torch.device("cuda")).frozen is torch.bfloat16
    assert Precision(RuntimeConfig(precision="fp32"), torch.device("cuda")).autocast is None


@pytest.mark.parametrize("device", DEVICES)
def test_a_mixed_precision_step_moves_every_trained_weight(tmp_path, tiny_model, tokenizer, device):
    """At lr 1e-5 pure-bf16 weights round most updates away; fp32 master weights keep every one."""
    policy = copy.deepcopy(tiny_model).to(device).float().train().requires_grad_(True)
    before = {k: v.detach().clone() for k, v in policy.named_parameters()}
    cfg = TrainConfig(lr=1e-5, epochs=1, batch_size=2, max_grad_norm=0.0)
    fit(policy, SFT(), EXAMPLES, lambda b: collate(b, 0), cfg, 0, Job(tmp_path / "c", "fp", precision=bf16(device)))
    for name, param in policy.named_parameters():
        assert param.dtype == torch.float32, name
        assert not torch.equal(param.detach(), before[name]), f"{name} did not move"


@pytest.mark.parametrize("head", ["vocab", "embedding"])
@pytest.mark.parametrize("device", DEVICES)
def test_bf16_teacher_and_nado_under_autocast_match_fp32(tiny_model, tokenizer, device, head):
    """q* and the nado_reg loss from a bf16 teacher with an fp32 NADO under bf16 autocast agree with fp32."""
    torch.manual_seed(0)
    teacher32 = copy.deepcopy(tiny_model).to(device).float()
    guide = model.build(teacher32, "small", 1, 4, head)
    randomise(guide, 0.5)
    batch = collate(EXAMPLES, tokenizer.pad_token_id)
    policy = copy.deepcopy(tiny_model).to(device).float()
    reference, _ = NadoReg(teacher32, guide, 1.0, 10.0, "reverse")(policy, batch)
    teacher16 = copy.deepcopy(teacher32).to(torch.bfloat16)
    with bf16(device).context():
        mixed, _ = NadoReg(teacher16, guide, 1.0, 10.0, "reverse")(policy, batch)
    assert torch.isfinite(mixed) and mixed.item() == pytest.approx(reference.item(), rel=0.05)
    p = torch.log_softmax(torch.randn(4, 50, device=device), -1)
    r = torch.randn(4, 50, device=device)
    exact = qstar.guided_log_probs(p, r, qstar.success_rate(p, r), 0.9)
    with bf16(device).context():
        low = qstar.guided_log_probs(p.bfloat16(), r.bfloat16(), qstar.success_rate(p, r), 0.9)
    assert torch.allclose(low.float().exp(), exact.exp(), atol=2e-2)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("head", ["vocab", "embedding"])
def test_nado_training_and_guided_decoding_with_a_bf16_base(tmp_path, tiny_model, tokenizer, device, head):
    """The crash seen on a GPU: a trunk in fp32 reading a bf16 base (training, diagnostics and decoding)."""
    base = copy.deepcopy(tiny_model).to(device).to(torch.bfloat16)
    nado_model = model.build(base, "small", 1, 4, head).float()
    train.make_trainable(nado_model)
    rows = [
        {"prompt_id": "a", "prompt_ids": [5, 6, 7], "token_ids": [8, 9, 10], "toxicity": 0.1, "logprobs": [-1.0] * 3},
        {"prompt_id": "b", "prompt_ids": [5, 6], "token_ids": [12, 13], "toxicity": 0.9, "logprobs": [-1.0] * 2},
    ]
    cfg = NadoConfig(consistency_top_k=8, train=TrainConfig(lr=1e-3, epochs=2, batch_size=2))
    history, _ = train.train(
        base, nado_model, rows, cfg, 0.5, 1.0, 0, 0, Job(tmp_path / "n", "fp", precision=bf16(device))
    )
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in history)
    # the full-vocabulary path reads the cached states
    metrics, _ = diagnostics(base, nado_model, rows, 0.5, "threshold", 0)
    assert 0.0 <= metrics["nado_r_x_mean"] <= 1.0
    processor = decode.NadoLogitsProcessor(base, nado_model.eval(), 1.0, 1.0, tokenizer.pad_token_id)
    try:
        ids = torch.tensor([[5, 6, 7]], device=device)
        with torch.no_grad():
            scores = base(ids).logits[:, -1]
            guided = processor(ids, scores)
    finally:
        processor.remove()
    assert guided.dtype == torch.float32 and torch.isfinite(guided).all()
