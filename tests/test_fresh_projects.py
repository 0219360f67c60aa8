"""Runs that start from a fresh project instead of the tiny DAG's (test_pipeline), so that they can run beside it
(`make test` spreads test modules over two pytest-xdist workers): DVC alone from scratch, Snakemake reproducing its
outputs, a DVC remote carrying them to a clone, a kill in mid-stage or in mid-training, and two training processes
(gloo, on this CPU) reaching the weights of one."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest
import torch
import yaml
from conftest import PYTHON, SNAKEMAKE, copy_results, git_project, make_project, ran_stages, run, untracked

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def yield_to_the_tiny_dag():
    """The tiny DAG is the suite's critical path: this module's processes, beside it, run at a lower priority."""
    os.nice(10)


TRAINING_INPUTS = ["results/annotations/base", "results/data", "results/models/base"]


DETERMINISTIC = {  # outputs that must be a function of inputs and params (timings and MLflow are not)
    "results/samples/base/eval.jsonl": "",
    "results/annotations/base/eval.jsonl": "",
    "results/metrics/base/toxicity.json": "",
    "results/nado/sequential_iter1": "nado.safetensors",
    "results/data/corpus.jsonl": "",
    "results/models/nado_reg_i1": "model.safetensors",
}


TARGETS = ["evaluate-base", "finetune-nado_reg_i1"]  # DVC stages that write DETERMINISTIC's outputs


@pytest.fixture(scope="module")
def dvc_project(tmp_path_factory):
    """`dvc repro` from scratch in a git + DVC project of the tiny profile, for two targets: the base model's
    evaluation and the first NADO-regularised model (DVC runs one stage at a time, each paying its start-up, so not
    the whole DAG; the whole DAG's stages match Snakemake's in test_workflow_parity and are handed over from a
    Snakemake run in test_pipeline). Its results also hold what the training stages read (TRAINING_INPUTS): the root
    and `dvc repro`'s output."""
    root = make_project(tmp_path_factory.mktemp("dvc") / "p")
    untracked(root)  # DVC's runs are tracked in test_pipeline (evaluate-base)
    root = git_project(root, copy=False)
    return root, run(["dvc", "repro", *TARGETS], root).stdout


def test_dvc_repro_runs_a_targets_upstream_and_exp_run_validates(dvc_project):
    root, out = dvc_project
    upstream = {"validate", "prepare_data", "prepare_model", "train_oracle", "sample", "annotate", "evaluate"}
    assert ran_stages(out) == upstream | {"corpus", "train_nado", "finetune"}, out
    assert len(re.findall(r"Running stage '", out)) == 12, out  # each once: base's eval and train1 samples
    assert json.loads((root / "results/metrics/base/toxicity.json").read_text())["toxicity_probability"] >= 0
    before = (root / "results/samples/base/eval.jsonl").read_bytes()
    bad = run(["dvc", "exp", "run", "-S", "sample.k=-1"], root, check=False)
    assert bad.returncode != 0 and "sample.k" in bad.stdout + bad.stderr
    assert (root / "results/samples/base/eval.jsonl").read_bytes() == before, "a bad param must lose nothing"
    run(["git", "checkout", "--", "params.yaml"], root)  # the project's own params again, for the other tests


def test_a_dvc_remote_carries_the_results_to_another_clone(dvc_project, tmp_path):
    """push after a run, clone elsewhere, pull: `dvc status` is clean and, after `snakemake --touch`, Snakemake
    has nothing to do (README, Scaling out)."""
    root, targets = dvc_project[0], ["--with-deps", *TARGETS]
    run(["dvc", "remote", "add", "-d", "store", str(tmp_path / "store")], root)
    run(["git", "add", "-A"], root)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "results"], root)
    run(["dvc", "push", "-q", *targets], root)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(root), str(clone)], tmp_path)
    run(["dvc", "pull", "-q", *targets], clone)
    for target, inside in DETERMINISTIC.items():
        assert (clone / target / inside).read_bytes() == (root / target / inside).read_bytes(), target
    status = json.loads(run(["dvc", "status", "--json", *targets], clone).stdout)
    assert status == {}, status
    run(["snakemake", "--touch", "--cores", "1", *DETERMINISTIC], clone)
    assert "Nothing to be done" in run([*SNAKEMAKE, "-n", *DETERMINISTIC], clone).stdout


def test_snakemake_two_jobs_at_a_time_reproduces_dvcs_outputs(dvc_project, tmp_path):
    """The same outputs from Snakemake, two jobs at a time in another order, as from DVC one stage at a time."""
    import hashlib

    first = dvc_project[0]
    second = make_project(tmp_path / "again")
    untracked(second)
    run([*SNAKEMAKE, *DETERMINISTIC], second)
    for target, inside in DETERMINISTIC.items():
        digests = [hashlib.sha256((root / target / inside).read_bytes()).hexdigest() for root in (first, second)]
        assert digests[0] == digests[1], target


def test_killed_stage_leaves_no_output(dvc_project, tmp_path):
    root = make_project(tmp_path / "p")
    untracked(root)
    copy_results(dvc_project[0], root, ["results/data", "results/models/base"])
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["sample"].update(k=64, max_new_tokens=64)  # long enough to be killed mid-way
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    args = ["--name", "base", "--model", "results/models/base", "--prompts", "results/data/prompts_eval.jsonl"]
    args += ["--split", "eval", "--out", "results/samples/base/eval.jsonl", "--timing", "results/metrics/t.json"]
    proc = subprocess.Popen(
        [PYTHON, "-m", "attrctl.stages.sample", "--params", "params.yaml", *args],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(8)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (root / "results/samples/base/eval.jsonl").exists()


KILLABLE = {  # stage: (params that lengthen training, weights file, checkpoint dir)
    "train_nado": (
        {"nado": {"train": {"epochs": 12, "checkpoint_every": 3}}},
        "results/nado/sequential_iter1/nado.safetensors",
        "nado-sequential_iter1",
    ),
    "finetune": (
        {"finetune": {"train": {"epochs": 6, "checkpoint_every": 2}}},
        "results/models/sft/model.safetensors",
        "finetune-sft",
    ),
}


def merge(base: dict, override: dict) -> dict:
    return {k: merge(base[k], v) if isinstance(v, dict) else v for k, v in override.items()} | {
        k: v for k, v in base.items() if k not in override
    }


def training_project(path, inputs, override: dict) -> tuple:
    """A fresh project with `override` merged into its params and the training inputs copied in (the overrides
    change training only): its root and its params, and each DVC output's command (the one Snakemake runs)."""
    from dvc.repo import Repo

    root = make_project(path)
    params = merge(yaml.safe_load((root / "params.yaml").read_text()), override)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    run([PYTHON, "-m", "attrctl.pipeline.dvcgen"], root)
    run(["dvc", "init", "--no-scm", "-q"], root)
    copy_results(inputs, root, TRAINING_INPUTS)
    with Repo(str(root)) as repo:
        commands = {str(o.def_path): s.cmd.split() for s in repo.index.stages for o in s.outs}
    return root, params, commands


@pytest.mark.parametrize("stage", sorted(KILLABLE))
def test_killed_training_resumes_to_the_same_weights(dvc_project, tmp_path, stage):
    from safetensors.torch import load_file

    override, weights_file, checkpoint = KILLABLE[stage]
    root, _, commands = training_project(tmp_path / "p", dvc_project[0], override)
    cmd = commands[weights_file.rsplit("/", 1)[0]]
    weights = root / weights_file
    run(cmd, root)  # uninterrupted
    reference = load_file(str(weights))
    weights.unlink()

    progress = root / "results/checkpoints" / checkpoint / "progress.json"
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and not (progress.is_file() and json.loads(progress.read_text())["step"] >= 6):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(progress.read_text())["step"]
    assert not weights.exists(), "the kill must land before training ends"
    again = run(cmd, root)
    resumed_from, total = map(int, re.search(r"resuming from step (\d+)/(\d+)", again.stdout + again.stderr).groups())
    assert resumed_from == killed_at < total
    resumed = load_file(str(weights))
    assert set(resumed) == set(reference)
    for key in reference:
        assert torch.equal(reference[key], resumed[key]), key
    assert not progress.exists(), "the checkpoint is removed once the final weights are written"
    from mlflow.tracking import MlflowClient  # the killed run shows as FAILED, its re-run as a new FINISHED run

    client = MlflowClient(f"sqlite:///{root}/results/mlflow.db")
    name = {"train_nado": "train_nado:sequential_iter1", "finetune": "finetune:sft"}[stage]
    runs = client.search_runs([client.get_experiment_by_name("attrctl-tiny").experiment_id])
    assert sorted(r.info.status for r in runs if r.info.run_name == name) == ["FAILED", "FINISHED", "FINISHED"]


LAUNCH = ["torchrun", "--standalone", "--nproc_per_node", "2"]  # accelerate sees the gloo group it starts
WEIGHTS = {  # the training stages' outputs to compare (a NADO, a policy), and their weights files
    "results/nado/sequential_iter1": "nado.safetensors",
    "results/models/sft": "model.safetensors",
}


def test_two_processes_reach_the_weights_of_one(dvc_project, tmp_path):
    """Two processes of 2 examples per step against one process accumulating 2 micro-batches of 2: the same
    micro-batches, weighted the same, so the weights agree to rounding (the sft weights are stored in bf16)."""
    from safetensors.torch import load_file

    accumulating = {"train": {"batch_size": 2, "grad_accum": 2, "epochs": 2}}
    override = {section: accumulating for section in ("nado", "finetune")}
    root, params, cmds = training_project(tmp_path / "p", dvc_project[0], override)
    single = {}
    for out, weights in WEIGHTS.items():
        run(cmds[out], root)
        single[out] = load_file(str(root / out / weights))
    for section in ("nado", "finetune"):
        params[section]["train"]["grad_accum"] = 1  # one micro-batch per process: the same global batch of 4
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    for out, weights in WEIGHTS.items():
        cmd = cmds[out]
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
    assert names.count("finetune:sft") == 2 and names.count("train_nado:sequential_iter1") == 2
    assert json.loads((root / "results/metrics/sft/train.json").read_text())["train_steps"] > 0
