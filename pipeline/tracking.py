"""MLflow tracking wiring shared by every stage.

* Tracking store: SQLite in the project directory (``sqlite:///<project>/mlflow.db``, see
  :func:`pipeline.config.project_root`) unless
  ``MLFLOW_TRACKING_URI`` names another (a team server). The experiment is created with an
  absolute artifact location (``<repo>/mlartifacts``), so runs started from any directory agree.
* One parent run per ``dvc repro`` with a child run per stage. ``make run`` creates the parent
  and passes its id in ``HCC_MLFLOW_PARENT_RUN_ID``; a plain ``dvc repro`` is recognised by the
  ``dvc`` process that runs the stages, so its stages still share one parent.
* The git commit and the stage's parameters are logged; never a patient identifier.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

from pipeline.config import project_root

log = logging.getLogger(__name__)

PARENT_ENV = "HCC_MLFLOW_PARENT_RUN_ID"
EXPERIMENT_ENV = "HCC_MLFLOW_EXPERIMENT"
DEFAULT_EXPERIMENT = "hcc-recommender"


def tracking_uri(root: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the embedded SQLite store at the repository root."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root or project_root()) / 'mlflow.db'}"


def experiment_name() -> str:
    return os.environ.get(EXPERIMENT_ENV, DEFAULT_EXPERIMENT)


def setup(root: Path | None = None):
    """Point MLflow at the store and make sure the experiment exists; returns its id."""
    import mlflow

    root = root or project_root()
    mlflow.set_tracking_uri(tracking_uri(root))
    name = experiment_name()
    exp = mlflow.get_experiment_by_name(name)
    if exp is None:
        artifacts = (root / "mlartifacts").resolve().as_uri()
        exp_id = mlflow.create_experiment(name, artifact_location=artifacts)
    else:
        exp_id = exp.experiment_id
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def git_commit(root: Path | None = None) -> str:
    """The current commit (with ``-dirty`` when the work tree has changes), or ``unknown``."""
    root = root or project_root()
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def flatten(mapping: Mapping, prefix: str = "") -> dict[str, str]:
    """Flatten nested params into ``a.b.c`` keys with string values (MLflow params)."""
    out: dict[str, str] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = str(value)[:500]
    return out


def _dvc_process_key() -> str | None:
    """Identify the ``dvc repro``/``dvc exp run`` process running this stage (Linux /proc)."""
    pid = os.getppid()
    for _ in range(8):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        words = [c.decode(errors="ignore") for c in cmd if c]
        if any(Path(w).name == "dvc" or w.endswith("/dvc") for w in words[:3]) or (
            len(words) > 2 and words[1:3] == ["-m", "dvc"]
        ):
            return f"{pid}-{stat[19]}"
        pid = int(stat[1])
        if pid <= 1:
            return None
    return None


def start_parent(client, exp_id: str, key: str | None, params: Mapping | None) -> str:
    run = client.create_run(
        exp_id,
        run_name="dvc repro",
        tags={"hcc.parent": "true", "hcc.repro_key": key or "", "hcc.git_commit": git_commit(),
              "mlflow.source.git.commit": git_commit().removesuffix("-dirty")},
    )
    if params:
        for name, value in flatten(params).items():
            client.log_param(run.info.run_id, name, value)
    return run.info.run_id


def _parent_run(client, exp_id: str, params: Mapping | None) -> str:
    parent = os.environ.get(PARENT_ENV)
    if parent:
        return parent
    key = _dvc_process_key()
    if key:
        found = client.search_runs([exp_id], filter_string=f"tags.`hcc.repro_key` = '{key}'",
                                   max_results=1)
        if found:
            return found[0].info.run_id
    return start_parent(client, exp_id, key, params)


@contextlib.contextmanager
def stage_run(stage: str, params: Mapping | None = None,
              all_params: Mapping | None = None) -> Iterator[object]:
    """Open the child MLflow run of ``stage`` under this repro's parent run.

    ``params`` (the stage's own section of params.yaml) are logged flattened under the stage's
    name. Yields the active ``mlflow.ActiveRun``; the run ends FAILED when the stage raises.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    exp_id = setup()
    client = MlflowClient()
    parent = _parent_run(client, exp_id, all_params)
    tags = {"mlflow.parentRunId": parent, "hcc.stage": stage, "hcc.git_commit": git_commit()}
    with mlflow.start_run(run_name=stage, tags=tags) as run:
        if params:
            mlflow.log_params(flatten(params))
        try:
            yield run
        except BaseException:
            mlflow.set_tag("hcc.status", "failed")
            if not os.environ.get(PARENT_ENV):
                client.set_terminated(parent, "FAILED")
            raise
    if not os.environ.get(PARENT_ENV):
        client.set_terminated(parent, "FINISHED")
