"""Scaling out: the accelerate configs carry what the training loop needs, and two processes (gloo, on this CPU)
train the NADO, fine-tuning and TNT stages of the tiny profile to the weights one process reaches."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import PYTHON, REPO, copy_results, make_project, run

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


LAUNCH = ["torchrun", "--standalone", "--nproc_per_node", "2"]  # accelerate sees the gloo group it starts
WEIGHTS = {  # the training stages' outputs to compare, and their weights files
    "results/nado/sequential_iter1": "nado.safetensors",
    "results/models/sft": "model.safetensors",
    "results/models/tnt_nl": "model.safetensors",
}


def commands(root) -> dict[str, str]:
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return {str(o.def_path): s.cmd for s in repo.index.stages for o in s.outs}


@pytest.mark.slow
def test_two_processes_reach_the_weights_of_one(snakemake_project, tmp_path):
    """Two processes of 2 examples per step against one process accumulating 2 micro-batches of 2: the same
    micro-batches, weighted the same, so the weights agree to rounding (the sft weights are stored in bf16)."""
    from safetensors.torch import load_file

    root = make_project(tmp_path / "p")
    params = yaml.safe_load((root / "params.yaml").read_text())
    for section in ("nado", "finetune", "tnt"):
        params[section]["train"].update(batch_size=2, grad_accum=2, epochs=2)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    run([PYTHON, "-m", "attrctl.pipeline.dvcgen"], root)
    run(["dvc", "init", "--no-scm", "-q"], root)
    copy_results(snakemake_project, root, ["results/annotations/base", "results/data", "results/models/base"])
    cmds = commands(root)
    single = {}
    for out, weights in WEIGHTS.items():
        run(cmds[out].split(), root)
        single[out] = load_file(str(root / out / weights))
    for section in ("nado", "finetune", "tnt"):
        params[section]["train"]["grad_accum"] = 1  # one micro-batch per process: the same global batch of 4
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    for out, weights in WEIGHTS.items():
        cmd = cmds[out].split()
        run([*LAUNCH, "-m", cmd[2], *cmd[3:]], root, timeout=1200)
        double = load_file(str(root / out / weights))
        assert set(double) == set(single[out])
        for key, value in single[out].items():
            gap = (value.float() - double[key].float()).abs().max().item()
            assert gap <= 2 * value.float().abs().max().item() / 128, (out, key, gap)  # two bf16 steps at most
    from mlflow.tracking import MlflowClient  # only the main process tracks

    client = MlflowClient(f"sqlite:///{root}/results/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("attrctl-tiny").experiment_id])
    names = [r.info.run_name for r in runs]
    assert names.count("finetune:sft") == 2 and names.count("tnt_train:tnt_nl") == 2
    assert json.loads((root / "results/metrics/sft/train.json").read_text())["train_steps"] > 0
