"""Run the REST server as a child of ``hcc serve`` and stop all of it on SIGTERM, SIGINT or SIGHUP.

``hcc serve`` starts ``python -m pipeline.serving.rest`` (uvicorn's supervisor, which spawns
the worker processes) in a session and process group of its own and stays in front of it:

* SIGTERM, SIGINT (Ctrl-C, or ``kill -INT``) and SIGHUP sent to ``hcc serve`` are forwarded to
  the whole group: uvicorn's supervisor and every worker stop gracefully;
* whatever of the group is still alive ``grace`` seconds later is killed (SIGKILL), and so is
  the group at once on a second signal (an impatient Ctrl-C);
* when the server exits by itself, any process left in its group is stopped the same way;
* on Linux the server also gets SIGTERM should ``hcc serve`` die without a chance to forward
  (SIGKILL): ``PR_SET_PDEATHSIG``.

So stopping ``hcc serve`` never leaves a server or a worker behind answering ``/ping``
(tests/serving/test_serve_signals.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
GRACE_S = 10.0
"""Seconds the server's processes get to stop after a forwarded signal, before SIGKILL."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGTERM to this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def group_alive(pgid: int) -> bool:
    """Is any process of the process group ``pgid`` left?"""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we may not signal: still there
        return True
    return True


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def stop_group(pgid: int, signum: int = signal.SIGTERM, grace: float = GRACE_S) -> None:
    """Send ``signum`` to the group, wait up to ``grace`` seconds, then SIGKILL what is left."""
    _signal_group(pgid, signum)
    deadline = time.monotonic() + grace
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if group_alive(pgid):
        _signal_group(pgid, signal.SIGKILL)


def run_server(cmd: list[str], env: dict | None = None, grace: float = GRACE_S) -> int:
    """Run ``cmd`` in its own process group until it exits or this process is asked to stop.

    Must be called from the main thread (it installs signal handlers, restored on return).
    Returns the server's exit code, or 0 when it stopped because of a stop signal.
    """
    linux = sys.platform.startswith("linux")
    # a session of its own (hence a process group): terminal job control (SIGTTOU on output,
    # which uvicorn's supervisor would take as "one worker fewer") never reaches the server
    proc = subprocess.Popen(cmd, env=env, start_new_session=True,
                            preexec_fn=_die_with_parent if linux else None)
    pgid = proc.pid
    received: list[int] = []

    def forward(signum, frame):
        received.append(signum)
        # first signal: ask the whole group to stop; a second one: kill it now
        _signal_group(pgid, signum if len(received) == 1 else signal.SIGKILL)

    previous = {s: signal.signal(s, forward) for s in STOP_SIGNALS}
    try:
        deadline = None
        while True:
            try:
                code = proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if received and deadline is None:
                deadline = time.monotonic() + grace
            if deadline is not None and time.monotonic() > deadline:
                _signal_group(pgid, signal.SIGKILL)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if proc.poll() is None:  # an exception here: never leave the server behind
            _signal_group(pgid, signal.SIGKILL)
            proc.wait()
    # the server is gone; its workers must not outlive it
    if group_alive(pgid):
        stop_group(pgid, signal.SIGTERM, grace)
    return 0 if received else code
