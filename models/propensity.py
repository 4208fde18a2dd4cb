"""Multinomial propensity model, cross-fitted inverse-propensity weights and overlap.

The propensity ``e_m(x) = P(modality = m | x)`` is estimated by a multinomial
logistic regression on standardised, median-imputed features (a deliberately smooth
model: boosted propensities tend to produce extreme weights). Weights for fitting
outcome models are *cross-fitted* (each patient's propensity comes from a model not
trained on that patient), *stabilised* (``P(m) / e_m(x)``) and *trimmed*
(propensities floored at ``clip``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import check_frame


class PropensityModel:
    """Multinomial logistic propensity model (JSON-serialisable).

    Parameters
    ----------
    C : float
        Inverse L2 regularisation strength of the logistic regression.
    """

    def __init__(self, *, C=1.0):
        self.C = C

    def _design(self, X: np.ndarray) -> np.ndarray:
        Xi = np.where(np.isnan(X), self.medians_[None, :], X)
        return (Xi - self.mean_[None, :]) / self.scale_[None, :]

    def fit(self, X, labels_idx: np.ndarray, n_classes: int) -> PropensityModel:
        """Fit on features and integer modality codes ``0..n_classes-1``."""
        from sklearn.linear_model import LogisticRegression

        Xa = check_frame(X, "fit").to_numpy(dtype=float)
        med = np.nanmedian(np.where(np.isnan(Xa).all(axis=0)[None, :], 0.0, Xa), axis=0)
        self.medians_ = np.nan_to_num(med)
        Xi = np.where(np.isnan(Xa), self.medians_[None, :], Xa)
        self.mean_ = Xi.mean(axis=0)
        sd = Xi.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        lr = LogisticRegression(C=self.C, max_iter=2000)
        lr.fit(self._design(Xa), labels_idx)
        coef = np.zeros((n_classes, Xa.shape[1]))
        icpt = np.full(n_classes, -50.0)  # classes absent from the fit get ~0 probability
        cls = lr.classes_.astype(int)
        if len(cls) == 2:  # binary sklearn parametrisation -> softmax with a zero row
            coef[cls[1]], icpt[cls[1]] = lr.coef_[0], lr.intercept_[0]
            icpt[cls[0]] = 0.0
        else:
            coef[cls], icpt[cls] = lr.coef_, lr.intercept_
        self.coef_, self.intercept_ = coef, icpt
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Propensities (n, n_classes), rows sum to 1."""
        Xa = X if isinstance(X, np.ndarray) else check_frame(X, "predict").to_numpy(float)
        z = self._design(Xa) @ self.coef_.T + self.intercept_[None, :]
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict:
        return {"C": self.C, "medians_": self.medians_.tolist(), "mean_": self.mean_.tolist(),
                "scale_": self.scale_.tolist(), "coef_": self.coef_.tolist(),
                "intercept_": self.intercept_.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> PropensityModel:
        m = cls(C=d["C"])
        for k in ("medians_", "mean_", "scale_", "coef_", "intercept_"):
            setattr(m, k, np.asarray(d[k], dtype=float))
        return m


def crossfit_propensity(Xa: np.ndarray, codes: np.ndarray, n_classes: int, folds: int = 5,
                        C: float = 1.0, seed: int = 0) -> np.ndarray:
    """Out-of-fold propensities (n, n_classes) with stratified K-fold cross-fitting."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(codes, minlength=n_classes)
    k = int(max(2, min(folds, counts[counts > 0].min())))
    out = np.zeros((len(codes), n_classes))
    frame = pd.DataFrame(Xa)
    for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed).split(Xa, codes):
        m = PropensityModel(C=C).fit(frame.iloc[tr], codes[tr], n_classes)
        out[te] = m.predict_proba(Xa[te])
    return out


def ipw_weights(propensity: np.ndarray, codes: np.ndarray, clip: float = 0.01) -> np.ndarray:
    """Stabilised, trimmed inverse-propensity weights, normalised to mean 1 per arm.

    ``w_i = P(A = a_i) / max(e_{a_i}(x_i), clip)``.
    """
    n_classes = propensity.shape[1]
    marg = np.bincount(codes, minlength=n_classes) / len(codes)
    e = np.maximum(propensity[np.arange(len(codes)), codes], clip)
    w = marg[codes] / e
    for m in range(n_classes):
        sel = codes == m
        if sel.any():
            w[sel] /= w[sel].mean()
    return w


def overlap_summary(propensity: np.ndarray, codes: np.ndarray, weights: np.ndarray,
                    modalities) -> pd.DataFrame:
    """Per-modality propensity overlap diagnostics.

    Columns: ``n`` (treated), ``min_p_treated`` / ``median_p_treated`` (propensity of
    the received modality among those who received it), ``median_p_all``,
    ``share_p_lt_0.01`` / ``share_p_lt_0.05`` (share of *all* patients with a
    propensity for this modality below the threshold: their counterfactual under it is
    an extrapolation), ``ess`` (Kish effective sample size of the arm's weights) and
    ``ess_fraction`` = ess / n.
    """
    rows = []
    for j, m in enumerate(modalities):
        sel = codes == j
        p_all = propensity[:, j]
        p_t = p_all[sel]
        w = weights[sel]
        ess = float(w.sum() ** 2 / (w**2).sum()) if sel.any() else 0.0
        rows.append({"modality": m, "n": int(sel.sum()),
                     "min_p_treated": float(p_t.min()) if sel.any() else np.nan,
                     "median_p_treated": float(np.median(p_t)) if sel.any() else np.nan,
                     "median_p_all": float(np.median(p_all)),
                     "share_p_lt_0.01": float(np.mean(p_all < 0.01)),
                     "share_p_lt_0.05": float(np.mean(p_all < 0.05)),
                     "ess": ess, "ess_fraction": ess / max(int(sel.sum()), 1)})
    return pd.DataFrame(rows).set_index("modality")
