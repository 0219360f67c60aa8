"""The NADO model: a neurally-decomposed oracle over the frozen base model (docs/methods.md, NADO).

One forward pass gives, at every position j, a logit vector r_j over the vocabulary:
R(x, t<=j ⊕ v) = σ(r_j[v]) estimates the probability that a continuation of prefix t<=j ⊕ v sampled from the
base model p satisfies the oracle. The vocabulary head starts at zero, so every R starts at 0.5.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from torch import nn

CONFIG = "nado_config.json"
WEIGHTS = "nado.safetensors"


class NadoModel(nn.Module):
    """r = head(trunk(features)). The `small` trunk reads the frozen base model's last hidden states; the
    `lora` trunk is a LoRA-adapted copy of the base model's transformer reading token ids."""

    def __init__(
        self, base_config, trunk: str = "small", layers: int = 2, lora_rank: int = 8, base=None, head: str = "vocab"
    ):
        super().__init__()
        from transformers import AutoModel

        self.kind, self.layers, self.lora_rank, self.head_kind = trunk, layers, lora_rank, head
        self.base_config = base_config
        if trunk == "small":
            config = copy.deepcopy(base_config)
            config.num_hidden_layers, config.vocab_size, config.pad_token_id = layers, 1, None
            self.trunk = AutoModel.from_config(config)  # its 1-token embedding is unused: inputs are hidden states
        else:
            from peft import LoraConfig, get_peft_model
            from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as ATTENTION

            if base is None:
                raise ValueError("the lora trunk is a copy of the base model: pass `base`")
            # the attention's query and value projections, by whatever name the family gives them
            targets = ATTENTION.get(base_config.model_type, "all-linear")
            lora = LoraConfig(r=lora_rank, lora_alpha=2 * lora_rank, target_modules=targets)
            self.trunk = get_peft_model(copy.deepcopy(base.base_model), lora)
        if head == "vocab":
            self.head = VocabHead(base_config.hidden_size, base_config.vocab_size)
        elif base is None:
            raise ValueError("the embedding head reads the base model's output embeddings: pass `base`")
        else:
            self.head = EmbeddingHead(base.get_output_embeddings().weight)

    def states(self, hidden, input_ids, attention_mask, position_ids=None, past_key_values=None, use_cache=False):
        """(trunk output (B, T, H), trunk cache). `hidden`: base last hidden states of the same positions."""
        # the frozen model's states may be bf16 while this trunk is fp32 (or the other way round): cast here
        hidden = hidden.to(self.head.bias.dtype) if hidden is not None else None
        inputs = {"inputs_embeds": hidden} if self.kind == "small" else {"input_ids": input_ids}
        out = self.trunk(
            **inputs,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            use_cache=use_cache,
        )
        return out.last_hidden_state, out.past_key_values

    def forward(
        self,
        hidden,
        input_ids,
        attention_mask,
        position_ids=None,
        past_key_values=None,
        use_cache: bool = False,
        at: tuple[torch.Tensor, ...] | None = None,
    ):
        """(r logits (B, T, V) for every next token, trunk cache); with `at`, a tuple of token tensors (B, T) or
        (B, T, K), r at those tokens only (no vocabulary-sized product) instead of the full r. Training goes
        through here, so that a distributed wrapper sees the forward pass."""
        states, cache = self.states(hidden, input_ids, attention_mask, position_ids, past_key_values, use_cache)
        if at is not None:
            return tuple(self.logits_at(states, tokens) for tokens in at), cache
        return self.head(states).float(), cache

    def logits_at(self, states: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """r[v] for the given tokens only: states (B, T, H), tokens (B, T) or (B, T, K) -> (B, T) or (B, T, K).
        The same numbers as `forward` picks out, without the vocabulary-sized product."""
        squeeze = tokens.dim() == states.dim() - 1
        out = self.head.at(states, tokens[..., None] if squeeze else tokens)
        return out.squeeze(-1).float() if squeeze else out.float()

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
                    "head": self.head_kind,
                    "base_config": self.base_config.to_dict(),
                },
                indent=2,
            )
        )
        save_file({k: v.contiguous() for k, v in self.trainable_state().items()}, str(path / WEIGHTS))


class VocabHead(nn.Linear):
    """r[v] = w_v · s + b_v with a free row per token (the reference code's `rc_linear`), zero-initialised."""

    def __init__(self, hidden: int, vocab: int):
        super().__init__(hidden, vocab)
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)

    def at(self, states: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """r at the given tokens only: states (B, T, H), tokens (B, T, K) -> (B, T, K)."""
        rows = self.weight[tokens]  # (B, T, K, H)
        return (rows * states[..., None, :].to(rows.dtype)).sum(-1) + self.bias[tokens]


class EmbeddingHead(nn.Module):
    """r[v] = E_v · (W s) + b_v over the frozen base model's output embeddings E, W and b zero-initialised.

    A token's row is tied to its embedding, so what the NADO learns from the tokens it saw in its samples carries
    over to tokens of similar embedding it never saw; the vocab head's free rows learn only from sampled tokens.
    """

    def __init__(self, embeddings: torch.Tensor):
        super().__init__()
        # frozen and unsaved; fp32 (a bf16 base's embeddings are copied once): r is a sum over the hidden size
        self.register_buffer("embeddings", embeddings.detach().float(), persistent=False)
        hidden = embeddings.shape[1]
        self.proj = nn.Linear(hidden, hidden, bias=False)
        self.bias = nn.Parameter(torch.zeros(embeddings.shape[0]))
        nn.init.zeros_(self.proj.weight)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return (self.proj(states) @ self.embeddings.T).float() + self.bias

    def at(self, states: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """r at the given tokens only: states (B, T, H), tokens (B, T, K) -> (B, T, K)."""
        rows = self.embeddings[tokens]  # (B, T, K, H)
        return (rows * self.proj(states)[..., None, :]).sum(-1).float() + self.bias[tokens]


def build(base, trunk: str, layers: int, lora_rank: int, head: str) -> NadoModel:
    """A new NADO on top of `base`; every choice comes from NadoConfig (no defaults of its own)."""
    return NadoModel(base.config, trunk, layers, lora_rank, base=base, head=head).to(base.device)


def load(path: str | Path, base) -> NadoModel:
    """A NADO saved by :meth:`NadoModel.save`, on top of `base` (needed by the lora trunk)."""
    from safetensors.torch import load_file

    meta = json.loads((Path(path) / CONFIG).read_text())
    model = NadoModel(
        base.config, meta["trunk"], meta["layers"], meta["lora_rank"], base=base, head=meta.get("head", "vocab")
    )
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
