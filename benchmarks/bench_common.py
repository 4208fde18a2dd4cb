"""Shared plumbing of the benchmarks: environment description, timing statistics, peak memory,
simulated patients and child processes.

Memory is the resident set size (RSS) of a process, in MiB (2**20 bytes). The peak of one phase
comes from ``VmHWM`` of ``/proc/self/status`` after resetting it (``echo 5 >
/proc/self/clear_refs``, Linux); where that is not possible it is ``ru_maxrss`` of
:func:`resource.getrusage`, the peak since the process started (then marked ``since_start``).
Every heavy measurement runs in a fresh child process, so the peak is its own.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULT_MARK = "BENCH-RESULT "
MIB = 2.0 ** 20


# --- environment ------------------------------------------------------------------------------

def _meminfo_mib(key: str = "MemTotal") -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return round(int(line.split()[1]) * 1024 / MIB, 1)
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment() -> dict:
    """Machine, date and library versions: attached to every benchmark section."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": _cpu_model(),
        "memory_total_mib": _meminfo_mib("MemTotal"),
        "memory_available_mib": _meminfo_mib("MemAvailable"),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "pandas": _version("pandas"),
        "xgboost": _version("xgboost") or _version("xgboost-cpu"),
        "shap": _version("shap"),
        "scikit-learn": _version("scikit-learn"),
        "mlflow": _version("mlflow"),
        "dvc": _version("dvc"),
    }


# --- timing -----------------------------------------------------------------------------------

def latency_stats(seconds) -> dict:
    """Median, p95, p99, mean, min and max of durations, in milliseconds."""
    ms = np.asarray(seconds, dtype=float) * 1e3
    if ms.size == 0:
        return {"n": 0}
    return {
        "n": int(ms.size),
        "median_ms": round(float(np.median(ms)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "mean_ms": round(float(ms.mean()), 2),
        "min_ms": round(float(ms.min()), 2),
        "max_ms": round(float(ms.max()), 2),
    }


# --- memory -----------------------------------------------------------------------------------

def rss_mib() -> float | None:
    """Current RSS of this process (MiB)."""
    return _status_mib("VmRSS")


def _status_mib(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return round(int(line.split()[1]) * 1024 / MIB, 1)
    except OSError:
        pass
    return None


def reset_peak() -> bool:
    """Reset the peak RSS of this process to the current RSS (Linux); False if impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mib(since_reset: bool) -> dict:
    """Peak RSS (MiB) since the last :func:`reset_peak` (or since the process started)."""
    hwm = _status_mib("VmHWM") if since_reset else None
    if hwm is not None:
        return {"peak_rss_mib": hwm, "peak_scope": "phase"}
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_rss_mib": round(kib * 1024 / MIB, 1), "peak_scope": "since_start"}


# --- simulated patients -----------------------------------------------------------------------

def patient_frame(n: int, seed: int, with_id: bool = True):
    """``n`` simulated patients (contract patient fields only) from the default synthetic DGP."""
    from features.contract import PATIENT_FIELDS
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    cohort, _ = simulate_cohort(n, seed, SyntheticParams.default())
    cols = [c for c in PATIENT_FIELDS if c in cohort.columns and (with_id or c != "patient_id")]
    return cohort[cols].reset_index(drop=True)


def patient_records(n: int, seed: int) -> list[dict]:
    """``n`` simulated patients as JSON-safe dicts (None = missing), without patient_id."""
    frame = patient_frame(n, seed, with_id=False)
    return json.loads(frame.to_json(orient="records"))


# --- child processes --------------------------------------------------------------------------

def child_env() -> dict:
    """Environment of a child: the venv's bin first on PATH (dvc, mlflow, uvicorn)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    return env


def emit(result: dict) -> None:
    """Child side: print the result as the marked last line of stdout."""
    print(RESULT_MARK + json.dumps(result, default=str), flush=True)


def run_child(module: str, config: dict, timeout: float) -> dict:
    """Run ``python -m <module> --child <json config>`` and return its marked result.

    A child that fails, times out or prints no result gives ``{"error": ...}`` (never a number).
    """
    cmd = [sys.executable, "-m", module, "--child", json.dumps(config)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s", "config": config}
    wall = time.perf_counter() - started
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            out = json.loads(line[len(RESULT_MARK):])
            out.setdefault("child_wall_seconds", round(wall, 2))
            return out
    tail = (proc.stderr or proc.stdout)[-2000:]
    return {"error": f"child exited {proc.returncode} without a result: {tail}",
            "config": config}


def child_main(measure) -> None:
    """Child entry point: ``python -m benchmarks.bench_x --child '<json>'``."""
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        emit(measure(json.loads(sys.argv[2])))
    else:
        print(f"usage: python -m {measure.__module__} --child '<json config>' "
              "(normally started by `python -m benchmarks.run`)", file=sys.stderr)
        raise SystemExit(2)


def profile_top(func, *args, limit: int = 15, **kwargs) -> dict:
    """cProfile ``func(*args, **kwargs)``: the top functions by own time and by cumulative time."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    try:
        func(*args, **kwargs)
    finally:
        prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt

    def rows(key):
        out = []
        for (file, line, name), (_, ncalls, tottime, cumtime, _) in sorted(
                stats.stats.items(), key=lambda kv: kv[1][2 if key == "tottime" else 3],
                reverse=True)[:limit]:
            where = file.replace(str(ROOT) + os.sep, "")
            where = where.split("site-packages" + os.sep, 1)[-1]
            out.append({"function": f"{where}:{line}({name})", "calls": ncalls,
                        "own_s": round(tottime, 3), "cumulative_s": round(cumtime, 3),
                        "own_share": round(tottime / total, 3) if total else None})
        return out

    return {"total_s": round(total, 3), "by_own_time": rows("tottime"),
            "by_cumulative_time": rows("cumtime")}
