"""Global SHAP importance of the outcome model, summed back to contract fields."""

from __future__ import annotations

import pandas as pd

from features.contract import MODALITIES


def shap_importance(model, X: pd.DataFrame, groups: dict, n: int = 400, seed: int = 0):
    """Mean |SHAP| per contract field (or derived score) over modalities, on a sample."""
    sample = X.sample(min(n, len(X)), random_state=seed)
    total = None
    unit = "log hazard ratio"
    for m in MODALITIES:
        expl = model.explain(sample, m)
        frame = getattr(expl, "values", expl)
        unit = getattr(expl, "unit", unit)
        frame = frame.drop(columns=[c for c in frame.columns if c not in groups], errors="ignore")
        grouped = frame.abs().T.groupby(lambda c: groups.get(c, c)).sum().T.mean()
        total = grouped if total is None else total.add(grouped, fill_value=0)
    return (total / len(MODALITIES)).sort_values(ascending=False), unit
