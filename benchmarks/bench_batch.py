"""Throughput and peak memory of ``recommend_batch`` against cohort size, one fresh process per run.

Each child loads the bundle, simulates the cohort (default synthetic DGP, contract patient fields
with patient_id), warms up on 200 rows, resets the peak RSS and times one ``recommend_batch``
call over the whole cohort (results kept in memory, as a caller would). Throughput = patients /
wall seconds of that call. The 100k run with SHAP happens only when the 10k rate predicts it
within the time budget and memory: otherwise the result says it was skipped and why.
"""

from __future__ import annotations

import time

from benchmarks.bench_common import (
    _meminfo_mib,
    child_main,
    environment,
    peak_mib,
    profile_top,
    reset_peak,
    rss_mib,
    run_child,
)

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (500, 2_000, 5_000)
PROFILE_ROWS = 4_096


def measure(config: dict) -> dict:
    from benchmarks.bench_common import patient_frame
    from pipeline.recommender.api import Recommender

    n, explain, intervals = int(config["n"]), bool(config["explain"]), bool(config["intervals"])
    rec = Recommender.from_bundle(config["bundle"])
    t0 = time.perf_counter()
    frame = patient_frame(n, int(config["seed"]))
    simulate_s = time.perf_counter() - t0
    rec.recommend_batch(frame.iloc[:200], explain=explain, intervals=intervals, progress=False)
    if config.get("profile"):
        return {"profile": profile_top(rec.recommend_batch, frame, explain=explain,
                                       intervals=intervals, progress=False), "n": n,
                "explain": explain, "intervals": intervals}
    rss_before = rss_mib()
    resettable = reset_peak()
    t0 = time.perf_counter()
    results = rec.recommend_batch(frame, explain=explain, intervals=intervals, progress=False)
    seconds = time.perf_counter() - t0
    peak = peak_mib(resettable)
    recommended = sum(1 for r in results if getattr(r, "recommended", None))
    return {
        "env": environment(), "n": n, "explain": explain, "intervals": intervals,
        "seconds": round(seconds, 3), "patients_per_second": round(n / seconds, 1),
        "rss_before_mib": rss_before, **peak,
        "peak_increase_mib": (round(peak["peak_rss_mib"] - rss_before, 1)
                              if rss_before is not None else None),
        "simulate_seconds": round(simulate_s, 2), "results": len(results),
        "share_with_recommendation": round(recommended / max(n, 1), 4),
    }


def run(bundle: str, quick: bool, seed: int, budget_s: float, profile: bool) -> dict:
    """Parent: the planned runs (each in its own child process) and the skip decisions."""
    sizes = QUICK_SIZES if quick else SIZES
    small, mid, large = sizes
    plan = [(small, True, True), (small, False, True), (mid, True, True), (mid, False, True),
            (mid, False, False), (large, False, True), (large, False, False)]
    runs, notes = [], []

    def go(n, explain, intervals):
        cfg = {"bundle": bundle, "n": n, "explain": explain, "intervals": intervals,
               "seed": seed}
        out = run_child("benchmarks.bench_batch", cfg, timeout=max(600.0, 4 * budget_s))
        out.setdefault("n", n)
        out.setdefault("explain", explain)
        out.setdefault("intervals", intervals)
        runs.append(out)
        label = f"n={n} explain={explain} intervals={intervals}"
        print(f"  batch {label}: " + (f"{out['patients_per_second']:.0f} patients/s, peak "
                                      f"{out['peak_rss_mib']:.0f} MiB" if "error" not in out
                                      else f"ERROR {out['error'][:200]}"), flush=True)
        return out

    for n, explain, intervals in plan:
        go(n, explain, intervals)
    # the largest size with SHAP: only when the mid-size rate and memory predict it fits
    mid_shap = next((r for r in runs if r["n"] == mid and r["explain"] and "error" not in r),
                    None)
    if mid_shap is None:
        notes.append(f"n={large} with SHAP not run: the n={mid} SHAP run failed")
    else:
        est_s = large / mid_shap["patients_per_second"]
        est_mib = mid_shap["rss_before_mib"] + mid_shap["peak_increase_mib"] * large / mid
        avail = _meminfo_mib("MemAvailable") or 0.0
        if est_s > budget_s or est_mib > 0.7 * avail:
            notes.append(
                f"n={large} with SHAP not run: predicted from the n={mid} SHAP run "
                f"{est_s:.0f} s (budget {budget_s:.0f} s) and about {est_mib:.0f} MiB peak RSS "
                f"(70% of the {avail:.0f} MiB available = {0.7 * avail:.0f}); that run's "
                f"rate ({mid_shap['patients_per_second']:.0f} patients/s) is the estimate. "
                "Raise --batch-budget to measure it.")
            print("  " + notes[-1], flush=True)
        else:
            go(large, True, True)
    out = {"sizes": list(sizes), "runs": runs, "notes": notes}
    if profile:
        rows = min(PROFILE_ROWS, mid)
        prof = {}
        for explain in (False, True):
            cfg = {"bundle": bundle, "n": rows, "explain": explain, "intervals": True,
                   "seed": seed, "profile": True}
            prof["shap" if explain else "no_shap"] = run_child("benchmarks.bench_batch", cfg,
                                                               timeout=900)
        out["profile"] = prof
    return out


if __name__ == "__main__":
    child_main(measure)
