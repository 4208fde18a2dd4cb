"""The REST endpoint under load: the server ``hcc serve`` starts (MLflow's scoring server behind
the request guard of :mod:`pipeline.serving.rest`) on a free 127.0.0.1 port, then a bounded load
generator.

The bundle is logged as the project's pyfunc model (:func:`pipeline.serving.packaging.log_model`) to a
temporary SQLite tracking store, served with :func:`pipeline.serving.cli.serve_command` (as many uvicorn
workers as ``hcc serve`` starts: one per core), and hit by ``clients``
threads, each with its own keep-alive HTTP connection, for ``seconds`` seconds: one
single-patient ``dataframe_records`` request at a time per client (default request params: SHAP
+ intervals), different simulated patients.
Latency = wall time from sending the request to reading the whole response, client side. An
error is a non-200 status, a body that is not a valid recommendation, a timeout or a broken
connection. The server is stopped in ``finally`` (its own process group: SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.bench_common import child_env, environment, latency_stats

REQUEST_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_pyfunc(bundle: str, work: Path) -> tuple[str, str]:
    """Log the bundle as the pyfunc model in a fresh SQLite store: (tracking uri, model uri)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from pipeline.serving.packaging import log_model

    uri = f"sqlite:///{work / 'mlflow.db'}"
    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    try:
        exp = MlflowClient().create_experiment("bench-rest",
                                               artifact_location=(work / "art").as_uri())
        with mlflow.start_run(experiment_id=exp):
            info = log_model(bundle, None, None)
    finally:
        if old is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old
    return uri, info.model_uri


def default_workers() -> int:
    """The uvicorn workers `hcc serve` starts by default (one per core)."""
    return os.cpu_count() or 1


def start_server(model_uri: str, tracking_uri: str, port: int, log_path: Path,
                 workers: int | None = None, timeout_s: float = 180.0) -> subprocess.Popen:
    """Start the ``hcc serve`` server and wait for /ping; raises RuntimeError with the log tail."""
    from pipeline.serving.cli import serve_command

    cmd = serve_command(model_uri, port, workers=workers or default_workers())
    env = dict(child_env(), MLFLOW_TRACKING_URI=tracking_uri)
    with log_path.open("w") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}): "
                               f"{log_path.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError(f"server not up after {timeout_s:.0f} s: "
                               f"{log_path.read_text()[-2000:]}")
        time.sleep(0.5)


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (uvicorn and its worker), SIGKILL after 20 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _check(status: int, body: bytes) -> str | None:
    """None for a valid single-patient recommendation, else the error kind."""
    if status != 200:
        return f"http_{status}"
    try:
        pred = json.loads(body)["predictions"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return "bad_body"
    return None if pred.get("ok") and pred["recommendation"].get("modalities") else "not_ok"


def load(port: int, payloads: list[bytes], clients: int, seconds: float) -> dict:
    """``clients`` threads, each sending one request at a time for ``seconds`` seconds."""
    lock = threading.Lock()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    stop_at = time.monotonic() + seconds

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        i = k
        while time.monotonic() < stop_at:
            body = payloads[i % len(payloads)]
            i += clients
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/invocations", body=body,
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                kind = _check(resp.status, data)
            except (OSError, http.client.HTTPException) as exc:
                kind = f"connection_{type(exc).__name__}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
            elapsed = time.perf_counter() - t0
            with lock:
                if kind is None:
                    latencies.append(elapsed)
                else:
                    errors[kind] = errors.get(kind, 0) + 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + REQUEST_TIMEOUT_S + 5)
    wall = time.perf_counter() - started
    hung = sum(t.is_alive() for t in threads)
    n_err = sum(errors.values())
    return {"clients": clients, "seconds": round(wall, 2), "ok_requests": len(latencies),
            "errors": n_err, "error_kinds": errors, "hung_clients": hung,
            "requests_per_second": round((len(latencies) + n_err) / wall, 2),
            "ok_requests_per_second": round(len(latencies) / wall, 2),
            **latency_stats(latencies)}


def run(bundle: str, quick: bool, seed: int, clients: int = 8, seconds: float = 20.0,
        workers: int | None = None) -> dict:
    """Log, serve, warm up, one sequential client, then ``clients`` concurrent ones; stop."""
    from benchmarks.bench_common import patient_records

    seconds = 6.0 if quick else seconds
    patients = patient_records(400, seed)
    payloads = [json.dumps({"dataframe_records": [p]}).encode() for p in patients]
    work = Path(tempfile.mkdtemp(prefix="hcc-bench-rest-"))
    out: dict = {"env": environment(), "bundle": bundle, "workers": workers or default_workers(),
                 "request": "one patient per request, dataframe_records, default params "
                            "(SHAP + intervals)", "payload_bytes_median": sorted(
                     len(p) for p in payloads)[len(payloads) // 2]}
    proc = None
    try:
        t0 = time.perf_counter()
        tracking_uri, model_uri = log_pyfunc(bundle, work)
        out["log_model_seconds"] = round(time.perf_counter() - t0, 2)
        port = free_port()
        t0 = time.perf_counter()
        proc = start_server(model_uri, tracking_uri, port, work / "server.log", workers)
        out["server_start_seconds"] = round(time.perf_counter() - t0, 2)
        out["warmup"] = load(port, payloads[:20], 1, 2.0 if quick else 4.0)
        out["sequential"] = load(port, payloads, 1, 3.0 if quick else 8.0)
        out["concurrent"] = load(port, payloads, clients, seconds)
        print(f"  rest {clients} clients {seconds:.0f} s: median "
              f"{out['concurrent'].get('median_ms')} ms, p99 {out['concurrent'].get('p99_ms')} "
              f"ms, {out['concurrent']['ok_requests_per_second']} req/s, errors "
              f"{out['concurrent']['errors']}", flush=True)
    except Exception as exc:  # noqa: BLE001 - reported in the results, never a number
        out["error"] = f"{type(exc).__name__}: {str(exc)[:2000]}"
    finally:
        if proc is not None:
            stop_server(proc)
            out["server_stopped"] = proc.poll() is not None
        log = work / "server.log"
        if log.is_file():
            text = log.read_text(errors="replace")
            out["server_log_errors"] = sum(1 for line in text.splitlines()
                                           if "Traceback" in line or " 500 " in line)
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return out
