"""`hcc serve` stops cleanly: SIGTERM or SIGINT to the command stops the server and every worker.

The real command (``python -m pipeline.serving.cli serve``) on the session's tracking store
(conftest.py ``mlflow_store``) with two uvicorn workers; the process tree is recorded once
``/ping`` answers, then one signal goes to the ``hcc serve`` process only (as ``kill`` or a
service manager sends it), and within a few seconds nothing of the tree may remain and
``/ping`` must no longer answer.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
from serving_support import CHAMPION, SERVER_START_S, free_port, pings

STOP_S = 15  # the server's graceful stop, well under supervise.GRACE_S + its polling


def _kill_tree(procs) -> None:
    """Test clean-up: whatever is left of the recorded processes (our own children only)."""
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass


def _alive(procs) -> list:
    left = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                left.append(p)
        except psutil.NoSuchProcess:
            pass
    return left


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_hcc_serve_stops_with_every_worker(mlflow_store, tmp_path, signum):
    port = free_port()
    log = tmp_path / "serve.log"
    env = dict(mlflow_store["env"], MLFLOW_TRACKING_URI=mlflow_store["uri"])
    cmd = [sys.executable, "-m", "pipeline.serving.cli", "serve", "--port", str(port),
           "--model", CHAMPION, "--workers", "2"]
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    tree = [psutil.Process(proc.pid)]
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not pings(port):
            assert proc.poll() is None, f"hcc serve exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no /ping: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        tree += tree[0].children(recursive=True)
        python = [p for p in tree[1:] if "python" in p.name().lower()]
        assert len(python) >= 3, f"expected the server and 2 workers, got {tree}"  # can fail

        proc.send_signal(signum)
        started = time.monotonic()
        code = proc.wait(timeout=STOP_S)
        deadline = started + STOP_S
        while _alive(tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(tree), f"left behind: {_alive(tree)}\n{log.read_text()[-3000:]}"
        assert not pings(port)
        assert code == 0, log.read_text()[-3000:]
        assert time.monotonic() - started < STOP_S
    finally:
        _kill_tree(_alive(tree))
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_a_server_ignoring_sigterm_is_killed_after_the_grace(tmp_path):
    """The fallback: a child (and its own child) that ignore SIGTERM are killed (SIGKILL)."""
    stubborn = textwrap.dedent("""
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
        print(child.pid, flush=True)
        time.sleep(600)
    """)
    runner = textwrap.dedent(f"""
        import sys
        from pipeline.serving.supervise import run_server
        sys.exit(run_server([sys.executable, "-c", {stubborn!r}], grace=1.0))
    """)
    proc = subprocess.Popen([sys.executable, "-c", runner], stdout=subprocess.PIPE, text=True)
    tree = [psutil.Process(proc.pid)]
    try:
        grandchild = int(proc.stdout.readline())
        tree += tree[0].children(recursive=True)
        assert grandchild in [p.pid for p in tree]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        deadline = time.monotonic() + 5
        while _alive(tree) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(tree)
    finally:
        _kill_tree(_alive(tree))
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
