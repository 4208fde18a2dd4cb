"""Helpers shared by the MLflow tests of tests/serving (conftest.py, test_serving.py,
test_serve_signals.py): the registered model's name, the package-gate metrics, a scoped MLflow
tracking-URI pin, a free port and the server's /ping."""

from __future__ import annotations

import http.client
import socket
from contextlib import contextmanager

import pytest

NAME = "hcc-recommender"
CHAMPION = f"models:/{NAME}@champion"
PASSING = {"headline": {"uno_c_index": 0.71, "gain_captured": 0.55, "forbidden_recommendations": 0}}
FAILING = {"headline": {"uno_c_index": 0.52, "gain_captured": 0.55, "forbidden_recommendations": 0}}
SERVER_START_S = 180
"""Seconds a test server gets to answer /ping."""


@contextmanager
def pinned_tracking_uri(uri: str):
    """Point MLflow at ``uri`` for the block: the process-wide URI and ``MLFLOW_TRACKING_URI``.

    ``mlflow.set_tracking_uri`` wins over the variable and outlives a test module; afterwards
    the previous process-wide URI (usually none) and the previous variable are both back, so
    the store never leaks into later modules.
    """
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    with pytest.MonkeyPatch.context() as mp:  # restores the variable last
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        with _use_tracking_uri(uri):  # restores the process-wide URI
            yield


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pings(port: int) -> bool:
    """Does a server on the loopback ``port`` answer ``GET /ping`` with 200?"""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/ping")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()
