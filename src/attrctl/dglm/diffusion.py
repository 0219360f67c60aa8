"""The latent diffusion model of DGLM: it proposes the sentence embedding of a continuation given the prompt.

Variance-preserving diffusion z_t = α_t·x0 + σ_t·ε with the cosine schedule (α_t = cos(πt/2), σ_t = sin(πt/2),
log-SNR clipped to [−15, 15]), v-prediction (v = α·ε − σ·x0), classifier-free guidance through a learned null
condition, and ancestral (DDPM) sampling. Classifier guidance adds the gradient of the attribute classifiers'
log-likelihood at the predicted x0, taken through the denoiser, to the predicted noise (see `sample`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from attrctl.dglm.method import DenoiserConfig

LOGSNR_MAX = 15.0
WEIGHTS = "diffusion.safetensors"


def logsnr(t: torch.Tensor) -> torch.Tensor:
    """log(α²/σ²) of the cosine schedule at time t ∈ [0, 1]: −2·log tan(πt/2), clipped to ±15."""
    t_min = math.atan(math.exp(-LOGSNR_MAX / 2)) * 2 / math.pi
    t = t.clamp(t_min, 1 - t_min)
    return (-2 * torch.log(torch.tan(math.pi * t / 2))).clamp(-LOGSNR_MAX, LOGSNR_MAX)


def alpha_sigma(snr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(α, σ) with α² = sigmoid(logSNR), σ² = sigmoid(−logSNR), so α² + σ² = 1."""
    return torch.sigmoid(snr).sqrt(), torch.sigmoid(-snr).sqrt()


def v_target(x0: torch.Tensor, eps: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """What the denoiser predicts: v = α·ε − σ·x0."""
    return alpha * eps - sigma * x0


def x0_and_eps(z: torch.Tensor, v: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor):
    """(x0, ε) from z_t and a v prediction: x0 = α·z − σ·v, ε = σ·z + α·v."""
    return alpha * z - sigma * v, sigma * z + alpha * v


class Denoiser(nn.Module):
    """v̂(z_t, logSNR, prompt embedding): a transformer over the latent cut into `latent_tokens` tokens, with the
    prompt's embedding (or the learned null condition) as one more token and the noise level added to all."""

    def __init__(self, dim: int, cond_dim: int, cfg: DenoiserConfig) -> None:
        super().__init__()
        if dim % cfg.latent_tokens:
            raise ValueError(f"latent size {dim} is not divisible by dglm.denoiser.latent_tokens = {cfg.latent_tokens}")
        self.dim, self.tokens, width = dim, cfg.latent_tokens, cfg.width
        self.inp = nn.Linear(dim // self.tokens, width)
        self.out = nn.Linear(width, dim // self.tokens)
        self.cond = nn.Linear(cond_dim, width)
        self.null = nn.Parameter(torch.zeros(cond_dim))
        self.time = nn.Sequential(nn.Linear(2 * 16, width), nn.SiLU(), nn.Linear(width, width))
        self.pos = nn.Parameter(torch.randn(self.tokens + 1, width) * 0.02)
        layer = nn.TransformerEncoderLayer(width, cfg.heads, 4 * width, dropout=0.0, batch_first=True, norm_first=True)
        self.body = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)

    def forward(self, z: torch.Tensor, snr: torch.Tensor, cond: torch.Tensor, null: torch.Tensor) -> torch.Tensor:
        rows = z.shape[0]
        cond = torch.where(null[:, None], self.null.expand_as(cond), cond)
        freqs = torch.exp(torch.linspace(0, math.log(100), 16, device=z.device))
        angle = (snr[:, None] / LOGSNR_MAX) * freqs
        time = self.time(torch.cat([angle.sin(), angle.cos()], -1))
        seq = torch.cat([self.cond(cond)[:, None], self.inp(z.view(rows, self.tokens, -1))], 1)
        hidden = self.norm(self.body(seq + self.pos + time[:, None]))
        return self.out(hidden[:, 1:]).reshape(rows, self.dim)


class DiffusionLoss:
    """L = E_{t, ε} ‖v̂(z_t) − v‖² over the batch's latents, with the prompt condition dropped at `cond_dropout`."""

    def __init__(self, cond_dropout: float) -> None:
        self.cond_dropout = cond_dropout

    def __call__(self, model, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        x0, cond = batch["latent"], batch["cond"]
        # 1. a noise level per example (uniform time under the cosine schedule) and its noise
        snr = logsnr(torch.rand(x0.shape[0]))
        alpha, sigma = (a[:, None] for a in alpha_sigma(snr))
        eps = torch.randn_like(x0)
        # 2. the forward process q(z_t | x0) and the v target
        z = alpha * x0 + sigma * eps
        v = v_target(x0, eps, alpha, sigma)
        # 3. classifier-free guidance: some examples see the null condition instead of their prompt
        null = torch.rand(x0.shape[0]) < self.cond_dropout
        loss = (model(z, snr, cond, null) - v).pow(2).mean()
        return loss, {"loss": float(loss.detach())}


def collate(examples: list[dict]) -> dict[str, torch.Tensor]:
    return {
        "latent": torch.tensor([e["latent"] for e in examples], dtype=torch.float32),
        "cond": torch.tensor([e["cond"] for e in examples], dtype=torch.float32),
    }


Guide = Callable[[torch.Tensor], torch.Tensor]
"""x0 (rows, dim) -> the log-likelihood of the wanted attributes per row (attrctl.dglm.guidance.Guide)."""


def sample(
    model: Denoiser,
    cond: torch.Tensor,
    steps: int,
    generator: torch.Generator,
    cfg_weight: float = 1.0,
    guide: Guide | None = None,
) -> torch.Tensor:
    """Proposals x0 (rows, dim) for the prompt embeddings `cond`, by ancestral sampling from t = 1 to 0."""
    rows, null = cond.shape[0], torch.ones(cond.shape[0], dtype=torch.bool)
    z = torch.randn(rows, model.dim, generator=generator)
    times = torch.linspace(1.0, 0.0, steps + 1)
    for t, s in zip(times[:-1], times[1:], strict=True):
        snr_t, snr_s = logsnr(t.expand(rows)), logsnr(s.expand(rows))
        (alpha_t, sigma_t), (alpha_s, sigma_s) = alpha_sigma(snr_t[:1]), alpha_sigma(snr_s[:1])
        with torch.enable_grad():
            z = z.detach().requires_grad_(guide is not None)
            # 1. the denoiser's v, with classifier-free guidance: w·conditional + (1 − w)·unconditional
            v = model(z, snr_t, cond, ~null)
            if cfg_weight != 1.0:
                v = cfg_weight * v + (1 - cfg_weight) * model(z, snr_t, cond, null)
            x0, eps = x0_and_eps(z, v, alpha_t, sigma_t)
            # 2. classifier guidance: ε̂ ← ε̂ − σ_t·∇_{z_t} log p(attributes | x̂0(z_t)), the gradient taken through
            # the denoiser (at high noise ∂x̂0/∂z_t is small, which keeps the step bounded)
            if guide is not None:
                grad = torch.autograd.grad(guide(x0).sum(), z)[0]
                eps = eps - sigma_t * grad
                x0 = (z - sigma_t * eps) / alpha_t
        x0, z = x0.detach(), z.detach()
        if s == 0:
            return x0
        # 3. one step of the posterior q(z_s | z_t, x̂0)
        alpha_ts = alpha_t / alpha_s
        var_ts = sigma_t**2 - alpha_ts**2 * sigma_s**2
        mean = alpha_ts * sigma_s**2 / sigma_t**2 * z + alpha_s * var_ts / sigma_t**2 * x0
        z = mean + (var_ts * sigma_s**2 / sigma_t**2).sqrt() * torch.randn(z.shape, generator=generator)
    return x0


def save(model: Denoiser, path: Path) -> None:
    from safetensors.torch import save_file

    path.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(path / WEIGHTS))


def load(path: Path, dim: int, cond_dim: int, cfg: DenoiserConfig) -> Denoiser:
    from safetensors.torch import load_file

    model = Denoiser(dim, cond_dim, cfg)
    model.load_state_dict(load_file(str(path / WEIGHTS)))
    return model.eval().requires_grad_(False)
