"""Training and evaluation cost against cohort size, one fresh process per size.

Each child simulates ``n`` patients (default synthetic DGP), derives the clinical features,
splits 70/30 as the ``split`` stage does (params.yaml ``split``), then

* trains with :func:`pipeline.recommender.training.train_bundle` and the params.yaml ``train`` section (model
  matrix, cross-fitted propensities, xgboost Cox S-learner, bootstrap members, response model,
  SHAP background, bundle written to a temporary directory);
* evaluates factually on the held-out 30% with :func:`pipeline.stages.evaluate.factual_metrics`
  (predictions under the received modality, Harrell/Uno C, integrated Brier score,
  time-dependent AUC, calibration, response metrics; no peers, no counterfactual part).

Wall seconds and peak RSS per phase. The largest size runs with the full setting only when the
power law fitted to the two smaller sizes predicts it within the budget; otherwise it runs with
a documented reduced setting and the full-setting time is given as an extrapolation, labelled so.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.bench_common import (
    ROOT,
    child_main,
    environment,
    peak_mib,
    reset_peak,
    run_child,
)

SIZES = (5_000, 20_000, 100_000)
QUICK_SIZES = (1_500, 3_000, 6_000)
REDUCED = {"n_bootstrap": 2}
"""The reduced setting of the largest size when the full one would exceed the budget."""


def measure(config: dict) -> dict:
    import numpy as np

    from features import derive
    from pipeline.config import build, read_yaml
    from pipeline.recommender.bundle import load_bundle
    from pipeline.recommender.training import TrainParams, targets, train_bundle
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort
    from pipeline.stages.evaluate import EvaluateParams, factual_metrics
    from pipeline.stages.split import split_frame

    params = read_yaml(ROOT / "params.yaml")
    tp = build(TrainParams, params["train"], "train")
    ep = build(EvaluateParams, params["evaluate"], "evaluate")
    overrides = dict(config.get("overrides") or {})
    n = int(config["n"])
    phases = {}
    t0 = time.perf_counter()
    cohort, _ = simulate_cohort(n, int(config["seed"]), SyntheticParams.default())
    phases["simulate"] = {"seconds": round(time.perf_counter() - t0, 2)}
    t0 = time.perf_counter()
    train, test = split_frame(derive(cohort), params["split"]["test_size"],
                              params["split"]["seed"])
    phases["derive_split"] = {"seconds": round(time.perf_counter() - t0, 2)}
    work = Path(tempfile.mkdtemp(prefix="hcc-bench-train-"))
    try:
        resettable = reset_peak()
        t0 = time.perf_counter()
        settings = train_bundle(train, tp, work / "recommender",
                                {"recommend": params.get("recommend", {})}, **overrides)
        phases["train"] = {"seconds": round(time.perf_counter() - t0, 2),
                           "fit_seconds": settings.get("fit_seconds"), **peak_mib(resettable)}
        resettable = reset_peak()
        t0 = time.perf_counter()
        bundle = load_bundle(work / "recommender")
        X_test = bundle.matrix.transform(test)
        y_train, _, _ = targets(train)
        y_test, modality, response = targets(test)
        factual, _, _, _ = factual_metrics(bundle.model, X_test, y_train, y_test, modality,
                                        response, ep)
        phases["evaluate"] = {"seconds": round(time.perf_counter() - t0, 2),
                              **peak_mib(resettable)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    overall = factual["overall"]
    return {
        "env": environment(), "n": n, "n_train": len(train), "n_test": len(test),
        "overrides": overrides, "outcome_model": dict(tp.outcome_model, **overrides),
        "phases": phases,
        "train_evaluate_seconds": round(phases["train"]["seconds"]
                                        + phases["evaluate"]["seconds"], 2),
        "uno_c": _round(overall.get("uno_c")), "harrell_c": _round(overall.get("harrell_c")),
        "events_test": int(np.sum(y_test["event"])),
    }


def _round(v, k=4):
    return None if v is None else round(float(v), k)


def power_law(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """(a, b) of t = a * n**b through two (n, t) points; None if undefined."""
    if len(points) < 2:
        return None
    (n1, t1), (n2, t2) = points[-2], points[-1]
    if min(n1, n2, t1, t2) <= 0 or n1 == n2:
        return None
    b = math.log(t2 / t1) / math.log(n2 / n1)
    return t2 / n2 ** b, b


def run(quick: bool, seed: int, budget_s: float) -> dict:
    """Parent: the sizes in fresh children; the largest one full or reduced (see the module)."""
    sizes = QUICK_SIZES if quick else SIZES
    runs, notes = [], []
    extrapolated = None

    def go(n, overrides):
        out = run_child("benchmarks.bench_train", {"n": n, "seed": seed, "overrides": overrides},
                        timeout=max(1800.0, 6 * budget_s))
        out.setdefault("n", n)
        out.setdefault("overrides", overrides)
        runs.append(out)
        print(f"  train n={n} {overrides or 'params.yaml'}: " + (
            f"train {out['phases']['train']['seconds']:.1f} s "
            f"({out['phases']['train']['peak_rss_mib']:.0f} MiB), evaluate "
            f"{out['phases']['evaluate']['seconds']:.1f} s "
            f"({out['phases']['evaluate']['peak_rss_mib']:.0f} MiB)" if "error" not in out
            else f"ERROR {out['error'][:300]}"), flush=True)
        return out

    for n in sizes[:-1]:
        go(n, {})
    points = [(r["n"], r["train_evaluate_seconds"]) for r in runs if "error" not in r]
    law = power_law(points)
    large = sizes[-1]
    if law is None:
        notes.append(f"n={large}: no power law (a smaller size failed); run with the full "
                     "setting")
        go(large, {})
    else:
        a, b = law
        predicted = a * large ** b
        extrapolated = {"n": large, "train_evaluate_seconds": round(predicted, 1),
                        "exponent": round(b, 3), "from_sizes": [p[0] for p in points[-2:]],
                        "label": "EXTRAPOLATED (power law t = a n^b through the two smaller "
                                 "sizes), not measured", "setting": "params.yaml"}
        if predicted <= budget_s:
            go(large, {})
        else:
            notes.append(
                f"n={large}: the full setting would take about {predicted:.0f} s (power law "
                f"through n={points[-2][0]} and n={points[-1][0]}, exponent {b:.2f}) > budget "
                f"{budget_s:.0f} s, so it was MEASURED WITH A REDUCED SETTING "
                f"({', '.join(f'{k}={v}' for k, v in REDUCED.items())} instead of the "
                f"params.yaml value); the full-setting figure is the extrapolation. Raise "
                "--train-budget to measure the full setting.")
            print("  " + notes[-1], flush=True)
            go(large, dict(REDUCED))
    return {"sizes": list(sizes), "runs": runs, "extrapolated_full_setting": extrapolated,
            "notes": notes}


if __name__ == "__main__":
    child_main(measure)
