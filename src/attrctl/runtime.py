"""Process set-up shared by every stage: offline switches, threads, seeds, device and dtype.

`prepare_env` must run before transformers/datasets are imported: huggingface_hub reads HF_HUB_OFFLINE once,
at import time. Stages therefore import their heavy modules inside `main()`, after calling it.
"""

from __future__ import annotations

import os
import random

from attrctl.config import RuntimeConfig

OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
REMOTE_CODE_VAR = "ATTRCTL_TRUST_REMOTE_CODE"
"""runtime.trust_remote_code, handed to every model load of the process (and of the processes it launches)."""


def prepare_env(runtime: RuntimeConfig) -> None:
    """Set offline switches and quiet noisy libraries; call before importing transformers."""
    if runtime.offline:
        for var in OFFLINE_VARS:
            os.environ[var] = "1"
    os.environ[REMOTE_CODE_VAR] = "1" if runtime.trust_remote_code else "0"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")


def trust_remote_code() -> bool:
    """Whether model loads may run a repository's own code (runtime.trust_remote_code, set by prepare_env)."""
    return os.environ.get(REMOTE_CODE_VAR) == "1"


def problems(runtime: RuntimeConfig) -> list[str]:
    """What this machine lacks for `runtime` (checked by the validate stage, before any work): the launcher's
    executable, and a GPU when `device: cuda`."""
    import shlex
    import shutil

    found = []
    executable = shlex.split(runtime.launcher)[0] if runtime.launcher.strip() else ""
    if shutil.which(executable) is None:
        found.append(f"runtime.launcher = {runtime.launcher!r}: no executable {executable!r} on PATH")
    if runtime.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            found.append("runtime.device = 'cuda', but no CUDA GPU is visible here: use 'auto' or 'cpu'")
    return found


def setup_torch(runtime: RuntimeConfig, seed: int) -> Precision:
    """Seed everything, fix threads, make CPU kernels deterministic; return how this process computes (its
    device and precision)."""
    import numpy as np
    import torch

    if runtime.threads:
        torch.set_num_threads(runtime.threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # torch.use_deterministic_algorithms would also set torch.compile's flag, importing the compiler stack
    # (~2 s a process, most of a tiny stage's run); nothing here compiles, so set the kernels' flag alone.
    torch._C._set_deterministic_algorithms(True, warn_only=True)
    return Precision(runtime, device_for(runtime))


def device_for(runtime: RuntimeConfig):
    """CUDA when asked or available (the process's own GPU under a multi-process launcher), else CPU."""
    import torch

    if runtime.device == "cuda" or (runtime.device == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def is_main_process() -> bool:
    """Only the first process of a multi-process launch writes outputs and logs."""
    return os.environ.get("RANK", "0") == "0"


class Precision:
    """How a stage computes: trained weights always stay fp32 (master weights, which AdamW steps); with bf16
    autocast the forward passes run in bf16 and frozen models are held in bf16. `auto`: bf16 on CUDA, fp32 on
    CPU (bf16 matmuls are slow on most CPUs)."""

    def __init__(self, runtime: RuntimeConfig, device) -> None:
        import torch

        bf16 = runtime.precision == "bf16" or (runtime.precision == "auto" and device.type == "cuda")
        self.device = device
        self.autocast = torch.bfloat16 if bf16 else None
        self.frozen = torch.bfloat16 if bf16 else torch.float32
        self.trained = torch.float32

    def context(self):
        """The autocast context of the forward passes (a no-op in fp32)."""
        import contextlib

        import torch

        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast)
