"""Factual evaluation on the held-out split: how well the outcome model predicts what happened
under the modality each patient received (C-indices, Brier scores, time-dependent AUC,
calibration, response AUROC), overall and per modality."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.contract import MODALITIES


@dataclass(frozen=True)
class EvaluateParams:
    """``evaluate:`` section of params.yaml (times in months; ``peers``: name -> outcome-model
    overrides; ``bootstrap``: resamples of the paired intervals)."""

    times_months: tuple[float, ...]
    calibration_month: float
    rmst_horizon_months: float
    risk_horizon_months: float
    guideline: str
    peers: dict[str, dict[str, Any]]
    bootstrap: int = 200


def predicted_rmst(model, X: pd.DataFrame, horizon: float) -> np.ndarray:
    """(n, 10) predicted RMST to ``horizon`` under every contract modality."""
    return np.column_stack([model.predict_rmst(X, m, horizon) for m in MODALITIES])


def factual_predictions(model, X, modality, times, risk_horizon):
    """Risk (-RMST to ``risk_horizon``) and survival at ``times`` under the received modality."""
    n = len(X)
    risk = np.empty(n)
    surv = np.empty((n, len(times)))
    for m in np.unique(modality):
        rows = np.flatnonzero(modality == m)
        sub = X.iloc[rows]
        risk[rows] = -model.predict_rmst(sub, m, risk_horizon)
        surv[rows] = model.predict_survival(sub, m, times)
    return risk, surv


def factual_metrics(model, X, y_train, y_test, modality, response, ep: EvaluateParams):
    """(metrics, risk, survival at ``times_months``, calibration table) under the received
    modality on the held-out set."""
    from models import metrics

    times = np.asarray(ep.times_months, float)
    risk, surv = factual_predictions(model, X, modality, times, ep.risk_horizon_months)

    def surv_at(t):
        return factual_predictions(model, X, modality, np.asarray(t), ep.risk_horizon_months)[1]

    out = {"overall": metrics.survival_report(y_train, y_test, risk, surv_at, times)}
    per = {}
    for m in np.unique(modality):
        rows = modality == m
        if rows.sum() < 30 or y_test["event"][rows].sum() < 10:
            per[str(m)] = {"n": int(rows.sum()), "note": "too few patients or events to evaluate"}
            continue
        rep = metrics.survival_report(y_train, y_test[rows], risk[rows], surv[rows], times)
        per[str(m)] = {"n": int(rows.sum()), "harrell_c": rep["harrell_c"],
                       "uno_c": rep["uno_c"], "ibs": rep["ibs"]}
    out["per_modality"] = per
    s_cal = factual_predictions(model, X, modality, np.array([ep.calibration_month]),
                                ep.risk_horizon_months)[1][:, 0]
    table, summary = metrics.calibration_table(y_test, s_cal, ep.calibration_month)
    out["calibration"] = summary
    resp = np.full(len(X), np.nan)
    for m in np.unique(modality):
        rows = np.flatnonzero(modality == m)
        resp[rows] = model.predict_response(X.iloc[rows], m)
    if np.isfinite(response).sum() > 20:
        out["response"] = metrics.response_report(response, resp)
        # calibration-in-the-large per modality: observed response rate vs mean prediction
        out["response"]["per_modality"] = {
            str(m): {"n": int(np.isfinite(response[rows]).sum()),
                     "observed": _mean(response[rows]), "predicted": _mean(resp[rows])}
            for m in np.unique(modality) for rows in [(modality == m) & np.isfinite(response)]}
    return out, risk, surv, table


def _mean(values) -> float | None:
    """Mean of the finite values (None when there is none)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None
