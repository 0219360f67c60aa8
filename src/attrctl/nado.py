"""NADO: the neurally-decomposed oracle (DESIGN §2.1) and the guided distribution q* it defines.

One forward pass gives, at every position j, a logit vector r_j over the vocabulary:
R(x, t<=j ⊕ v) = σ(r_j[v]) estimates the probability that a continuation of prefix t<=j ⊕ v sampled from the
base model p satisfies the oracle. The vocabulary head starts at zero, so every R starts at 0.5.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

CONFIG = "nado_config.json"
WEIGHTS = "nado.safetensors"


class NadoModel(nn.Module):
    """r = head(trunk(features)). The `small` trunk reads the frozen base model's last hidden states; the
    `lora` trunk is a LoRA-adapted copy of the base model's transformer reading token ids."""

    def __init__(self, base_config, trunk: str = "small", layers: int = 2, lora_rank: int = 8, base=None):
        super().__init__()
        from transformers import AutoModel

        self.kind, self.layers, self.lora_rank = trunk, layers, lora_rank
        self.base_config = base_config
        if trunk == "small":
            config = copy.deepcopy(base_config)
            config.num_hidden_layers, config.vocab_size, config.pad_token_id = layers, 1, None
            self.trunk = AutoModel.from_config(config)  # its 1-token embedding is unused: inputs are hidden states
        else:
            from peft import LoraConfig, get_peft_model

            if base is None:
                raise ValueError("the lora trunk is a copy of the base model: pass `base`")
            lora = LoraConfig(r=lora_rank, lora_alpha=2 * lora_rank, target_modules=["q_proj", "v_proj"])
            self.trunk = get_peft_model(copy.deepcopy(base.model), lora)
        self.head = nn.Linear(base_config.hidden_size, base_config.vocab_size)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(
        self, hidden, input_ids, attention_mask, position_ids=None, past_key_values=None, use_cache: bool = False
    ):
        """(r logits (B, T, V), trunk cache). `hidden`: base last hidden states of the same positions."""
        if self.kind == "small":
            out = self.trunk(
                inputs_embeds=hidden,
                attention_mask=attention_mask,
                position_ids=position_ids,
                past_key_values=past_key_values,
                use_cache=use_cache,
            )
        else:
            out = self.trunk(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                past_key_values=past_key_values,
                use_cache=use_cache,
            )
        return self.head(out.last_hidden_state).float(), out.past_key_values

    def trainable_state(self) -> dict[str, torch.Tensor]:
        return {
            k: v for k, v in self.state_dict().items() if self.kind == "small" or "lora_" in k or k.startswith("head")
        }

    def save(self, path: Path) -> None:
        from safetensors.torch import save_file

        path.mkdir(parents=True, exist_ok=True)
        (path / CONFIG).write_text(
            json.dumps(
                {
                    "trunk": self.kind,
                    "layers": self.layers,
                    "lora_rank": self.lora_rank,
                    "base_config": self.base_config.to_dict(),
                },
                indent=2,
            )
        )
        save_file({k: v.contiguous() for k, v in self.trainable_state().items()}, str(path / WEIGHTS))


def build(base, trunk: str, layers: int, lora_rank: int) -> NadoModel:
    return NadoModel(base.config, trunk, layers, lora_rank, base=base).to(base.device)


def load(path: str | Path, base) -> NadoModel:
    """A NADO saved by :meth:`NadoModel.save`, on top of `base` (needed by the lora trunk)."""
    from safetensors.torch import load_file

    meta = json.loads((Path(path) / CONFIG).read_text())
    model = NadoModel(base.config, meta["trunk"], meta["layers"], meta["lora_rank"], base=base)
    missing = set(model.trainable_state()) - set(state := load_file(str(Path(path) / WEIGHTS)))
    if missing:
        raise ValueError(f"{path}: NADO weights lack {sorted(missing)[:3]}")
    model.load_state_dict(state, strict=False)
    return model.to(base.device).eval()


def base_features(base, input_ids, attention_mask):
    """(log p(v | t<=j) for every position, the last hidden states) of the frozen base model."""
    with torch.no_grad():
        out = base(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    return torch.log_softmax(out.logits.float(), -1), out.hidden_states[-1]


def success_rate(base_logp: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """S = Σ_v p(v) σ(r[v]): the NADO estimate of R for the prefix itself (consistency identity)."""
    return (base_logp.exp() * torch.sigmoid(r)).sum(-1)


def importance_weights(seq_logprobs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Self-normalised weights for samples drawn at temperature T (∝ p^(1/T)) instead of from p:
    w ∝ p / p^(1/T) = exp((1 - 1/T) log p(y|x)), scaled to mean 1 over the batch (all 1 when T = 1)."""
    return seq_logprobs.numel() * torch.softmax((1.0 - 1.0 / temperature) * seq_logprobs, 0)


def nado_loss(r, base_logp, input_ids, cont_mask, labels, weights, lambda_cons: float):
    """NADO training loss (DESIGN §2.1) for a batch; returns (loss, logs).

    r: (B, L, V) NADO logits; base_logp: (B, L, V) log p(v | t<=j); input_ids, cont_mask: (B, L), cont_mask is 1
    on continuation tokens; labels: (B,) target c in [0, 1]; weights: (B,) importance weights.
    """
    batch = input_ids.shape[0]
    # 1) a_j = r_j[t_{j+1}]: the NADO logit of each realised next token, i.e. of R(x, t<=j+1).
    a = r[:, :-1].gather(-1, input_ids[:, 1:, None]).squeeze(-1)
    m = cont_mask[:, 1:].float()  # t_{j+1} is a continuation token
    # 2) Every continuation prefix is regressed to the sequence's final label: Σ_i w · BCE(σ(a), c).
    bce = F.binary_cross_entropy_with_logits(a, labels[:, None].expand_as(a), reduction="none")
    bce = (weights[:, None] * bce * m).sum() / batch
    # 3) Consistency: R(x, t<=j) = Σ_v p(v | t<=j) R(x, t<=j ⊕ v). The left side, predicted one step earlier, is
    #    the target (detached, as the reference code's BCE target); the right side S_j is pulled towards it.
    s = success_rate(base_logp[:, 1:-1], r[:, 1:-1]).clamp(1e-6, 1 - 1e-6)  # S_j, j = 1..L-2
    r_hat = torch.sigmoid(a[:, :-1]).detach().clamp(1e-6, 1 - 1e-6)  # R(x, t<=j), j = 1..L-2
    kl = r_hat * (r_hat / s).log() + (1 - r_hat) * ((1 - r_hat) / (1 - s)).log()  # KL(Bern(r_hat) || Bern(s))
    pairs = m[:, :-1] * m[:, 1:]  # t_j and t_{j+1} both continuation tokens
    cons = (weights[:, None] * kl * pairs).sum() / batch
    loss = bce + lambda_cons * cons
    return loss, {"loss": loss.item(), "bce": bce.item(), "consistency": cons.item()}


def guided_log_probs(base_logp: torch.Tensor, r: torch.Tensor, r_prompt: torch.Tensor, delta: float) -> torch.Tensor:
    """log q*(v) ∝ log p(v) + log[(δ' − R(x)) · R(x, y<i ⊕ v) + (1 − δ') · R(x)], δ' = max(δ, R(x)) (DESIGN §2.1).

    base_logp, r: (..., V); r_prompt: (...) the estimate R(x) for the prompt. δ = 1 gives q* ∝ p · R(·);
    R(x) ≥ δ leaves p unchanged (nothing to correct).
    """
    delta_eff = torch.clamp(r_prompt, min=delta)
    scale = (delta_eff - r_prompt).clamp(min=0)[..., None]  # weight on R(x, y<i ⊕ v)
    floor = ((1 - delta_eff) * r_prompt)[..., None]  # constant mass for every token
    log_bracket = torch.logaddexp(scale.log() + F.logsigmoid(r), floor.log().expand_as(r))
    guided = torch.log_softmax(base_logp + log_bracket, -1)
    degenerate = ((scale + floor) <= 0).expand_as(r)  # R(x) = 1: nothing to guide
    return torch.where(degenerate, torch.log_softmax(base_logp, -1), guided)
