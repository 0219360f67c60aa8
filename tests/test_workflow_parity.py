"""Snakemake and DVC run the same DAG: every dvc.yaml stage has a Snakemake job with the same command, deps,
outs and params, and vice versa."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import REPO, make_project, run

from attrctl.pipeline.rules import code


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("parity") / "p", REPO / "params.yaml")
    shutil.copy2(REPO / "dvc.yaml", root / "dvc.yaml")  # the committed file, for the default params
    run(["dvc", "init", "--no-scm", "-q"], root)
    return root


def snakemake_jobs(root) -> dict[str, dict]:
    """{shell command: {rule, inputs, outputs}} for every job of the default target (from a forced dry run)."""
    out = run(["snakemake", "--forceall", "-n", "-p", "--cores", "1"], root).stdout
    jobs = {}
    for block in re.split(r"\n\s*\n", out):
        rule = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        cmd = re.search(r"^Shell command: (.+)$", block, re.M)
        if not (rule and cmd) or cmd.group(1).strip() == "None":
            continue
        field = {k: set(v.split(", ")) for k, v in re.findall(r"^\s+(input|output): (.+)$", block, re.M)}
        jobs[cmd.group(1).strip()] = {
            "rule": rule.group(1),
            "inputs": field.get("input", set()),
            "outputs": field.get("output", set()),
        }
    return jobs


def dvc_stages(root) -> dict[str, dict]:
    from dvc.repo import Repo

    stages = {}
    with Repo(str(root)) as repo:
        for stage in repo.index.stages:
            stages[stage.cmd.strip()] = {
                "name": stage.name.split("@")[0].split("-")[0],
                "deps": {str(d.def_path) for d in stage.deps if not hasattr(d, "params")},
                "params": sorted(p for d in stage.deps if hasattr(d, "params") for p in d.params),
                "outs": {str(o.def_path) for o in stage.outs},
            }
    return stages


def test_same_commands_deps_and_outs(project):
    smk, dvc = snakemake_jobs(project), dvc_stages(project)
    assert set(smk) == set(dvc), f"only in Snakemake: {set(smk) - set(dvc)}\nonly in dvc.yaml: {set(dvc) - set(smk)}"
    for cmd, stage in dvc.items():
        job = smk[cmd]
        assert job["rule"] == stage["name"], cmd
        assert job["outputs"] == stage["outs"], cmd
        # A DVC directory dep (results/metrics, workflow/lm_eval_tasks) stands for the Snakemake inputs inside it.
        inputs = {next((d for d in stage["deps"] if f.startswith(d + "/")), f) for f in job["inputs"]}
        if job["rule"] == "validate":  # DVC re-validates when they change; Snakemake checks them at parse time
            inputs.add("params.yaml")
        assert inputs == stage["deps"], (
            f"{cmd}\n  Snakemake only: {sorted(inputs - stage['deps'])}\n"
            f"  dvc.yaml only: {sorted(stage['deps'] - inputs)}"
        )


def test_same_params(project):
    from attrctl import methods
    from attrctl.pipeline import dvcgen

    jobs = {job["cmd"]: job for job in dvcgen.snakemake_jobs(project)}
    for cmd, stage in dvc_stages(project).items():
        job = jobs[cmd]  # Snakemake's own params, and what the stage's declaration says the job reads
        assert stage["params"] == job["params"] == methods.stage(job["rule"]).tracks(job["wildcards"]), cmd
    # each Snakemake rule tracks the params of its own stage
    for smk_file in [*(REPO / "workflow" / "rules").glob("*.smk"), *(REPO / "src" / "attrctl").glob("*/rules.smk")]:
        for rule, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", smk_file.read_text(), re.M):
            for stage in re.findall(r'job_params\(config, "(\w+)"\)', body):
                assert stage == rule, f"{smk_file.name}: rule {rule} tracks the params of {stage}"


def test_code_deps_are_the_files_a_job_imports():
    files = code("sample", {"model": "base", "split": "eval"})
    assert "src/attrctl/sampling.py" in files  # imported inside main(), after the offline switches are set
    assert "src/attrctl/stages/sample.py" in files and "src/attrctl/models.py" in files
    # sampling a plain model imports no method; a decoding-time model's job adds its loader
    assert not any(f.startswith(("src/attrctl/nado/", "src/attrctl/tnt/")) for f in files)
    guided = code("sample", {"model": "nado_decode", "split": "eval"})
    assert "src/attrctl/nado/decode.py" in guided and "src/attrctl/nado/loss.py" not in guided
    # the config schema and the method declarations are tracked as params, not as code
    assert "src/attrctl/config.py" not in files and "src/attrctl/nado/method.py" not in guided


def test_only_tnt_stages_depend_on_tnt_code():
    from attrctl import methods

    on_tnt = {s.name for s in methods.stages() if any(f.startswith("src/attrctl/tnt/") for f in code(s.name))}
    assert on_tnt == {"tnt_data", "tnt_train", "tnt_eval", "report"}


def test_stages_that_do_not_train_do_not_import_the_training_loop():
    from attrctl import methods

    for stage in methods.stages():
        assert ("src/attrctl/training.py" in code(stage.name)) == stage.training, stage.name


# What each change re-runs on the committed dvc.yaml (the default profile), against what it can change.
RERUNS = {
    "nado.decode_strength": lambda s: s.endswith("nado_decode") or "nado_decode-" in s or s == "report",
    "nado_reg.kl_weight": lambda s: (
        s == "report" or re.search(r"nado_reg(_parallel|_adaptive|_i\d+)?\b", s) or s == "train_nado-sequential-2"
    ),
    "src/attrctl/nado/loss.py": lambda s: not re.search(r"\b(base|sft|filter|rl|tnt_\w+)\b|^rl$", s),
    "src/attrctl/training.py": lambda s: not re.search(r"validate|prepare|oracle|\bbase\b|classification", s),
    # labels: annotation and what reads labels, not the oracle's training nor the base model's samples
    "oracle.threshold": lambda s: not re.search(r"validate|prepare|train_oracle|^sample.*\bbase-", s),
    # the models at tnt.alpha and their evaluation, not the negatives (tnt_data) nor the sweep's models
    "tnt.alpha": lambda s: s == "report" or (re.search(r"[@-]tnt_[a-z]+\b", s) and not re.search(r"_a\d", s)),
}


@pytest.mark.parametrize("change", sorted(RERUNS))
def test_a_change_reruns_only_what_it_can_change(change):
    from attrctl.pipeline.impact import reruns, stages

    found = reruns(change, REPO / "dvc.yaml")
    assert found, f"{change} re-runs nothing: it is tracked nowhere"
    assert len(found) < len(stages(REPO / "dvc.yaml")), f"{change} re-runs everything"
    beyond = sorted(s for s in found if not RERUNS[change](s))
    assert not beyond, f"{change} also re-runs {beyond}"
    if change == "nado_reg.kl_weight":  # neither the baselines nor the sweep, whose λ is in their names
        assert not any(re.search(r"\b(sft|filter|rl|nado_reg_l\d+|tnt_\w+|base)\b", s) for s in found)


def test_the_config_schema_is_no_code_dependency():
    """Its values reach each job as tracked params (params.yaml spells every one out), so editing a default, a
    docstring or a validator re-runs nothing."""
    from attrctl.pipeline.impact import reruns

    assert reruns("src/attrctl/config.py", REPO / "dvc.yaml") == set()
    assert reruns("src/attrctl/tnt/method.py", REPO / "dvc.yaml") == set()


def test_impact_follows_outputs_downstream(tmp_path):
    from attrctl.pipeline.impact import reruns

    (tmp_path / "dvc.yaml").write_text(
        "stages:\n"
        "  a: {cmd: x, params: [sec.k], deps: [in], outs: [mid]}\n"
        "  b:\n    foreach: {one: {m: one}, two: {m: two}}\n"
        "    do:\n      cmd: y\n      deps: [mid, 'code/${item.m}.py']\n      outs: ['out/${item.m}']\n"
        "  c: {cmd: z, params: [other], deps: [out], outs: [end]}\n"
    )
    assert reruns("sec", tmp_path / "dvc.yaml") == {"a", "b@one", "b@two", "c"}
    assert reruns("code/two.py", tmp_path / "dvc.yaml") == {"b@two", "c"}
    assert reruns("sec.other", tmp_path / "dvc.yaml") == set()


def test_dvc_yaml_is_current_and_compact(project):
    from attrctl.pipeline.dvcgen import render, snakemake_jobs

    assert render(snakemake_jobs(project)) == (project / "dvc.yaml").read_text(), (
        "run python -m attrctl.pipeline.dvcgen"
    )
    assert (project / "dvc.yaml").read_text().count("\n") < 4201 / 3


def test_a_stale_dvc_yaml_names_the_stages_that_differ():
    from attrctl.pipeline.dvcgen import stale_stages

    current = "stages:\n  a: {cmd: x}\n  b: {cmd: y, params: [nado.delta]}\n  gone: {cmd: z}\n"
    expected = "stages:\n  a: {cmd: x}\n  b: {cmd: y, params: [nado.delta, nado.decode_strength]}\n  new: {cmd: w}\n"
    assert stale_stages(expected, current) == ["b", "gone", "new"]
    assert stale_stages(current, "# a comment\n" + current) == []


def test_a_custom_prompt_file_is_an_input_of_both_tools(tmp_path):
    import yaml

    from attrctl.pipeline.dvcgen import render, snakemake_jobs

    root = make_project(tmp_path / "p", REPO / "configs" / "tiny.yaml")
    (root / "mine.jsonl").write_text("\n".join(f'{{"id": "{i}", "prompt": "prompt number {i}"}}' for i in range(20)))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"]["prompts"] = "mine.jsonl"
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    jobs = {j["rule"]: j for j in snakemake_jobs(root)}
    assert "mine.jsonl" in jobs["prepare_data"]["deps"] and "mine.jsonl" in jobs["validate"]["deps"]
    assert "--source mine.jsonl" in jobs["prepare_data"]["cmd"]
    dvc = yaml.safe_load(render(list(jobs.values())))
    assert "mine.jsonl" in dvc["stages"]["prepare_data"]["deps"]


def test_docs_pipeline_names_every_stage():
    """docs/pipeline.md's DAG and stage list are kept against the declared stages."""
    from attrctl import methods

    text = (REPO / "docs" / "pipeline.md").read_text()
    missing = [s.name for s in methods.stages() if not re.search(rf"\b{s.name}\b", text)]
    assert not missing, f"docs/pipeline.md does not describe {missing}"


def test_local_sources_are_inputs_of_the_jobs_that_read_them(tmp_path):
    """Replacing a local directory's contents must re-run what reads it: Snakemake (by time) and DVC (by
    content) see it only as a declared input."""
    import yaml

    for name in ("lm", "clf", "prompts"):
        (tmp_path / name).mkdir()
    (tmp_path / "other.jsonl").write_text('{"prompt": "a transfer prompt"}\n')
    (tmp_path / "statements.jsonl").write_text('{"id": "a", "text": "t", "group": "g", "label": 1}\n')
    overlay = {
        "models": ["base"],
        "model": {"source": str(tmp_path / "lm")},
        "data": {
            "prompts": str(tmp_path / "prompts"),
            "eval_prompts": str(tmp_path / "other.jsonl"),
            "statements": str(tmp_path / "statements.jsonl"),
        },
        "oracle": {"second": "hf_classifier", "hf_model": str(tmp_path / "clf")},
    }
    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    root = make_project(tmp_path / "p", tmp_path / "overlay.yaml")
    by_command = snakemake_jobs(root)
    jobs = list(by_command.values())
    reads = {name: {j["rule"] for j in jobs if str(tmp_path / name) in j["inputs"]} for name in ("lm", "clf")}
    reads["prompts"] = {j["rule"] for j in jobs if str(tmp_path / "prompts") in j["inputs"]}
    assert reads["lm"] == {"prepare_model"}
    assert reads["clf"] == {"annotate", "evaluate", "report"}  # the jobs whose params include the oracle
    assert reads["prompts"] == {"validate", "prepare_data"}
    reads["statements"] = {j["rule"] for j in jobs if str(tmp_path / "statements.jsonl") in j["inputs"]}
    assert reads["statements"] == {"validate", "train_oracle"}  # and corpus, in a DAG with fine-tuned models
    evaluated = {cmd: j["rule"] for cmd, j in by_command.items() if str(tmp_path / "other.jsonl") in j["inputs"]}
    assert sorted(evaluated.values()) == ["prepare_data", "validate"]
    assert all(cmd.endswith(f"--eval-prompts {tmp_path / 'other.jsonl'}") for cmd in evaluated)
