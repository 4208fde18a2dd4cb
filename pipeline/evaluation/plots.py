"""Evaluation plots: PNG images for DVC and MLflow, plus the data behind them as JSON.

Every function writes one PNG (atomically) and returns the plotted data, so ``dvc plots show``
and the MLflow UI show the same picture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.io import atomic_path


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
