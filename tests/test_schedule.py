"""The NADO-regularised schedules: names, plans, and the shape of their DAGs in the Snakemake workflow."""

from __future__ import annotations

import pytest
from conftest import REPO, make_project

from attrctl.finetune import schedule
from attrctl.pipeline.rules import priority as schedule_priority
from attrctl.tnt.data import model_name, parse_name


def test_model_names_roundtrip():
    for s in schedule.SCHEDULES:
        for k in range(1, 4):
            name = schedule.lm(s, k, 3)
            assert schedule.parse_lm(name, 3) == ("sequential" if k == 1 else s, k)
    assert schedule.lm("parallel", 1, 2) == "nado_reg_i1"  # iteration 1 is shared
    assert schedule.lm("parallel", 2, 2) == "nado_reg_parallel"


def test_parallel_uses_the_previous_iterations_nado_and_samples():
    assert schedule.guide("sequential", 2) == "sequential_iter2"
    assert schedule.guide("parallel", 2) == "sequential_iter1"
    assert schedule.nado_data("sequential", 2, 2) == ("nado_reg_i1", "train2")
    assert schedule.nado_data("parallel", 2, 2) == ("base", "train1")
    assert schedule.nado_data("parallel", 3, 3) == ("nado_reg_i1", "train2")


def test_tnt_names_roundtrip():
    for alpha in (None, 1.0, 100.0, 0.5, 1e-5):
        assert parse_name(model_name("tnrr", alpha)) == ("tnrr", alpha)
    assert model_name("nl", 0.5) == "tnt_nl_a0p5"


def test_lambda_sweep_names_and_plans():
    assert schedule.sweep_name(0.5) == "nado_reg_l0p5" and schedule.sweep_name(100.0) == "nado_reg_l100"
    plan = schedule.finetune_plan("nado_reg_l0p5", 2)
    assert plan == schedule.FinetunePlan("nado_reg", "base", "sequential_iter1", 2, kl_weight=0.5)
    assert "sequential_iter1" in schedule.nado_names(["base", "nado_reg_l1"], 2)


def test_schedule_jobs_get_priority():
    class Wildcards(dict):  # what Snakemake hands a priority function: named values with .items()
        pass

    chain = [{"model": "base", "split": "train1"}, {"schedule": "sequential", "k": "2"}, {"model": "nado_reg_i1"}]
    beside = [{"schedule": "parallel", "k": "2"}, {"model": "nado_reg_parallel"}, {"model": "nado_reg_l100"}]
    rest = [{"model": "base", "split": "eval"}, {"model": "sft"}, {"model": "tnt_nl_a100", "split": "eval_greedy"}]
    assert [schedule_priority(Wildcards(w)) for w in chain] == [20, 20, 20]
    assert [schedule_priority(Wildcards(w)) for w in beside] == [10, 10, 10]
    assert [schedule_priority(Wildcards(w)) for w in rest] == [0, 0, 0]


def test_plans():
    assert schedule.finetune_plan("sft", 2) == schedule.FinetunePlan("sft", "base", None, 2)
    assert schedule.finetune_plan("filter", 2).filtered
    assert schedule.finetune_plan("nado_reg", 2) == schedule.FinetunePlan(
        "nado_reg", "nado_reg_i1", "sequential_iter2", 1
    )
    assert schedule.finetune_plan("nado_reg_parallel", 2).guide == "sequential_iter1"


@pytest.fixture(scope="module")
def dag(tmp_path_factory):
    """Job -> set of jobs it depends on, for the default params' Snakemake DAG (K = 2)."""
    import os

    from attrctl.pipeline.dvcgen import snakemake_jobs

    root = make_project(tmp_path_factory.mktemp("dag") / "p", REPO / "params.yaml")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        jobs = snakemake_jobs(root)
    finally:
        os.chdir(cwd)

    def key(j):
        return "-".join([j["rule"], *j["wildcards"].values()])

    producer = {out: key(j) for j in jobs for out in j["outs"]}
    return {key(j): {producer[d] for d in j["deps"] if d in producer} for j in jobs}


def ancestors(dag, job):
    seen, todo = set(), [job]
    while todo:
        for parent in dag[todo.pop()]:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def test_parallel_iteration_two_has_no_edges_between_its_jobs(dag):
    jobs = ["sample-nado_reg_i1-train2", "train_nado-parallel-2", "finetune-nado_reg_parallel"]
    for a in jobs:
        for b in jobs:
            assert a == b or a not in ancestors(dag, b), f"{a} -> {b}"


def test_sequential_iteration_two_is_a_chain(dag):
    sample, nado2 = "sample-nado_reg_i1-train2", "train_nado-sequential-2"
    assert sample in ancestors(dag, nado2) and nado2 in ancestors(dag, "finetune-nado_reg")
    assert "finetune-nado_reg_i1" in ancestors(dag, sample)


def test_critical_paths(dag):
    """Sample/NADO/finetune jobs on the longest chain to each schedule's final model: 3K vs K + 2."""
    kinds = ("sample-", "train_nado-", "finetune-")
    memo: dict[str, int] = {}

    def depth(job):
        if job not in memo:
            memo[job] = max((depth(p) for p in dag[job]), default=0) + job.startswith(kinds)
        return memo[job]

    assert depth("finetune-nado_reg") == 6
    assert depth("finetune-nado_reg_parallel") == 4
