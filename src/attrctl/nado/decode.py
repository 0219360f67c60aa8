"""NADO-guided decoding of the unchanged base model (`nado_decode`).

- :class:`NadoLogitsProcessor` turns the base model's next-token logits into q (q* with its NADO factor raised to
  the strength γ, `nado.decode_strength`) during generation; it works with `model.generate` and attrctl's sampler.
- :class:`GuidedLM` scores whole sequences under the same q (for lm-eval), where no generation loop exists.
- A guided "model directory" holds only `guided.json` (this module, base model path, NADO path and its weights'
  hash, δ, γ), so the stages treat `nado_decode` like any other model under results/models/
  (attrctl.models.load_for_sampling and load_for_scoring call this module's loaders).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn
from transformers import LogitsProcessor
from transformers.modeling_outputs import CausalLMOutput

from attrctl import models
from attrctl.io import digest
from attrctl.nado.model import WEIGHTS, NadoModel, base_features
from attrctl.nado.model import load as load_nado
from attrctl.nado.qstar import guided_log_probs, success_rate
from attrctl.sampling import generate


def write_guided_dir(path: Path, base_dir: Path, nado_dir: Path, delta: float, strength: float) -> None:
    spec = {
        "module": __name__,
        "base": str(base_dir),
        "nado": str(nado_dir),
        "nado_sha256": digest(nado_dir / WEIGHTS),
    }
    models.write_guided(path, spec | {"delta": delta, "strength": strength})


class NadoLogitsProcessor(LogitsProcessor):
    """Replaces the base model's next-token scores by log q (q* at strength γ). The base model's last hidden
    states at every new position (the NADO trunk's input; the output head may see only the last one) are
    captured by a hook on its transformer (`base_model`, in any family); the trunk keeps its own KV cache in
    step."""

    def __init__(self, base, nado_model: NadoModel, delta: float, strength: float, pad_id: int):
        self.nado, self.delta, self.strength, self.pad_id = nado_model, delta, strength, pad_id
        self._hidden: torch.Tensor | None = None
        self._cache = None
        self._r_prompt: torch.Tensor | None = None
        self._handle = base.base_model.register_forward_hook(self._capture)

    def _capture(self, module, inputs, output) -> None:
        self._hidden = output[0] if isinstance(output, tuple) else output.last_hidden_state

    def remove(self) -> None:
        self._handle.remove()

    @torch.no_grad()
    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        hidden, rows, length = self._hidden, input_ids.shape[0], input_ids.shape[1]
        new = hidden.shape[1]
        if new == length:  # a prefill: a new batch of prompts starts
            self._cache, self._r_prompt = None, None
        # Left padding: a position is real from the first non-pad token of its row on.
        mask = ((input_ids != self.pad_id).long().cumsum(-1) > 0).long()
        if hidden.shape[0] != rows:  # prefill once per prompt, k samples per prompt afterwards
            reps = rows // hidden.shape[0]
            hidden, kept = hidden, mask[::reps]
            positions = (kept.cumsum(-1) - 1).clamp(min=0)[:, -new:]
            r, self._cache = self.nado(hidden, input_ids[::reps, -new:], kept, positions, self._cache, use_cache=True)
            r = r.repeat_interleave(reps, 0)
            self._cache.batch_repeat_interleave(reps)
        else:
            positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, -new:]
            r, self._cache = self.nado(hidden, input_ids[:, -new:], mask, positions, self._cache, use_cache=True)
        base_logp = torch.log_softmax(scores.float(), -1)
        r_last = r[:, -1]
        if self._r_prompt is None:  # R(x): the success rate of the prompt, fixed for the whole continuation
            self._r_prompt = success_rate(base_logp, r_last)
        return guided_log_probs(base_logp, r_last, self._r_prompt, self.delta, self.strength)


class GuidedLM(nn.Module):
    """Whole-sequence scoring under q (q* at strength γ), each prefix taking its own success estimate as R(x)."""

    def __init__(self, base, nado_model: NadoModel, delta: float, strength: float):
        super().__init__()
        self.base, self.nado, self.delta, self.strength = base, nado_model, delta, strength
        self.config, self.generation_config = base.config, base.generation_config

    @property
    def device(self) -> torch.device:
        return self.base.device

    def tie_weights(self) -> None:  # lm-eval calls it; the base model's weights are already tied
        return None

    @torch.no_grad()
    def forward(self, input_ids, attention_mask=None, **kwargs) -> CausalLMOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        base_logp, hidden = base_features(self.base, input_ids, attention_mask)
        r, _ = self.nado(hidden, input_ids, attention_mask)
        r_prefix = success_rate(base_logp, r)
        return CausalLMOutput(logits=guided_log_probs(base_logp, r, r_prefix, self.delta, self.strength))


def load_for_sampling(spec: dict, device, dtype) -> models.Sampler:
    """The sampler of a guided directory's spec: the base model's, through the NADO's logits processor."""
    base, tokenizer = models.load(spec["base"], device, dtype)
    nado_model = load_nado(spec["nado"], base)
    processor = NadoLogitsProcessor(base, nado_model, spec["delta"], spec["strength"], tokenizer.pad_token_id)
    return functools.partial(generate, base, tokenizer, logits_processor=processor)


def load_for_scoring(spec: dict, device, dtype):
    """(model, tokenizer) of a guided directory's spec whose forward gives log q."""
    base, tokenizer = models.load(spec["base"], device, dtype)
    return GuidedLM(base, load_nado(spec["nado"], base), spec["delta"], spec["strength"]), tokenizer
