"""Scaling out: the accelerate configs carry what the training loop needs (two processes training to the weights
of one: test_fresh_projects)."""

from __future__ import annotations

import yaml
from conftest import REPO

CONFIGS = REPO / "configs" / "accelerate"


def test_the_multi_gpu_configs_keep_fp32_master_weights_and_whole_checkpoints():
    fsdp = yaml.safe_load((CONFIGS / "fsdp.yaml").read_text())
    assert fsdp["distributed_type"] == "FSDP" and fsdp["mixed_precision"] == "bf16"
    assert fsdp["fsdp_config"]["fsdp_state_dict_type"] == "FULL_STATE_DICT"  # the main process saves whole weights
    assert fsdp["fsdp_config"]["fsdp_use_orig_params"] is True  # the loop optimises a subset of parameters
    deepspeed = yaml.safe_load((CONFIGS / "deepspeed_zero2.yaml").read_text())
    assert deepspeed["distributed_type"] == "DEEPSPEED" and deepspeed["mixed_precision"] == "bf16"
    assert deepspeed["deepspeed_config"]["zero_stage"] == 2  # weights unsharded: saved as they are
    assert deepspeed["deepspeed_config"]["gradient_accumulation_steps"] == 1  # the loop accumulates itself
