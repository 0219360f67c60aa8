"""DGLM's decoder: a soft-prompt generator maps a (noised) latent to m soft tokens placed between the prompt and
the continuation, and the base model with LoRA adapters writes a continuation that follows them. Trained to
reproduce the continuations whose embeddings it is given, with the latent noise-augmented so that it also
follows the diffusion model's imperfect proposals.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from attrctl.batch import collate as collate_tokens
from attrctl.batch import nll
from attrctl.dglm.keywords import Keywords

WEIGHTS = "decoder.safetensors"


def noised(latent: torch.Tensor, alpha2: torch.Tensor | float, generator: torch.Generator | None = None):
    """√α²·z + √(1 − α²)·ε: the latent at noise level α² (1: clean)."""
    alpha2 = torch.as_tensor(alpha2, dtype=latent.dtype)
    noise = torch.randn(latent.shape, generator=generator, dtype=latent.dtype)
    return alpha2.sqrt() * latent + (1 - alpha2).sqrt() * noise


class SoftPromptDecoder(nn.Module):
    """The LM (with adapters) and an MLP from the latent to m soft tokens of the LM's embedding size; with
    `keywords`, the MLP is a correction (zero at the start) to the embeddings of the latent's keywords."""

    def __init__(self, lm, latent_dim: int, soft_tokens: int, keywords: Keywords | None = None) -> None:
        super().__init__()
        hidden = lm.config.hidden_size
        self.lm, self.soft_tokens, self.hidden, self.keywords = lm, soft_tokens, hidden, keywords
        self.generator = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.GELU(), nn.Linear(hidden, soft_tokens * hidden)
        )
        if keywords is not None:
            nn.init.zeros_(self.generator[-1].weight)
            nn.init.zeros_(self.generator[-1].bias)
        # each soft token normalised to the size of the LM's own token embeddings: at the MLP's initial output scale
        # they were a fifth of it, and the LM learnt to ignore them
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False)
        self.scale = float(lm.get_input_embeddings().weight.detach().float().std())

    def soft(self, latent: torch.Tensor) -> torch.Tensor:
        """(rows, m, hidden) soft tokens for (rows, latent_dim) latents."""
        learned = self.generator(latent).view(latent.shape[0], self.soft_tokens, self.hidden)
        if self.keywords is None:
            return self.scale * self.norm(learned)
        words = self.lm.get_input_embeddings()(self.keywords(latent, self.soft_tokens)).detach()
        return words + learned

    def forward(self, input_ids, attention_mask, soft_positions, latent) -> torch.Tensor:
        """Next-token logits of prompt ⊕ soft tokens ⊕ continuation; the soft tokens replace the placeholder
        embeddings at `soft_positions` (rows, m)."""
        embeds = self.lm.get_input_embeddings()(input_ids)
        rows = torch.arange(input_ids.shape[0], device=input_ids.device)[:, None]
        embeds = embeds.index_put((rows, soft_positions), self.soft(latent).to(embeds.dtype))
        return self.lm(inputs_embeds=embeds, attention_mask=attention_mask).logits


def collate(examples: list[dict], pad_id: int, soft_tokens: int, prompt_dropout: float = 0.0) -> dict:
    """Right-padded prompt ⊕ m placeholders ⊕ continuation, the placeholders' positions and the latents. A share
    `prompt_dropout` of the examples (drawn from torch's RNG, which the training loop seeds and checkpoints) lose
    their prompt: the continuation then follows the soft tokens alone, which teaches the decoder to read them."""
    dropped = (torch.rand(len(examples)) < prompt_dropout).tolist() if prompt_dropout else [False] * len(examples)
    batch = collate_tokens(
        [
            {"prompt_ids": ([] if drop else e["prompt_ids"]) + [pad_id] * soft_tokens, "target_ids": e["target_ids"]}
            for e, drop in zip(examples, dropped, strict=True)
        ],
        pad_id,
    )
    batch["soft_positions"] = batch["prompt_len"][:, None] - soft_tokens + torch.arange(soft_tokens)
    batch["latent"] = torch.tensor([e["latent"] for e in examples], dtype=torch.float32)
    return batch


class DecoderLoss:
    """L = −log p(continuation | prompt, soft(noised latent)) per target token."""

    def __init__(self, noise_min: float) -> None:
        self.noise_min = noise_min

    def __call__(self, model, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        # 1. noise augmentation: each latent at α² drawn uniformly from [noise_min, 1]
        latent = batch["latent"]
        alpha2 = self.noise_min + (1 - self.noise_min) * torch.rand(latent.shape[0], 1)
        # 2. the LM's next-token log-probabilities with the soft tokens in place
        logits = model(batch["input_ids"], batch["attention_mask"], batch["soft_positions"], noised(latent, alpha2))
        logp = torch.log_softmax(logits[:, :-1].float(), -1)
        # 3. the continuation's negative log-likelihood
        loss = nll(logp, batch["input_ids"][:, 1:], batch["target_mask"][:, 1:].float())
        return loss, {"loss": float(loss.detach())}


@torch.no_grad()
def latent_gain(decoder: SoftPromptDecoder, examples: list[dict], pad_id: int, seed: int, limit: int = 128) -> dict:
    """How much the decoder reads its latent: the loss on held-out pairs with their own (clean) latents against
    the same pairs with the latents shuffled among them."""
    if len(examples) < 2:
        return {"heldout_nll": float("nan"), "heldout_nll_shuffled_latent": float("nan"), "latent_gain": float("nan")}
    batch = collate(examples[:limit], pad_id, decoder.soft_tokens)
    loss = DecoderLoss(1.0)
    own = float(loss(decoder, batch)[0])
    order = torch.randperm(len(batch["latent"]), generator=torch.Generator().manual_seed(seed))
    shuffled = float(loss(decoder, {**batch, "latent": batch["latent"][order]})[0])
    return {"heldout_nll": own, "heldout_nll_shuffled_latent": shuffled, "latent_gain": shuffled - own}


def build(
    lm, latent_dim: int, soft_tokens: int, lora_rank: int, targets: str | list[str], keywords: Keywords | None
) -> SoftPromptDecoder:
    """The decoder around a frozen LM: LoRA adapters (on the modules `targets` names) and the soft-prompt
    generator are what train."""
    from attrctl.adapters import with_adapters

    lm.requires_grad_(False)
    return SoftPromptDecoder(with_adapters(lm, lora_rank, targets), latent_dim, soft_tokens, keywords)


def save(decoder: SoftPromptDecoder, path: Path, targets: str | list[str]) -> None:
    """Only what trained (adapters and generator) and the keyword read-out, with the adapters' `targets` in the
    file's metadata; the base model is read from its own directory."""
    from safetensors.torch import save_file

    path.mkdir(parents=True, exist_ok=True)
    trained = {k: v.detach().contiguous() for k, v in decoder.named_parameters() if v.requires_grad}
    if decoder.keywords is not None:
        trained |= {f"keywords.{k}": v.contiguous() for k, v in decoder.keywords.state_dict().items()}
    save_file(trained, str(path / WEIGHTS), metadata={"lora_targets": json.dumps(targets)})


def load(path: Path, lm, latent_dim: int, soft_tokens: int, lora_rank: int) -> SoftPromptDecoder:
    """The saved decoder on `lm`, adapters merged into the LM's weights (generation runs the plain model)."""
    from safetensors import safe_open

    from attrctl.adapters import merged

    with safe_open(str(path / WEIGHTS), "pt") as f:
        targets = json.loads(f.metadata()["lora_targets"])
        state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (a safe_open file is no mapping)
    fitted = {k.removeprefix("keywords."): v for k, v in state.items() if k.startswith("keywords.")}
    decoder = build(lm, latent_dim, soft_tokens, lora_rank, targets, Keywords(**fitted) if fitted else None)
    missing, unexpected = decoder.load_state_dict(state, strict=False)
    if unexpected or any(decoder.get_parameter(k).requires_grad for k in missing):
        raise RuntimeError(f"{path / WEIGHTS} does not match this decoder (dglm.soft_tokens / dglm.lora_rank?)")
    decoder.lm = merged(decoder.lm)
    return decoder.eval().requires_grad_(False)
