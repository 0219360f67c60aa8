"""The one training loop shared by every trained component (NADO and all fine-tuning methods).

Methods differ only in the loss function they pass in. The loop runs under accelerate (one CPU process here;
multi-GPU with FSDP/DeepSpeed through `accelerate launch`), is seeded, accumulates gradients, checkpoints
every N optimizer steps and resumes from the last checkpoint after a kill: the data order of each epoch is a
function of (seed, epoch) and accelerate restores model, optimizer, scheduler and RNG states, so a resumed run
reaches the same weights as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from attrctl.config import TrainConfig
from attrctl.io import chunks, digest, files_of, write_json

MANIFEST = "manifest.json"
"""Written into each saved state: its files' sizes and checksums, verified before a resume."""
LossFn = Callable[[torch.nn.Module, dict[str, Any]], tuple[torch.Tensor, dict[str, float]]]


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The example order of one epoch: a permutation determined by (seed, epoch) only."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000 + epoch)).tolist()


def _resumable(checkpoint_dir: Path, fingerprint: str) -> tuple[dict | None, str]:
    """The progress file of a checkpoint this job may resume, or None and why not (empty: no checkpoint)."""
    progress = checkpoint_dir / "progress.json"
    if not progress.is_file():
        return None, ""
    state = json.loads(progress.read_text())
    if state.get("fingerprint") != fingerprint:
        return None, f"{checkpoint_dir} is of another run (its params, inputs or code differ)"
    damage = _damage(checkpoint_dir / state["state"])
    return (None, f"{checkpoint_dir / state['state']} is damaged ({damage})") if damage else (state, "")


def _crc32(file: Path) -> int:
    crc = 0
    for chunk in chunks(file):
        crc = zlib.crc32(chunk, crc)
    return crc


def _manifest(state_dir: Path) -> dict[str, list[int]]:
    """Each file of a saved state: [size, CRC-32] (CRC-32 rather than sha256: ~3x faster, and enough to see
    damage)."""
    return {
        f.relative_to(state_dir).as_posix(): [f.stat().st_size, _crc32(f)]
        for f in files_of(state_dir)
        if f.name != MANIFEST
    }


def _damage(state_dir: Path) -> str:
    """What is wrong with a saved state against the manifest written with it; empty when nothing is."""
    if not (state_dir / MANIFEST).is_file():
        return f"no {MANIFEST}" if state_dir.is_dir() else "missing"
    found, written = _manifest(state_dir), json.loads((state_dir / MANIFEST).read_text())
    bad = sorted(name for name in written.keys() | found.keys() if written.get(name) != found.get(name))
    return ", ".join(f"{name}: {'missing' if name not in found else 'changed'}" for name in bad)


def _clear(checkpoint_dir: Path) -> None:
    (checkpoint_dir / "progress.json").unlink(missing_ok=True)
    for old in checkpoint_dir.glob("step-*"):
        shutil.rmtree(old, ignore_errors=True)


@dataclass
class Job:
    """One training job's bookkeeping: its checkpoint directory (resumed only by a job with the same
    `fingerprint`), its progress-bar label, its mixed precision (attrctl.runtime.Precision; None: fp32) and
    `on_step(logs)`, which sees each step's logs as they come (live curves)."""

    checkpoint_dir: Path
    fingerprint: str
    desc: str = "train"
    precision: Any = None
    on_step: Callable[[dict[str, float]], None] | None = None


def fit(
    model: torch.nn.Module,
    loss_fn: LossFn,
    examples: list,
    collate: Callable[[list], dict[str, Any]],
    cfg: TrainConfig,
    seed: int,
    job: Job,
) -> list[dict[str, float]]:
    """Optimise the trainable parameters of `model` on `loss_fn` over `examples`; returns the per-step logs
    (each with `seconds`: the training time so far, resumed runs included).

    `loss_fn(model, batch)` returns (loss, logs) for `batch = collate(list of examples)` and `model` as the
    loop prepared it (wrapped for distributed training: its forward pass syncs the gradients). Only parameters with
    `requires_grad` are optimised; they stay fp32 and the job's precision sets the autocast of the forward
    passes. A non-finite loss or gradient stops training with an error, and nothing is saved. The checkpoint
    directory is left in place; the caller removes it once the final weights are safely written.
    """
    from accelerate import Accelerator
    from accelerate.utils import broadcast_object_list, set_seed
    from transformers import get_scheduler

    checkpoint_dir, desc, precision = job.checkpoint_dir, job.desc, job.precision
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    set_seed(seed)
    rows_per_step = cfg.batch_size * cfg.grad_accum * accelerator.num_processes
    steps_per_epoch = max(1, math.ceil(len(examples) / rows_per_step))
    total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else cfg.max_steps

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=cfg.warmup_steps, num_training_steps=total)
    model, optimizer = accelerator.prepare(model, optimizer)
    # The schedule counts global steps already; a prepared scheduler would step once per process.
    accelerator.register_for_checkpointing(scheduler)
    if hasattr(loss_fn, "state_dict"):  # an objective with state of its own (L3M's running constraint estimates)
        accelerator.register_for_checkpointing(loss_fn)

    # Hold the checkpoint directory while training: a second writer gets a clear error instead of resuming from
    # a live checkpoint (the lock goes with the process, so a killed run does not block its re-run).
    with _locked(checkpoint_dir) if accelerator.is_main_process else contextlib.nullcontext():
        # the main process checks the checkpoint (reading it all) and tells the others what it found
        decision = [_resumable(checkpoint_dir, job.fingerprint) if accelerator.is_main_process else None]
        progress, why = broadcast_object_list(decision)[0]
        if progress is None and why:
            accelerator.print(f"{desc}: not resuming: {why}; starting afresh")
        if progress is None and accelerator.is_main_process:
            _clear(checkpoint_dir)
        start, history = 0, []
        if progress is not None:
            accelerator.load_state(str(checkpoint_dir / progress["state"]))
            start, history = progress["step"], progress["history"]
            accelerator.print(f"{desc}: resuming from step {start}/{total} ({checkpoint_dir})")

        autocast = precision.context if precision is not None else contextlib.nullcontext
        model.train()
        clock = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
        bar = tqdm(
            range(start, total),
            initial=start,
            total=total,
            desc=desc,
            unit="step",
            disable=not accelerator.is_local_main_process,
        )
        for step in bar:
            epoch, within = divmod(step, steps_per_epoch)
            order = epoch_order(len(examples), seed, epoch)
            rows = order[within * rows_per_step : (within + 1) * rows_per_step]
            # Each process takes a contiguous share of the step's rows, so its micro-batches are the ones a single
            # process with grad_accum × processes would see; every loss is weighted by its share of the step's rows,
            # which makes the all-reduced mean gradient the single-process one even when the shares are uneven.
            share = math.ceil(len(rows) / accelerator.num_processes)
            mine = rows[accelerator.process_index * share : (accelerator.process_index + 1) * share]
            weight = accelerator.num_processes / len(rows)
            if not mine:  # fewer rows than processes: still join the gradient all-reduce, with a zero weight
                mine, weight = rows[:1], 0.0
            micro_batches = [mine[i : i + cfg.batch_size] for i in range(0, len(mine), cfg.batch_size)]
            logs: dict[str, float] = {}
            for i, ids in enumerate(micro_batches):
                # Gradients are summed over micro-batches and synchronised across processes only on the last one.
                sync = accelerator.no_sync(model) if i < len(micro_batches) - 1 else contextlib.nullcontext()
                with sync:
                    batch = collate([examples[j] for j in ids])
                    batch.update(step=step, total_steps=total)  # for objectives with a schedule (L3M's μ)
                    with autocast():  # the forward passes; backward runs outside, in the dtypes they chose
                        loss, micro_logs = loss_fn(model, batch)
                    _check_finite(loss, micro_logs, step, scheduler.get_last_lr()[0], desc)
                    accelerator.backward(loss.float() * len(ids) * weight)
                for key, value in micro_logs.items():
                    logs[key] = logs.get(key, 0.0) + value * len(ids) / len(mine)
            norm = accelerator.clip_grad_norm_(trainable, cfg.max_grad_norm or float("inf"))
            _check_finite(norm, {"grad_norm": float(norm)}, step, scheduler.get_last_lr()[0], desc)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            # the norm before clipping: how often and by how much the clip binds (L3M's terms, docs/methods.md)
            logs.update(
                grad_norm=float(norm),
                step=step + 1,
                epoch=epoch,
                lr=scheduler.get_last_lr()[0],
                seconds=time.perf_counter() - clock,
            )
            history.append(logs)
            if job.on_step is not None:
                job.on_step(logs)
            bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k in ("loss", "bce", "kl", "task")})
            if (step + 1) % cfg.checkpoint_every == 0 or (step + 1) % steps_per_epoch == 0 or step + 1 == total:
                _checkpoint(accelerator, checkpoint_dir, step + 1, history, job.fingerprint)
    model.eval()
    return history


class CheckpointInUse(RuntimeError):
    """Another process is writing the same checkpoint directory."""


@contextlib.contextmanager
def _locked(checkpoint_dir: Path):
    """Hold the checkpoint directory for this run: a second writer gets a clear error instead of resuming from a
    live checkpoint. The OS releases the lock when the process dies, so a killed run does not block its re-run."""
    from filelock import FileLock, Timeout

    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(checkpoint_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise CheckpointInUse(
            f"{checkpoint_dir} is being written by another process (a second run of the same stage?): "
            "wait for it to finish, or stop it first"
        ) from None
    try:
        yield
    finally:
        lock.release()


class NonFiniteError(RuntimeError):
    """Training produced a NaN or infinite loss or gradient."""


def _check_finite(value: torch.Tensor, logs: dict[str, float], step: int, lr: float, desc: str) -> None:
    if not torch.isfinite(value).all():
        terms = ", ".join(f"{k}={v:.4g}" for k, v in logs.items())
        raise NonFiniteError(
            f"{desc}: non-finite value at step {step + 1} ({terms}; learning rate {lr:.3g}): stopping without "
            "saving a model; lower the learning rate or check the data"
        )


def _checkpoint(accelerator, checkpoint_dir: Path, step: int, history: list, fingerprint: str) -> None:
    """Every process saves its part of the state (the main one: model, optimizer, scheduler; each: its RNG) into a
    staging directory; the main process then renames it into place, writes the progress file that names it and
    removes the old states. A kill at any point leaves a progress file that names a complete state."""
    name = f"step-{step:06d}"
    staging = checkpoint_dir / f".{name}.staging"
    accelerator.wait_for_everyone()
    try:
        accelerator.save_state(str(staging))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            write_json(staging / MANIFEST, _manifest(staging))  # what a resume checks the state against
    except BaseException:  # a full disk, a kill: no half-written state is left taking space
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if accelerator.is_main_process:
        shutil.rmtree(checkpoint_dir / name, ignore_errors=True)
        os.replace(staging, checkpoint_dir / name)
        progress = {"step": step, "state": name, "history": history, "fingerprint": fingerprint}
        write_json(checkpoint_dir / "progress.json", progress)
        for old in checkpoint_dir.glob("step-*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def fingerprint(params: dict, name: str, inputs: Sequence[Path], code: Sequence[Path]) -> str:
    """What a checkpoint must match to be resumed: the params the job reads, its name, and the contents of its
    inputs (data, start model, guide, ...) and of the code it runs (by content only: a moved checkout still
    resumes)."""
    named = json.dumps([params, name, [str(f) for f in inputs]])
    return hashlib.sha256((named + digest(*inputs, *code)).encode()).hexdigest()


def summary(history: list[dict], examples: list[dict], epochs: int) -> dict[str, float]:
    """Wall time and tokens of the whole training (resumed runs included) and the final loss terms."""
    seconds = history[-1]["seconds"] if history else float("nan")
    tokens = sum(len(e["prompt_ids"]) + len(e["target_ids"]) for e in examples) * epochs
    return {
        "train_seconds": seconds,
        "train_tokens": tokens,
        "train_tokens_per_s": tokens / seconds,
        "train_steps": len(history),
        "train_examples": len(examples),
        **{f"final_{k}": v for k, v in history[-1].items() if k not in ("step", "epoch", "lr", "seconds")},
    }
