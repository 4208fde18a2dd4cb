"""Evaluation plots: PNG images for MLflow and the docs, and the data behind them for DVC.

Every drawing function writes one PNG (atomically). :func:`write_plot_data` writes the same
numbers as JSON tables (``data/reports/plot_data/``) that ``dvc.yaml`` declares as plots with
Vega-Lite templates, so ``dvc plots show`` renders them and ``dvc plots diff`` overlays
experiments (the PNGs are not DVC plots: images cannot be compared).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.io import atomic_path, write_json

# the plot data files dvc.yaml declares (top-level ``plots:``), by name
PLOT_DATA_FILES = ("calibration", "km_risk_groups", "time_dependent_auc", "shap_importance",
                   "policy_values")


def _figure(width=6.4, height=4.4):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    return plt, fig, ax


def _save(plt, fig, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def calibration(table: pd.DataFrame, month: float, path: Path) -> None:
    """Predicted vs Kaplan-Meier observed survival at ``month`` by risk decile."""
    plt, fig, ax = _figure(5.2, 5.0)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    ax.plot(table["predicted"], table["observed"], "o-", color="#1f77b4", label="risk deciles")
    ax.set_xlabel(f"predicted survival at {month:g} months")
    ax.set_ylabel(f"Kaplan-Meier observed survival at {month:g} months")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    ax.set_title("Calibration on the held-out set")
    _save(plt, fig, path)


def km_by_risk_group(time: np.ndarray, event: np.ndarray, risk: np.ndarray, path: Path,
                     groups: int = 3) -> list[dict]:
    """Kaplan-Meier curves of the held-out patients split into predicted-risk groups."""
    from sksurv.nonparametric import kaplan_meier_estimator

    labels = ["low", "intermediate", "high"] if groups == 3 else [f"Q{i + 1}" for i in range(groups)]
    cuts = np.quantile(risk, np.linspace(0, 1, groups + 1)[1:-1])
    group = np.searchsorted(cuts, risk, side="right")
    plt, fig, ax = _figure()
    data = []
    for g, label in enumerate(labels):
        mask = group == g
        if mask.sum() < 2:
            continue
        t, s = kaplan_meier_estimator(event[mask].astype(bool), time[mask])
        ax.step(np.r_[0, t], np.r_[1, s], where="post", label=f"{label} risk (n={mask.sum()})")
        data.extend({"group": label, "months": float(a), "survival": float(b)}
                    for a, b in zip(t, s, strict=True))
    ax.set_xlabel("months")
    ax.set_ylabel("overall survival (Kaplan-Meier)")
    ax.set_ylim(0, 1.02)
    ax.legend()
    ax.set_title("Observed survival by predicted risk group (held-out set)")
    _save(plt, fig, path)
    return data


def time_dependent_auc(times, aucs: dict[str, list[float]], path: Path) -> None:
    """Time-dependent AUC of each model at the evaluation times."""
    plt, fig, ax = _figure()
    for name, values in aucs.items():
        ax.plot(times, values, "o-", label=name)
    ax.set_xlabel("months")
    ax.set_ylabel("cumulative/dynamic AUC")
    ax.set_ylim(0.5, 1.0)
    ax.legend(fontsize=8)
    ax.set_title("Time-dependent AUC (held-out set)")
    _save(plt, fig, path)


def shap_importance(importance: pd.Series, unit: str, path: Path, top: int = 15) -> None:
    """Mean |SHAP| per contract field or derived score."""
    top_items = importance.sort_values(ascending=True).tail(top)
    plt, fig, ax = _figure(6.4, 0.3 * len(top_items) + 1.2)
    ax.barh(top_items.index, top_items.values, color="#d62728")
    ax.set_xlabel(f"mean |SHAP| ({unit})")
    ax.set_title("What drives predicted survival (patient factors, mean over modalities)", fontsize=10)
    _save(plt, fig, path)


def policy_values(values: dict[str, float], path: Path) -> None:
    """True mean RMST of each policy on the held-out set (synthetic cohort only)."""
    names = list(values)
    plt, fig, ax = _figure(6.8, 0.35 * len(names) + 1.4)
    ax.barh(names, [values[n] for n in names], color="#2ca02c")
    lo = min(values.values())
    ax.set_xlim(lo - 1.0, max(values.values()) + 0.5)
    ax.set_xlabel("true mean RMST to 24 months under the policy (months)")
    ax.set_title("Treatment policies, valued with the counterfactual truth", fontsize=10)
    _save(plt, fig, path)


def write_plot_data(directory: Path, *, calibration: pd.DataFrame, calibration_month: float,
                    km: list[dict], auc: dict, importance: pd.Series, unit: str,
                    policy_values: dict[str, float] | None, top: int = 15) -> list[Path]:
    """Write the JSON tables behind the plots (one file per name in :data:`PLOT_DATA_FILES`).

    ``calibration`` is the risk-decile table at ``calibration_month`` (kept in each row).
    ``km`` rows are ``{group, months, survival}`` as :func:`km_by_risk_group` returns them; each
    group gets its start point (month 0, survival 1) so a step plot begins at 100%. ``auc`` maps
    months to our time-dependent AUC; ``policy_values`` is ``None`` without counterfactual truth
    (a user cohort), which writes an empty table: the file always exists, the plot is empty.
    """
    curves = []
    for group in dict.fromkeys(row["group"] for row in km):
        curves.append({"group": group, "months": 0.0, "survival": 1.0})
        curves.extend(row for row in km if row["group"] == group)
    tables = {
        "calibration": calibration.assign(month=float(calibration_month)).to_dict(
            orient="records"),
        "km_risk_groups": curves,
        "time_dependent_auc": [{"model": "ours", "months": float(t), "auc": float(a)}
                               for t, a in auc.items()],
        "shap_importance": [{"factor": str(k), "mean_abs_shap": round(float(v), 5), "unit": unit}
                            for k, v in importance.sort_values(ascending=False).head(top).items()],
        "policy_values": [{"policy": str(k), "rmst24_months": float(v)}
                          for k, v in (policy_values or {}).items()],
    }
    paths = [Path(directory) / f"{name}.json" for name in PLOT_DATA_FILES]
    for path in paths:
        write_json(path, tables[path.stem])
    return paths
