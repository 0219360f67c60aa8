"""The whole DAG on the tiny profile, through Snakemake and through DVC, with MLflow read back."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
import yaml
from conftest import SNAKEMAKE, STAGES, ran_stages, run, stage_rule

from attrctl import methods

pytestmark = pytest.mark.slow

AFTER_SAMPLE = STAGES - {"validate", "prepare_model", "prepare_data", "train_oracle"}  # NADO, corpus, TNT use samples


def planned_jobs(root) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every job `snakemake -n` would run."""
    out = run(["snakemake", "-n", "--cores", "2"], root).stdout
    jobs = []
    for block in re.split(r"^(?=(?:local)?rule \w+:)", out, flags=re.M)[1:]:
        rule = re.match(r"(?:local)?rule (\w+):", block).group(1)
        if rule != "all":
            wildcards = re.search(r"^\s+wildcards: (.+)$", block, re.M)
            pairs = dict(kv.split("=", 1) for kv in wildcards.group(1).split(", ")) if wildcards else {}
            jobs.append((rule, pairs))
    return jobs


def planned_rules(root) -> set[str]:
    return {rule for rule, _ in planned_jobs(root)}


def test_snakemake_runs_the_tiny_dag(snakemake_project):
    """One model per kind of method on the tiny profile: 89 jobs, two at a time (~11 min here; each job costs
    ~8-13 s of library start-up however small its model: torch, transformers, MLflow)."""
    root = snakemake_project
    metrics = json.loads((root / "results/metrics/base/toxicity.json").read_text())
    for key in [
        "expected_max_toxicity",
        "toxicity_probability",
        "mean_toxicity",
        "cond_ppl",
        "dist_1",
        "challenging/toxicity_probability",
        "neutral/mean_toxicity",
    ]:
        assert 0 <= metrics[key] < float("inf"), key
    table = (root / "results/tables/toxicity.md").read_text()
    assert "| base |" in table and "toxicity_probability" in table
    lm_eval = json.loads((root / "results/metrics/base/lm_eval.json").read_text())
    assert {"attrctl_knowledge/acc", "attrctl_text_ppl/word_perplexity", "attrctl_toxicity_cls/f1"} <= set(lm_eval)
    detox = (root / "results/tables/detox.csv").read_text().splitlines()
    assert "benchmark_avg_acc" in detox[0].split(",") and detox[1].startswith("base,")
    assert "toxicity_probability_ci_lo" in detox[0] and "profanity_check/toxicity_probability" in detox[0]
    paired = (root / "results/tables/paired.csv").read_text().splitlines()
    assert "toxicity_probability_diff_ci_lo" in paired[0] and any(line.startswith("sft,base,") for line in paired)
    summary = json.loads((root / "results/metrics.json").read_text())
    assert summary["base"]["toxicity_probability"] == pytest.approx(float(detox[1].split(",")[4]))
    assert (root / "results/logs/report.log").read_text() and (root / "results/benchmarks/report.tsv").is_file()
    params = yaml.safe_load((root / "params.yaml").read_text())
    assert [line.split(",")[0] for line in detox[1:]] == params["models"]
    tnt = [line.split(",")[0] for line in (root / "results/tables/tnt.csv").read_text().splitlines()[1:]]
    assert tnt == ["base", "tnt_nl"]
    dglm = (root / "results/tables/dglm.csv").read_text().splitlines()  # base and the decoding-time methods
    assert [line.split(",")[0] for line in dglm[1:]] == ["base", "nado_decode", "dglm_guided", "dexperts"]
    assert {"toxicity_probability_vs_base_diff_ci_lo", "proposal_cosine", "positive_sentiment"} <= set(
        dglm[0].split(",")
    )
    efficiency = (root / "results/tables/efficiency.md").read_text()
    assert "critical path (6 jobs)" in efficiency and "critical path (4 jobs)" in efficiency
    for plot in ("tradeoff", "lambda_sweep", "toxicity_hist"):
        assert (root / f"results/plots/{plot}.png").read_bytes()[:4] == b"\x89PNG"
    assert "profanity_check" in (root / "results/README.md").read_text()
    for table in (root / "results/tables").glob("*.md"):  # every column explained under its table
        text = table.read_text()
        assert "Columns" in text and "(not described" not in text, table.name
    assert "Nothing to be done" in run(["snakemake", "-n", "--cores", "2"], root).stdout


def test_dvc_and_snakemake_show_every_table_and_plot(snakemake_project, tmp_path):
    """After a run: `dvc metrics show` has every number of every table, `dvc plots show` writes a page of the
    declared plots, and `snakemake --report` a page holding every table and plot (README, DVC and Snakemake)."""
    import csv
    import math

    root = snakemake_project
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], root).stdout)
    metrics = shown[""]["data"]["results/metrics.json"]["data"]
    numbers = {v for entry in metrics.values() for v in entry.values()}
    for table in sorted((root / "results/tables").glob("*.csv")):
        for row in csv.DictReader(table.open()):
            for column, cell in row.items():
                try:
                    value = float(cell)
                except ValueError:
                    continue  # a text cell
                assert value in numbers or not math.isfinite(value), (table.name, column, value)
    assert metrics["base"]["toxicity_probability_ci_lo"] <= metrics["base"]["toxicity_probability"]

    run(["dvc", "plots", "show", "-o", str(tmp_path / "plots")], root)
    page = (tmp_path / "plots/index.html").read_text()
    declared = yaml.safe_load((root / "dvc.yaml").read_text())["plots"]
    for plot in declared:  # a data plot shows under its title, an image under its path
        assert (next(iter(plot.values()))["title"] if isinstance(plot, dict) else plot) in page, plot

    run(["snakemake", "--cores", "1", "--report", str(tmp_path / "report.html")], root)
    report = (tmp_path / "report.html").read_text()
    for output in [*(root / "results/tables").glob("*.md"), *(root / "results/plots").glob("*.png")]:
        assert output.name in report, output.name


def test_mlflow_holds_the_table_numbers(snakemake_project):
    import math

    from mlflow.tracking import MlflowClient

    root = snakemake_project
    client = MlflowClient(f"sqlite:///{root}/results/mlflow.db")
    experiment = client.get_experiment_by_name("attrctl-tiny")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("role") == "pipeline"]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED" and parent.data.params["sample.top_p"] == "0.9"
    assert len(parent.data.tags["mlflow.source.git.commit"]) == 40
    children = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert {
        "prepare_model:base",
        "prepare_data:prompts",
        "train_oracle:embedding",
        "sample:base/eval",
        "annotate:base/eval",
        "evaluate:base",
        "finetune:sft",
        "report:tables",
    } <= set(children)
    assert all(r.info.status == "FINISHED" for r in children.values())
    sft = children["finetune:sft"]
    assert sft.info.end_time - sft.info.start_time > 1000  # the run spans the training, not only its logging
    assert sft.data.tags["env.torch_threads"] == "1" and "env.torch" in sft.data.tags
    assert (
        len(client.get_metric_history(sft.info.run_id, "loss"))
        == json.loads((root / "results/metrics/sft/train.json").read_text())["train_steps"]
    )  # the live training curve
    metrics = json.loads((root / "results/metrics/base/toxicity.json").read_text())
    logged = children["evaluate:base"].data.metrics
    for key, value in metrics.items():
        if isinstance(value, float | int):  # each prompt's perplexity (a dict) stays in the file
            assert logged[key] == pytest.approx(value), key
    assert children["sample:base/eval"].data.params["sample.top_p"] == "0.9"
    # every number of the paper table is on the model's run, under the column's name
    header, row = (root / "results/tables/detox.csv").read_text().splitlines()[:2]
    on_model_run = children["model:base"].data.metrics
    for name, value in zip(header.split(",")[1:], row.split(",")[1:], strict=True):
        if not math.isnan(float(value)):
            assert on_model_run[name] == pytest.approx(float(value)), name
    artifacts = {a.path for a in client.list_artifacts(children["report:tables"].info.run_id, "tables")}
    assert artifacts == {f"tables/{t}.{e}" for t in methods.tables() for e in ("md", "csv")}  # every declared table
    plots = {a.path for a in client.list_artifacts(children["report:tables"].info.run_id, "plots")}
    assert {"plots/tradeoff.png", "plots/toxicity_hist.png", "plots/nado_reg_kl.png", "plots/tnt_tradeoff.png"} <= plots
    models = {m.name: m for m in client.search_logged_models([experiment.experiment_id])}
    assert {"base", "sft", "nado_reg", "oracle", "nado-sequential_iter1"} <= set(models)
    assert models["sft"].tags["path"] == str((root / "results/models/sft").resolve())


def test_the_mlflow_server_shows_the_runs(snakemake_project):
    """What a user sees in `mlflow ui`, read through its REST API."""
    import socket
    import urllib.request

    root = snakemake_project
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{root}/results/mlflow.db",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)

        def post(path, body):
            request = urllib.request.Request(
                f"{url}/api/2.0/mlflow/{path}", json.dumps(body).encode(), {"Content-Type": "application/json"}
            )
            return json.loads(urllib.request.urlopen(request, timeout=30).read())

        (experiment,) = [
            e for e in post("experiments/search", {"max_results": 10})["experiments"] if e["name"] == "attrctl-tiny"
        ]
        runs = post("runs/search", {"experiment_ids": [experiment["experiment_id"]], "max_results": 1000})["runs"]
        by_name = {r["info"]["run_name"]: r["info"] for r in runs}
        assert by_name["finetune:sft"]["status"] == "FINISHED"
        assert int(by_name["finetune:sft"]["end_time"]) - int(by_name["finetune:sft"]["start_time"]) > 1000
        assert any(r["info"]["status"] == "FINISHED" and r["info"]["run_name"].startswith("pipeline") for r in runs)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_an_experiment_target_reports_its_own_models(snakemake_project):
    """`snakemake nado` tabulates the NADO paper's models (the experiment rules are made in a loop; a name read
    when the job runs would be the loop's last experiment, l3m)."""
    root = snakemake_project
    run([*SNAKEMAKE, "nado"], root)
    models = yaml.safe_load((root / "params.yaml").read_text())["models"]
    expected = [m for m in models if not m.startswith(("tnt_", "l3m_", "mm_", "dglm", "dexperts", "dpo"))]
    detox = (root / "results/experiments/nado/tables/detox.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in detox[1:]] == expected


@pytest.fixture(scope="module")
def dvc_committed(snakemake_project):
    """Snakemake's outputs handed over to DVC once (README: `dvc commit -f`). The tests using it leave DVC and
    Snakemake with nothing to do (each puts back what it changes), except the last, which changes params."""
    run(["dvc", "commit", "-f", "-q"], snakemake_project)
    return snakemake_project


def test_editing_tnt_code_reruns_tnt_jobs_only(dvc_committed):
    root = dvc_committed
    losses = root / "src/attrctl/tnt/losses.py"
    original, stat = losses.read_text(), losses.stat()
    losses.write_text(original + "\n# an edit\n")
    try:
        jobs = planned_jobs(root)  # the losses train TNT models: their jobs and what reads them, no TNT data job
        assert jobs and {rule for rule, _ in jobs} >= {"tnt_train", "tnt_eval", "report"}
        for rule, wildcards in jobs:
            assert rule == "report" or wildcards["model"].startswith("tnt_"), (rule, wildcards)
        status = json.loads(run(["dvc", "status", "--json"], root).stdout)
        assert {stage_rule(name) for name in status} - {"validate"} == {"tnt_train"}
    finally:
        losses.write_text(original)
        os.utime(losses, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # Snakemake reads code changes from mtimes


def test_dvc_takes_over_snakemake_results_and_reruns_only_what_changed(dvc_committed):
    root = dvc_committed
    out = run(["dvc", "repro"], root).stdout
    assert ran_stages(out) == set(), out  # nothing: Snakemake's bookkeeping files are no output content
    assert "Nothing to be done" in run(["snakemake", "-n", "--cores", "2"], root).stdout

    params = yaml.safe_load((root / "params.yaml").read_text())
    params["sample"]["top_p"] = 0.8  # everything downstream of sampling, in both tools
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    assert planned_rules(root) == AFTER_SAMPLE
    status = json.loads(run(["dvc", "status", "--json"], root).stdout)
    directly = {stage_rule(name) for name in status} - {"validate"}
    assert directly == {"sample", "rl", "l3m_train", "dglm_decoder", "report"}, status  # tracking sample.*

    params["sample"]["top_p"] = 0.9
    params["evaluate"]["ppl_max"] = 1.0e11  # evaluation only
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    assert planned_rules(root) == {"evaluate", "report"}
    status = json.loads(run(["dvc", "status", "--json"], root).stdout)
    assert {stage_rule(name) for name in status} - {"validate"} == {"evaluate", "report"}, status
    out = run(["dvc", "repro", "evaluate-base"], root).stdout  # one of them, to keep the test short
    assert ran_stages(out) == {"validate", "evaluate"}, out
    # and back: `snakemake --touch` records DVC's outputs as current for the new params (README)
    run(["snakemake", "--touch", "--cores", "1"], root)
    assert planned_rules(root) == set()
