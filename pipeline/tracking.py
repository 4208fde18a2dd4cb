"""MLflow tracking wiring shared by every stage.

* Tracking store: SQLite in the project directory (``sqlite:///<project>/mlflow.db``, see
  :func:`pipeline.config.project_root`) unless
  ``MLFLOW_TRACKING_URI`` names another (a team server: ``hcc tracking-server``,
  :mod:`pipeline.serving.tracking_server`). On a local store the experiment is created with an
  absolute artifact location (``<repo>/mlartifacts``), so runs started from any directory agree;
  on a tracking server (``http(s)://``) with the server's own artifact root, so every member of
  the team reads the artifacts through the server.
* The experiment is tagged as a classic machine-learning experiment
  (``mlflow.experimentKind = custom_model_development``), not a GenAI one; MLflow 3.17's UI
  picks its view from the sidebar switch or the ``workflowType`` in the URL, so :func:`ui_url`
  gives the experiment's address with ``workflowType=machine_learning``.
* One parent run per ``dvc repro`` with a child run per stage. ``make run`` creates the parent
  and passes its id in ``HCC_MLFLOW_PARENT_RUN_ID``; a plain ``dvc repro`` is recognised by the
  ``dvc`` process that runs the stages, so its stages still share one parent. The parent is
  named by data source and short commit (``synthetic@52f8610``, ``my_cohort.csv@52f8610``: the
  file name only, never its folders), each child by its stage.
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
# MLflow's experiment-type tag and the value of its "Machine learning" (not GenAI) experiments
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
# kinds MLflow may have guessed (never chosen by a person): replaced by ours
_GUESSED_KINDS = {"", "no_inferred_type", "genai_development_inferred",
                  "custom_model_development_inferred"}


def tracking_uri(root: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the embedded SQLite store at the repository root."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root or project_root()) / 'mlflow.db'}"


def is_server(uri: str) -> bool:
    """Is ``uri`` a tracking server (``http://``, ``https://``) rather than a local store?"""
    return uri.split(":", 1)[0].lower() in ("http", "https")


def redact_uri(uri: str) -> str:
    """``uri`` with the password of its ``user:password@`` part replaced by ``***`` (for logs
    and messages)."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return uri
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}{slash}{path}"


def experiment_name() -> str:
    return os.environ.get(EXPERIMENT_ENV, DEFAULT_EXPERIMENT)


def setup(root: Path | None = None):
    """Point MLflow at the store and make sure the experiment exists; returns its id."""
    import mlflow

    root = root or project_root()
    uri = tracking_uri(root)
    mlflow.set_tracking_uri(uri)
    name = experiment_name()
    exp = mlflow.get_experiment_by_name(name)
    if exp is None:
        # a server keeps the artifacts (its --artifacts-destination); a local store the checkout
        artifacts = None if is_server(uri) else (root / "mlartifacts").resolve().as_uri()
        exp_id = mlflow.create_experiment(name, artifact_location=artifacts,
                                          tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
    else:
        exp_id = exp.experiment_id
        if exp.tags.get(EXPERIMENT_KIND_TAG, "") in _GUESSED_KINDS:  # a person's choice stays
            mlflow.MlflowClient().set_experiment_tag(exp_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def ui_url(exp_id: str, base: str = "http://127.0.0.1:5000") -> str:
    """The experiment's page in ``mlflow ui`` (default address), in the machine-learning view."""
    return f"{base}/#/experiments/{exp_id}?workflowType=machine_learning"


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


def data_label(params: Mapping | None) -> str:
    """``data.source`` as runs show it: ``synthetic`` or the cohort file's name without its
    folders (a path can name a person, a site or a home directory)."""
    source = str(((params or {}).get("data") or {}).get("source") or "unknown")
    return source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or "unknown"


def parent_run_name(params: Mapping | None, commit: str | None = None) -> str:
    """``<data source>@<short commit>``, e.g. ``synthetic@52f8610`` or
    ``my_cohort.csv@52f8610-dirty`` (work tree with uncommitted changes)."""
    commit = commit or git_commit()
    short = commit if commit == "unknown" else commit[:7] + (
        "-dirty" if commit.endswith("-dirty") else "")
    return f"{data_label(params)}@{short}"


def start_parent(client, exp_id: str, key: str | None, params: Mapping | None) -> str:
    commit = git_commit()
    run = client.create_run(
        exp_id,
        run_name=parent_run_name(params, commit),
        tags={"hcc.parent": "true", "hcc.repro_key": key or "", "hcc.git_commit": commit,
              "hcc.data_source": data_label(params),
              "mlflow.source.git.commit": commit.removesuffix("-dirty")},
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
