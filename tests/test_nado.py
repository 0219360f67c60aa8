"""NADO: the loss terms, q*, and guided decoding, against hand-computed values on tiny vocabularies."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import greedy_changes, nado_greedy, randomise

from attrctl.nado import decode, diagnostics, model, qstar
from attrctl.nado.loss import consistency_sum, importance_weights, nado_loss
from attrctl.nado.train import cache_base, collate, examples, loss_terms


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_nado_loss_hand_computed():
    # prompt t0 = 0, continuation t1 = 1, t2 = 0; vocabulary {0, 1}; label c = 0.8
    ids = torch.tensor([[0, 1, 0]])
    cont = torch.tensor([[0, 1, 1]])
    r = torch.tensor([[[0.0, 1.0], [-1.0, 0.5], [0.3, 0.3]]])
    base_logp = torch.tensor([[[0.5, 0.5], [0.25, 0.75], [0.5, 0.5]]]).log()
    a = r[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)
    s = consistency_sum(base_logp[:, 1:-1], r[:, 1:-1])
    loss, logs = nado_loss(a, s, cont, torch.tensor([0.8]), torch.ones(1), lambda_cons=0.5)

    def bce(z, c):
        return -(c * math.log(sig(z)) + (1 - c) * math.log(1 - sig(z)))

    # a_0 = r_0[t1] = 1.0 (prefix t<=1), a_1 = r_1[t2] = -1.0 (prefix t<=2); both regressed to c
    expected_bce = bce(1.0, 0.8) + bce(-1.0, 0.8)
    # consistency at j = 1: R(t<=1) = σ(a_0) against S_1 = Σ_v p(v | t<=1) σ(r_1[v])
    s1 = 0.25 * sig(-1.0) + 0.75 * sig(0.5)
    rh = sig(1.0)
    expected_kl = rh * math.log(rh / s1) + (1 - rh) * math.log((1 - rh) / (1 - s1))
    assert logs["bce"] == pytest.approx(expected_bce, rel=1e-5)
    assert logs["consistency"] == pytest.approx(expected_kl, rel=1e-4)
    assert float(loss) == pytest.approx(expected_bce + 0.5 * expected_kl, rel=1e-5)


def test_nado_loss_ignores_prompt_and_padding():
    ids = torch.tensor([[0, 1, 0, 0]])
    r = torch.randn(1, 4, 2)
    base_logp = torch.log_softmax(torch.randn(1, 4, 2), -1)

    def loss(length, cont):
        a = r[:, : length - 1].gather(-1, ids[:, 1:length, None]).squeeze(-1)
        s = consistency_sum(base_logp[:, 1 : length - 1], r[:, 1 : length - 1])
        return nado_loss(a, s, torch.tensor([cont]), torch.tensor([0.8]), torch.ones(1), 0.5)[0]

    assert float(loss(4, [0, 1, 1, 0])) == pytest.approx(float(loss(3, [0, 1, 1])))


@pytest.mark.parametrize("head", ["vocab", "embedding"])
def test_top_k_consistency_over_the_whole_vocabulary_is_exact(tiny_model, tokenizer, head):
    """The cached top-k path with k = |V| gives the same loss terms as the full-vocabulary forward pass."""
    torch.manual_seed(0)
    nado_model = model.build(tiny_model, "small", 1, 4, head)
    randomise(nado_model, 0.5)
    rows = [  # examples() reads prompt_id too
        {
            "prompt_id": "a",
            "prompt_ids": [5, 6, 7],
            "token_ids": [8, 9, 10, 11],
            "toxicity": 0.2,
            "logprobs": [-1.0] * 4,
        },
        {"prompt_id": "b", "prompt_ids": [5, 6], "token_ids": [12, 13, 14], "toxicity": 0.9, "logprobs": [-1.0] * 3},
    ]
    plain = collate(examples(rows, "soft", 0.5), tokenizer.pad_token_id)
    cached = collate(cache_base(tiny_model, examples(rows, "soft", 0.5), tokenizer.pad_token_id, len(tokenizer)), 0)
    cached["input_ids"] = plain["input_ids"]
    a_full, s_full = loss_terms(tiny_model, nado_model, plain)
    a_top, s_top = loss_terms(tiny_model, nado_model, cached)
    pairs = (plain["target_mask"][:, 1:-1] * plain["target_mask"][:, 2:]).bool()
    real = plain["target_mask"][:, 1:].bool()  # padding positions are masked out of the loss
    assert torch.allclose(a_full[real], a_top[real], atol=1e-5)
    assert torch.allclose(s_full[pairs], s_top[pairs], atol=1e-5)


def test_importance_weights():
    lp = torch.tensor([-1.0, -3.0])
    assert torch.allclose(importance_weights(lp, 1.0), torch.ones(2))
    # T = 2: w ∝ exp(0.5 · log p) = p^0.5, mean 1
    w = importance_weights(lp, 2.0)
    e = [math.exp(-0.5), math.exp(-1.5)]
    assert w.tolist() == pytest.approx([2 * e[0] / sum(e), 2 * e[1] / sum(e)], rel=1e-6)


P = [0.5, 0.3, 0.2]
SIG_R = [0.9, 0.5, 0.1]


def q_star(delta: float, strength: float = 1.0) -> list[float]:
    p, rv = torch.tensor(P).log(), torch.logit(torch.tensor(SIG_R))
    r_x = torch.tensor(sum(a * b for a, b in zip(P, SIG_R, strict=True)))  # R(x) = Σ p σ(r) = 0.62
    return qstar.guided_log_probs(p, rv, r_x, delta, strength).exp().tolist()


def test_q_star_delta_one_is_p_times_r():
    unnorm = [a * b for a, b in zip(P, SIG_R, strict=True)]
    assert q_star(1.0) == pytest.approx([u / sum(unnorm) for u in unnorm], rel=1e-5)


def test_q_star_below_prompt_success_rate_is_p():
    assert q_star(0.62) == pytest.approx(P, rel=1e-5)
    assert q_star(0.3) == pytest.approx(P, rel=1e-5)


def test_q_star_intermediate_delta_hand_computed():
    # δ = 0.8: bracket = (0.8 − 0.62)·σ(r) + (1 − 0.8)·0.62 = [0.286, 0.214, 0.142]
    unnorm = [0.5 * 0.286, 0.3 * 0.214, 0.2 * 0.142]
    assert q_star(0.8) == pytest.approx([u / sum(unnorm) for u in unnorm], rel=1e-4)


def test_decoding_strength_two_squares_the_nado_factor():
    # γ = 2, δ = 1: p · σ(r)² = [0.5·0.81, 0.3·0.25, 0.2·0.01] = [0.405, 0.075, 0.002], total 0.482
    assert q_star(1.0, 2.0) == pytest.approx([0.405 / 0.482, 0.075 / 0.482, 0.002 / 0.482], rel=1e-5)


PROMPTS = [
    {"id": "a", "subset": "x", "text": "On weekends, my boss likes to"},
    {"id": "b", "subset": "x", "text": "Shut up"},
]


def test_zero_initialised_nado_with_delta_one_leaves_the_base_unchanged(tiny_model, tokenizer):
    nado_model = model.build(tiny_model, "small", 1, 4, "vocab")
    enc = tokenizer([p["text"] for p in PROMPTS], return_tensors="pt", padding=True)
    processor = decode.NadoLogitsProcessor(tiny_model, nado_model, 1.0, 1.0, tokenizer.pad_token_id)
    try:
        with torch.no_grad():
            scores = tiny_model(**enc).logits[:, -1]
            guided = processor(enc.input_ids, scores)
    finally:
        processor.remove()
    assert torch.allclose(guided, torch.log_softmax(scores, -1), atol=1e-5)


def test_processor_and_guided_lm_agree(tiny_model, tokenizer):
    """With δ = 1, q* does not depend on R(x): the incremental processor (KV cache, left padding, k repeats)
    must pick exactly what whole-sequence scoring under GuidedLM ranks first."""
    rows, scorer = nado_greedy(tiny_model, tokenizer, PROMPTS)
    assert all(greedy_changes(rows, scorer, tiny_model)), "the NADO should have changed every greedy path"


@pytest.mark.parametrize("head", ["vocab", "embedding"])
def test_save_and_load_roundtrip(tmp_path, tiny_model, head):
    nado_model = model.build(tiny_model, "small", 1, 4, head)
    randomise(nado_model, 1.0)
    torch.nn.init.normal_(nado_model.head.bias)
    nado_model.save(tmp_path / "n")
    again = model.load(tmp_path / "n", tiny_model)
    assert type(again.head) is type(nado_model.head)
    h = torch.randn(1, 3, tiny_model.config.hidden_size)
    ids, mask = torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 3, dtype=torch.long)
    assert torch.allclose(nado_model(h, ids, mask)[0], again(h, ids, mask)[0])


def test_embedding_head_hand_computed():
    """r[v] = E_v · (W s) + b_v, the full vector and the picked tokens alike; it starts at 0 (R = 0.5)."""
    embeddings = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, -1.0]])  # E: 3 tokens, hidden size 2
    head = model.EmbeddingHead(embeddings)
    states = torch.tensor([[[1.0, 3.0]]])  # s: (B, T, H) = (1, 1, 2)
    assert torch.equal(head(states), torch.zeros(1, 1, 3))
    with torch.no_grad():
        head.proj.weight.copy_(torch.tensor([[0.0, 1.0], [2.0, 0.0]]))  # W s = (3, 2)
        head.bias.copy_(torch.tensor([0.5, 0.0, -1.0]))
    # E W s = (1·3 + 0·2, 0·3 + 2·2, 1·3 − 1·2) = (3, 4, 1); plus b
    assert torch.allclose(head(states), torch.tensor([[[3.5, 4.0, 0.0]]]))
    assert torch.allclose(head.at(states, torch.tensor([[[2, 0]]])), torch.tensor([[[0.0, 3.5]]]))
    assert [name for name, _ in head.named_parameters()] == ["bias", "proj.weight"]  # E stays frozen, unsaved


def test_lora_trunk_trains_only_adapters_and_head(tiny_model):
    nado_model = model.build(tiny_model, "lora", 1, 2, "vocab")
    state = nado_model.trainable_state()
    assert any("lora_" in k for k in state) and "head.weight" in state
    assert not any("q_proj.base_layer" in k for k in state)


def test_calibration_is_against_the_label_nado_trained_on(tiny_model, tokenizer):
    """A zero-initialised NADO says R(x) = 0.5 for every prompt. Per prompt, toxicities 0.2, 0.5, 0.8: soft labels
    1 − toxicity average 0.5 (calibrated, ECE 0); 0/1 labels (toxic: > 0.5) average 2/3 (ECE 2/3 − 0.5)."""
    nado_model = model.build(tiny_model, "small", 1, 4, "embedding")
    rows = [
        {"prompt_id": pid, "prompt_ids": [5, 6], "token_ids": [7, 8], "toxicity": tox, "logprobs": [-1.0] * 2}
        for pid in ("a", "b")
        for tox in (0.2, 0.5, 0.8)
    ]
    soft, _ = diagnostics.diagnostics(tiny_model, nado_model, rows, 0.5, "soft", tokenizer.pad_token_id)
    hard, _ = diagnostics.diagnostics(tiny_model, nado_model, rows, 0.5, "threshold", tokenizer.pad_token_id)
    near = {"abs": 1e-5}  # R(x) sums p(v|x)·0.5 over 49,152 tokens in float32: ~4e-7 off, by the CPU's kernel
    assert soft["nado_r_x_mean"] == pytest.approx(0.5, **near) and hard["nado_r_x_mean"] == pytest.approx(0.5, **near)
    assert soft["nado_target_mean"] == pytest.approx(0.5) and soft["nado_ece"] == pytest.approx(0.0, **near)
    assert hard["nado_target_mean"] == pytest.approx(2 / 3) and hard["nado_ece"] == pytest.approx(2 / 3 - 0.5, **near)
    assert soft["nado_success_rate"] == hard["nado_success_rate"] == pytest.approx(2 / 3)
