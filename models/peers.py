"""Off-the-shelf peer survival models with the :class:`SurvivalModel` prediction interface.

Used as baselines in benchmarks and as the ``base`` of S-/T-learners in
:class:`models.ModalityOutcomeModel`. Both peers impute missing features by the
training median *inside the peer only* (lifelines and the forest reject NaN); the
medians are learned at fit time and reused at prediction time.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .curves import BreslowBaseline, step_at, step_median, step_rmst
from .errors import NotFittedModelError, check_frame, check_survival_y
from .persistence import ModelFileError, read_meta, write_meta


class _ImputingPeer:
    """Shared plumbing: column checks, median imputation and the prediction interface."""

    def _prepare_fit(self, X, y):
        frame = check_frame(X, "fit")
        event, time = check_survival_y(y, "fit")
        self.feature_names_in_ = list(frame.columns)
        self.n_features_in_ = len(self.feature_names_in_)
        med = frame.median()
        self.medians_ = med.fillna(0.0).to_numpy(dtype=float)
        return self._impute(frame.to_numpy(dtype=float)), event, time

    def _impute(self, Xa: np.ndarray) -> np.ndarray:
        if np.isnan(Xa).any():
            Xa = np.where(np.isnan(Xa), self.medians_[None, :], Xa)
        return Xa

    def _as_array(self, X, method):
        if not hasattr(self, "medians_"):
            raise NotFittedModelError(
                f"{type(self).__name__}: expected a fitted model, got an unfitted one. "
                "Hint: call fit() first."
            )
        if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == self.n_features_in_:
            Xa = X.astype(float)
        else:
            Xa = check_frame(X, method, self.feature_names_in_).to_numpy(dtype=float)
        return self._impute(Xa)

    def predict_survival_function(self, X, return_array: bool = False):
        """Survival curves on ``unique_times_`` (array or StepFunction objects)."""
        s = self._curves(X)
        if return_array:
            return s
        from sksurv.functions import StepFunction

        return np.array([StepFunction(self.unique_times_, row) for row in s])

    def predict_survival(self, X, times) -> np.ndarray:
        """Survival probability at ``times``, shape (n, len(times))."""
        return step_at(self.unique_times_, self._curves(X), np.atleast_1d(times))

    def predict_rmst(self, X, horizon: float) -> np.ndarray:
        """Restricted mean survival time to ``horizon`` (time unit of y)."""
        return step_rmst(self.unique_times_, self._curves(X), float(horizon))

    def predict_median(self, X) -> np.ndarray:
        """Median survival time; ``inf`` where not reached within follow-up."""
        return step_median(self.unique_times_, self._curves(X))


class CoxPHPeer(_ImputingPeer):
    """Penalised linear Cox model (lifelines ``CoxPHFitter``) with a Breslow baseline.

    Parameters
    ----------
    penalizer : float
        L2 (elastic-net with ``l1_ratio``) penalty of lifelines, on standardised
        covariates. Some penalty keeps one-hot and collinear columns estimable.
    l1_ratio : float
        Share of L1 in the penalty.
    """

    def __init__(self, *, penalizer=0.1, l1_ratio=0.0):
        self.penalizer = penalizer
        self.l1_ratio = l1_ratio

    def fit(self, X, y, sample_weight=None) -> CoxPHPeer:
        from lifelines import CoxPHFitter

        Xa, event, time = self._prepare_fit(X, y)
        keep = Xa.std(axis=0) > 0  # constant columns make the Hessian singular
        cols = [f"c{i}" for i in range(Xa.shape[1])]
        df = pd.DataFrame(Xa[:, keep], columns=[c for c, k in zip(cols, keep, strict=True) if k])
        df["_T"], df["_E"] = np.maximum(time, 1e-6), event.astype(int)
        kwargs = {}
        if sample_weight is not None:
            df["_W"] = np.asarray(sample_weight, dtype=float)
            kwargs = {"weights_col": "_W", "robust": True}
        cph = CoxPHFitter(penalizer=self.penalizer, l1_ratio=self.l1_ratio)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph.fit(df, duration_col="_T", event_col="_E", **kwargs)
        beta = np.zeros(Xa.shape[1])
        beta[keep] = cph.params_.to_numpy()
        self.coef_ = beta
        margin = Xa @ beta
        self.baseline_ = BreslowBaseline.fit(margin, event, time, sample_weight)
        self.unique_times_ = self.baseline_.times
        return self

    def predict(self, X) -> np.ndarray:
        """Risk score = linear predictor (log hazard ratio), higher = riskier."""
        return self._as_array(X, "predict") @ self.coef_

    def _curves(self, X):
        return self.baseline_.survival(self.predict(X), self.unique_times_)

    def predict_survival(self, X, times):
        return self.baseline_.survival(self.predict(X), np.atleast_1d(times))

    def predict_rmst(self, X, horizon):
        return self.baseline_.rmst(self.predict(X), float(horizon))

    def predict_median(self, X):
        return self.baseline_.median(self.predict(X))

    def save(self, directory) -> None:
        """Save coefficients, medians and the baseline hazard as JSON."""
        write_meta(directory, "CoxPHPeer", {
            "params": {"penalizer": self.penalizer, "l1_ratio": self.l1_ratio},
            "feature_names_in_": self.feature_names_in_, "medians_": self.medians_,
            "coef_": self.coef_, "baseline_": self.baseline_.to_dict()})

    @classmethod
    def load(cls, directory) -> CoxPHPeer:
        meta = read_meta(directory, "CoxPHPeer")
        m = cls(**meta["params"])
        m.feature_names_in_ = list(meta["feature_names_in_"])
        m.n_features_in_ = len(m.feature_names_in_)
        m.medians_ = np.asarray(meta["medians_"], float)
        m.coef_ = np.asarray(meta["coef_"], float)
        m.baseline_ = BreslowBaseline.from_dict(meta["baseline_"])
        m.unique_times_ = m.baseline_.times
        return m


class RSFPeer(_ImputingPeer):
    """Random survival forest (scikit-survival) with fast defaults.

    Cannot be saved without pickle: :meth:`save` raises (refit it instead).
    """

    def __init__(self, *, n_estimators=100, min_samples_leaf=15, max_features="sqrt",
                 max_samples=0.7, n_jobs=2, random_state=0):
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_samples = max_samples
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None) -> RSFPeer:
        from sksurv.ensemble import RandomSurvivalForest
        from sksurv.util import Surv

        Xa, event, time = self._prepare_fit(X, y)
        self.forest_ = RandomSurvivalForest(
            n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features, max_samples=self.max_samples,
            n_jobs=self.n_jobs, random_state=self.random_state)
        self.forest_.fit(Xa, Surv.from_arrays(event, time), sample_weight=sample_weight)
        # predict on one thread: the threaded forest sums its trees in completion order, so
        # the same fit gave predictions differing in the last bits from run to run
        self.forest_.set_params(n_jobs=1)
        self.unique_times_ = np.asarray(self.forest_.unique_times_, dtype=float)
        return self

    def predict(self, X) -> np.ndarray:
        """Risk score = predicted cumulative hazard summed over time, higher = riskier."""
        return self.forest_.predict(self._as_array(X, "predict"))

    def _curves(self, X):
        return self.forest_.predict_survival_function(self._as_array(X, "predict"),
                                                      return_array=True)

    def save(self, directory) -> None:
        raise ModelFileError(
            "RSFPeer: expected a model that can be saved without pickle, got a scikit-survival "
            "forest. Hint: refit it, or use base='xgboost' or 'coxph' for persisted models."
        )
