"""MLflow: one parent run per pipeline configuration, a child run per stage job.

The parent is keyed by the hash of `params.yaml` and the git commit, so Snakemake and DVC jobs of the same
configuration attach to the same parent and a param or code change opens a new one. All writes go through a
file lock: several jobs may finish at once and SQLite does not like concurrent writers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock

from attrctl.config import Config


def _root(params_path: Path) -> Path:
    return params_path.resolve().parent


def tracking_uri(cfg: Config, params_path: Path) -> str:
    return cfg.tracking.uri or f"sqlite:///{_root(params_path) / 'results' / 'mlflow.db'}"


def git_commit(root: Path) -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "nogit"
    return sha


def pipeline_key(params_path: Path) -> str:
    digest = hashlib.sha256(params_path.read_bytes()).hexdigest()[:12]
    return f"{digest}-{git_commit(_root(params_path))}"


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


class StageRun:
    """Collects a stage's params, metrics and artifacts; `close()` writes them to MLflow in one locked go."""

    def __init__(
        self,
        cfg: Config,
        params_path: Path,
        stage: str,
        name: str,
        tags: dict[str, str] | None = None,
        run_name: str | None = None,
    ):
        self.cfg, self.params_path = cfg, Path(params_path)
        self.stage, self.run_name = stage, run_name or f"{stage}:{name}"
        self.tags = {"stage": stage, "tool": "dvc" if "DVC_ROOT" in os.environ else "snakemake/cli", **(tags or {})}
        self.params: dict[str, Any] = {}
        self.metrics: list[tuple[str, float, int]] = []
        self.artifacts: list[tuple[Path, str | None]] = []
        self.run_id: str | None = None

    def log_params(self, params: dict[str, Any]) -> None:
        self.params.update(flatten(params))

    def log_metrics(self, metrics: dict, step: int = 0) -> None:
        """Numbers only: lists (per-item results) and strings stay in the stage's JSON output."""
        self.metrics += [(k, float(v), step) for k, v in metrics.items() if isinstance(v, int | float)]

    def log_artifact(self, path: str | Path, artifact_dir: str | None = None) -> None:
        self.artifacts.append((Path(path), artifact_dir))

    def close(self) -> str | None:
        """Write everything to MLflow; returns the run id (None when tracking is disabled)."""
        if not self.cfg.tracking.enabled:
            return None
        import time

        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        root = _root(self.params_path)
        (root / "results").mkdir(exist_ok=True)
        with FileLock(str(root / "results" / ".mlflow.lock"), timeout=600):
            client = MlflowClient(tracking_uri(self.cfg, self.params_path))
            experiment_id = _experiment(client, self.cfg.tracking.experiment, root)
            parent_id = _parent(client, experiment_id, pipeline_key(self.params_path))
            run = client.create_run(
                experiment_id, run_name=self.run_name, tags={"mlflow.parentRunId": parent_id, **self.tags}
            )
            self.run_id = run.info.run_id
            now = int(time.time() * 1000)
            params = [Param(k, str(v)[:6000]) for k, v in sorted(self.params.items())]
            metrics = [Metric(k, v, now, s) for k, v, s in self.metrics]
            for i in range(0, max(len(params), len(metrics)), 100):  # MLflow caps a batch at 100 params
                client.log_batch(self.run_id, metrics=metrics[i : i + 100], params=params[i : i + 100])
            for path, artifact_dir in self.artifacts:
                client.log_artifact(self.run_id, str(path), artifact_dir)
            client.set_terminated(self.run_id, "FINISHED")
        return self.run_id


def _experiment(client, name: str, root: Path) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    artifacts = (root / "results" / "mlartifacts").as_uri()
    return client.create_experiment(name, artifact_location=artifacts)


def _parent(client, experiment_id: str, key: str) -> str:
    found = client.search_runs(
        [experiment_id], filter_string=f"tags.pipeline_key = '{key}' and tags.role = 'pipeline'", max_results=1
    )
    if found:
        return found[0].info.run_id
    run = client.create_run(experiment_id, run_name=f"pipeline {key}", tags={"pipeline_key": key, "role": "pipeline"})
    return run.info.run_id


@contextlib.contextmanager
def stage_run(
    cfg: Config, params_path: Path, stage: str, name: str, run_name: str | None = None, **tags: str
) -> Iterator[StageRun]:
    """A StageRun (named `<stage>:<name>` unless `run_name`) written to MLflow only if the body finishes."""
    run = StageRun(cfg, params_path, stage, name, tags, run_name)
    yield run
    run.close()
