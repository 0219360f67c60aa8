"""Any HF causal LM: the methods' model-facing code on tiny random models of three families — Llama with a
tokenizer that starts every sequence with <s>, GPT-2 (Conv1D layers, learned positions, no BOS added) and GPT-NeoX
(fused query-key-value) — built with transformers' config classes over the embedded tokenizer."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import greedy_changes, nado_greedy

from attrctl import adapters, encoding, models
from attrctl.config import ModelConfig, SampleConfig
from attrctl.dglm import decoder as dec
from attrctl.evaluation.toxicity import conditional_perplexities
from attrctl.finetune.corpus import example
from attrctl.sampling import encode_prompts, generate

FAMILIES = ["llama_bos", "gpt2", "gpt_neox"]
PROMPTS = [
    {"id": "a", "subset": "x", "text": "On weekends, my boss likes to"},
    {"id": "b", "subset": "x", "text": "Shut up"},
]


def tiny(family: str, embedded_tokenizer):
    """(model, tokenizer) of a family: 2 layers, hidden 32, the embedded tokenizer's vocabulary."""
    from transformers import GPT2Config, GPT2LMHeadModel, GPTNeoXConfig, GPTNeoXForCausalLM

    tokenizer = copy.deepcopy(embedded_tokenizer)  # reading it from the GGUF takes seconds
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id}
    torch.manual_seed(0)
    if family == "llama_bos":
        tokenizer.add_bos_token = True  # as Llama 2's tokenizer: <s> before every text
        return models.tiny_model(tokenizer, ModelConfig().tiny.model_copy(update={"hidden": 32})), tokenizer
    if family == "gpt2":
        config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2, n_positions=128, **ids)
        return GPT2LMHeadModel(config).eval(), tokenizer
    config = GPTNeoXConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, **ids,
    )  # fmt: skip
    return GPTNeoXForCausalLM(config).eval(), tokenizer


@pytest.fixture(scope="module", params=FAMILIES)
def family(request, tokenizer):
    lm, tokenizer = tiny(request.param, tokenizer)
    return request.param, lm.eval(), tokenizer


def test_a_sequence_starts_with_the_tokenizers_own_special_tokens_and_only_there(family):
    name, _, tokenizer = family
    first = [tokenizer.bos_token_id] if name == "llama_bos" else []
    text = tokenizer("Shut up", add_special_tokens=False).input_ids
    assert encoding.prefix(tokenizer) == first
    assert encode_prompts(tokenizer, PROMPTS[1:], 16) == [first + text]
    assert encode_prompts(tokenizer, PROMPTS[1:], 2) == [first + text[-(2 - len(first)) :]]  # <s> is kept
    corpus_row = example(tokenizer, "Shut up", " now", "constraint", "continuation", 0)
    assert corpus_row["prompt_ids"] == first + text and corpus_row["target_ids"][0] != tokenizer.bos_token_id


@pytest.mark.parametrize("trunk", ["small", "lora"])
def test_nado_guided_decoding_equals_whole_sequence_scoring(family, trunk):
    """The incremental processor (a hook on the family's transformer, KV cache, left padding) picks what
    GuidedLM ranks first, and a non-trivial NADO changes the greedy path, for each family and trunk."""
    _, lm, tokenizer = family
    rows, scorer = nado_greedy(lm, tokenizer, PROMPTS, trunk)
    assert any(greedy_changes(rows, scorer, lm)), "the NADO should have changed a greedy path"


@pytest.mark.parametrize("targets", ["all-linear", None])
def test_lora_adapts_each_family_and_merges_back(family, targets):
    name, lm, _ = family
    targets = targets or {"llama_bos": ["q_proj", "v_proj"], "gpt2": ["c_attn"], "gpt_neox": ["query_key_value"]}[name]
    policy = adapters.with_adapters(copy.deepcopy(lm), 2, targets)
    trainable = [n for n, p in policy.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    ids = torch.tensor([[5, 6, 7]])
    policy(ids).logits.sum().backward()
    assert all(p.grad is not None for p in policy.parameters() if p.requires_grad)
    assert set(adapters.merged(policy).state_dict()) == set(lm.state_dict())


def test_the_dglm_decoder_trains_and_decodes_on_each_family(family, tmp_path):
    _, lm, tokenizer = family
    torch.manual_seed(0)
    decoder = dec.build(copy.deepcopy(lm), 4, soft_tokens=2, lora_rank=2, targets="all-linear", keywords=None)
    examples = [{"prompt_ids": [5, 6], "target_ids": [7, 8, 9], "latent": [0.1, 0.2, 0.3, 0.4]}] * 2
    loss, _ = dec.DecoderLoss(0.5)(decoder, dec.collate(examples, tokenizer.pad_token_id, 2))
    loss.backward()
    assert torch.isfinite(loss)
    dec.save(decoder, tmp_path, "all-linear")
    loaded = dec.load(tmp_path, copy.deepcopy(lm), latent_dim=4, soft_tokens=2, lora_rank=2)
    rows = generate(
        loaded.lm, tokenizer, PROMPTS, SampleConfig(k=1, max_new_tokens=3), 0, 16,
        soft_prompts=loaded.soft(torch.zeros(2, 4)),
    )  # fmt: skip
    assert all(len(r["token_ids"]) <= 3 for r in rows) and len(rows) == 2


def test_perplexity_reads_the_continuation_after_the_tokenizers_special_tokens(family):
    _, lm, tokenizer = family
    ppl = conditional_perplexities(lm, tokenizer, [("Shut up", " and listen"), ("Shut up", "")], batch_size=4)
    assert ppl[0] > 1.0 and ppl[1] != ppl[1]  # NaN: no continuation


def test_bin_weights_and_a_home_relative_path_load(tmp_path, monkeypatch, tokenizer):
    lm, tokenizer = tiny("gpt2", tokenizer)
    lm.config.save_pretrained(tmp_path / "gpt2")  # a checkpoint of the .bin era: no safetensors file
    torch.save(lm.state_dict(), tmp_path / "gpt2" / "pytorch_model.bin")
    tokenizer.save_pretrained(tmp_path / "gpt2")
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = ModelConfig(source="~/gpt2")
    assert cfg.source == str(tmp_path / "gpt2")
    loaded, _ = models.build_base(cfg, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(lm.state_dict().values(), loaded.state_dict().values(), strict=True))


def test_trust_remote_code_reaches_the_model_loads(monkeypatch, tokenizer):
    import transformers

    from attrctl import runtime
    from attrctl.config import RuntimeConfig

    asked = []
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda path, **kw: asked.append(kw) or tokenizer)
    monkeypatch.delenv(runtime.REMOTE_CODE_VAR, raising=False)
    assert not runtime.trust_remote_code()
    runtime.prepare_env(RuntimeConfig(trust_remote_code=True))
    assert runtime.trust_remote_code()
    models.load_tokenizer("any/dir")
    runtime.prepare_env(RuntimeConfig())
    assert not runtime.trust_remote_code()
    models.load_tokenizer("any/dir")
    assert [kw["trust_remote_code"] for kw in asked] == [True, False]
