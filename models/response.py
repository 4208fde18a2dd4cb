"""Calibrated boosted-tree classifier for a binary outcome (e.g. objective response).

xgboost ``binary:logistic`` trees; calibration is fitted on *cross-fitted*
(out-of-fold) margins, then applied to the margin of a final booster trained on all
rows (scikit-learn's ``CalibratedClassifierCV(ensemble=False)`` scheme), so one
booster + a tiny JSON map is all that is stored. ``calibration="sigmoid"`` (Platt,
2 parameters) is the default because response labels are often few; "isotonic" is
better with thousands of labels.
"""

from __future__ import annotations

import numpy as np

from .errors import ModelInputError, NotFittedModelError, check_frame
from .params import ParamsMixin
from .persistence import load_booster, read_meta, save_booster, write_meta


def check_binary(y, method: str = "fit") -> np.ndarray:
    """Return ``y`` as float array of 0/1 with NaN for 'not assessed'."""
    import pandas as pd

    try:
        s = pd.Series(np.asarray(y, dtype=object)).astype(object).where(pd.notna(y), np.nan)
        arr = pd.to_numeric(s, errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(
            f"The 'y' parameter of {method} must be binary 0/1 (NaN = not assessed). "
            "Got non-numeric values instead."
        ) from exc
    bad = ~np.isnan(arr) & ~np.isin(arr, [0.0, 1.0])
    if bad.any():
        raise ModelInputError(
            f"The 'y' parameter of {method} must be binary 0/1 (NaN = not assessed). "
            f"Got values {np.unique(arr[bad])[:5].tolist()} instead."
        )
    return arr


class ResponseModel(ParamsMixin):
    """Calibrated probability of a binary outcome from numeric features (NaN allowed).

    Parameters
    ----------
    n_estimators : int
        Maximum boosting rounds; the number used (``n_estimators_``) is the mean
        early-stopped round count over the cross-fitting folds.
    learning_rate, max_depth, min_child_weight, subsample, colsample_bytree,
    reg_lambda : float or int
        xgboost parameters (shallow, regularised defaults).
    calibration : {"sigmoid", "isotonic"}
        Calibration map fitted on out-of-fold margins.
    cv : int
        Number of cross-fitting folds.
    random_state, n_jobs : int
    """

    def __init__(self, *, n_estimators=1000, learning_rate=0.05, max_depth=2,
                 min_child_weight=1.0, subsample=0.8, colsample_bytree=0.8, reg_lambda=5.0,
                 calibration="sigmoid", cv=5, early_stopping_rounds=30, random_state=0,
                 n_jobs=1):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.calibration = calibration
        self.cv = cv
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state
        self.n_jobs = n_jobs


    def _xgb_params(self) -> dict:
        return {"objective": "binary:logistic", "eval_metric": "logloss",
                "eta": self.learning_rate, "max_depth": int(self.max_depth),
                "min_child_weight": self.min_child_weight, "subsample": self.subsample,
                "colsample_bytree": self.colsample_bytree, "lambda": self.reg_lambda,
                "tree_method": "hist", "nthread": int(self.n_jobs),
                "seed": int(self.random_state), "verbosity": 0}

    def fit(self, X, y, sample_weight=None) -> ResponseModel:
        """Fit on features ``X`` and binary ``y`` (rows with NaN label are ignored)."""
        import xgboost as xgb
        from sklearn.model_selection import StratifiedKFold

        if self.calibration not in ("sigmoid", "isotonic"):
            raise ModelInputError(
                "The 'calibration' parameter of ResponseModel must be 'sigmoid' or "
                f"'isotonic'. Got {self.calibration!r} instead."
            )
        frame = check_frame(X, "fit")
        yy = check_binary(y, "fit")
        if len(yy) != len(frame):
            raise ModelInputError(
                f"The 'X' and 'y' parameters of fit must have the same length. Got "
                f"{len(frame)} and {len(yy)} instead."
            )
        keep = ~np.isnan(yy)
        Xa, yy = frame.to_numpy(dtype=float)[keep], yy[keep]
        w = None if sample_weight is None else np.asarray(sample_weight, float)[keep]
        counts = np.bincount(yy.astype(int), minlength=2)
        if counts.min() < 2:
            raise ModelInputError(
                "The 'y' parameter of fit must contain both classes (at least 2 each). "
                f"Got counts {counts.tolist()} instead."
            )
        params = self._xgb_params()
        n_splits = int(min(self.cv, counts.min()))
        oof = np.zeros(len(yy))
        rounds = []
        skf = StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state)
        for tr, te in skf.split(Xa, yy):
            dtr = xgb.DMatrix(Xa[tr], label=yy[tr], weight=None if w is None else w[tr])
            dte = xgb.DMatrix(Xa[te], label=yy[te], weight=None if w is None else w[te])
            b = xgb.train(params, dtr, int(self.n_estimators), evals=[(dte, "val")],
                          early_stopping_rounds=int(self.early_stopping_rounds),
                          verbose_eval=False)
            rounds.append(b.best_iteration + 1)
            oof[te] = b.predict(dte, output_margin=True,
                                iteration_range=(0, b.best_iteration + 1))
        self.n_estimators_ = int(round(np.mean(rounds)))
        self.booster_ = xgb.train(params, xgb.DMatrix(Xa, label=yy, weight=w),
                                  self.n_estimators_)
        self.calibrator_ = self._fit_calibrator(oof, yy, w)
        self.feature_names_in_ = list(frame.columns)
        self.n_features_in_ = len(self.feature_names_in_)
        self.classes_ = np.array([0, 1])
        return self

    def _fit_calibrator(self, margin, y, w) -> dict:
        if self.calibration == "sigmoid":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=1e6).fit(margin[:, None], y, sample_weight=w)
            return {"method": "sigmoid", "a": float(lr.coef_[0, 0]),
                    "b": float(lr.intercept_[0])}
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(margin, y, sample_weight=w)
        return {"method": "isotonic", "x": iso.X_thresholds_.tolist(),
                "y": iso.y_thresholds_.tolist()}

    def calibrate_margin(self, margin) -> np.ndarray:
        """Map raw margins (log-odds of the uncalibrated booster) to probabilities."""
        c = self.calibrator_
        m = np.asarray(margin, dtype=float)
        if c["method"] == "sigmoid":
            return 1.0 / (1.0 + np.exp(-np.clip(c["a"] * m + c["b"], -50, 50)))
        return np.interp(m, c["x"], c["y"])

    def predict_margin(self, X) -> np.ndarray:
        """Uncalibrated log-odds margin of the booster (the unit of SHAP values)."""
        if not hasattr(self, "booster_"):
            raise NotFittedModelError(
                "ResponseModel: expected a fitted model, got an unfitted one. "
                "Hint: call fit() or ResponseModel.load() first."
            )
        if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == self.n_features_in_:
            Xa = X if X.dtype == float else X.astype(float)  # no copy of a batch design
        else:
            Xa = check_frame(X, "predict", self.feature_names_in_).to_numpy(dtype=float)
        return np.asarray(self.booster_.inplace_predict(Xa, predict_type="margin",
                                                        missing=np.nan), dtype=float)

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities, shape (n, 2): columns P(y=0), P(y=1)."""
        p = self.calibrate_margin(self.predict_margin(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X, threshold: float = 0.5) -> np.ndarray:
        """Predicted class (1 if calibrated P(y=1) >= threshold)."""
        return (self.predict_proba(X)[:, 1] >= threshold).astype(int)

    def save(self, directory) -> None:
        """Save booster (UBJ) + calibration map and feature names (JSON), no pickle."""
        write_meta(directory, "ResponseModel", {})
        fname = save_booster(self.booster_, directory, "booster")
        write_meta(directory, "ResponseModel", {
            "params": self.get_params(), "booster": fname, "n_estimators_": self.n_estimators_,
            "feature_names_in_": self.feature_names_in_, "calibrator_": self.calibrator_})

    @classmethod
    def load(cls, directory) -> ResponseModel:
        meta = read_meta(directory, "ResponseModel")
        m = cls(**meta["params"])
        m.booster_ = load_booster(directory, meta["booster"], m.n_jobs)
        m.n_estimators_ = meta["n_estimators_"]
        m.feature_names_in_ = list(meta["feature_names_in_"])
        m.n_features_in_ = len(m.feature_names_in_)
        m.calibrator_ = meta["calibrator_"]
        m.classes_ = np.array([0, 1])
        return m
