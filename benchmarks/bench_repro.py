"""``dvc repro --force`` end to end, wall time, in a scratch copy of the repository.

The copy holds what the stages need, as ``tests/stages/test_pipeline_e2e.py`` builds it:
dvc.yaml, params.yaml, .dvc/config (with ``core.no_scm = true``: no git in the scratch copy),
.dvcignore / .gitignore and the package sources named as stage dependencies (the code that
runs is the installed project, i.e. this repository). The working tree's data, DVC cache and
MLflow store are not touched. ``--quick`` runs the same stages on a smaller cohort. Per-stage
seconds come from the stages' own "stage X done in Y s" log lines.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.bench_common import MIB, ROOT, child_env, child_main, environment, run_child

PACKAGES = ("features", "models", "guidelines", "pipeline")
QUICK = {"synthetic": {"n": 1500}, "train": {"outcome_model": {"n_bootstrap": 3}},
         "evaluate": {"peers": {"coxph-s": {"learner": "s", "base": "coxph", "n_bootstrap": 0,
                                            "survival_params": {}}}}}
_STAGE_DONE = re.compile(r"stage (\w+) done in ([0-9.]+) s")


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and key != "peers":
            out[key] = _merge(base[key], value)
        else:
            out[key] = value
    return out


def scratch_copy(work: Path, quick: bool) -> dict:
    """Build the scratch repository in ``work``; returns the params written."""
    for name in ("dvc.yaml", ".dvcignore", ".gitignore"):
        if (ROOT / name).is_file():
            shutil.copy(ROOT / name, work / name)
    shutil.copytree(ROOT / ".dvc", work / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"))
    config = work / ".dvc" / "config"
    text = config.read_text() if config.is_file() else ""
    if "no_scm" not in text:
        text = text.replace("[core]", "[core]\n    no_scm = true", 1) if "[core]" in text \
            else "[core]\n    no_scm = true\n" + text
    config.write_text(text)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    if quick:
        params = _merge(params, QUICK)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, work / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return params


def measure(config: dict) -> dict:
    quick = bool(config.get("quick"))
    work = Path(tempfile.mkdtemp(prefix="hcc-bench-repro-"))
    try:
        params = scratch_copy(work, quick)
        env = child_env()
        env.pop("MLFLOW_TRACKING_URI", None)
        env.pop("HCC_MLFLOW_PARENT_RUN_ID", None)
        t0 = time.perf_counter()
        proc = subprocess.run(["dvc", "repro", "--force"], cwd=work, env=env,
                              capture_output=True, text=True, timeout=float(config["timeout"]))
        wall = time.perf_counter() - t0
        log = proc.stdout + proc.stderr
        kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        stages = {m.group(1): float(m.group(2)) for m in _STAGE_DONE.finditer(log)}
        out = {
            "env": environment(), "quick": quick, "command": "dvc repro --force",
            "cohort_n": params["synthetic"]["n"], "data_source": params["data"]["source"],
            "n_bootstrap": params["train"]["outcome_model"].get("n_bootstrap"),
            "peers": sorted(params["evaluate"].get("peers", {})),
            "returncode": proc.returncode, "wall_seconds": round(wall, 1),
            "stage_seconds": stages,
            "peak_rss_mib_largest_process": round(kib * 1024 / MIB, 1),
        }
        if proc.returncode != 0:
            out["error"] = f"dvc repro exited {proc.returncode}: {log[-3000:]}"
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(quick: bool, timeout_s: float = 3600.0) -> dict:
    out = run_child("benchmarks.bench_repro", {"quick": quick, "timeout": timeout_s},
                    timeout=timeout_s + 120)
    print("  repro: " + (f"{out['wall_seconds']:.0f} s" if "error" not in out
                         else f"ERROR {out['error'][-300:]}"), flush=True)
    return out


if __name__ == "__main__":
    child_main(measure)
