"""The sampler: exact nucleus sampling, agreement with `model.generate`, padding and seeding."""

from __future__ import annotations

import torch

from attrctl.config import SampleConfig
from attrctl.sampling import generate, nucleus_sample

PROMPTS = [
    {"id": "a", "subset": "neutral", "text": "On weekends, my boss likes to"},
    {"id": "b", "subset": "challenging", "text": "Shut up"},
    {"id": "c", "subset": "neutral", "text": "The recipe my neighbour shared uses fresh tomatoes and"},
]


def test_nucleus_keeps_exactly_the_top_p_set():
    # probs 0.5, 0.3, 0.15, 0.05: with top_p 0.75 the nucleus is {0, 1} (mass before token 2 is 0.8 >= 0.75).
    logp = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log().repeat(4000, 1)
    tokens = nucleus_sample(logp, 0.75, torch.Generator().manual_seed(0))
    counts = torch.bincount(tokens, minlength=4).float() / len(tokens)
    assert counts[2] == 0 and counts[3] == 0
    assert abs(counts[0] - 0.5 / 0.8) < 0.03


def test_nucleus_widens_the_shortlist_for_flat_distributions():
    vocab = 1000  # uniform: the nucleus holds 900 tokens, far beyond the first shortlist of 64
    logp = torch.full((3000, vocab), -torch.log(torch.tensor(float(vocab))))
    tokens = nucleus_sample(logp, 0.9, torch.Generator().manual_seed(0))
    assert tokens.unique().numel() > 800
    assert int(tokens.max()) < vocab


def test_greedy_matches_model_generate(tiny_model, tokenizer):
    cfg = SampleConfig(greedy=True, max_new_tokens=8, batch_size=8)
    rows = generate(tiny_model, tokenizer, PROMPTS, cfg, seed=0, max_prompt_tokens=32)
    for prompt, row in zip(PROMPTS, rows, strict=True):
        enc = tokenizer(prompt["text"], return_tensors="pt", add_special_tokens=False)
        ref = tiny_model.generate(**enc, do_sample=False, max_new_tokens=8, pad_token_id=tokenizer.pad_token_id)
        expected = ref[0, enc.input_ids.shape[1] :].tolist()
        eos = tokenizer.eos_token_id
        expected = expected[: expected.index(eos)] if eos in expected else expected
        assert row["token_ids"] == expected, prompt["id"]


def test_batched_equals_one_by_one_and_logprobs_are_the_models(tiny_model, tokenizer):
    cfg = SampleConfig(greedy=True, max_new_tokens=6, batch_size=8)
    together = generate(tiny_model, tokenizer, PROMPTS, cfg, seed=0, max_prompt_tokens=32)
    alone = [generate(tiny_model, tokenizer, [p], cfg, seed=0, max_prompt_tokens=32)[0] for p in PROMPTS]
    assert [r["token_ids"] for r in together] == [r["token_ids"] for r in alone]
    # the stored log-probs are log p(token | prefix) under the model, recomputed here in one forward pass
    row = together[0]
    ids = tokenizer(PROMPTS[0]["text"], add_special_tokens=False).input_ids + row["token_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(tiny_model(torch.tensor([ids])).logits[0], -1)
    n = len(row["token_ids"])
    expected = [logp[len(ids) - n - 1 + j, t].item() for j, t in enumerate(row["token_ids"])]
    assert torch.allclose(torch.tensor(row["logprobs"]), torch.tensor(expected), atol=1e-3)


def test_k_samples_per_prompt_seeded(tiny_model, tokenizer):
    cfg = SampleConfig(k=4, max_new_tokens=5, batch_size=8, top_p=0.95)
    first = generate(tiny_model, tokenizer, PROMPTS, cfg, seed=1, max_prompt_tokens=32)
    again = generate(tiny_model, tokenizer, PROMPTS, cfg, seed=1, max_prompt_tokens=32)
    other = generate(tiny_model, tokenizer, PROMPTS, cfg, seed=2, max_prompt_tokens=32)
    assert len(first) == 12
    assert [(r["prompt_id"], r["sample"]) for r in first] == [(p["id"], s) for p in PROMPTS for s in range(4)]
    assert [r["token_ids"] for r in first] == [r["token_ids"] for r in again]
    assert [r["token_ids"] for r in first] != [r["token_ids"] for r in other]
    assert len({tuple(r["token_ids"]) for r in first[:4]}) > 1, "k samples of one prompt should differ"


def test_prompt_truncated_from_the_left(tiny_model, tokenizer):
    cfg = SampleConfig(greedy=True, max_new_tokens=2)
    row = generate(tiny_model, tokenizer, [PROMPTS[2]], cfg, seed=0, max_prompt_tokens=3)[0]
    assert row["prompt"] == tokenizer.decode(tokenizer(PROMPTS[2]["text"], add_special_tokens=False).input_ids[-3:])


def test_a_tokenizer_without_a_pad_token_pads_with_end_of_sequence(tokenizer):
    """transformers 5.17 reads no pad token from the embedded GGUF (5.23 does): batching then pads with EOS."""
    import copy

    from attrctl.models import padded

    bare = copy.deepcopy(tokenizer)
    bare.pad_token = None
    assert bare.pad_token_id is None
    assert padded(bare).pad_token_id == tokenizer.eos_token_id
