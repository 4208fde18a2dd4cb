"""Batch outcome tables, treatment policy and SHAP explanations of ModalityOutcomeModel.

Kept apart from :mod:`models.counterfactual` (fitting and per-quantity predictions)
to keep files short; mixed into :class:`~models.ModalityOutcomeModel`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .curves import rmst_stacked
from .errors import ModelInputError
from .explain import UNITS, Explanation, contrast, from_contribs, tree_shap

_OBJECTIVE = re.compile(r"^(rmst|surv)(\d+(?:\.\d+)?)$")


def _groups(columns) -> dict:
    """One-hot modality columns -> "modality"; log-propensity columns -> "propensity"."""
    return {c: c.split("=")[0] for c in columns
            if c.startswith("modality=") or c.startswith("propensity=")}


class OutcomeTableMixin:
    """Vectorised multi-modality scoring, policy and explanations."""

    def _quantities(self, arms, Xa, js, times, horizon, curves=True) -> dict:
        """Dict of arrays (n, len(js)[, len(times)]) for one ensemble member.

        ``curves=False`` computes the RMST only (``surv`` and ``median`` are None).
        """
        n, k = Xa.shape[0], len(js)
        surv = np.empty((n, k, len(times))) if curves else None
        rmst = np.empty((n, k))
        med = np.empty((n, k)) if curves else None
        if self.base == "xgboost" and arms.kind == "s" and arms.baselines is not None:
            # stratified: one margin call, then each modality's own baseline hazard
            marg = arms.margins(Xa, js)
            bases = [arms.baselines[j] for j in js]
            rmst[:] = rmst_stacked(bases, marg, horizon, arms.stack_cache(tuple(js)))
            if curves:
                cache = arms.stack_cache(tuple(js))
                key = ("cumhaz", times.tobytes())
                if key not in cache:
                    cache[key] = np.stack([b.at(times) for b in bases])  # (k, len(times))
                cumhaz = cache[key]
                surv[:] = np.exp(-np.exp(marg)[:, :, None] * cumhaz[None, :, :])
                for c, b in enumerate(bases):
                    med[:, c] = b.median(marg[:, c])
        elif self.base == "xgboost" and arms.kind == "s":
            # one model for every modality: read every quantity off all margins at once
            marg = arms.margins(Xa, js)
            m, flat = arms.model_for(js[0]), marg.ravel()
            rmst[:] = m.rmst_from_margin(flat, horizon).reshape(n, k)
            if curves:
                surv[:] = m.survival_from_margin(flat, times).reshape(n, k, len(times))
                med[:] = m.median_from_margin(flat).reshape(n, k)
        elif self.base == "xgboost":
            marg = arms.margins(Xa, js)
            for c, j in enumerate(js):
                m = arms.model_for(j)
                rmst[:, c] = m.rmst_from_margin(marg[:, c], horizon)
                if curves:
                    surv[:, c] = m.survival_from_margin(marg[:, c], times)
                    med[:, c] = m.median_from_margin(marg[:, c])
        else:
            # peers predict whole curves: compute each modality's curves once, then read off
            # every quantity (three predictions per modality tripled the forest's cost)
            from .curves import step_at, step_median, step_rmst

            for c, j in enumerate(js):
                model = arms.model_for(j)
                curves_ = model.predict_survival_function(arms.design(Xa, j), return_array=True)
                grid = model.unique_times_
                rmst[:, c] = step_rmst(grid, curves_, horizon)
                if curves:
                    surv[:, c] = step_at(grid, curves_, times)
                    med[:, c] = step_median(grid, curves_)
        return {"surv": surv, "rmst": rmst, "median": med}

    def _response_matrix(self, Xa, js, member=None) -> np.ndarray:
        """Response probabilities (n, len(js)) of the full fit or of a bootstrap member;
        NaN for a modality without a response estimate."""
        return self.response_model_.matrix(Xa, list(js), member)

    def predict_outcomes(self, X, times=(6, 12, 24, 36), horizon=24, modalities=None,
                         interval=None, response=True, curves=True) -> pd.DataFrame:
        """Every outcome of every patient under every (or the given) modality.

        Returns a long frame, one row per (patient, modality), patient-major, with
        columns ``row`` (position in X), ``index`` (X.index), ``modality``,
        ``surv_<t>`` (survival probability at each time), ``rmst_<horizon>``
        (restricted mean survival time, time unit of y), ``median`` (inf if not
        reached), ``p_response`` (if a response model was fitted) and, with
        ``interval``, ``<column>_lower`` / ``<column>_upper``: the bootstrap members'
        percentiles, extended to contain the point estimate (see ``_band``).
        ``response=False`` skips the response model (and its members): faster when only the
        survival quantities are wanted. ``curves=False`` skips ``surv_<t>`` and ``median``
        (RMST only; ``times`` is then ignored): the cheapest interval band.
        """
        Xa = self._X(X)
        mods = self.modalities_ if modalities is None else [str(m) for m in modalities]
        js = [self._idx(m) for m in mods]
        times = np.atleast_1d(np.asarray(times, dtype=float))
        horizon = float(horizon)
        n, k = Xa.shape[0], len(js)
        arms = [self.main_] + (self.members_ if interval is not None else [])
        qs = [self._quantities(a, Xa, js, times, horizon, curves) for a in arms]
        cols = ({f"surv_{t:g}": [q["surv"][:, :, i] for q in qs] for i, t in enumerate(times)}
                if curves else {})
        cols[f"rmst_{horizon:g}"] = [q["rmst"] for q in qs]
        if curves:
            cols["median"] = [q["median"] for q in qs]
        if response and self.response_model_ is not None:
            members = [None] + (self.response_members_ if interval is not None else [])
            cols["p_response"] = [self._response_matrix(Xa, js, b) for b in members]
        index = getattr(X, "index", pd.RangeIndex(n))
        out = {"row": np.repeat(np.arange(n), k), "index": np.repeat(np.asarray(index), k),
               "modality": np.tile(np.asarray(mods, dtype=object), n)}
        for name, vals in cols.items():
            if interval is None:
                out[name] = vals[0].ravel()
            else:
                est, lo, hi = self._wrap(vals, interval)
                out[name], out[f"{name}_lower"], out[f"{name}_upper"] = (
                    est.ravel(), lo.ravel(), hi.ravel())
        return pd.DataFrame(out)

    def predict_rmst_interval(self, X, horizon=24, modalities=None, interval=0.9,
                              estimate=None, return_members=False) -> tuple:
        """(lower, upper) bootstrap interval of the RMST to ``horizon`` under each modality.

        Arrays (n patients, modalities), modalities in the order given (default: every
        fitted one). The same numbers as the ``rmst_<horizon>_lower`` / ``_upper`` columns of
        :meth:`predict_outcomes` with ``interval``, computing only what they need (no survival
        grid, median or response): the cheap way to put a band on a ranking by RMST. The band
        always contains the full fit's RMST (see ``_band``); pass that point estimate as
        ``estimate`` (n, modalities) when already computed, else it is computed here.
        ``return_members``: also return the members' RMSTs (members, n, modalities), e.g. for
        paired differences between modalities.
        """
        Xa = self._X(X)
        mods = self.modalities_ if modalities is None else [str(m) for m in modalities]
        js = [self._idx(m) for m in mods]
        horizon = float(horizon)
        at = np.array([horizon])
        members = [self._quantities(a, Xa, js, at, horizon, curves=False)["rmst"]
                   for a in self.members_]
        if estimate is None and len(members) >= 2:
            estimate = self._quantities(self.main_, Xa, js, at, horizon, curves=False)["rmst"]
        elif estimate is not None:
            estimate = np.asarray(estimate, dtype=float)
            if estimate.shape != (Xa.shape[0], len(js)):
                raise ModelInputError(
                    "The 'estimate' parameter of predict_rmst_interval must be the point "
                    f"estimates, shape {(Xa.shape[0], len(js))} (patients x modalities). Got "
                    f"{estimate.shape} instead."
                )
        band = self._band(members, interval, estimate)
        return (*band, np.stack(members)) if return_members else band

    def _objective_scores(self, X, objective: str, arms=None, member=None) -> np.ndarray:
        """Score matrix (n, M) for a policy objective, higher = better."""
        Xa = self._X(X)
        arms = self.main_ if arms is None else arms
        js = list(range(len(self.modalities_)))
        if objective == "response":
            return self._response_matrix(Xa, js, member)
        if objective == "median":
            return self._quantities(arms, Xa, js, np.array([1.0]), 1.0)["median"]
        m = _OBJECTIVE.match(objective)
        if m is None:
            raise ModelInputError(
                "The 'objective' parameter of policy must be 'rmst<H>', 'surv<T>', 'median' "
                f"or 'response' (e.g. 'rmst24'). Got {objective!r} instead."
            )
        t = float(m.group(2))
        q = self._quantities(arms, Xa, js, np.array([t]), t, curves=m.group(1) != "rmst")
        return q["rmst"] if m.group(1) == "rmst" else q["surv"][:, :, 0]

    def policy(self, X, allowed=None, objective="rmst24", confidence=None,
               return_scores=False):
        """Recommended modality per patient: argmax of the predicted objective.

        With ``confidence`` (e.g. 0.8, needs ``n_bootstrap`` members) individual
        effects are not trusted blindly: a patient is moved away from the *default*
        (the allowed modality with the best mean score over the rows of ``X``) only if
        the patient's best modality beats the default in at least that share of the
        bootstrap members. This keeps a policy from chasing noise when there is little
        true heterogeneity (score the whole cohort at once so the default is stable).

        Parameters
        ----------
        X : DataFrame (n, p)
        allowed : bool array (n, M) or DataFrame with modality columns, optional
            Permitted modalities (columns in ``modalities_`` order for arrays).
            Rows with nothing allowed get ``None``.
        objective : str
            ``"rmst<H>"`` (RMST to H, default 24), ``"surv<T>"``, ``"median"`` or
            ``"response"``.
        return_scores : bool
            Also return the (n, M) score frame.
        """
        scores = self._objective_scores(X, objective)
        if allowed is not None:
            if isinstance(allowed, pd.DataFrame):
                allowed = allowed.reindex(columns=self.modalities_, fill_value=False)
            mask = np.asarray(allowed, dtype=bool)
            if mask.shape != scores.shape:
                raise ModelInputError(
                    f"The 'allowed' parameter of policy must be a boolean matrix of shape "
                    f"{scores.shape} (patients x modalities {self.modalities_}). Got "
                    f"{mask.shape} instead."
                )
            scores = np.where(mask, scores, -np.inf)
        best = scores.argmax(axis=1)
        if confidence is not None:
            best = self._confident(X, scores, best, objective, float(confidence))
        labels = np.asarray(self.modalities_, dtype=object)[best]
        labels[~np.isfinite(scores.max(axis=1))] = None
        if return_scores:
            return labels, pd.DataFrame(scores, columns=self.modalities_,
                                        index=getattr(X, "index", None))
        return labels

    def _confident(self, X, scores, best, objective, confidence) -> np.ndarray:
        if len(self.members_) < 2:
            raise ModelInputError(
                "The 'confidence' parameter of policy needs bootstrap members. Got "
                f"n_bootstrap={len(self.members_)} instead. Hint: refit with n_bootstrap >= 20."
            )
        finite = np.where(np.isfinite(scores), scores, np.nan)
        col_mean = np.nanmean(finite, axis=0)
        # default per row: the modality with the best cohort-mean score among allowed ones
        ranked = np.argsort(-np.nan_to_num(col_mean, nan=-np.inf))
        allowed_rank = np.isfinite(scores[:, ranked])
        default = ranked[allowed_rank.argmax(axis=1)]
        if objective == "response":
            members = [self._objective_scores(X, objective, member=b)
                       for b in self.response_members_]
        else:
            members = [self._objective_scores(X, objective, arms=a) for a in self.members_]
        rows = np.arange(scores.shape[0])
        wins = np.mean([m[rows, best] > m[rows, default] for m in members], axis=0)
        return np.where((best == default) | (wins >= confidence), best, default)

    # ------------------------------------------------------------- explanations
    def _unit(self) -> str:
        if self.base != "xgboost":
            raise ModelInputError(
                f"The 'base' parameter must be 'xgboost' for SHAP explanations. Got "
                f"{self.base!r} instead. Hint: refit with base='xgboost'."
            )
        return UNITS[self.main_.models[0].objective]

    def explain(self, X, modality=None, member=None):
        """SHAP values of the predicted margin under ``modality`` (exact TreeSHAP).

        Unit: log hazard ratio (Cox; positive = riskier) or log time (AFT). For
        S-learners the one-hot modality columns are summed into one ``modality``
        column and the log-propensity features (if any) into one ``propensity`` column
        (the part of the prediction explained by the indication pattern of the
        features). ``modality=None`` returns a dict modality -> Explanation (one stacked
        TreeSHAP call for S-learners). ``member`` (an index into the bootstrap members)
        explains that member's refit instead of the full fit (stability of explanations).
        """
        unit = self._unit()
        Xa = self._X(X)
        mods = self.modalities_ if modality is None else [str(modality)]
        js = [self._idx(m) for m in mods]
        arms = self.main_ if member is None else self.members_[member]
        n = Xa.shape[0]
        index = getattr(X, "index", None)
        out = {}
        if arms.kind == "s":
            model = arms.models[0]
            if arms.factored(n, "shap"):
                ex = from_contribs(arms.factoring.contribs(arms.zero_design(Xa), js),
                                   model.feature_names_in_, unit)
            else:
                D = np.vstack([arms.design(Xa, j) for j in js])
                ex = tree_shap(model.booster_, D, model.feature_names_in_, unit)
            groups = _groups(model.feature_names_in_)
            vals = ex.grouped(groups)
            for c, m in enumerate(mods):
                sl = slice(c * n, (c + 1) * n)
                v = vals.values.iloc[sl].set_axis(index if index is not None else range(n))
                out[m] = Explanation(v, ex.base_values[sl], unit)
        else:
            for m, j in zip(mods, js, strict=True):
                model = arms.models[j]
                out[m] = tree_shap(model.booster_, Xa, model.feature_names_in_, unit,
                                   index).grouped(_groups(model.feature_names_in_))
        return out if modality is None else out[mods[0]]

    def explain_contrast(self, X, a, b, horizon=None) -> Explanation:
        """Why modality ``a`` differs from ``b`` for each patient: SHAP(a) - SHAP(b).

        Same background (the training data of the one model for S-learners), so the
        contrast is exact: ``base_values + values.sum(1) = margin_a - margin_b``, a log
        hazard ratio of a vs b for Cox S-learners with one pooled baseline (negative = a
        lowers the hazard). For T-learners and stratified S-learners each modality has
        its own baseline hazard; give ``horizon`` to add ``log H0_a(horizon) -
        log H0_b(horizon)`` to the base value, making the contrast a difference of log
        cumulative hazards at ``horizon``.
        """
        ea, eb = self.explain(X, a), self.explain(X, b)
        out = contrast(ea, eb)
        if horizon is not None:
            off = self.baseline_offset(a, b, horizon)
            if off is not None:
                out = Explanation(out.values, out.base_values + off,
                                  f"difference in log cumulative hazard at {horizon:g}")
        return out

    def rmst_at_margin(self, modality, margin, horizon, member=None) -> np.ndarray:
        """RMST to ``horizon`` under ``modality`` for given survival-model margins (the SHAP
        unit: log hazard ratio for Cox, log time for AFT; e.g. a SHAP base value plus some
        contributions), with the modality's own baseline hazard for stratified Cox models: the
        map from the SHAP unit to months (xgboost bases only)."""
        self._unit()
        arms = self.main_ if member is None else self.members_[member]
        j = self._idx(modality)
        margin = np.asarray(margin, dtype=float)
        if arms.baselines is not None:
            return arms.baselines[j].rmst(margin, float(horizon))
        return arms.model_for(j).rmst_from_margin(margin, float(horizon))

    def baseline_offset(self, a, b, horizon) -> float | None:
        """``log H0_a(horizon) - log H0_b(horizon)`` when modalities have their own baseline
        hazards (T-learners, stratified S-learners; Cox), else None (one shared baseline)."""
        arms, ia, ib = self.main_, self._idx(a), self._idx(b)
        if arms.baselines is not None:
            ha, hb = arms.baselines[ia], arms.baselines[ib]
        elif arms.kind == "t" and arms.models[ia].objective == "cox":
            ha, hb = arms.models[ia].baseline_, arms.models[ib].baseline_
        else:
            return None
        return float(np.log(ha.at([horizon])[0]) - np.log(hb.at([horizon])[0]))
