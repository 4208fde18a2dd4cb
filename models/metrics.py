"""Held-out metrics for survival, response and counterfactual (per-modality) predictions.

Dataset-agnostic. Survival inputs are structured arrays (event, time) as in
scikit-survival. IPCW metrics (Uno's C, Brier, time-dependent AUC) fail when
evaluation times fall outside the test follow-up or test times exceed the training
follow-up: :func:`usable_times` clips the requested times into the valid window and
the report says which times were used.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .errors import ModelInputError, check_survival_y


def _std_y(y):
    """Structured array with fields (event, time) whatever the input field names."""
    from sksurv.util import Surv

    event, time = check_survival_y(y, "metrics")
    return Surv.from_arrays(event, time), event, time


def usable_times(y_train, y_test, times) -> np.ndarray:
    """Keep ``times`` strictly inside the test follow-up and the training follow-up.

    Valid window: ``min(test time) <= t < min(max test time, max train time)``.
    """
    _, _, ttr = _std_y(y_train)
    _, _, tte = _std_y(y_test)
    t = np.unique(np.asarray(times, dtype=float))
    hi = min(tte.max(), ttr.max())
    return t[(t >= tte.min()) & (t < hi)]


def _test_mask(y_train, y_test):
    """Test rows whose time is below the largest training time (needed by IPCW)."""
    _, _, ttr = _std_y(y_train)
    _, _, tte = _std_y(y_test)
    return tte < ttr.max()


def survival_report(y_train, y_test, risk, surv_at, times) -> dict:
    """Discrimination and accuracy of survival predictions on a held-out set.

    Parameters
    ----------
    y_train, y_test : structured arrays (event, time)
        Training target (for the censoring distribution of IPCW metrics) and test target.
    risk : array (n_test,)
        Risk score, higher = riskier (e.g. ``SurvivalModel.predict``).
    surv_at : array (n_test, len(times)) or callable
        Predicted survival at ``times``; a callable ``f(times) -> array`` is evaluated
        on the clipped times (recommended, since times may be clipped).
    times : array-like
        Requested evaluation times (time unit of y); clipped by :func:`usable_times`.

    Returns
    -------
    dict
        ``harrell_c``, ``uno_c`` (truncated at the largest usable time), ``ibs``
        (integrated Brier score, lower is better; None with < 2 usable times),
        ``auc`` (time-dependent cumulative/dynamic AUC per time), ``mean_auc``,
        ``times_used`` and ``times_dropped``.
    """
    from sksurv.metrics import (
        brier_score,
        concordance_index_censored,
        concordance_index_ipcw,
        cumulative_dynamic_auc,
        integrated_brier_score,
    )

    ytr, _, _ = _std_y(y_train)
    yte, ev, tt = _std_y(y_test)
    risk = np.asarray(risk, dtype=float)
    req = np.asarray(times, dtype=float)
    used = usable_times(y_train, y_test, req)
    out = {"harrell_c": float(concordance_index_censored(ev, tt, risk)[0]),
           "times_used": used.tolist(),
           "times_dropped": sorted(set(req.tolist()) - set(used.tolist()))}
    if callable(surv_at):
        surv = np.asarray(surv_at(used), dtype=float) if len(used) else np.empty((len(tt), 0))
    else:
        surv = np.asarray(surv_at, dtype=float)[:, np.isin(req, used)]
    keep = _test_mask(y_train, y_test)
    if len(used) == 0:
        out.update(uno_c=None, ibs=None, brier=None, auc=None, mean_auc=None)
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["uno_c"] = float(concordance_index_ipcw(ytr, yte[keep], risk[keep],
                                                    tau=used.max())[0])
        _, bs = brier_score(ytr, yte[keep], surv[keep], used)
        out["brier"] = dict(zip(used.tolist(), np.round(bs, 6).tolist(), strict=True))
        out["ibs"] = (float(integrated_brier_score(ytr, yte[keep], surv[keep], used))
                      if len(used) >= 2 else None)
        try:
            auc, mean_auc = cumulative_dynamic_auc(ytr, yte[keep], risk[keep], used)
            out["auc"] = dict(zip(used.tolist(), np.round(auc, 6).tolist(), strict=True))
            out["mean_auc"] = float(mean_auc)
        except ValueError:  # e.g. no event before some time in the test set
            out["auc"], out["mean_auc"] = None, None
    return out


def calibration_table(y_test, surv_t, t: float, n_bins: int = 10) -> tuple[pd.DataFrame, dict]:
    """Calibration of predicted survival at time ``t`` by risk group.

    Patients are grouped by deciles (``n_bins`` quantile groups) of predicted
    ``S(t)``; in each group the mean predicted survival is compared with the
    Kaplan-Meier survival observed at ``t``.

    Returns
    -------
    table : DataFrame
        Columns ``bin, n, events, predicted, observed`` (probabilities at t).
    summary : dict
        ``slope`` and ``intercept`` of observed on predicted (weighted by group size;
        slope 1 and intercept 0 = perfect), ``ici`` = weighted mean |obs - pred|.
    """
    from sksurv.nonparametric import kaplan_meier_estimator

    _, ev, tt = _std_y(y_test)
    p = np.asarray(surv_t, dtype=float).ravel()
    if p.shape[0] != tt.shape[0]:
        raise ModelInputError(
            f"The 'surv_t' parameter of calibration_table must have {tt.shape[0]} values. "
            f"Got {p.shape[0]} instead."
        )
    ranks = pd.qcut(pd.Series(p).rank(method="first"), n_bins, labels=False).to_numpy()
    rows = []
    for b in range(n_bins):
        m = ranks == b
        if m.sum() == 0:
            continue
        km_t, km_s = kaplan_meier_estimator(ev[m], tt[m])
        idx = np.searchsorted(km_t, t, side="right")
        obs = 1.0 if idx == 0 else float(km_s[idx - 1])
        rows.append({"bin": b, "n": int(m.sum()), "events": int(ev[m].sum()),
                     "predicted": float(p[m].mean()), "observed": obs})
    table = pd.DataFrame(rows)
    w = table["n"].to_numpy(float)
    x, yv = table["predicted"].to_numpy(), table["observed"].to_numpy()
    if np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, yv, 1, w=np.sqrt(w))
    else:
        slope, intercept = np.nan, np.nan
    summary = {"t": float(t), "slope": float(slope), "intercept": float(intercept),
               "ici": float(np.average(np.abs(yv - x), weights=w))}
    return table, summary


def response_report(y_true, proba) -> dict:
    """AUROC and Brier score of predicted response probabilities.

    NaN labels (not assessed) are skipped, and so are NaN probabilities (no response estimate
    for that modality: "not applicable"), counted in ``n_not_applicable``.
    """
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y = np.asarray(y_true, dtype=float)
    p = np.asarray(proba, dtype=float)
    labelled = ~np.isnan(y)
    m = labelled & ~np.isnan(p)
    y, p = y[m].astype(int), p[m]
    auc = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else None
    return {"auroc": auc, "brier": float(brier_score_loss(y, p)) if len(y) else None,
            "n": int(m.sum()), "n_not_applicable": int((labelled & ~m).sum()),
            "prevalence": float(y.mean()) if len(y) else None}


# -------------------------------------------------------------- counterfactual metrics
def rmst_rmse(true_rmst, pred_rmst, modalities=None) -> dict:
    """RMSE of predicted vs true RMST per modality (columns of (n, m) arrays)."""
    t, p = np.asarray(true_rmst, float), np.asarray(pred_rmst, float)
    names = modalities if modalities is not None else [str(j) for j in range(t.shape[1])]
    return {str(k): float(np.sqrt(np.mean((p[:, j] - t[:, j]) ** 2)))
            for j, k in enumerate(names)}


def pehe(true_rmst, pred_rmst) -> dict:
    """Precision in estimating heterogeneous effects over all modality pairs.

    For each pair (a, b): ``sqrt(mean(((pred_a - pred_b) - (true_a - true_b))^2))``.
    Returns ``{"mean": ..., "pairs": {"a-b": ...}}`` (pair keys use column indices).
    """
    t, p = np.asarray(true_rmst, float), np.asarray(pred_rmst, float)
    pairs = {}
    for a in range(t.shape[1]):
        for b in range(a + 1, t.shape[1]):
            d = (p[:, a] - p[:, b]) - (t[:, a] - t[:, b])
            pairs[f"{a}-{b}"] = float(np.sqrt(np.mean(d**2)))
    return {"mean": float(np.mean(list(pairs.values()))) if pairs else 0.0, "pairs": pairs}


def policy_value(true_rmst, choice_idx) -> float:
    """Mean true RMST when each patient receives the modality at ``choice_idx``."""
    t = np.asarray(true_rmst, float)
    c = np.asarray(choice_idx, dtype=int)
    return float(t[np.arange(t.shape[0]), c].mean())


def policy_report(true_rmst, choice_idx, reference_idx=None, allowed=None) -> dict:
    """Value, regret and captured gain of a treatment policy given true outcomes.

    Parameters
    ----------
    true_rmst : array (n, m)
        True RMST of every patient under every modality (simulation ground truth).
    choice_idx : array (n,)
        Column index chosen by the policy.
    reference_idx : array (n,) or int, optional
        Reference policy (e.g. the observed treatment, or the best arm on average);
        default = the single modality with the best mean true RMST among allowed ones.
    allowed : bool array (n, m), optional
        Permitted modalities; the oracle chooses among them only.

    Returns
    -------
    dict
        ``value``, ``oracle_value``, ``reference_value``, ``regret`` (oracle - value,
        >= 0), ``captured_gain`` = (value - reference) / (oracle - reference)
        (1 = all achievable gain over the reference captured; None if no gain is
        possible) and ``share_optimal`` (share of patients given an optimal modality).
    """
    t = np.asarray(true_rmst, float)
    n = t.shape[0]
    masked = t if allowed is None else np.where(np.asarray(allowed, bool), t, -np.inf)
    oracle = masked.max(axis=1)
    if reference_idx is None:
        col_means = np.where(np.isfinite(masked), masked, np.nan)
        reference_idx = int(np.nanargmax(np.nanmean(col_means, axis=0)))
    ref = np.broadcast_to(np.asarray(reference_idx, dtype=int), (n,))
    value = policy_value(t, choice_idx)
    ref_value = policy_value(t, ref)
    oracle_value = float(oracle.mean())
    gain = oracle_value - ref_value
    chosen = t[np.arange(n), np.asarray(choice_idx, int)]
    return {"value": value, "oracle_value": oracle_value, "reference_value": ref_value,
            "regret": oracle_value - value,
            "captured_gain": float((value - ref_value) / gain) if gain > 1e-12 else None,
            "share_optimal": float(np.mean(chosen >= oracle - 1e-9))}


def paired_bootstrap(stat, n: int, n_boot: int = 200, seed: int = 0,
                     level: float = 0.95) -> dict:
    """Estimate and percentile interval of ``stat(rows)`` over bootstrap resamples of ``n`` rows.

    ``stat`` gets an index array (all rows for the estimate, resampled rows otherwise) and
    returns a float, or None when a resample cannot be scored (skipped and counted). Paired:
    the same resample scores both models of a difference.
    """
    rng = np.random.default_rng(seed)
    est = stat(np.arange(n))
    values = []
    for _ in range(n_boot):
        v = stat(rng.integers(0, n, n))
        if v is not None and np.isfinite(v):
            values.append(v)
    a = (1.0 - level) / 2.0
    lo, hi = (np.quantile(values, [a, 1.0 - a]) if len(values) >= 20 else (np.nan, np.nan))
    return {"estimate": None if est is None else float(est),
            "lower": None if np.isnan(lo) else float(lo),
            "upper": None if np.isnan(hi) else float(hi),
            "level": level, "n_boot": n_boot, "n_skipped": n_boot - len(values)}


def ibs_difference(y_train, y_test, surv_a, surv_b, times, n_boot: int = 200,
                   seed: int = 0) -> dict:
    """Integrated Brier score of A minus B (negative = A better), paired bootstrap interval.

    ``surv_a`` / ``surv_b``: predicted survival (n_test, len(times)) at ``times`` (clipped as in
    :func:`survival_report`, so the estimate equals the difference of the reported IBS).
    """
    from sksurv.metrics import integrated_brier_score

    ytr, _, _ = _std_y(y_train)
    yte, _, _ = _std_y(y_test)
    req = np.asarray(times, dtype=float)
    used = usable_times(y_train, y_test, req)
    if len(used) < 2:
        return {"estimate": None, "lower": None, "upper": None, "note": "< 2 usable times"}
    cols = np.isin(req, used)
    keep = _test_mask(y_train, y_test)
    yk = yte[keep]
    sa = np.asarray(surv_a, float)[keep][:, cols]
    sb = np.asarray(surv_b, float)[keep][:, cols]

    def stat(rows):
        yr = yk[rows]
        if yr[yr.dtype.names[1]].max() <= used.max():  # follow-up of the resample too short
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return (integrated_brier_score(ytr, yr, sa[rows], used)
                        - integrated_brier_score(ytr, yr, sb[rows], used))
            except ValueError:
                return None

    return paired_bootstrap(stat, len(yk), n_boot, seed)


def gain_difference(true_rmst, choice_a, choice_b, observed_idx, oracle_idx,
                    n_boot: int = 200, seed: int = 0) -> dict:
    """Share of achievable gain captured by policy A minus policy B, paired bootstrap interval.

    Gain captured = (value - observed) / (oracle - observed), values = mean true RMST of the
    chosen modalities over the (resampled) patients; choices are modality indices per patient.
    """
    t = np.asarray(true_rmst, float)
    rows_all = np.arange(len(t))

    def values(choice):
        return t[rows_all, np.asarray(choice, int)]

    va, vb = values(choice_a), values(choice_b)
    vo, vbest = values(observed_idx), values(oracle_idx)

    def stat(rows):
        span = vbest[rows].mean() - vo[rows].mean()
        if span <= 0:
            return None
        return (va[rows].mean() - vb[rows].mean()) / span

    return paired_bootstrap(stat, len(t), n_boot, seed)
