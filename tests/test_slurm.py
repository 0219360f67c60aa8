"""SLURM: the profiles send every GPU rule to the GPU partition with a gres; on the one-node cluster that
scripts/slurm-local.sh sets up, the tiny DAG runs with every job a SLURM job, and a job killed with
`scancel --signal=TERM` is re-run by Snakemake on the next invocation and resumes from its checkpoint
(`make test-slurm`).

A plain `scancel` is not used: sacct then reports `CANCELLED by <uid>`, which snakemake-executor-plugin-slurm
2.8.0 does not count as failed (it matches states exactly), so Snakemake waits for the job forever (README)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import pytest
import yaml
from conftest import REPO, make_project, run

PROFILE = ["snakemake", "--profile", "profiles/slurm-local"]


def gpu_rules() -> set[str]:
    """The rules (shared, and each method's) that declare `gpu=GPU` among their resources."""
    rules = set()
    for path in [*(REPO / "workflow" / "rules").glob("*.smk"), *(REPO / "src" / "attrctl").glob("*/rules.smk")]:
        for block in re.split(r"^(?=rule \w+:)", path.read_text(), flags=re.M):
            name = re.match(r"rule (\w+):", block)
            if name and "gpu=GPU" in block:
                rules.add(name.group(1))
    return rules


@pytest.mark.parametrize("profile", ["slurm", "slurm-local"])
def test_every_gpu_rule_goes_to_the_gpu_partition_with_a_gres(profile):
    config = yaml.safe_load((REPO / "profiles" / profile / "config.yaml").read_text())
    gpu = gpu_rules()
    assert {"sample", "train_nado", "finetune", "tnt_train", "l3m_train"} <= gpu
    assert set(config["set-resources"]) == gpu
    for rule in gpu:
        resources = config["set-resources"][rule]
        assert resources["gres"] == "gpu:1", rule
        assert resources["slurm_partition"] in ("$SLURM_GPU_PARTITION", "gpu"), rule
    if profile == "slurm":  # the cluster's names come from the environment, not the repository
        assert config["default-resources"]["slurm_account"] == "$SLURM_ACCOUNT"
        assert config["default-resources"]["slurm_partition"] == "$SLURM_CPU_PARTITION"


def slurm_ids(snakemake_output: str) -> list[str]:
    return re.findall(r"submitted with SLURM jobid (\d+)", snakemake_output)


@pytest.mark.slurm
@pytest.mark.skipif(shutil.which("sbatch") is None, reason="no SLURM here: run `sudo scripts/slurm-local.sh` first")
def test_the_tiny_dag_runs_as_slurm_jobs_and_a_cancelled_job_resumes(tmp_path):
    root = make_project(tmp_path / "p")
    out = run(PROFILE, root, timeout=3600)
    log = out.stdout + out.stderr
    ids = slurm_ids(log)
    planned = int(re.search(r"^total\s+(\d+)$", log, re.M).group(1))
    assert len(ids) == planned - 1, log[-3000:]  # every job but the `all` target is a SLURM job
    rows = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-o", "JobID,Partition,State", "-j", ",".join(ids)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    accounted = {job: (partition, state) for job, partition, state in (r.split("|") for r in rows)}
    assert set(accounted) == set(ids) and {s for _, s in accounted.values()} == {"COMPLETED"}
    assert {p for p, _ in accounted.values()} == {"cpu", "gpu"}

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["finetune"]["train"].update(epochs=30, checkpoint_every=2)  # long enough to be cancelled mid-way
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    target = [*PROFILE, "results/models/sft"]
    progress = root / "results/checkpoints/finetune-sft/progress.json"
    proc = subprocess.Popen(target, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 600
    while time.time() < deadline and not (progress.is_file() and json.loads(progress.read_text())["step"] >= 4):
        time.sleep(0.5)
    job = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, check=True).stdout.split()
    assert len(job) == 1, job
    subprocess.run(["scancel", "--signal=TERM", job[0]], check=True)  # the job's step stops as on a timeout
    assert proc.wait(timeout=600) != 0  # Snakemake reports the cancelled job and stops
    killed_at = json.loads(progress.read_text())["step"]
    again = run(target, root, timeout=1800)
    assert len(slurm_ids(again.stdout + again.stderr)) == 1
    log = (root / "results/logs/finetune/sft.log").read_text()
    assert f"resuming from step {killed_at}/" in log
    assert (root / "results/models/sft/model.safetensors").is_file() and not progress.exists()
