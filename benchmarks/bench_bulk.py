"""Columnar bulk scoring (``recommend_table``) and Spark local[2] scoring, one fresh process per
run.

``pandas`` runs: each child loads the bundle, simulates the cohort (contract patient fields with
patient_id), warms up on 300 rows, resets the peak RSS and times one ``recommend_table`` call over
the whole cohort; then, on the same patients, the phases one by one (validation, derivation and
model matrix, rules, the model's predictions) and the xgboost floor: the boosters' calls alone
(margins of the survival model under every modality and the response model's; with intervals
the bootstrap members' margins; with SHAP the TreeSHAP contributions; designs built), the part
no table code can remove.

``spark`` runs: the bundle is saved as the pyfunc model (models-from-code, as ``package`` logs
it) in a scratch directory, the cohort written as one Parquet file; the child times
``recommend_files`` on a local[2] session (read, score, write Parquet, count), excluding the
session start, and samples the summed RSS of its process tree (driver, JVM, Python workers)
every 0.2 s: the peak is that of the whole local cluster.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from benchmarks.bench_common import child_main, environment, peak_mib, reset_peak, rss_mib

PANDAS_PLAN = ((100_000, False, False), (100_000, False, True), (100_000, True, False))
SPARK_SIZES = (100_000, 1_000_000)
QUICK_PANDAS = ((10_000, False, False), (10_000, False, True), (5_000, True, False))
QUICK_SPARK = (20_000, 100_000)


def measure_pandas(config: dict) -> dict:
    from benchmarks.bench_common import patient_frame
    from features import derive
    from features.contract import validate_cohort
    from guidelines import assess_arrays
    from pipeline.recommender.bulk import recommend_table
    from pipeline.recommender.runtime import Recommender

    n, explain, intervals = int(config["n"]), bool(config["explain"]), bool(config["intervals"])
    rec = Recommender.from_bundle(config["bundle"])
    frame = patient_frame(n, int(config["seed"]))
    recommend_table(frame.iloc[:300], recommender=rec, explain=explain, intervals=intervals)
    rss_before = rss_mib()
    resettable = reset_peak()
    t0 = time.perf_counter()
    table = recommend_table(frame, recommender=rec, explain=explain, intervals=intervals)
    seconds = time.perf_counter() - t0
    peak = peak_mib(resettable)
    out = {"env": environment(), "n": n, "explain": explain, "intervals": intervals,
           "seconds": round(seconds, 3), "patients_per_second": round(n / seconds, 1),
           "rss_before_mib": rss_before, **peak,
           "peak_increase_mib": round(peak["peak_rss_mib"] - rss_before, 1)
           if rss_before is not None else None,
           "share_with_recommendation": round(float(table.patients["recommended"].notna()
                                                    .mean()), 4)}
    del table
    # the phases, one by one, on the same patients (one chunk of the table's size at most)
    phases = {}

    def timed(name, fn):
        t = time.perf_counter()
        value = fn()
        phases[name] = round(time.perf_counter() - t, 3)
        return value

    part = frame.iloc[:50_000]
    valid = timed("validate", lambda: validate_cohort(part, require_outcomes=False,
                                                      require_id=False).valid)
    valid = valid.drop(columns=["patient_id"])
    derived = timed("derive_and_matrix", lambda: derive(valid))
    X = timed("derive_and_matrix_", lambda: rec.bundle.matrix.transform(derived))
    phases["derive_and_matrix"] += phases.pop("derive_and_matrix_")
    timed("rules", lambda: assess_arrays(derived, rec.ruleset(None)))
    p = rec.predictor
    times = sorted(set(p.times) | {12.0, 24.0})
    timed("model_predictions", lambda: p.arrays(X, times, explain=explain, intervals=intervals))
    model = p.model
    Xa = model._X(X)
    js = [model._idx(m) for m in p.observed]
    p._use_threads(len(X))
    def boosters_only():  # the xgboost calls of this mode, nothing around them
        model.main_.margins(Xa, js)
        model._response_matrix(Xa, js)
        if intervals:
            for member in model.members_:
                member.margins(Xa, js)
        if explain and model.main_.factoring is not None:
            arms = model.main_
            arms.factoring.contribs(arms.zero_design(Xa), js)

    timed("xgboost_floor", boosters_only)
    rows = len(part)
    out["phases_rows"] = rows
    out["phases_seconds"] = phases
    out["xgboost_floor_patients_per_second"] = round(rows / phases["xgboost_floor"], 1)
    out["table_minus_phases_seconds_per_50k"] = round(
        seconds * rows / n - sum(v for k, v in phases.items() if k != "xgboost_floor"), 3)
    return out


def _tree_rss_mib(root: int) -> float:
    """Summed RSS (MiB) of ``root`` and every descendant process (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        pid, ppid = int(entry), int(fields.get("PPid", "0").strip())
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return round(total / 1024, 1)


def measure_spark(config: dict) -> dict:
    from pipeline.serving.spark import recommend_files, spark_session

    n = int(config["n"])
    spark = spark_session("local[2]", **{"spark.driver.memory": "2g"})
    peak, stop = [0.0], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss_mib(os.getpid()))
            time.sleep(0.2)

    before = _tree_rss_mib(os.getpid())
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    counts = recommend_files(config["cohort"], config["output"], config["model"], spark=spark,
                             explain=False, intervals=False)
    seconds = time.perf_counter() - t0
    stop.set()
    sampler.join()
    partitions = spark.read.parquet(config["cohort"]).rdd.getNumPartitions()
    spark.stop()
    return {"env": environment(), "n": n, "seconds": round(seconds, 2),
            "patients_per_second": round(n / seconds, 1), "partitions": partitions,
            "valid": counts["valid"], "invalid": counts["invalid"],
            "tree_rss_before_mib": before, "peak_tree_rss_mib": peak[0],
            "scope": "read + score + write Parquet + count, local[2], session start excluded"}


def measure(config: dict) -> dict:
    return measure_spark(config) if config.get("engine") == "spark" else measure_pandas(config)


def _save_model(bundle: str, where: Path) -> str:
    """The bundle as the pyfunc model directory ``package`` would log (no tracking store)."""
    import mlflow

    from pipeline.serving import packaging

    path = where / "model"
    with packaging._quiet():
        mlflow.pyfunc.save_model(str(path), python_model=str(packaging.SERVING_CODE),
                                 artifacts={"bundle": str(Path(bundle).resolve())},
                                 signature=packaging.signature(),
                                 pip_requirements=packaging.pip_requirements())
    return str(path)


def run(bundle: str, quick: bool, seed: int) -> dict:
    """Parent: the pandas runs, then the Spark runs (each in its own child process)."""
    import tempfile

    from benchmarks.bench_common import patient_frame, run_child

    runs, spark_runs = [], []
    for n, explain, intervals in (QUICK_PANDAS if quick else PANDAS_PLAN):
        cfg = {"bundle": bundle, "n": n, "explain": explain, "intervals": intervals,
               "seed": seed}
        out = run_child("benchmarks.bench_bulk", cfg, timeout=1800)
        out.update(n=n, explain=explain, intervals=intervals)
        runs.append(out)
        print(f"  table n={n} explain={explain} intervals={intervals}: " + (
            f"{out['patients_per_second']:.0f} patients/s (xgboost floor "
            f"{out['xgboost_floor_patients_per_second']:.0f}/s), peak {out['peak_rss_mib']:.0f}"
            " MiB" if "error" not in out else f"ERROR {out['error'][:300]}"), flush=True)
    with tempfile.TemporaryDirectory(prefix="hcc-bench-spark-") as tmp:
        tmp = Path(tmp)
        try:
            model = _save_model(bundle, tmp)
        except Exception as exc:  # noqa: BLE001 (reported, never a number)
            return {"pandas": runs, "spark": [{"error": f"model not saved: {exc}"}]}
        for n in (QUICK_SPARK if quick else SPARK_SIZES):
            cohort = tmp / f"cohort-{n}.parquet"
            patient_frame(n, seed).to_parquet(cohort, row_group_size=50_000)
            cfg = {"engine": "spark", "n": n, "cohort": str(cohort), "model": model,
                   "output": str(tmp / f"recs-{n}.parquet")}
            out = run_child("benchmarks.bench_bulk", cfg, timeout=3600)
            out.setdefault("n", n)
            spark_runs.append(out)
            print(f"  spark local[2] n={n}: " + (
                f"{out['patients_per_second']:.0f} patients/s, peak tree RSS "
                f"{out['peak_tree_rss_mib']:.0f} MiB" if "error" not in out
                else f"ERROR {out['error'][:300]}"), flush=True)
            cohort.unlink()
    result = {"pandas": runs, "spark": spark_runs}
    ok = [r for r in spark_runs if "error" not in r]
    if len(ok) == 2:
        result["spark_scaling"] = round(ok[1]["patients_per_second"]
                                        / ok[0]["patients_per_second"], 3)
    base = next((r for r in runs if not r.get("explain") and not r.get("intervals")
                 and "error" not in r), None)
    if base and ok:
        result["spark_vs_pandas_per_core"] = round(ok[-1]["patients_per_second"]
                                                   / base["patients_per_second"], 3)
    return result


if __name__ == "__main__":
    child_main(measure)
