"""Shared fixtures of the pipeline tests: ONE MLflow tracking store and ONE REST server per
session.

``mlflow_store``: a temporary SQLite tracking store where the package stage registered the tiny
session bundle twice (version 1 passed the gate and holds the ``champion`` alias, version 2
failed it). ``rest_server``: the ``hcc serve`` server (pipeline/serving/rest.py) of that champion on a
free loopback port, used by tests/serving/test_serving.py and test_robustness_rest.py (one
server start per run instead of one per module).

MLflow's process-wide tracking URI (``mlflow.set_tracking_uri``) wins over the
``MLFLOW_TRACKING_URI`` variable and outlives a module: the store is built under
``serving_support.pinned_tracking_uri``, which restores both afterwards, and a module that calls
MLflow in-process pins the store for its own duration only (``store`` in test_serving.py). The
server is a subprocess with the store in its environment: it needs no pin.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from serving_support import (
    CHAMPION,
    FAILING,
    NAME,
    PASSING,
    SERVER_START_S,
    free_port,
    pings,
    pinned_tracking_uri,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory, tiny_bundle):
    """The session's tracking store: version 1 (gate passed: champion), version 2 (gate failed).

    A dict with ``uri``, ``work`` (its directory), ``reports`` (the two package reports) and
    ``env`` (the environment with ``MLFLOW_TRACKING_URI`` set to the store).
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    from pipeline.stages.package import GateParams, PackageParams, package

    work = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{work / 'mlflow.db'}"
    with pinned_tracking_uri(uri):
        exp = MlflowClient().create_experiment("serving-test",
                                               artifact_location=(work / "art").as_uri())
        params = PackageParams(NAME, "champion", GateParams(0.6, 0.3, 0))
        reports = []
        for i, metrics in enumerate((PASSING, FAILING)):
            path = work / f"metrics{i}.json"
            path.write_text(json.dumps(metrics))
            with mlflow.start_run(experiment_id=exp):
                reports.append(package(tiny_bundle, ROOT / "examples/patient_advanced.json",
                                       path, params))
        env = dict(os.environ)
    return {"uri": uri, "work": work, "reports": reports, "env": env}


@pytest.fixture(scope="session")
def rest_server(mlflow_store):
    """ONE ``hcc serve`` server of the champion on a free loopback port (session scope).

    A dict with ``port``, ``url`` (the /invocations URL) and ``log`` (the server's output file).
    """
    from pipeline.serving.cli import serve_command

    port = free_port()
    log = mlflow_store["work"] / "server.log"
    env = dict(mlflow_store["env"], MLFLOW_TRACKING_URI=mlflow_store["uri"])
    with log.open("w") as fh:
        proc = subprocess.Popen(serve_command(CHAMPION, port), env=env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not pings(port):
            if proc.poll() is not None:
                pytest.fail(f"server exited: {log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"server did not start: {log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"port": port, "url": f"http://127.0.0.1:{port}/invocations", "log": log}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group (uvicorn child)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
