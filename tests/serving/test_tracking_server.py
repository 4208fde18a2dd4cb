"""The team tracking server (``hcc tracking-server``) on a real PostgreSQL, with access control.

One throwaway PostgreSQL cluster (postgres_support.py) and one ``hcc tracking-server
--create-databases`` on it per module: PostgreSQL backend store, artifacts served by the server,
MLflow's basic-auth app with its users in a second database. Then, as a team would:

* the admin creates three users: ``trainer`` (runs the pipeline), ``reader`` (READ on the
  experiment and the registered model) and ``outsider`` (no grant);
* ``trainer`` runs the pipeline's tracking and registry steps against the server: a parent run
  with stage child runs (:mod:`pipeline.tracking`), the ``package`` stage's registration twice
  (metrics passing the gate: ``@champion`` moves; failing: it stays);
* ``reader`` loads ``models:/hcc-recommender@champion`` through the server and recommends;
  ``reader`` may neither register a version nor move ``@champion`` (HTTP 403), ``outsider``
  may not even read, and a request without credentials or with a wrong password gets 401.

Skipped only where PostgreSQL is absent and could not be installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from postgres_support import throwaway_cluster, unavailable_reason
from serving_support import CHAMPION, FAILING, NAME, PASSING, free_port, pinned_tracking_uri

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "hcc-team"
START_S = 120

if (_why := unavailable_reason()) is not None:
    pytest.skip(_why, allow_module_level=True)


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_S
    while True:
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            pytest.fail(f"hcc tracking-server exited: {log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"hcc tracking-server did not start: {log.read_text()[-3000:]}")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def team_server(tmp_path_factory):
    """A running ``hcc tracking-server`` with authentication on a throwaway PostgreSQL."""
    try:
        import flask_wtf  # noqa: F401  (mlflow[auth])
        import psycopg  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"the 'server' extra is not installed ({exc.name}): pip install -e "
                    "'.[server]' (make install does)")
    work = tmp_path_factory.mktemp("team")
    with throwaway_cluster() as cluster:
        port, admin_pw = free_port(), secrets.token_urlsafe(16)
        env = dict(os.environ, HCC_TRACKING_BACKEND_URI=f"{cluster['uri']}/mlflow",
                   HCC_TRACKING_ARTIFACTS=str(work / "artifacts"),
                   HCC_TRACKING_PORT=str(port), HCC_TRACKING_WORKERS="1",
                   MLFLOW_AUTH_ADMIN_PASSWORD=admin_pw)
        env.pop("MLFLOW_TRACKING_URI", None)
        log = work / "server.log"
        with log.open("w") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pipeline.serving.cli", "tracking-server",
                 "--create-databases"], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc, log)
            yield {"url": url, "admin": ("admin", admin_pw), "cluster": cluster,
                   "artifacts": work / "artifacts", "log": log}
        finally:
            os.kill(proc.pid, signal.SIGTERM)  # hcc stops the server's whole process group
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@contextlib.contextmanager
def as_user(server: dict, user: tuple[str, str]):
    """MLflow calls in the block go to the team server as ``user`` (name, password)."""
    with pinned_tracking_uri(server["url"]), pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_USERNAME", user[0])
        mp.setenv("MLFLOW_TRACKING_PASSWORD", user[1])
        yield


@pytest.fixture(scope="module")
def team(team_server, tiny_bundle, tmp_path_factory):
    """The admin's users and grants and the trainer's pipeline runs, once per module."""
    from mlflow.server import get_app_client
    from mlflow.tracking import MlflowClient

    from pipeline import tracking
    from pipeline.stages.package import GateParams, PackageParams, package

    users = {name: (name, secrets.token_urlsafe(12)) for name in ("trainer", "reader", "outsider")}
    with as_user(team_server, team_server["admin"]):
        admin = get_app_client("basic-auth", tracking_uri=team_server["url"])
        for name, password in users.values():
            admin.create_user(name, password)
    work = tmp_path_factory.mktemp("team-runs")
    params = {"data": {"source": "synthetic"}}
    package_params = PackageParams(NAME, "champion", GateParams(0.6, 0.3, 0))
    reports = []
    with as_user(team_server, users["trainer"]), pytest.MonkeyPatch.context() as mp:
        mp.setenv(tracking.EXPERIMENT_ENV, EXPERIMENT)
        exp_id = tracking.setup()
        parent = tracking.start_parent(MlflowClient(), exp_id, None, params)
        mp.setenv(tracking.PARENT_ENV, parent)
        with tracking.stage_run("train", {"seed": 1}, params):
            import mlflow

            mlflow.log_metric("fit_seconds", 1.5)
        for i, metrics in enumerate((PASSING, FAILING)):
            path = work / f"metrics{i}.json"
            path.write_text(json.dumps(metrics))
            with tracking.stage_run("package", {"alias": "champion"}, params):
                reports.append(package(tiny_bundle, ROOT / "examples/patient_advanced.json",
                                       path, package_params))
        MlflowClient().set_terminated(parent, "FINISHED")
    with as_user(team_server, team_server["admin"]):
        admin.grant_user_permission("reader", "experiment", exp_id, "READ")
        admin.grant_user_permission("reader", "registered_model", NAME, "READ")
    return {"users": users, "exp_id": exp_id, "parent": parent, "reports": reports}


def test_parent_and_stage_runs_are_stored_in_postgresql(team_server, team):
    import psycopg
    from mlflow.tracking import MlflowClient

    with as_user(team_server, team["users"]["trainer"]):
        client = MlflowClient()
        exp = client.get_experiment(team["exp_id"])
        runs = client.search_runs([team["exp_id"]])
    # artifacts go through the server (its artifact root), not to a path of one machine
    assert exp.artifact_location.startswith("mlflow-artifacts:")
    assert exp.tags[("mlflow.experimentKind")] == "custom_model_development"
    parents = [r for r in runs if r.data.tags.get("hcc.parent") == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == team["parent"]]
    assert [r.info.run_id for r in parents] == [team["parent"]]
    assert sorted(r.data.tags["hcc.stage"] for r in children) == ["package", "package", "train"]
    assert all(r.info.status == "FINISHED" for r in runs) and len(runs) == 4
    assert parents[0].info.run_name.startswith("synthetic@")
    # the rows are in PostgreSQL, the model files in the server's artifact root
    with psycopg.connect(f"{team_server['cluster']['uri']}/mlflow") as conn:
        stored = conn.execute("SELECT run_uuid FROM runs WHERE experiment_id = %s",
                              (int(team["exp_id"]),)).fetchall()
    assert {row[0] for row in stored} == {r.info.run_id for r in runs}
    assert list(team_server["artifacts"].rglob("MLmodel"))


def test_champion_gate_holds_on_the_server(team_server, team):
    from mlflow.tracking import MlflowClient

    passed, failed = team["reports"]
    assert (passed["version"], passed["champion_moved"]) == ("1", True)
    assert (failed["version"], failed["champion_moved"], failed["champion_version"]) == \
        ("2", False, "1")
    with as_user(team_server, team["users"]["reader"]):
        client = MlflowClient()
        assert client.get_model_version_by_alias(NAME, "champion").version == "1"
        assert client.get_model_version(NAME, "2").tags["gate"] == "failed"


def test_requests_without_valid_credentials_get_401(team_server, team):
    url = f"{team_server['url']}/api/2.0/mlflow/registered-models/get"
    params = {"name": NAME}
    assert requests.get(url, params=params, timeout=10).status_code == 401
    assert requests.get(url, params=params, auth=("reader", "wrong-password"),
                        timeout=10).status_code == 401
    assert requests.get(url, params=params, auth=("nobody", "x"), timeout=10).status_code == 401
    assert requests.get(url, params=params, auth=team["users"]["reader"],
                        timeout=10).status_code == 200


def test_reader_loads_the_champion_through_the_server(team_server, team, examples,
                                                     recommender, same):
    import mlflow
    import pandas as pd

    from pipeline import load_recommender

    with as_user(team_server, team["users"]["reader"]):
        model = mlflow.pyfunc.load_model(CHAMPION)
        served = load_recommender(CHAMPION)  # what hcc recommend/serve --model resolve
    expected = recommender.recommend(examples["advanced"], explain=False).to_dict()
    out = model.predict(pd.DataFrame([examples["advanced"]]), params={"explain": False})
    assert out[0]["ok"] is True
    same(out[0]["recommendation"], expected)
    same(served.recommend(examples["advanced"], explain=False).to_dict(), expected)


def test_reader_cannot_register_a_version_or_move_the_champion(team_server, team):
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    source = team["reports"][1]["logged_model_uri"]
    with as_user(team_server, team["users"]["reader"]):
        client = MlflowClient()
        attempts = {
            "register a version": lambda: client.create_model_version(NAME, source),
            "move @champion": lambda: client.set_registered_model_alias(NAME, "champion", "2"),
            "delete @champion": lambda: client.delete_registered_model_alias(NAME, "champion"),
            "log a run": lambda: client.create_run(team["exp_id"]),
        }
        for what, attempt in attempts.items():
            with pytest.raises(MlflowException, match="403") as caught:
                attempt()
            assert "Permission denied" in str(caught.value), what
    # the same over plain HTTP: 403, not 401 (authenticated, not allowed)
    answer = requests.post(f"{team_server['url']}/api/2.0/mlflow/registered-models/alias",
                           json={"name": NAME, "alias": "champion", "version": "2"},
                           auth=team["users"]["reader"], timeout=10)
    assert answer.status_code == 403
    with as_user(team_server, team["users"]["trainer"]):
        assert MlflowClient().get_model_version_by_alias(NAME, "champion").version == "1"
        assert len(MlflowClient().search_model_versions(f"name = '{NAME}'")) == 2


def test_a_user_without_a_grant_reads_nothing(team_server, team):
    base = f"{team_server['url']}/api/2.0/mlflow"
    who = team["users"]["outsider"]
    assert requests.get(f"{base}/registered-models/get", params={"name": NAME}, auth=who,
                        timeout=10).status_code == 403
    assert requests.get(f"{base}/experiments/get", params={"experiment_id": team["exp_id"]},
                        auth=who, timeout=10).status_code == 403
