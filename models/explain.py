"""SHAP explanations on the model margin (exact TreeSHAP via xgboost ``pred_contribs``).

Units: SHAP values are additive on the *margin*, not on survival probability:
``"log hazard ratio"`` for Cox models (positive = riskier), ``"log time"`` for AFT
models (positive = longer survival), ``"log odds"`` for response classifiers
(uncalibrated booster margin; positive = more likely response). Each
:class:`Explanation` carries its unit; show it wherever the values are shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

UNITS = {"cox": "log hazard ratio", "aft": "log time", "logistic": "log odds"}


@dataclass(frozen=True)
class Explanation:
    """SHAP values of a batch of predictions.

    Attributes
    ----------
    values : DataFrame (n, n_features)
        Contribution of each feature to the margin, in ``unit``.
    base_values : ndarray (n,)
        Expected margin (bias term); ``base_values + values.sum(axis=1) = margin``.
    unit : str
        Unit of the margin, e.g. "log hazard ratio".
    """

    values: pd.DataFrame
    base_values: np.ndarray
    unit: str

    @property
    def margin(self) -> np.ndarray:
        """Explained margin = base value + sum of contributions."""
        return self.base_values + self.values.to_numpy().sum(axis=1)

    def grouped(self, groups: dict) -> Explanation:
        """Same explanation with encoded columns summed into source fields."""
        if not set(groups) & set(self.values.columns):
            return self
        return Explanation(group_shap(self.values, groups), self.base_values, self.unit)

    def top(self, row: int = 0, k: int = 10) -> pd.Series:
        """The ``k`` largest absolute contributions of one row, signed, in ``unit``."""
        s = self.values.iloc[row]
        return s.reindex(s.abs().sort_values(ascending=False).index[:k])


def tree_shap(booster, X: np.ndarray, feature_names, unit: str, index=None) -> Explanation:
    """Exact TreeSHAP of an xgboost booster on the margin.

    Parameters
    ----------
    booster : xgboost.Booster
    X : ndarray (n, n_features), NaN = missing
    feature_names : list of str
    unit : str
        Unit of the margin (see :data:`UNITS`).
    index : index-like, optional
        Row index of the returned frame.
    """
    import xgboost as xgb

    X = np.asarray(X, dtype=float)
    # a multi-threaded DMatrix build costs milliseconds of thread wake-up on small batches
    dm = xgb.DMatrix(X, missing=np.nan, nthread=1 if X.shape[0] < 5000 else -1)
    return from_contribs(booster.predict(dm, pred_contribs=True), feature_names, unit, index)


def from_contribs(contribs, feature_names, unit: str, index=None) -> Explanation:
    """The Explanation of an xgboost ``pred_contribs`` array (last column = bias)."""
    contribs = np.asarray(contribs)
    values = pd.DataFrame(contribs[:, :-1], columns=list(feature_names), index=index)
    return Explanation(values, np.asarray(contribs[:, -1], dtype=float), unit)


def group_shap(shap_frame, groups: dict) -> pd.DataFrame:
    """Sum SHAP values of encoded columns back to their source field.

    Parameters
    ----------
    shap_frame : DataFrame or Explanation
        SHAP values (columns = model features).
    groups : dict
        Column name -> group (source field) name. Columns not listed keep their own
        name. Additivity is preserved (row sums are unchanged).
    """
    frame = shap_frame.values if isinstance(shap_frame, Explanation) else shap_frame
    names = [groups.get(c, c) for c in frame.columns]
    order = list(dict.fromkeys(names))
    code = np.array([order.index(n) for n in names])
    summed = np.zeros((frame.shape[0], len(order)))
    np.add.at(summed.T, code, frame.to_numpy(dtype=float).T)  # column-wise sums
    return pd.DataFrame(summed, columns=order, index=frame.index)


def contrast(a: Explanation, b: Explanation) -> Explanation:
    """Explain why prediction A differs from prediction B: ``a - b`` per feature.

    ``base_values`` become the base-value difference (0 when both come from one
    model with one background); margins subtract exactly.
    """
    if list(a.values.columns) != list(b.values.columns) or a.unit != b.unit:
        raise ValueError(
            "contrast: expected explanations with the same columns and unit, got "
            f"{a.unit!r} vs {b.unit!r} / differing columns."
        )
    return Explanation(a.values - b.values.to_numpy(), a.base_values - b.base_values,
                       f"difference in {a.unit}")
