"""DGLM: the noise schedule and v-prediction against hand-computed values, the diffusion loss, guidance, the
soft-prompt decoder's shapes and masking, its keyword read-out, the sampler's soft-prompt path, and a run's guided
directory sampled through the shared loader."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attrctl.config import SampleConfig
from attrctl.dglm import decoder as dec
from attrctl.dglm import diffusion
from attrctl.dglm.guidance import Guide, fit, sentiment_labels
from attrctl.dglm.keywords import Keywords
from attrctl.dglm.method import DenoiserConfig


def test_cosine_schedule_matches_hand_computed_values():
    # t = 1/2: tan(π/4) = 1, logSNR 0, α = σ = √½; t = 1/3: tan(π/6) = 1/√3, logSNR log 3, α² = 3/4 = cos²(π/6)
    snr = diffusion.logsnr(torch.tensor([0.5, 1 / 3, 0.0, 1.0]))
    assert snr[:2].tolist() == pytest.approx([0.0, math.log(3)], abs=1e-5)
    assert snr[2:].tolist() == pytest.approx([15.0, -15.0])  # clipped at both ends
    alpha, sigma = diffusion.alpha_sigma(snr)
    assert alpha[:2].tolist() == pytest.approx([math.sqrt(0.5), math.sqrt(0.75)], abs=1e-6)
    assert (alpha**2 + sigma**2).tolist() == pytest.approx([1.0] * 4, abs=1e-6)


def test_v_target_and_its_inverse_match_hand_computed_values():
    x0, eps = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
    a = s = torch.tensor(math.sqrt(0.5))
    v = diffusion.v_target(x0, eps, a, s)  # √½·(0.5 − 1, −1 − 2)
    assert v.tolist() == pytest.approx([-0.5 * math.sqrt(0.5), -3 * math.sqrt(0.5)], abs=1e-6)
    z = a * x0 + s * eps
    back_x0, back_eps = diffusion.x0_and_eps(z, v, a, s)
    assert back_x0.tolist() == pytest.approx([1.0, 2.0], abs=1e-6)
    assert back_eps.tolist() == pytest.approx([0.5, -1.0], abs=1e-6)


class _Oracle(torch.nn.Module):
    """Predicts v from z_t exactly, knowing x0: σ·v = α·z − x0."""

    def __init__(self, x0: torch.Tensor, offset: float) -> None:
        super().__init__()
        self.x0, self.offset = x0, offset

    def forward(self, z, snr, cond, null):
        alpha, sigma = (a[:, None] for a in diffusion.alpha_sigma(snr))
        return (alpha * z - self.x0) / sigma + self.offset


def test_diffusion_loss_is_the_mean_squared_v_error():
    x0 = torch.randn(6, 4)
    batch = {"latent": x0, "cond": torch.zeros(6, 3)}
    exact, _ = diffusion.DiffusionLoss(0.1)(_Oracle(x0, 0.0), batch)
    off_by_one, _ = diffusion.DiffusionLoss(0.1)(_Oracle(x0, 1.0), batch)
    assert float(exact) == pytest.approx(0.0, abs=1e-4)
    assert float(off_by_one) == pytest.approx(1.0, abs=1e-3)


def _denoiser() -> diffusion.Denoiser:
    torch.manual_seed(0)
    return diffusion.Denoiser(8, 3, DenoiserConfig(latent_tokens=2, width=16, layers=1, heads=2)).eval()


class _Standard(torch.nn.Module):
    """The exact denoiser for x0 ~ N(0, I): E[x0 | z_t] = α·z_t, i.e. v = 0."""

    dim = 8

    def forward(self, z, snr, cond, null):
        return torch.zeros_like(z)


@pytest.mark.parametrize("attribute, sign", [("sentiment", 1.0), ("toxicity", -1.0)])
def test_guidance_moves_proposals_to_the_wanted_side(attribute, sign):
    model, cond = _Standard(), torch.zeros(256, 3)
    coef = [1.0] + [0.0] * 7  # the classifier reads the first dimension
    guide = Guide({attribute: {"coef": coef, "intercept": 0.0}}, {attribute: 5.0})
    free = diffusion.sample(model, cond, 50, torch.Generator().manual_seed(2))
    guided = diffusion.sample(model, cond, 50, torch.Generator().manual_seed(2), guide=guide)
    # unguided: N(0, I) proposals; guided: the first dimension moves to the wanted side (positive logit for
    # sentiment, negative for toxicity), the others, which the classifier ignores, stay where they were
    assert abs(float(free.mean())) < 0.1 and float(free.std()) == pytest.approx(1.0, abs=0.1)
    assert sign * float(guided[:, 0].mean() - free[:, 0].mean()) > 1.0
    assert torch.allclose(guided[:, 1:], free[:, 1:], atol=1e-5)


def test_guides_compose_by_summing_their_log_likelihoods():
    classifiers = {
        "toxicity": {"coef": [1.0, 0.0], "intercept": 0.5},
        "sentiment": {"coef": [0.0, 2.0], "intercept": 0.0},
    }
    x0 = torch.tensor([[1.0, -1.0], [0.0, 3.0]])
    both = Guide(classifiers, {"toxicity": 2.0, "sentiment": 3.0})(x0)
    # 2·log σ(−(x + 0.5)) + 3·log σ(2y), by hand
    logsig = lambda t: -math.log1p(math.exp(-t))  # noqa: E731
    expected = [2 * logsig(-1.5) + 3 * logsig(-2.0), 2 * logsig(-0.5) + 3 * logsig(6.0)]
    assert both.tolist() == pytest.approx(expected, abs=1e-5)


def test_cfg_weight_one_skips_the_unconditional_pass_and_other_weights_use_it():
    model, cond = _denoiser(), torch.randn(4, 3)
    one = diffusion.sample(model, cond, 5, torch.Generator().manual_seed(0), cfg_weight=1.0)
    two = diffusion.sample(model, cond, 5, torch.Generator().manual_seed(0), cfg_weight=2.0)
    assert not torch.allclose(one, two)


def test_latent_classifier_reports_heldout_auroc():
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(200, 4))
    labels = (latents[:, 0] > 0).astype(int)
    out = fit(latents, labels, np.arange(200) % 5 == 0, 1.0, 0)
    assert out["heldout_auroc"] > 0.95 and out["heldout_auroc_ci_lo"] <= out["heldout_auroc"]
    assert out["coef"][0] > abs(out["coef"][1])


def test_latent_classifier_of_one_class_is_constant():
    out = fit(np.ones((10, 3)), np.zeros(10, dtype=int), np.arange(10) < 3, 1.0, 0)
    assert out["coef"] == [0.0, 0.0, 0.0] and out["intercept"] < -5 and math.isnan(out["heldout_auroc"])


def test_sentiment_labels_are_vader_positive():
    assert sentiment_labels(["I love this wonderful day", "they are awful, horrible people", "it is a table"]) == [
        1,
        0,
        0,
    ]


@pytest.fixture
def decoder(tiny_model, tokenizer):
    import copy

    torch.manual_seed(0)
    return dec.build(copy.deepcopy(tiny_model), 4, soft_tokens=3, lora_rank=2, targets="all-linear", keywords=None)


def keyword_examples() -> list[dict]:
    # latent +e1 -> tokens 7 (and the common 5), -e1 -> token 9; e2 carries nothing
    return [
        {"prompt_ids": [1], "target_ids": [5, 7, 7], "latent": [1.0, 0.5]},
        {"prompt_ids": [1], "target_ids": [5, 7], "latent": [1.0, -0.5]},
        {"prompt_ids": [1], "target_ids": [5, 9], "latent": [-1.0, 0.5]},
        {"prompt_ids": [1], "target_ids": [5, 9], "latent": [-1.0, -0.5]},
    ]


def test_keywords_fit_the_closed_form_ridge_and_rank_by_lift():
    kw = Keywords.fit(keyword_examples(), m=1, ridge=1.0)
    assert kw.vocab.tolist() == [5, 7, 9]
    # Z = [[1, .5, 1], [1, -.5, 1], [-1, .5, 1], [-1, -.5, 1]]: ZᵀZ = diag(4, 1, 4), + λI = diag(5, 2, 5);
    # ZᵀY = [[0, 2, -2], [0, 0, 0], [4, 2, 2]] -> W = [[0, .4, -.4], [0, 0, 0], [.8, .4, .4]]
    expected = [[0.0, 0.4, -0.4], [0.0, 0.0, 0.0], [0.8, 0.4, 0.4]]
    assert kw.weight.tolist() == [pytest.approx(row, abs=1e-6) for row in expected]
    assert kw.frequency.tolist() == pytest.approx([1.0, 0.5, 0.5])
    # at +e1 token 5 is predicted 0.8, token 7 0.8: over √frequency the rarer 7 ranks first, 9 last
    assert kw(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), 1).tolist() == [[7], [9]]
    assert kw(torch.tensor([[1.0, 0.0]]), 3).tolist() == [[7, 5, 9]]
    with pytest.raises(ValueError, match="dglm.soft_tokens = 4 exceeds the 3 distinct tokens"):
        Keywords.fit(keyword_examples(), m=4)


def test_keyword_decoder_starts_at_the_keywords_embeddings_and_saves_its_read_out(tiny_model, tmp_path):
    import copy

    kw = Keywords.fit(keyword_examples(), m=2, ridge=1.0)
    decoder = dec.build(copy.deepcopy(tiny_model), 2, soft_tokens=2, lora_rank=2, targets=["q_proj"], keywords=kw)
    latent = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    embed = decoder.lm.get_input_embeddings().weight
    assert torch.equal(decoder.soft(latent), embed[kw(latent, 2)])  # the learned correction starts at zero
    with torch.no_grad():
        decoder.generator[-1].bias.fill_(0.1)
    dec.save(decoder, tmp_path, ["q_proj"])
    loaded = dec.load(tmp_path, copy.deepcopy(tiny_model), latent_dim=2, soft_tokens=2, lora_rank=2)
    assert torch.equal(loaded.keywords.weight, kw.weight)
    assert torch.allclose(loaded.soft(latent), decoder.soft(latent).detach(), atol=1e-6)


def test_decoder_batch_places_soft_tokens_between_prompt_and_continuation(decoder, tokenizer):
    pad = tokenizer.pad_token_id or 0
    examples = [
        {"prompt_ids": [5, 6], "target_ids": [7, 8, 9], "latent": [0.0] * 4},
        {"prompt_ids": [5, 6, 10, 11], "target_ids": [12], "latent": [1.0] * 4},
    ]
    batch = dec.collate(examples, pad, 3)
    assert batch["soft_positions"].tolist() == [[2, 3, 4], [4, 5, 6]]
    # the loss reads the continuation only: neither prompt nor soft tokens nor padding
    assert batch["target_mask"].tolist() == [[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 1]]
    logits = decoder(batch["input_ids"], batch["attention_mask"], batch["soft_positions"], batch["latent"])
    assert logits.shape == (2, 8, decoder.lm.config.vocab_size)
    other = decoder(batch["input_ids"], batch["attention_mask"], batch["soft_positions"], batch["latent"] + 1.0)
    # causal: positions before the soft tokens do not see the latent; the continuation does
    assert torch.allclose(logits[0, :2], other[0, :2], atol=1e-6)
    assert not torch.allclose(logits[0, 5:], other[0, 5:], atol=1e-4)
    without = dec.collate(examples, pad, 3, prompt_dropout=0.999)  # the prompts dropped: soft tokens first
    assert without["soft_positions"].tolist() == [[0, 1, 2], [0, 1, 2]]
    assert without["target_mask"].tolist() == [[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 0, 0]]
    loss, _ = dec.DecoderLoss(0.9)(decoder, batch)
    loss.backward()
    trained = [n for n, p in decoder.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert trained and all("lora" in n or n.startswith("generator") for n in trained)


def test_sampler_soft_prompt_path_matches_a_full_forward_pass(tiny_model, tokenizer):
    from attrctl.sampling import generate

    prompts = [
        {"id": "a", "subset": "s", "text": "Hello there"},
        {"id": "b", "subset": "s", "text": "A much longer prompt here"},
    ]
    hidden = tiny_model.config.hidden_size
    soft = torch.randn(4, 2, hidden, generator=torch.Generator().manual_seed(0))
    cfg = SampleConfig(k=2, max_new_tokens=4, greedy=False, top_p=0.999999, temperature=1.0)
    rows = generate(tiny_model, tokenizer, prompts, cfg.model_copy(update={"k": 2}), 0, 16, soft_prompts=soft)
    embed = tiny_model.get_input_embeddings()
    for i, row in enumerate(rows):  # prompt-major: row i uses soft prompt i
        ids = torch.tensor(row["prompt_ids"])
        seq = torch.cat([embed(ids), soft[i], embed(torch.tensor(row["token_ids"], dtype=torch.long))])[None]
        with torch.no_grad():
            logp = torch.log_softmax(tiny_model(inputs_embeds=seq).logits[0].float(), -1)
        start = len(row["prompt_ids"]) + 2 - 1  # the position that predicts the first continuation token
        expected = [float(logp[start + j, t]) for j, t in enumerate(row["token_ids"])]
        assert row["logprobs"] == pytest.approx(expected, abs=2e-3)


def test_follow_compares_each_text_with_the_latent_it_was_decoded_from(decoder, tokenizer):
    from types import SimpleNamespace

    from attrctl.dglm.generate import follow

    rng = np.random.default_rng(0)
    latent = rng.normal(size=(6, 4)).astype(np.float32)
    arrays = {"latent": latent, "mean": np.full(4, 0.5, np.float32), "std": np.full(4, 2.0, np.float32)}
    # rows 0 and 3 are not held-out base samples (a training pair, a corpus pair): follow must skip them
    rows = [
        {"prompt": f"prompt {i}", "generative": i != 3, "heldout": i != 0} for i in range(6)
    ]  # fmt: skip
    held = [1, 2, 4, 5]
    seen = []

    def encoder(texts):  # embeds the n-th text as the n-th held-out latent, de-standardised
        seen.append(len(texts))
        return latent[held] * 2.0 + 0.5

    cfg = SimpleNamespace(
        sample=SampleConfig(k=8, max_new_tokens=3), seed=0, dglm=SimpleNamespace(noise_infer=0.95),
        data=SimpleNamespace(max_prompt_tokens=8),
    )  # fmt: skip
    result = follow(decoder, tokenizer, encoder, rows, arrays, cfg)
    assert seen == [4, 4]  # one text per held-out pair, own latents then shuffled ones
    assert result["heldout_follow_cosine"] == pytest.approx(1.0, abs=1e-5)
    assert result["heldout_follow_cosine_shuffled"] < 0.9
    assert math.isnan(follow(decoder, tokenizer, encoder, rows[:2], arrays, cfg)["heldout_follow_cosine"])


def test_a_runs_guided_directory_samples_through_the_shared_loader(decoder, tiny_model_dir, tmp_path, monkeypatch):
    import json

    from attrctl import models
    from attrctl.dglm import data
    from attrctl.dglm.decode import write_guided_dir
    from attrctl.dglm.method import SAMPLING_KEYS, DglmConfig
    from attrctl.oracles import embedding

    class Encoder:  # a stand-in for the sentence encoder: a fixed 4-d unit vector per text
        def __init__(self, name: str) -> None:
            pass

        def __call__(self, texts: list[str]) -> np.ndarray:
            rows = np.stack([np.random.default_rng(len(t)).normal(size=4) for t in texts]).astype(np.float32)
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    monkeypatch.setattr(embedding, "Encoder", Encoder)
    rng = np.random.default_rng(0)
    arrays = {
        "latent": rng.normal(size=(5, 4)),
        "cond": rng.normal(size=(5, 4)),
        "mean": np.zeros(4),
        "std": np.ones(4),
    }
    data.save(tmp_path / "data", [], arrays)
    dglm = DglmConfig(
        runs={"dglm_tox": {"toxicity": 5.0}}, denoiser=DenoiserConfig(latent_tokens=2, width=16, layers=1, heads=2),
        sampling_steps=3, soft_tokens=3, lora_rank=2,
    )  # fmt: skip
    torch.manual_seed(0)
    diffusion.save(diffusion.Denoiser(4, 4, dglm.denoiser), tmp_path / "diffusion")
    dec.save(decoder, tmp_path / "decoder", "all-linear")
    classifier = {"coef": [1.0, 0.0, 0.0, 0.0], "intercept": 0.0}
    (tmp_path / "classifiers.json").write_text(json.dumps({"toxicity": classifier, "sentiment": classifier}))
    model = tmp_path / "models/dglm_tox"
    write_guided_dir(
        model, "dglm_tox", dglm, base=tiny_model_dir, data_dir=tmp_path / "data",
        diffusion_dir=tmp_path / "diffusion", decoder_dir=tmp_path / "decoder",
        classifiers=tmp_path / "classifiers.json",
    )  # fmt: skip
    spec = models.guided_spec(model)
    assert spec["module"] == "attrctl.dglm.decode" and spec["guidance"] == {"toxicity": 5.0}
    assert set(spec["dglm"]) == set(SAMPLING_KEYS) and set(spec["sha256"]) == {
        "data",
        "diffusion",
        "decoder",
        "classifiers",
    }

    sampler = models.load_for_sampling(model, "cpu", torch.bfloat16)
    prompts = [{"id": "a", "subset": "s", "text": "Hello there"}, {"id": "b", "subset": "s", "text": "Another one"}]
    rows = sampler(prompts, SampleConfig(k=2, max_new_tokens=3), 0, 16, desc="sample dglm_tox/eval")
    assert [r["prompt_id"] for r in rows] == ["a", "a", "b", "b"]
    for row in rows:
        assert -1.0 <= row["proposal_cosine"] <= 1.0
        assert set(row["proposal_scores"]) == {"toxicity", "sentiment"}
    assert rows == sampler(prompts, SampleConfig(k=2, max_new_tokens=3), 0, 16, desc="again")  # seeded
