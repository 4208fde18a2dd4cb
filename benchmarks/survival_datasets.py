"""5-fold cross-validated Harrell C-index of SurvivalModel vs lifelines CoxPH vs RSF.

Datasets: the ones shipped inside scikit-survival (no download). Categoricals are
one-hot encoded (``sksurv.column.encode_categorical``); ``flchain``'s ``chapter``
(cause of death, only known after death) is dropped because it leaks the outcome.

Usage::

    python benchmarks/survival_datasets.py OUT.json [--models xgb-cox,xgb-aft,coxph,rsf]
        [--datasets gbsg2,whas500,veterans,aids,flchain] [--folds 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATASETS = ("gbsg2", "whas500", "veterans", "aids", "flchain")
MODELS = ("xgb-cox", "xgb-aft", "coxph", "rsf")


def load(name: str):
    """Return (X numeric frame, y structured (event, time)) for a shipped dataset."""
    from sksurv import datasets
    from sksurv.column import encode_categorical
    from sksurv.util import Surv

    loader = {"gbsg2": datasets.load_gbsg2, "whas500": datasets.load_whas500,
              "veterans": datasets.load_veterans_lung_cancer, "aids": datasets.load_aids,
              "flchain": datasets.load_flchain}[name]
    X, y = loader()
    if name == "flchain":
        X = X.drop(columns=["chapter"])
    X = encode_categorical(X).astype(float)
    ev, t = y.dtype.names
    return X, Surv.from_arrays(y[ev].astype(bool), y[t].astype(float))


def make(model: str, seed: int, overrides: dict | None = None):
    from models import CoxPHPeer, RSFPeer, SurvivalModel

    if model == "xgb-cox":
        return SurvivalModel(random_state=seed, n_jobs=2, **(overrides or {}))
    if model == "xgb-aft":
        return SurvivalModel(objective="aft", random_state=seed, n_jobs=2, **(overrides or {}))
    if model == "coxph":
        return CoxPHPeer()
    if model == "rsf":
        return RSFPeer(random_state=seed, n_jobs=2)
    raise ValueError(f"--models: expected names in {MODELS}, got {model!r}")


def run(datasets, models, folds: int, seed: int, overrides: dict | None = None) -> dict:
    """C-index and integrated Brier score per dataset, model and fold.

    IBS times: 10th to 80th percentile of the test fold's observed times (inside the
    test follow-up, as the IPCW estimator requires), 20 points.
    """
    from sklearn.model_selection import StratifiedKFold
    from sksurv.metrics import concordance_index_censored

    from models.metrics import survival_report

    results = {}
    for name in datasets:
        X, y = load(name)
        skf = StratifiedKFold(folds, shuffle=True, random_state=seed)
        results[name] = {m: {"cindex": [], "ibs": [], "fit_seconds": []} for m in models}
        for tr, te in skf.split(X, y["event"]):
            for m in models:
                est = make(m, seed, overrides if m.startswith("xgb") else None)
                t0 = time.perf_counter()
                est.fit(X.iloc[tr], y[tr])
                results[name][m]["fit_seconds"].append(time.perf_counter() - t0)
                risk = est.predict(X.iloc[te])
                c = concordance_index_censored(y["event"][te], y["time"][te], risk)[0]
                results[name][m]["cindex"].append(float(c))
                times = np.linspace(*np.percentile(y["time"][te], [10, 80]), 20)
                rep = survival_report(y[tr], y[te], risk,
                                      lambda t, e=est, Xi=X.iloc[te]: e.predict_survival(Xi, t),
                                      times)
                results[name][m]["ibs"].append(rep["ibs"])
        results[name]["n"], results[name]["events"] = int(len(y)), int(y["event"].sum())
    return results


def table(results: dict, models) -> str:
    lines = [f"{'dataset':<10}{'n':>6}{'events':>8}" + "".join(f"{m:>16}" for m in models)]
    means = {m: [] for m in models}
    for name, r in results.items():
        cells = []
        for m in models:
            c = np.mean(r[m]["cindex"])
            means[m].append(c)
            cells.append(f"{c:.4f}±{np.std(r[m]['cindex']):.3f}".rjust(16))
        lines.append(f"{name:<10}{r['n']:>6}{r['events']:>8}" + "".join(cells))
    lines.append(f"{'mean':<24}" + "".join(f"{np.mean(means[m]):>16.4f}" for m in models))
    lines.append(f"{'mean IBS':<24}" + "".join(
        f"{np.mean([np.mean(r[m]['ibs']) for r in results.values()]):>16.4f}" for m in models))
    lines.append(f"{'fit s/fold':<24}" + "".join(
        f"{np.mean([np.mean(r[m]['fit_seconds']) for r in results.values()]):>16.2f}"
        for m in models))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="path of the JSON results file to write")
    ap.add_argument("--models", default="xgb-cox,coxph,rsf")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    models = a.models.split(",")
    results = run(a.datasets.split(","), models, a.folds, a.seed)
    print(table(results, models))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"folds": a.folds, "seed": a.seed, "metric":
                                       "Harrell C-index", "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
