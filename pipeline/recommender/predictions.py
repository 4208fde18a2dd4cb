"""Per-modality predictions for the recommender, in contract modality order.

:class:`OutcomePredictor` turns a model matrix into :class:`Predictions`: survival at the report
times, RMST to the horizon with its bootstrap interval, median, probability of objective
response, a short survival curve, and (optionally) SHAP values summed back to contract fields.
It is the only place that talks to :class:`models.ModalityOutcomeModel`. A modality never seen in
training has no model: its outcomes are missing and it is never a candidate.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pandas as pd

from features.contract import MODALITIES
from pipeline.recommender.recommendation import SHAP_UNITS, Factor

CURVE_MONTHS = np.linspace(0.0, 60.0, 25)
"""Curve grid: 25 points from 0 to 60 months (every 2.5 months)."""

MODALITY_GROUP = "modality"
MODALITY_LABEL = "Treatment modality (main effect)"


BATCH_THREADS_FROM = 256
"""Rows from which a prediction call uses the model's ``n_jobs`` threads (below: one)."""


def boosters(model) -> list:
    """Every xgboost booster of a fitted :class:`models.ModalityOutcomeModel`."""
    found = []
    for arms in [getattr(model, "main_", None), *getattr(model, "members_", ())]:
        for member in getattr(arms, "models", ()):
            found.append(getattr(member, "booster_", None))
    response = getattr(model, "response_model_", None)
    if response is not None:
        found.extend(response.boosters())
    return [b for b in found if b is not None and hasattr(b, "set_param")]


class OutcomePredictor:
    """Predict every outcome of every modality for a batch of model-matrix rows."""

    def __init__(self, bundle, params):
        self.model = bundle.model
        # large batches score S-learners in factored form (models/factored.py)
        enable = getattr(self.model, "enable_factored_scoring", None)
        self._boosters = boosters(self.model) + (enable() if enable is not None else [])
        self._batch_threads = max(1, int(getattr(self.model, "n_jobs", 1) or 1))
        self._threads = None
        self._pinned = None  # thread count forced by single_threaded()
        self.matrix = bundle.matrix
        self.times = tuple(float(t) for t in params.survival_times_months)
        self.horizon = float(params.rmst_horizon_months)
        self.level = float(params.interval_level)
        self.top = int(params.top_factors)
        trained = list(self.model.modalities_)
        self.observed = [m for m in MODALITIES if m in trained]
        self.column = {m: k for k, m in enumerate(self.observed)}  # modality -> column
        grid = set(self.times) | {12.0, 24.0} | {float(t) for t in CURVE_MONTHS[1:]}
        self.all_times = np.array(sorted(grid))
        self.groups = dict(self.matrix.feature_groups_)
        self.labels = dict(self.matrix.group_labels_)
        self.labels[MODALITY_GROUP] = MODALITY_LABEL
        objective = "cox"
        try:
            objective = self.model.main_.models[0].objective
        except (AttributeError, IndexError):
            pass
        self.objective = objective
        self.shap_unit = SHAP_UNITS.get(objective, SHAP_UNITS["cox"])
        self.has_interval = len(getattr(self.model, "members_", ())) >= 2
        self.has_response = getattr(self.model, "response_model_", None) is not None
        self.min_propensity = float(getattr(params, "min_propensity", 0.0))
        self.has_propensity = getattr(self.model, "propensity_model_", None) is not None
        self.envelope = dict(getattr(bundle, "settings", {}) or {}).get("support_envelope")
        response = getattr(self.model, "response_model_", None)
        self.response_basis = [  # contract order; see models.response_arms.KINDS
            response.kinds[response.modalities.index(m)]
            if response is not None and m in getattr(response, "modalities", ()) else None
            for m in MODALITIES]

    @contextlib.contextmanager
    def single_threaded(self):
        """Every prediction on one thread inside the block (callers that run predictions in
        parallel threads themselves); the previous setting comes back on exit."""
        before, self._pinned = self._pinned, 1
        self._use_threads(1)  # now, before any thread predicts: no set_param races inside
        try:
            yield
        finally:
            self._pinned = before

    def _use_threads(self, n_rows: int) -> None:
        """One thread for small calls, the model's ``n_jobs`` for batches.

        The boosters keep the training ``n_jobs``. Scoring one patient with an OpenMP team of 2
        on a busy 2-core machine makes every call wait for a descheduled thread (measured:
        370 ms instead of 20 ms per ``recommend()``); a batch of thousands gains from it.
        """
        want = 1 if n_rows < BATCH_THREADS_FROM else self._batch_threads
        if self._pinned is not None:
            want = self._pinned
        if want != self._threads:
            for booster in self._boosters:
                booster.set_param({"nthread": want})
            self._threads = want

    def predict(self, X: pd.DataFrame, explain: bool = True,
                intervals: bool = True, derived: pd.DataFrame | None = None) -> Predictions:
        """Predictions for the rows of ``X`` (the bundle's model matrix); ``derived`` (the same
        rows' derived fields) marks the predictions outside the training data's support
        (:mod:`pipeline.recommender.envelope`)."""
        a = self.arrays(X, self.all_times, explain=explain, intervals=intervals, derived=derived)
        pred = Predictions(self, X, a["surv"], a["rmst"], a["lo"], a["hi"], a["median"],
                           a["p_response"], a["shap"], a["base"], a["support"],
                           a["propensity"], a["extrapolated"])
        pred.rmst_members = a["members"]  # (members, n, observed modalities) or None
        return pred

    def arrays(self, X: pd.DataFrame, times, explain: bool = False, intervals: bool = False,
               derived: pd.DataFrame | None = None) -> dict:
        """Every prediction for the rows of ``X`` as arrays over (rows, modalities with a model):
        ``surv`` (n, k, len(times)), ``rmst``, ``lo``, ``hi`` (the RMST interval, NaN without
        ``intervals`` or bootstrap members) and ``members`` (the members' RMST, or None),
        ``median`` (inf: not reached), ``p_response``; ``shap`` (n, k, groups) and ``base``
        (n, k) with ``explain``; ``support`` and ``propensity`` (n, modalities in contract
        order, or None: see :meth:`_support`); ``extrapolated`` (the envelope check of
        ``derived``, or None).

        The one call to the outcome model behind :meth:`predict` (the per-patient
        recommendations) and the columnar tables of :mod:`pipeline.recommender.bulk`.
        """
        n, k = len(X), len(self.observed)
        times = np.asarray(times, dtype=float)
        self._use_threads(n)
        table = self.model.predict_outcomes(X, times=times, horizon=self.horizon,
                                            modalities=self.observed)

        def grid(col):  # long (patient-major) column -> (n, k)
            return table[col].to_numpy(dtype=float).reshape(n, k)

        surv = np.stack([grid(f"surv_{t:g}") for t in times], axis=2)
        rmst = grid(f"rmst_{self.horizon:g}")
        median = grid("median")
        p_resp = grid("p_response") if "p_response" in table else np.full((n, k), np.nan)
        lo = hi = np.full((n, k), np.nan)
        members = None
        if self.has_interval and intervals:
            lo, hi, members = self.model.predict_rmst_interval(
                X, self.horizon, self.observed, self.level, estimate=rmst, return_members=True)
        shap = base = None
        if explain:
            shap, base = self._explain(X)
        support, propensity = self._support(X)
        extrapolated = None
        if derived is not None:
            from pipeline.recommender.envelope import outside_frame

            extrapolated = outside_frame(self.envelope, derived, MODALITIES)
        return {"surv": surv, "rmst": rmst, "lo": lo, "hi": hi, "members": members,
                "median": median, "p_response": p_resp, "shap": shap, "base": base,
                "support": support, "propensity": propensity, "extrapolated": extrapolated}

    def contract_order(self, values: np.ndarray) -> np.ndarray:
        """(n, k, ...) values of the modalities with a model -> (n, modalities in contract
        order, ...), NaN for a modality without a model."""
        cols = [self.column.get(m, -1) for m in MODALITIES]
        out = np.full((values.shape[0], len(cols)) + values.shape[2:], np.nan)
        for j, c in enumerate(cols):
            if c >= 0:
                out[:, j] = values[:, c]
        return out

    def _support(self, X: pd.DataFrame) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(support, propensity), both (n, modalities in contract order): is the estimated
        propensity at least ``min_propensity``, and the propensity itself (NaN: no model).

        (None, None) when the guard is off or the learner has no propensity model.
        """
        if not (self.has_propensity and self.min_propensity > 0):
            return None, None
        prop = self.model.propensity(X)
        nan = np.full(len(X), np.nan)
        values = np.column_stack([prop[m].to_numpy(dtype=float) if m in prop.columns else nan
                                  for m in MODALITIES])
        return np.nan_to_num(values, nan=0.0) >= self.min_propensity, values

    def _explain(self, X):
        """Grouped SHAP values (n, k, G) and base values (n, k) of every modality."""
        explanations = self.model.explain(X)
        self.kind = getattr(getattr(self.model, "main_", None), "kind", None)
        first = explanations[self.observed[0]]
        names = [self.groups.get(c, c) for c in first.values.columns]
        order = list(dict.fromkeys(names))
        index = {g: i for i, g in enumerate(order)}
        members = np.array([index[g] for g in names])
        n, k, G = len(X), len(self.observed), len(order)
        values = np.zeros((n, k, G))
        base = np.zeros((n, k))
        for c, m in enumerate(self.observed):
            ex = explanations[m]
            raw = ex.values.to_numpy(dtype=float)
            summed = np.zeros((n, G))
            np.add.at(summed.T, members, raw.T)
            values[:, c] = summed
            base[:, c] = ex.base_values
        self.group_order = order
        return values, base

    def contrast_values(self, pred: Predictions, rows: list[int], a: str, b: str):
        """Grouped SHAP contrast of ``a`` vs ``b`` for ``rows``: (values (n, G), base, unit).

        For an S-learner (one model, one background) SHAP(a) - SHAP(b) is exact and equals
        ``ModalityOutcomeModel.explain_contrast``; it is taken from the per-modality values
        already computed (plus the baseline-hazard offset at the horizon for stratified
        baselines). Other learners go through ``explain_contrast`` (which adds the
        baseline-hazard offset of T-learners at the RMST horizon).
        """
        from models.explain import UNITS

        if self.kind == "s":
            ca, cb = self.column[a], self.column[b]
            values = pred._shap[rows, ca] - pred._shap[rows, cb]
            base = pred._base[rows, ca] - pred._base[rows, cb]
            unit = f"difference in {UNITS.get(self.objective, 'margin')}"
            offset = self.model.baseline_offset(a, b, self.horizon)
            if offset is not None:  # stratified baselines: as explain_contrast(horizon=...)
                base = base + offset
                unit = f"difference in log cumulative hazard at {self.horizon:g}"
            return pd.DataFrame(values, columns=self.group_order), base, unit
        ex = self.model.explain_contrast(pred.X.iloc[rows], a, b, horizon=self.horizon)
        names = [self.groups.get(c, c) for c in ex.values.columns]
        order = list(dict.fromkeys(names))
        frame = pd.DataFrame(ex.values.to_numpy(dtype=float), columns=names)
        summed = frame.T.groupby(np.array(names), sort=False).sum().T.reindex(columns=order)
        return summed, np.asarray(ex.base_values, dtype=float), ex.unit


def objective_matrix(objective: str, rmst: np.ndarray, surv: np.ndarray, times,
                     median: np.ndarray) -> np.ndarray:
    """The values of a ranking objective (higher is better): ``rmst24`` the RMST, ``surv12`` /
    ``surv24`` survival at 12 / 24 months (``surv`` over ``times`` on its last axis),
    ``median_os`` the median (inf: not reached, ranks first)."""
    if objective == "rmst24":
        return rmst
    if objective in ("surv12", "surv24"):
        return surv[:, :, [float(t) for t in times].index(float(objective[4:]))]
    return median


class Predictions:
    """Per-row, per-modality predictions; accessors build the JSON-ready pieces of one row.

    Arrays are converted to python lists once per batch: building a row's dicts then costs
    list look-ups, not numpy scalar conversions (batch throughput).
    """

    def __init__(self, owner: OutcomePredictor, X, surv, rmst, lo, hi, median, p_resp, shap,
                 base, support=None, propensity=None, extrapolated=None):
        self.owner, self.X = owner, X
        self.support = support
        self._extrapolated = extrapolated  # per row, per contract modality: tuple of reasons
        self.propensity = propensity  # (n, 10) contract order, None when the guard is off
        self.min_propensity = owner.min_propensity if support is not None else None
        self._shap, self._base = shap, base
        self.explained = shap is not None
        self.shap_unit = owner.shap_unit
        self._cols = [owner.column.get(m, -1) for m in MODALITIES]
        # rmst in contract order (NaN for a modality without a model), for ranking
        self.rmst = owner.contract_order(rmst)
        t = list(owner.all_times)
        self._keys = [f"{tt:g}" for tt in owner.times]
        report = [t.index(tt) for tt in owner.times]
        curve = [t.index(float(tt)) for tt in CURVE_MONTHS[1:]]
        self._report = surv[:, :, report].tolist()
        # the curve starts at S(0) = 1: prepended here, once per batch, not per row
        self._curve = np.concatenate([np.ones(surv.shape[:2] + (1,)), surv[:, :, curve]],
                                     axis=2).tolist()
        self._months = CURVE_MONTHS.tolist()
        self._rmst_l, self._lo, self._hi = rmst.tolist(), lo.tolist(), hi.tolist()
        self._median, self._p = median.tolist(), p_resp.tolist()
        self._raw = (rmst, surv, median)
        if self.explained:
            k = min(owner.top, shap.shape[2])
            self._top = np.argsort(-np.abs(shap), axis=2, kind="stable")[:, :, :k].tolist()
            self._shap_l = shap.tolist()
            self._base_l = base.tolist()

    def has_model(self, j: int) -> bool:
        return self._cols[j] >= 0

    def score_matrix(self, objective: str) -> np.ndarray:
        """Objective value (n, modalities in contract order); NaN = no model.

        Higher is better; a median not reached (inf) ranks first.
        """
        rmst, surv, median = self._raw
        return self.owner.contract_order(
            objective_matrix(objective, rmst, surv, self.owner.all_times, median))

    def extrapolated_because(self, i: int, j: int) -> list[str]:
        """Why the prediction of modality ``j`` for row ``i`` extrapolates beyond the training
        data: key features outside the envelope of the modality's treated patients
        (:mod:`pipeline.recommender.envelope`), and a propensity below the data-support
        threshold when the guard is on. Empty: within the support."""
        why = list(self._extrapolated[i][j]) if self._extrapolated is not None else []
        if self.support is not None and not self.support[i][j]:
            why.append(f"estimated propensity {float(self.propensity[i][j]):.3g} below "
                       f"{self.min_propensity:g} (recommend.min_propensity)")
        return why

    def outcomes(self, i: int, j: int, forbidden: bool = False) -> dict:
        """The outcome block of modality ``j`` for row ``i`` (``ModalityAssessment.outcomes``).

        ``p_response`` is None, with ``response_note`` saying why, when the modality is
        ``forbidden`` or its response is not applicable (not assessed in its training
        patients, e.g. resection and transplant, where the tumour is removed rather than
        graded). ``response_basis``: ``model`` (patient-level), ``rate`` (the modality's
        response rate, the same for every patient: too few labels for a model) or
        ``not_applicable``. ``extrapolated`` (None: not checked) and ``extrapolated_because`` mark a
        prediction outside the training data's support.
        """
        o = self.owner
        c = self._cols[j]
        if c < 0:
            return {"survival": dict.fromkeys(self._keys), "median_os_months": None,
                    "median_reached": None, "rmst_months": None, "rmst_interval_months": None,
                    "rmst_horizon_months": o.horizon, "interval_level": o.level,
                    "p_response": None, "note": "modality not observed in training: no model",
                    "response_applicable": False, "response_basis": None,
                    "response_note": "no model",
                    "extrapolated": None, "extrapolated_because": []}
        med = self._median[i][c]
        lo, hi = self._lo[i][c], self._hi[i][c]
        p = self._p[i][c]
        reached = math.isfinite(med)
        applicable = p == p
        note = None
        if forbidden:
            p, note = float("nan"), "not shown: the modality is forbidden for this patient"
        elif not applicable:
            note = ("not applicable: response was not assessed in enough of the training "
                    "patients who received this modality (mRECIST grades viable tumour; "
                    "after resection or transplant the tumour is removed)")
        checked = self._extrapolated is not None or self.support is not None
        why = self.extrapolated_because(i, j) if checked else []
        return {
            "survival": dict(zip(self._keys, self._report[i][c], strict=True)),
            "median_os_months": med if reached else None,
            "median_reached": reached,
            "rmst_months": self._rmst_l[i][c],
            "rmst_interval_months": [lo, hi] if lo == lo else None,
            "rmst_horizon_months": o.horizon,
            "interval_level": o.level,
            "p_response": None if p != p else p,
            "response_applicable": bool(applicable),
            "response_basis": o.response_basis[j],
            "response_note": note,
            "extrapolated": bool(why) if checked else None,
            "extrapolated_because": why,
        }

    def curve(self, i: int, j: int) -> dict:
        c = self._cols[j]
        if c < 0:
            return {"months": [], "survival": []}
        return {"months": self._months, "survival": self._curve[i][c]}

    def factors(self, i: int, j: int, derived) -> tuple:
        """(top SHAP factors in contract terms, base value) of modality ``j`` for row ``i``."""
        c = self._cols[j]
        if c < 0 or not self.explained:
            return (), None
        o = self.owner
        values, names, modality = self._shap_l[i][c], o.group_order, MODALITIES[j]
        out = []
        for g in self._top[i][c]:
            name = names[g]
            value = modality if name == MODALITY_GROUP else plain_value(derived.get(name))
            out.append(Factor(name, o.labels.get(name, name), value, values[g]))
        return tuple(out), self._base_l[i][c]


def plain_value(value):
    """A python scalar for display (None for missing)."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
