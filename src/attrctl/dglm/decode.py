"""A DGLM run as a decoding-time model: its directory holds only `guided.json` (this module, the paths of its
parts with their weights' hashes, the run's guidance scales and the dglm.* settings sampling reads), and
attrctl.models.load_for_sampling calls :func:`load_for_sampling` for the shared sample stage."""

from __future__ import annotations

import functools
from pathlib import Path

from attrctl import models
from attrctl.dglm import data, diffusion, generate
from attrctl.dglm import decoder as dec
from attrctl.dglm.method import SAMPLING_KEYS, DglmConfig
from attrctl.io import digest


def write_guided_dir(
    path: Path,
    run: str,
    dglm: DglmConfig,
    *,
    base: Path,
    data_dir: Path,
    diffusion_dir: Path,
    decoder_dir: Path,
    classifiers: Path,
) -> None:
    """Write DGLM run `run`'s directory. The hashes of the files sampling reads make a retrained part change
    guided.json, so the run's samples are re-drawn under DVC, which compares contents, not times."""
    read = {
        "data": data_dir / data.LATENTS,
        "diffusion": diffusion_dir / diffusion.WEIGHTS,
        "decoder": decoder_dir / dec.WEIGHTS,
        "classifiers": classifiers,
    }
    spec = {
        "module": __name__,
        "run": run,
        "base": str(base),
        "data": str(data_dir),
        "diffusion": str(diffusion_dir),
        "decoder": str(decoder_dir),
        "classifiers": str(classifiers),
        "sha256": {name: digest(file) for name, file in read.items()},
        "guidance": dglm.runs[run],
        "dglm": dglm.model_dump(mode="json", include=set(SAMPLING_KEYS)),
    }
    models.write_guided(path, spec)


def load_for_sampling(spec: dict, device, dtype) -> models.Sampler:
    """The sampler of a DGLM run's spec: proposals from the diffusion model under the run's guidance, decoded by
    the soft-prompt decoder (attrctl.dglm.generate.run). `dtype` is not used: the decoder's LM stays fp32, its
    LoRA adapters merged into those weights."""
    from attrctl.io import read_json
    from attrctl.oracles.embedding import Encoder

    dglm = DglmConfig.model_validate(spec["dglm"])
    _, arrays = data.load(Path(spec["data"]))
    dim, cond_dim = arrays["latent"].shape[1], arrays["cond"].shape[1]
    lm, tokenizer = models.load(spec["base"], device, trainable=True)
    return functools.partial(
        generate.run,
        dglm=dglm,
        scales=spec["guidance"],
        encoder=Encoder(dglm.encoder),
        denoiser=diffusion.load(Path(spec["diffusion"]), dim, cond_dim, dglm.denoiser),
        decoder=dec.load(Path(spec["decoder"]), lm, dim, dglm.soft_tokens, dglm.lora_rank),
        tokenizer=tokenizer,
        arrays=arrays,
        classifiers=read_json(spec["classifiers"]),
    )
