"""MLflow: one parent run per pipeline configuration, a child run per stage job that spans the job's work.

The parent is keyed by the hash of the params file and the git commit, so Snakemake and DVC jobs of one
configuration share it; it carries the full params and the commit. A child run is created when its stage starts
and ends FINISHED when the work completes, FAILED when it raises; a job killed outright is marked FAILED when its
re-run starts. Writes go through a file lock: several jobs may write at once and SQLite does not like concurrent
writers. The tracking URI is `tracking.uri`, else `MLFLOW_TRACKING_URI`, else `results/mlflow.db` of the project.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock

from attrctl import methods
from attrctl.config import Config, tracked
from attrctl.runtime import is_main_process


def _root(params_path: Path) -> Path:
    return params_path.resolve().parent


def tracking_uri(cfg: Config, params_path: Path) -> str:
    default = f"sqlite:///{_root(params_path) / 'results' / 'mlflow.db'}"
    return cfg.tracking.uri or os.environ.get("MLFLOW_TRACKING_URI") or default


def problems(cfg: Config, params_path: Path, timeout: float = 3.0) -> list[str]:
    """Whether the tracking store can be written (checked by the validate stage): a server that answers within
    `timeout` seconds (MLflow itself retries for minutes), a SQLite file that is one."""
    if not cfg.tracking.enabled:
        return []
    import sqlite3
    from urllib.parse import urlparse

    from attrctl.config import reachable

    uri = tracking_uri(cfg, params_path)
    way_out = "or set tracking.enabled: false to run without MLflow"
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if not reachable(parsed.hostname or "", port, timeout):
            silent = f"tracking server {uri} does not answer within {timeout:g} s"
            return [f"{silent}: start it, point tracking.uri elsewhere, {way_out}"]
    elif parsed.scheme == "sqlite" and (db_file := Path(uri.removeprefix("sqlite:///"))).is_file():
        try:
            with contextlib.closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)) as db:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as err:
            return [f"{db_file} is no readable MLflow database ({err}): move it aside to start a new one, {way_out}"]
    return []


def git_commit(root: Path) -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "nogit"


def pipeline_key(params_path: Path) -> str:
    digest = hashlib.sha256(params_path.read_bytes()).hexdigest()[:12]
    return f"{digest}-{git_commit(_root(params_path))[:12]}"


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def environment() -> dict[str, str]:
    """What a number depends on besides inputs and params: thread count and library versions. Read as the run
    ends, so that a stage which never computes with torch does not import it for a tag."""
    from importlib.metadata import PackageNotFoundError, version

    tags = {"env.python": platform.python_version(), "env.machine": platform.machine()}
    for package in ("torch", "transformers", "accelerate", "lm_eval", "trl", "scikit-learn"):
        with contextlib.suppress(PackageNotFoundError):
            tags[f"env.{package}"] = version(package)
    torch = sys.modules.get("torch")
    if torch is not None:
        tags["env.torch_threads"] = str(torch.get_num_threads())
        tags["env.device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return tags


class StageRun:
    """The MLflow run of one stage job; every write is immediate (a live run), under the project's lock."""

    def __init__(self, cfg: Config, params_path: Path, stage: str, name: str, tags: dict[str, str], run_name: str):
        self.cfg, self.params_path = cfg, Path(params_path)
        self.stage, self.run_name = stage, run_name
        self.tags = {"stage": stage, "tool": "dvc" if "DVC_ROOT" in os.environ else "snakemake/cli", **tags}
        self.enabled = cfg.tracking.enabled and is_main_process()  # one run per job, not per launched process
        self.client = self.run_id = self.parent_id = self.experiment_id = self.monitor = None
        root = _root(self.params_path)
        (root / "results").mkdir(exist_ok=True)
        self.lock = FileLock(str(root / "results" / ".mlflow.lock"), timeout=600)

    def start(self) -> None:
        if not self.enabled:
            return
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401  (seconds of imports, outside the lock)
        from mlflow.tracking import MlflowClient

        with self.lock:
            self.client = MlflowClient(tracking_uri(self.cfg, self.params_path))
            self.experiment_id = _experiment(self.client, self.cfg.tracking.experiment, _root(self.params_path))
            self.parent_id = _parent(self.client, self.experiment_id, self.cfg, self.params_path)
            _fail_abandoned(self.client, self.experiment_id, self.parent_id, self.run_name)
            tags = {"mlflow.parentRunId": self.parent_id, **self.tags}
            self.run_id = self.client.create_run(self.experiment_id, run_name=self.run_name, tags=tags).info.run_id
            self.client.update_run(self.parent_id, status="RUNNING")
        self.log_params(tracked(self.cfg, self.stage, self.tags))  # the params the job's outputs depend on
        if self.stage in methods.training_stages():
            from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

            self.monitor = SystemMetricsMonitor(
                self.run_id, sampling_interval=10, tracking_uri=tracking_uri(self.cfg, self.params_path)
            )
            self.monitor.start()

    def end(self, status: str) -> None:
        if not self.run_id:
            return
        if self.monitor is not None:
            self.monitor.finish()
        from mlflow.entities import RunTag

        with self.lock:
            self.client.log_batch(self.run_id, tags=[RunTag(k, v) for k, v in environment().items()])
            self.client.set_terminated(self.run_id, status)
            self.client.set_terminated(self.parent_id, "FAILED" if status == "FAILED" else "FINISHED")

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        if self.run_id:
            items = [Param(k, str(v)[:6000]) for k, v in sorted(flatten(params).items())]
            with self.lock:
                for i in range(0, len(items), 100):  # MLflow caps a batch at 100 params
                    self.client.log_batch(self.run_id, params=items[i : i + 100])

    def log_metrics(self, metrics: dict, step: int = 0) -> None:
        """Numbers only: lists (per-item results) and strings stay in the stage's JSON output."""
        from mlflow.entities import Metric

        if self.run_id:
            now = int(time.time() * 1000)
            items = [Metric(k, float(v), now, step) for k, v in metrics.items() if isinstance(v, int | float)]
            with self.lock:
                for i in range(0, len(items), 1000):
                    self.client.log_batch(self.run_id, metrics=items[i : i + 1000])

    def log_step(self, logs: dict[str, float]) -> None:
        """One training step's logs, at its step (a live training curve)."""
        self.log_metrics({k: v for k, v in logs.items() if k not in ("step", "epoch")}, step=int(logs["step"]))

    def log_artifact(self, path: str | Path, artifact_dir: str | None = None) -> None:
        if self.run_id:
            with self.lock:
                self.client.log_artifact(self.run_id, str(path), artifact_dir)

    def log_input(self, path: str | Path, context: str = "training") -> None:
        """Record a dataset file (by path and content digest) as an input of this run."""
        from mlflow.entities import Dataset, DatasetInput, InputTag

        if not self.run_id:
            return
        path = Path(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "directory"
        dataset = Dataset(path.name, digest, "local", str(path.resolve()))
        with self.lock:
            self.client.log_inputs(self.run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", context)])])

    def log_model(self, path: str | Path, name: str) -> None:
        """Register the model as an MLflow logged model whose weights stay in their DVC-tracked directory."""
        import mlflow

        if not self.run_id:
            return
        with self.lock:
            mlflow.set_tracking_uri(tracking_uri(self.cfg, self.params_path))
            model = mlflow.create_external_model(
                name=name,
                source_run_id=self.run_id,
                experiment_id=self.experiment_id,
                tags={"path": str(Path(path).resolve()), "storage": "DVC-tracked directory (no copy in MLflow)"},
            )
            self.client.finalize_logged_model(model.model_id, "READY")


def _experiment(client, name: str, root: Path) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=(root / "results" / "mlartifacts").as_uri())


def _parent(client, experiment_id: str, cfg: Config, params_path: Path) -> str:
    """The configuration's parent run, created with the full params and the git commit on first use."""
    key = pipeline_key(params_path)
    found = client.search_runs(
        [experiment_id], filter_string=f"tags.pipeline_key = '{key}' and tags.role = 'pipeline'", max_results=1
    )
    if found:
        return found[0].info.run_id
    from mlflow.entities import Param

    tags = {"pipeline_key": key, "role": "pipeline", "mlflow.source.git.commit": git_commit(_root(params_path))}
    run_id = client.create_run(experiment_id, run_name=f"pipeline {key}", tags=tags).info.run_id
    params = [Param(k, str(v)[:6000]) for k, v in sorted(flatten(cfg.model_dump(mode="json")).items())]
    for i in range(0, len(params), 100):
        client.log_batch(run_id, params=params[i : i + 100])
    return run_id


def _fail_abandoned(client, experiment_id: str, parent_id: str, run_name: str) -> None:
    """A run of the same job still RUNNING belongs to a process that was killed: mark it FAILED."""
    stale = client.search_runs(
        [experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}' and attributes.run_name = '{run_name}' "
        "and attributes.status = 'RUNNING'",
    )
    for run in stale:
        client.set_terminated(run.info.run_id, "FAILED")


@contextlib.contextmanager
def stage_run(
    cfg: Config, params_path: Path, stage: str, name: str, run_name: str | None = None, **tags: str
) -> Iterator[StageRun]:
    """The MLflow run `<stage>:<name>` (or `run_name`) around a stage's work: FINISHED if the body completes,
    FAILED if it raises."""
    run = StageRun(cfg, params_path, stage, name, tags, run_name or f"{stage}:{name}")
    run.start()
    try:
        yield run
    except BaseException:
        try:
            run.end("FAILED")
        except Exception as err:  # e.g. the disk is full: the stage's own error is the one to see
            print(f"warning: MLflow run {run.run_name} not marked FAILED ({err}); its re-run will", file=sys.stderr)
        raise
    run.end("FINISHED")
