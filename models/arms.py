"""The fitted outcome models of one ensemble member of :class:`models.ModalityOutcomeModel`.

An S-learner member is one model on the features plus the modality one-hot (with, for
``baseline="stratified"``, one baseline hazard per modality); a T-learner member is one model
per modality. :class:`ArmSet` scores them under any modalities, in factored form for large
batches (:mod:`models.factored`).
"""

from __future__ import annotations

import numpy as np


def stacked_design(Xa: np.ndarray, js, n_modalities: int) -> np.ndarray:
    """``[Xa, onehot(j)]`` for each modality code of ``js``, stacked modality-major: the
    S-learner design of every patient under every modality, built in one allocation."""
    n, p = Xa.shape
    out = np.zeros((len(js) * n, p + n_modalities))
    for c, j in enumerate(js):
        block = out[c * n:(c + 1) * n]
        block[:, :p] = Xa
        block[:, p + j] = 1.0
    return out


class ArmSet:
    """Fitted outcome models of one ensemble member (S: one model; T: one per modality).

    ``baselines`` (S-learners with ``baseline="stratified"``): one Breslow cumulative
    baseline hazard per modality, fitted on that modality's patients and the shared
    margin, so that ``S(t | x, m) = exp(-H0_m(t) exp(f(x, m)))``. ``None``: the model's
    own (pooled) baseline.
    """

    def __init__(self, kind: str, models: list, n_features: int, n_modalities: int,
                 baselines: list | None = None):
        self.kind, self.models = kind, models
        self.p, self.M = n_features, n_modalities
        self.baselines = baselines
        self._stack_caches: dict = {}
        self.factoring = None  # ModalityFactoring of an xgboost S-learner, once enabled
        self.factor_margins = False

    def stack_cache(self, js: tuple) -> dict:
        """Per-modality-subset cache of :func:`models.curves.rmst_stacked` tables."""
        return self._stack_caches.setdefault(js, {})

    def enable_factoring(self, nthread: int = 1, margins: bool = True) -> list:
        """Factored batch scoring for an xgboost S-learner (:mod:`models.factored`): of the
        margins too, or (``margins=False``) of the SHAP values only. Returns the sub-boosters
        it added (none for T-learners and other bases)."""
        booster = getattr(self.models[0], "booster_", None)
        if self.kind != "s" or booster is None:
            return []
        self.factor_margins = margins
        if self.factoring is None:
            from .factored import ModalityFactoring

            self.factoring = ModalityFactoring(booster, [self.p + j for j in range(self.M)],
                                               nthread)
            return self.factoring.boosters()
        return []

    def factored(self, n_rows: int, what: str = "margins") -> bool:
        """Use the factoring for ``what`` (``"margins"`` or ``"shap"``) of ``n_rows`` patients?"""
        from .factored import FACTORED_MIN_ROWS

        return (self.factoring is not None and n_rows >= FACTORED_MIN_ROWS
                and (what == "shap" or self.factor_margins))

    def zero_design(self, Xa: np.ndarray) -> np.ndarray:
        """The S design with every modality column 0 (the factoring's ``X0``)."""
        return np.hstack([Xa, np.zeros((Xa.shape[0], self.M))])

    def _augment(self, Xa: np.ndarray, j: int) -> np.ndarray:
        oh = np.zeros((Xa.shape[0], self.M))
        oh[:, j] = 1.0
        return np.hstack([Xa, oh])

    def model_for(self, j: int):
        return self.models[0] if self.kind == "s" else self.models[j]

    def design(self, Xa: np.ndarray, j: int) -> np.ndarray:
        return self._augment(Xa, j) if self.kind == "s" else Xa

    def margins(self, Xa: np.ndarray, js) -> np.ndarray:
        """Margins (n, len(js)) for xgboost bases, one stacked call for S-learners."""
        n = Xa.shape[0]
        if self.factored(n):
            return self.factoring.margins(self.zero_design(Xa), js)
        if self.kind == "s":
            stacked = stacked_design(Xa, js, self.M)
            return self.models[0]._margin(stacked).reshape(len(js), n).T
        return np.column_stack([self.models[j]._margin(Xa) for j in js])

    def outcomes(self, Xa, j, what: str, arg=None) -> np.ndarray:
        """One quantity for modality index ``j`` (works for every base)."""
        model, D = self.model_for(j), self.design(Xa, j)
        if self.baselines is not None:
            base, margin = self.baselines[j], model._margin(D)
            if what == "surv":
                return base.survival(margin, np.atleast_1d(arg))
            if what == "rmst":
                return base.rmst(margin, arg)
            return base.median(margin)
        if what == "surv":
            return model.predict_survival(D, arg)
        if what == "rmst":
            return model.predict_rmst(D, arg)
        return model.predict_median(D)
