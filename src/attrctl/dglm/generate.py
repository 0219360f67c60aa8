"""Generation with DGLM: propose a latent per sample (guided or not), re-noise it, decode a continuation that
follows it, and measure how closely the text follows its proposal."""

from __future__ import annotations

import numpy as np
import torch

from attrctl import sampling
from attrctl.config import Config, SampleConfig
from attrctl.dglm import decoder as dec
from attrctl.dglm import diffusion
from attrctl.dglm.guidance import Guide, probabilities
from attrctl.dglm.method import DglmConfig


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True).clip(1e-9)
    b = b / np.linalg.norm(b, axis=1, keepdims=True).clip(1e-9)
    return (a * b).sum(1)


def follow(
    decoder: dec.SoftPromptDecoder,
    tokenizer,
    encoder,
    rows: list[dict],
    arrays: dict[str, np.ndarray],
    cfg: Config,
    limit: int = 64,
) -> dict[str, float]:
    """How closely the decoder's text follows the latent it is given, on `limit` held-out base samples of DGLM's
    pairs (`rows`, `arrays`; evenly spaced, so from many prompts): with their own latents, the most a proposal
    can hope for; with the same latents shuffled among the pairs (mostly another prompt's), how well it follows
    a latent that does not fit its prompt, as a strongly guided proposal may not."""
    held = [i for i, r in enumerate(rows) if r["generative"] and r["heldout"]]
    held = held[:: max(1, len(held) // limit)][:limit]
    if len(held) < 2:
        return {"heldout_follow_cosine": float("nan"), "heldout_follow_cosine_shuffled": float("nan")}
    own = torch.tensor(arrays["latent"][held], dtype=torch.float32)
    shuffled = own[torch.randperm(len(own), generator=torch.Generator().manual_seed(cfg.seed))]
    prompts = [{"id": str(i), "subset": "heldout", "text": rows[i]["prompt"]} for i in held]
    one = cfg.sample.model_copy(update={"k": 1})
    result = {}
    for key, latents in (("heldout_follow_cosine", own), ("heldout_follow_cosine_shuffled", shuffled)):
        generator = torch.Generator().manual_seed(cfg.seed)
        decoded = decode(
            decoder, tokenizer, prompts, latents, one, cfg.dglm.noise_infer, cfg.seed, cfg.data.max_prompt_tokens,
            generator, key,
        )  # fmt: skip
        result[key] = float(followed(latents, decoded, encoder, arrays).mean())
    return result


def decode(
    decoder: dec.SoftPromptDecoder,
    tokenizer,
    prompts: list[dict],
    latents: torch.Tensor,
    sample_cfg: SampleConfig,
    noise_infer: float,
    seed: int,
    max_prompt_tokens: int,
    generator: torch.Generator,
    desc: str,
) -> list[dict]:
    """sample_cfg.k continuations per prompt, one per latent (prompt-major): the decoder reads each latent
    re-noised at α² = noise_infer, as a soft prompt after its prompt."""
    with torch.inference_mode():
        soft = decoder.soft(dec.noised(latents, noise_infer, generator))
    return sampling.generate(
        decoder.lm, tokenizer, prompts, sample_cfg, seed, max_prompt_tokens, desc=desc, soft_prompts=soft
    )


def followed(latents: torch.Tensor, rows: list[dict], encoder, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Per row, the cosine between its latent (de-standardised) and the embedding of its text."""
    return cosines(latents.numpy() * arrays["std"] + arrays["mean"], encoder([r["text"] for r in rows]))


def run(
    prompts: list[dict],
    sample_cfg: SampleConfig,
    seed: int,
    max_prompt_tokens: int,
    *,
    dglm: DglmConfig,
    scales: dict[str, float],
    encoder,
    denoiser: diffusion.Denoiser,
    decoder: dec.SoftPromptDecoder,
    tokenizer,
    arrays: dict[str, np.ndarray],
    classifiers: dict[str, dict],
    desc: str = "sample dglm",
) -> list[dict]:
    """sample_cfg.k samples per prompt from DGLM under guidance `scales` (empty: unguided proposals); each row as
    attrctl.sampling.generate writes it plus `proposal_cosine` and `proposal_scores`. With its parts bound, it is
    a run's sampler (attrctl.models.Sampler)."""
    generator = torch.Generator().manual_seed(seed)
    # 1. proposals: one latent per (prompt, sample), prompt-major
    cond = torch.tensor(encoder([p["text"] for p in prompts]), dtype=torch.float32).repeat_interleave(sample_cfg.k, 0)
    guide = Guide(classifiers, scales) if scales else None
    latents = torch.cat([
        diffusion.sample(denoiser, chunk, dglm.sampling_steps, generator, dglm.cfg_weight, guide)
        for chunk in cond.split(256)
    ])  # fmt: skip
    # 2. the decoder writes a continuation from each proposal
    rows = decode(
        decoder, tokenizer, prompts, latents, sample_cfg, dglm.noise_infer, seed, max_prompt_tokens, generator, desc
    )
    # 3. proposal following: the proposal's embedding against the generated text's
    following = followed(latents, rows, encoder, arrays)
    # what guidance did to the proposals, under the classifiers it steers by
    scores = probabilities(classifiers, latents.numpy())
    for i, (row, c) in enumerate(zip(rows, following, strict=True)):
        row["proposal_cosine"] = round(float(c), 5)
        row["proposal_scores"] = {name: round(float(p[i]), 5) for name, p in scores.items()}
    return rows
