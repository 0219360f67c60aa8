"""What the benchmarks share: device and precision from flags, the model, prompts, timing, model-FLOP utilisation.

MFU = achieved model FLOP/s ÷ the device's peak dense bf16 FLOP/s, with 6·N FLOPs per trained token and 2·N per
generated token (N: parameters). Peaks come from a table of known devices or --peak-tflops.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from attrctl import models
from attrctl.config import DataConfig, ModelConfig, RuntimeConfig
from attrctl.data import load_prompts, split
from attrctl.pipeline.paths import EMBEDDED_PROMPTS
from attrctl.runtime import Precision

PEAK_BF16_TFLOPS = {  # dense, no sparsity (vendor data sheets)
    "H100": 989.0,
    "H200": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10": 125.0,
    "RTX 4090": 165.0,
}


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="results/models/base", help="model directory (else the embedded GGUF)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run (default: auto)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"], help="as runtime.precision")
    p.add_argument("--peak-tflops", type=float, help="the device's peak bf16 TFLOP/s (default: from a table)")
    return p


def setup(args) -> tuple[Precision, object, object]:
    """(precision, frozen model, tokenizer) for the flags."""
    runtime = RuntimeConfig(device=args.device, precision=args.precision)
    device = torch.device(
        "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"
    )
    precision = Precision(runtime, device)
    if Path(args.model).is_dir():
        model, tokenizer = models.load(args.model, device, precision.frozen)
    else:
        model, tokenizer = models.build_base(ModelConfig(), seed=0)
        model = model.to(device, precision.frozen).eval()
        tokenizer.padding_side = "left"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; precision: autocast {precision.autocast}, frozen weights {precision.frozen}")
    return precision, model, tokenizer


def prompts(n: int, split_name: str = "eval") -> list[dict]:
    train, evals = split(load_prompts(EMBEDDED_PROMPTS, DataConfig()), DataConfig(max_eval=n, max_train=None), seed=0)
    return (evals if split_name == "eval" else train)[:n]


def timed(fn, repeats: int = 1) -> tuple[object, float]:
    """(result of the last call, seconds per call), after one warm-up call; synchronises CUDA."""
    fn()
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    sync()
    return out, (time.perf_counter() - start) / repeats


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def mfu(tokens_per_s: float, params: int, flops_per_param: int, args, device) -> str:
    """'MFU x%' against the device's peak, or why it is not given."""
    peak = args.peak_tflops
    if peak is None and device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    if peak is None:
        return "MFU: no peak known for this device (pass --peak-tflops)"
    return f"MFU {100 * tokens_per_s * flops_per_param * params / (peak * 1e12):.2f}% of {peak:g} TFLOP/s"
