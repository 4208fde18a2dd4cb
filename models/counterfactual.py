"""Counterfactual outcome model: survival and response of every patient under every modality.

Observational data: the modality was chosen by indication, so per-arm fits are
biased. Learners (``learner``):

* ``"s"``   S-learner: one survival model on ``X`` + one-hot modality.
* ``"t"``   T-learner: one survival model per modality.
* ``"ipw-s"`` / ``"ipw-t"``: the same, fitted with stabilised, trimmed, cross-fitted
  inverse-propensity weights (multinomial logistic propensity) so that every arm is
  reweighted towards the whole cohort's covariate distribution.

xgboost Cox S-learners get one Breslow baseline hazard per modality by default
(``baseline="stratified"``, a stratified Cox model): modalities then differ in the shape
of their survival curves, not only by a hazard ratio.

Response (optional binary outcome) is estimated per modality on that modality's labelled
patients (:mod:`models.response_arms`): a calibrated classifier where labels suffice, the
modality's smoothed response rate where they are few, and "not applicable" (NaN) where
response was not assessed (e.g. after resection or transplant). A pooled classifier on
``X`` + one-hot modality let frequent modalities leak into rare ones.

Uncertainty: a bootstrap ensemble of ``n_bootstrap`` refits (rows resampled within
each modality; boosting rounds fixed to those chosen on the full fit; propensity
weights reused, which slightly understates their variability). Intervals are the
member percentiles; point estimates come from the full-data fit (so a call with or
without ``interval`` returns the same estimate). Comparisons between modalities use
absolute quantities (survival at t, RMST, median), never hazard ratios of separate
models. Time unit = the unit of ``y`` (months in this project).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .arms import ArmSet
from .errors import ModelInputError, NotFittedModelError, check_frame, check_survival_y
from .outcome_table import OutcomeTableMixin
from .params import ParamsMixin
from .propensity import PropensityModel, crossfit_propensity, ipw_weights, overlap_summary

LEARNERS = ("s", "t", "ipw-s", "ipw-t")
BASES = ("xgboost", "coxph", "rsf")
BASELINES = ("stratified", "pooled")
MIN_ARM_EVENTS = 5
"""Fewest events of a modality for its own (stratified) baseline; below: the pooled one."""


def _onehot_names(modalities) -> list[str]:
    return [f"modality={m}" for m in modalities]


class ModalityOutcomeModel(ParamsMixin, OutcomeTableMixin):
    """Per-modality survival and response predictions for any patient, with intervals.

    Parameters
    ----------
    learner : {"s", "t", "ipw-s", "ipw-t"}
        Meta-learner; ``ipw-*`` weight by stabilised inverse propensities.
    base : {"xgboost", "coxph", "rsf"}
        Survival model: :class:`~models.SurvivalModel` (default; SHAP-explainable),
        :class:`~models.CoxPHPeer` or :class:`~models.RSFPeer` (not savable).
    n_bootstrap : int
        Ensemble members for intervals (0 = no intervals).
    baseline : {"stratified", "pooled"}
        Baseline hazard of xgboost Cox S-learners. ``"stratified"`` (default): one
        Breslow baseline per modality on the shared margin (a stratified Cox model,
        ``S(t | x, m) = exp(-H0_m(t) exp(f(x, m)))``), so each modality keeps its own
        survival-curve shape: treatments differ in *when* they act (perioperative
        deaths then a cured plateau after surgery; a steady hazard reduction on
        systemic therapy), which one proportional-hazards baseline cannot express.
        Same prediction cost as ``"pooled"`` (one baseline for all modalities).
        T-learners always have one baseline per modality; other bases ignore it.
    survival_params, response_params : dict, optional
        Keyword parameters of the base survival model / :class:`~models.ResponseModel`.
    propensity_C : float
        Inverse L2 strength of the multinomial logistic propensity model.
    propensity_clip : float
        Propensity floor for weights (trimming).
    propensity_folds : int
        Cross-fitting folds for the propensities used in weights.
    propensity_features : bool
        Add the log propensity of each modality as extra features of the outcome
        models. Tree ensembles regularised towards simple fits leave part of a strong
        confounder unmodelled, and the modality indicator then absorbs it
        ("regularisation-induced confounding", Hahn, Murray & Carvalho 2020, Bayesian
        causal forests); a propensity feature lets one split adjust for indication.
        Off by default: it brought no gain on our confounded simulations.
    random_state, n_jobs : int

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sksurv.util import Surv
    >>> from models import ModalityOutcomeModel
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.normal(60, 10, 300), "size_cm": rng.gamma(2.0, 2.5, 300)})
    >>> y = Surv.from_arrays(event=rng.random(300) < 0.8,
    ...                      time=rng.exponential(np.exp(3.0 - 0.15 * X["size_cm"])))
    >>> modality = np.where(rng.random(300) < 0.5, "tace", "targeted")
    >>> model = ModalityOutcomeModel(n_bootstrap=0, survival_params={
    ...     "n_estimators": 50, "early_stopping_rounds": None}).fit(X, y, modality)
    >>> model.modalities_
    ['tace', 'targeted']
    >>> table = model.predict_outcomes(X.iloc[:2], times=(12,), horizon=24)  # every modality
    >>> list(table.columns)
    ['row', 'index', 'modality', 'surv_12', 'rmst_24', 'median']
    >>> model.predict_rmst(X.iloc[:2], "tace", horizon=24).shape   # months, one per patient
    (2,)
    """

    def __init__(self, *, learner="s", base="xgboost", n_bootstrap=20,
                 baseline="stratified", survival_params=None, response_params=None,
                 propensity_C=1.0, propensity_clip=0.01, propensity_folds=5,
                 propensity_features=False, random_state=0, n_jobs=1):
        self.learner = learner
        self.base = base
        self.n_bootstrap = n_bootstrap
        self.baseline = baseline
        self.survival_params = survival_params
        self.response_params = response_params
        self.propensity_C = propensity_C
        self.propensity_clip = propensity_clip
        self.propensity_folds = propensity_folds
        self.propensity_features = propensity_features
        self.random_state = random_state
        self.n_jobs = n_jobs


    # ---------------------------------------------------------------- building
    def _new_base(self, seed: int, fixed_rounds: int | None = None):
        from .peers import CoxPHPeer, RSFPeer
        from .survival import SurvivalModel

        params = dict(self.survival_params or {})
        if self.base == "xgboost":
            params.setdefault("random_state", seed)
            params.setdefault("n_jobs", self.n_jobs)
            if fixed_rounds is not None:
                params.update(n_estimators=fixed_rounds, early_stopping_rounds=None)
            return SurvivalModel(**params)
        if self.base == "coxph":
            return CoxPHPeer(**params)
        params.setdefault("random_state", seed)
        return RSFPeer(**params)

    def _fit_arms(self, Xa, y, codes, w, seed, rounds=None) -> ArmSet:
        kind = "s" if self.learner in ("s", "ipw-s") else "t"
        M = len(self.modalities_)
        if kind == "s":
            oh = np.eye(M)[codes]
            D = pd.DataFrame(np.hstack([Xa, oh]), columns=self.model_columns_
                             + _onehot_names(self.modalities_))
            r = None if rounds is None else rounds[0]
            models = [self._new_base(seed, r).fit(D, y, sample_weight=w)]
            if self._stratified():
                return ArmSet(kind, models, Xa.shape[1], M,
                              self._arm_baselines(models[0], D.to_numpy(), y, codes, w))
        else:
            models = []
            for j in range(M):
                sel = codes == j
                D = pd.DataFrame(Xa[sel], columns=self.model_columns_)
                r = None if rounds is None else rounds[j]
                models.append(self._new_base(seed + j, r).fit(
                    D, y[sel], sample_weight=None if w is None else w[sel]))
        return ArmSet(kind, models, Xa.shape[1], M)

    def _stratified(self) -> bool:
        return (self.baseline == "stratified" and self.base == "xgboost"
                and self.learner in ("s", "ipw-s"))

    def _arm_baselines(self, model, D, y, codes, w) -> list:
        """Breslow baseline of each modality on its patients' margins (same weights as the fit)."""
        from .curves import BreslowBaseline

        margin = model._margin(D)
        out = []
        for j in range(len(self.modalities_)):
            sel = codes == j
            if y["event"][sel].sum() < MIN_ARM_EVENTS:
                out.append(model.baseline_)
                continue
            out.append(BreslowBaseline.fit(margin[sel], y["event"][sel], y["time"][sel],
                                           None if w is None else w[sel]))
        return out

    def fit(self, X, y, modality, response=None) -> ModalityOutcomeModel:
        """Fit on observational data.

        Parameters
        ----------
        X : DataFrame (n, p)
            Numeric features (NaN allowed), measured before the treatment decision.
        y : structured array (event, time)
            Overall survival (time unit kept in all predictions).
        modality : array-like (n,)
            Received modality labels; a pandas Categorical keeps its category order.
        response : array-like (n,), optional
            Binary response (1 = objective response, NaN = not assessed).
        """
        from .response import check_binary

        if self.learner not in LEARNERS or self.base not in BASES:
            raise ModelInputError(
                f"The 'learner'/'base' parameters of ModalityOutcomeModel must be in "
                f"{LEARNERS} / {BASES}. Got {self.learner!r} / {self.base!r} instead."
            )
        if self.baseline not in BASELINES:
            raise ModelInputError(
                f"The 'baseline' parameter of ModalityOutcomeModel must be in {BASELINES}. "
                f"Got {self.baseline!r} instead."
            )
        if self._stratified() and (self.survival_params or {}).get("objective", "cox") != "cox":
            raise ModelInputError(
                "The 'baseline' parameter of ModalityOutcomeModel can be 'stratified' only for "
                "Cox models (a baseline hazard). Got survival objective "
                f"{self.survival_params.get('objective')!r} instead. Hint: baseline='pooled'."
            )
        frame = check_frame(X, "fit")
        event, time = check_survival_y(y, "fit")
        mod = pd.Series(np.asarray(modality, dtype=object) if not isinstance(
            modality, pd.Categorical | pd.Series) else modality).reset_index(drop=True)
        if len(mod) != len(frame) or len(event) != len(frame) or mod.isna().any():
            raise ModelInputError(
                "The 'modality' parameter of fit must be one non-missing label per row of X. "
                f"Got {len(mod)} labels ({int(mod.isna().sum())} missing) for {len(frame)} "
                "rows instead."
            )
        if isinstance(mod.dtype, pd.CategoricalDtype):
            cats = [c for c in mod.cat.categories if (mod == c).any()]
        else:
            cats = sorted(mod.astype(str).unique())
            mod = mod.astype(str)
        self.modalities_ = [str(c) for c in cats]
        codes = pd.Categorical(mod.astype(str), categories=self.modalities_).codes.astype(int)
        M = len(self.modalities_)
        if not self.learner.endswith("s"):
            few = [m for j, m in enumerate(self.modalities_) if event[codes == j].sum() < 5]
            if few:
                raise ModelInputError(
                    f"The 'modality' parameter of fit must give every modality at least 5 "
                    f"events for a T-learner. Got fewer for {few} instead. Hint: use "
                    "learner='s' or 'ipw-s', which share information across modalities."
                )
        r = None
        if response is not None:
            r = check_binary(response, "fit")
            if len(r) != len(frame):
                raise ModelInputError(
                    f"The 'response' parameter of fit must have {len(frame)} values. "
                    f"Got {len(r)} instead."
                )
        self.feature_names_in_ = list(frame.columns)
        Xa = frame.to_numpy(dtype=float)
        from sksurv.util import Surv

        yy = Surv.from_arrays(event, time)
        # propensity: always estimated, for the overlap report; weights only for ipw-*
        e = crossfit_propensity(Xa, codes, M, self.propensity_folds, self.propensity_C,
                                self.random_state)
        wts = ipw_weights(e, codes, self.propensity_clip)
        self.propensity_model_ = PropensityModel(C=self.propensity_C).fit(frame, codes, M)
        self.propensity_overlap_ = overlap_summary(e, codes, wts, self.modalities_)
        self.model_columns_ = list(self.feature_names_in_)
        if self.propensity_features:
            self.model_columns_ += [f"propensity={m}" for m in self.modalities_]
            Xa = self._design(Xa)
        w = wts if self.learner.startswith("ipw") else None
        self.main_ = self._fit_arms(Xa, yy, codes, w, self.random_state)
        rounds = ([m.n_estimators_ for m in self.main_.models]
                  if self.base == "xgboost" else None)
        rng = np.random.default_rng(self.random_state)
        self.members_ = []
        for b in range(int(self.n_bootstrap)):
            idx = np.concatenate([rng.choice(np.flatnonzero(codes == j), (codes == j).sum())
                                  for j in range(M)])
            self.members_.append(self._fit_arms(
                Xa[idx], yy[idx], codes[idx], None if w is None else w[idx],
                self.random_state + 1000 * (b + 1), rounds))
        self.response_model_, self.response_members_ = None, []
        if r is not None:
            self._fit_response(Xa, codes, r, w, rng)
        return self

    def _fit_response(self, Xa, codes, r, w, rng):
        """Per-modality response estimates (:class:`~models.response_arms.ModalityResponse`)."""
        from .response_arms import ModalityResponse

        params = dict(self.response_params or {})
        params.setdefault("n_jobs", self.n_jobs)
        self.response_model_ = ModalityResponse.fit(
            Xa, self.model_columns_, codes, r, w, self.modalities_, params,
            self.n_bootstrap, rng, self.random_state)
        self.response_members_ = list(range(self.response_model_.n_members))

    # --------------------------------------------------------------- predicting
    def enable_factored_scoring(self) -> list:
        """Score xgboost S-learners under every modality in factored form for large batches
        (:mod:`models.factored`: same values up to float32 rounding, several times faster):
        the bootstrap members (intervals) and the SHAP values. The full fit's margins (point
        estimates, hence rankings) keep the stacked scoring, so they are bit-identical for a
        patient alone and in a batch.

        Returns the sub-boosters created (callers that change ``nthread`` of the model's
        boosters must change theirs too). No effect for T-learners and other bases.
        """
        self._check()
        added = self.main_.enable_factoring(self.n_jobs, margins=False)
        for arms in self.members_:
            added += arms.enable_factoring(self.n_jobs)
        return added

    def _check(self):
        if not hasattr(self, "main_"):
            raise NotFittedModelError(
                "ModalityOutcomeModel: expected a fitted model, got an unfitted one. "
                "Hint: call fit() or ModalityOutcomeModel.load() first."
            )

    def _design(self, Xa: np.ndarray) -> np.ndarray:
        """Raw features plus, if enabled, log propensities (the outcome models' input)."""
        if not self.propensity_features:
            return Xa
        e = self.propensity_model_.predict_proba(Xa)
        return np.hstack([Xa, np.log(np.maximum(e, 1e-6))])

    def _X(self, X) -> np.ndarray:
        self._check()
        return self._design(check_frame(X, "predict", self.feature_names_in_)
                            .to_numpy(dtype=float))

    def _idx(self, modality) -> int:
        try:
            return self.modalities_.index(str(modality))
        except ValueError:
            raise ModelInputError(
                f"The 'modality' parameter of predict must be one of {self.modalities_}. "
                f"Got {modality!r} instead. Hint: a modality never observed in training "
                "cannot be predicted."
            ) from None

    def _codes(self, modality, n: int) -> np.ndarray:
        if isinstance(modality, str):
            return np.full(n, self._idx(modality))
        js = np.array([self._idx(m) for m in modality], dtype=int)
        if len(js) != n:
            raise ModelInputError(
                f"The 'modality' parameter of predict must be one label or {n} labels. "
                f"Got {len(js)} labels instead."
            )
        return js

    def _per_row(self, X, modality, fn, interval=None):
        """Apply ``fn(arms, Xa_rows, j)`` for a modality label or one label per row."""
        Xa = self._X(X)
        js = self._codes(modality, Xa.shape[0])
        arms = [self.main_] + (self.members_ if interval is not None else [])
        outs = []
        for arm in arms:
            res = None
            for j in np.unique(js):
                sel = js == j
                v = np.asarray(fn(arm, Xa[sel], j))
                if res is None:
                    res = np.empty((Xa.shape[0],) + v.shape[1:])
                res[sel] = v
            outs.append(res)
        return outs

    @classmethod
    def _wrap(cls, values: list, interval):
        """``values[0]`` (the full fit) or (it, lower, upper) over the members ``values[1:]``."""
        if interval is None:
            return values[0]
        return (values[0], *cls._band(values[1:], interval, values[0]))

    @staticmethod
    def _band(members: list, interval, estimate=None) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) interval of a coverage from the bootstrap members' values.

        The members' ``(1 - interval) / 2`` and ``(1 + interval) / 2`` percentiles, extended
        to contain ``estimate`` (the full fit's point estimate) when given: ``lower =
        min(percentile, estimate)``, ``upper = max(percentile, estimate)``. The point estimate
        comes from the fit on all patients, the band from refits on resamples; with ten members
        the full fit falls outside their range for about 1.5% of (patient, modality) pairs
        (resamples hold about 63% of the distinct patients, so the refits differ from the full
        fit a little more than from each other). Extending the band only ever widens it, so
        its coverage cannot fall below the percentile band's; it stays within the quantity's
        natural range (RMST in [0, horizon], probabilities in [0, 1]) and works for an infinite
        median. A band re-centred on the estimate (estimate plus the members' deviations from
        their median) or the basic bootstrap interval (2 x estimate - percentiles) would shift
        rather than widen (measured against the synthetic truth: no better coverage) and the
        basic interval misses the estimate exactly when the percentile band does.
        """
        if not 0 < interval < 1:
            raise ModelInputError(
                f"The 'interval' parameter must be a coverage in (0, 1). Got {interval!r}."
            )
        if len(members) < 2:
            raise ModelInputError(
                "The 'interval' parameter needs a bootstrap ensemble. Got n_bootstrap="
                f"{len(members)} instead. Hint: refit with n_bootstrap >= 20."
            )
        a = (1.0 - interval) / 2.0
        # inverted_cdf: no interpolation, so infinite medians give no inf - inf = NaN
        lo, hi = np.quantile(np.stack(members), [a, 1.0 - a], axis=0, method="inverted_cdf")
        if estimate is not None:
            estimate = np.asarray(estimate, dtype=float)
            lo, hi = np.fmin(lo, estimate), np.fmax(hi, estimate)
        return lo, hi

    def predict_survival(self, X, modality, times, interval=None):
        """Survival probability at ``times`` under ``modality`` (n, len(times)).

        With ``interval`` (e.g. 0.9): returns ``(estimate, lower, upper)``.
        """
        times = np.atleast_1d(np.asarray(times, dtype=float))
        v = self._per_row(X, modality, lambda a, x, j: a.outcomes(x, j, "surv", times),
                          interval)
        return self._wrap(v, interval)

    def predict_rmst(self, X, modality, horizon, interval=None):
        """Restricted mean survival time to ``horizon`` under ``modality`` (n,)."""
        v = self._per_row(X, modality, lambda a, x, j: a.outcomes(x, j, "rmst", float(horizon)),
                          interval)
        return self._wrap(v, interval)

    def predict_median(self, X, modality, interval=None):
        """Median survival under ``modality`` (n,); ``inf`` if not reached in follow-up."""
        v = self._per_row(X, modality, lambda a, x, j: a.outcomes(x, j, "median"),
                          interval)
        return self._wrap(v, interval)

    def predict_response(self, X, modality, interval=None):
        """Calibrated probability of response under ``modality`` (n,); NaN where the modality
        has no response estimate (not assessed in enough of its training patients, see
        :mod:`models.response_arms`)."""
        if self.response_model_ is None:
            raise NotFittedModelError(
                "ModalityOutcomeModel: expected a response model, got none. "
                "Hint: pass response= to fit()."
            )
        Xa = self._X(X)
        js = self._codes(modality, Xa.shape[0])
        members = self.response_members_ if interval is not None else []
        vals = []
        for member in [None, *members]:
            out = np.full(Xa.shape[0], np.nan)
            for j in np.unique(js):
                sel = js == j
                out[sel] = self.response_model_.matrix(Xa[sel], [j], member)[:, 0]
            vals.append(out)
        return self._wrap(vals, interval)

    def response_applicable(self, modality) -> bool:
        """Whether ``modality`` has a response estimate (False: "not applicable")."""
        return self.response_model_ is not None and self.response_model_.applicable(
            self._idx(modality))

    def propensity(self, X) -> pd.DataFrame:
        """Estimated propensity of each modality for new patients (overlap check)."""
        self._check()
        Xa = check_frame(X, "predict", self.feature_names_in_).to_numpy(dtype=float)
        return pd.DataFrame(self.propensity_model_.predict_proba(Xa),
                            columns=self.modalities_, index=getattr(X, "index", None))

    # ------------------------------------------------------------- persistence
    def save(self, directory) -> None:
        """Save all fitted parts to ``directory`` (boosters UBJ + JSON; no pickle).

        Not available for ``base="rsf"`` (the forest has no pickle-free format).
        """
        from .outcome_files import save_outcome_model

        save_outcome_model(self, directory)

    @classmethod
    def load(cls, directory) -> ModalityOutcomeModel:
        """Load a model written by :meth:`save`."""
        from .outcome_files import load_outcome_model

        return load_outcome_model(cls, directory)
