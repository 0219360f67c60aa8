"""The DExperts ensemble: the base model's next-token logits steered by an expert and an anti-expert,

    z̃ = z_base + α · (z_expert − z_anti),

with the base model's logits first restricted to its own top-p nucleus (`filter_p`, the reference code's
`--filter_p 0.9`), so the experts re-rank tokens the base model finds plausible and never promote one it does
not (alisawuffles/DExperts, generation/dexperts_generation.py). Each part is used as log-probabilities, which
changes z̃ by a per-row constant only, so the distribution softmax(z̃) is the reference's.

A DExperts model directory holds only `guided.json` (this module, the three models' paths, α, filter_p);
:class:`DExpertsLM` is one model to the shared sampler (its forward keeps the three KV caches in step) and to
lm-eval (scoring uses no nucleus filter: a text outside the base model's nucleus still gets a likelihood).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn
from transformers.modeling_outputs import CausalLMOutputWithPast

from attrctl import models
from attrctl.io import digest
from attrctl.sampling import generate


def nucleus_mask(logprobs: torch.Tensor, top_p: float) -> torch.Tensor:
    """True for the tokens of each row's top-p nucleus: the smallest set of most likely tokens whose mass reaches
    top_p (a token stays if the mass of the tokens before it is below top_p)."""
    probs, order = logprobs.exp().sort(-1, descending=True)
    keep_sorted = (probs.cumsum(-1) - probs) < top_p
    return torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)


def ensemble_log_probs(
    base: torch.Tensor, expert: torch.Tensor, anti: torch.Tensor, alpha: float, filter_p: float = 1.0
) -> torch.Tensor:
    """log softmax(z_base + α (z_expert − z_anti)) over the last axis, the base logits restricted to their top
    `filter_p` nucleus (1: no restriction)."""
    # 1) every part as log-probabilities (a per-row shift of its logits: the same softmax)
    base, expert, anti = (torch.log_softmax(z.float(), -1) for z in (base, expert, anti))
    # 2) the expert's and anti-expert's disagreement, scaled by α, added to the base model's scores
    steered = base + alpha * (expert - anti)
    # 3) tokens outside the base model's own nucleus get no probability
    if filter_p < 1.0:
        steered = steered.masked_fill(~nucleus_mask(base, filter_p), float("-inf"))
    return torch.log_softmax(steered, -1)


class Caches:
    """The three models' KV caches, repeated together when the sampler gives each prompt k rows."""

    def __init__(self, caches: tuple) -> None:
        self.caches = caches

    def batch_repeat_interleave(self, repeats: int) -> None:
        for cache in self.caches:
            cache.batch_repeat_interleave(repeats)


class DExpertsLM(nn.Module):
    """Base, expert and anti-expert as one causal LM whose logits are the ensemble's log-probabilities."""

    def __init__(self, base, expert, anti, alpha: float, filter_p: float = 1.0):
        super().__init__()
        self.base, self.expert, self.anti, self.alpha, self.filter_p = base, expert, anti, alpha, filter_p
        self.config, self.generation_config = base.config, base.generation_config

    @property
    def device(self) -> torch.device:
        return self.base.device

    def tie_weights(self) -> None:  # lm-eval calls it; each part's weights are already tied
        return None

    @torch.no_grad()
    def forward(self, input_ids, attention_mask=None, past_key_values=None, **kwargs) -> CausalLMOutputWithPast:
        parts = (self.base, self.expert, self.anti)
        caches = past_key_values.caches if past_key_values is not None else (None,) * 3
        outs = [
            part(input_ids=input_ids, attention_mask=attention_mask, past_key_values=cache, **kwargs)
            for part, cache in zip(parts, caches, strict=True)
        ]
        logits = ensemble_log_probs(*(o.logits for o in outs), self.alpha, self.filter_p)
        cached = Caches(tuple(o.past_key_values for o in outs)) if kwargs.get("use_cache") else None
        return CausalLMOutputWithPast(logits=logits, past_key_values=cached)


def write_dir(path: Path, base: Path, expert: Path, anti: Path, alpha: float, filter_p: float) -> None:
    """A DExperts model directory: guided.json naming this module, the three models (with the experts' weights'
    hashes, so a retrained expert changes the file) and the ensemble's settings."""
    spec = {"module": __name__, "base": str(base), "alpha": alpha, "filter_p": filter_p}
    for role, part in (("expert", expert), ("anti", anti)):
        weights = sorted(Path(part).glob("*.safetensors"))
        spec |= {role: str(part), f"{role}_sha256": digest(*weights)}
    models.write_guided(path, spec)


def _load(spec: dict, device, dtype, filter_p: float) -> tuple[DExpertsLM, object]:
    base, tokenizer = models.load(spec["base"], device, dtype)
    expert, _ = models.load(spec["expert"], device, dtype)
    anti, _ = models.load(spec["anti"], device, dtype)
    return DExpertsLM(base, expert, anti, spec["alpha"], filter_p), tokenizer


def load_for_sampling(spec: dict, device, dtype) -> models.Sampler:
    """The shared sampler over the ensemble, the base model's nucleus filter on."""
    return functools.partial(generate, *_load(spec, device, dtype, spec["filter_p"]))


def load_for_scoring(spec: dict, device, dtype):
    """(ensemble, tokenizer) scoring any text: no nucleus filter."""
    return _load(spec, device, dtype, 1.0)
