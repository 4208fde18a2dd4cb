"""The peers, fitted on the same split in the same run (lifelines CoxPH, random survival forest,
plain xgboost as S- and T-learners): same metrics, their policies through the same recommender,
and ours minus each peer with paired bootstrap intervals."""

from __future__ import annotations

import logging
import time

import numpy as np

from pipeline.evaluation.factual import EvaluateParams, factual_predictions, predicted_rmst
from pipeline.evaluation.policies import counterfactual_metrics, recommender_policy

log = logging.getLogger(__name__)


def evaluate_peers(ep: EvaluateParams, tp, bundle, recommend_params, train, test, X_train,
                   X_test, y_test, modality_test, truth, allowed, observed_idx,
                   guideline_idx, ours: dict) -> tuple[dict, dict]:
    """Fit each peer on the same split; same metrics, its policy through the same recommender.

    Returns (peer rows, comparisons): for each peer, ours minus the peer's integrated Brier
    score and share of gain captured, with paired bootstrap intervals over the test patients
    (``ours``: our ``surv`` at ``times_months`` and policy ``choice``).

    A peer that cannot be fitted on these data (a T-learner on a cohort where a modality has
    fewer than 5 deaths, say) is skipped with a warning: its row is ``{"skipped": reason}``
    and it has no comparison. Fit times are in each row's ``fit_seconds``."""
    from models import metrics
    from models.errors import ModelInputError
    from pipeline.recommender.bundle import Bundle
    from pipeline.recommender.training import make_outcome_model, targets

    y_train, mod_train, resp_train = targets(train)
    results, comparisons = {}, {}
    boot = {"n_boot": ep.bootstrap, "seed": tp.seed}
    oracle_idx = (np.where(allowed, truth, -np.inf).argmax(axis=1) if truth is not None
                  else None)
    for name, overrides in ep.peers.items():
        started = time.perf_counter()
        model = make_outcome_model(tp, **dict(overrides))
        try:
            model.fit(X_train, y_train, mod_train, response=resp_train)
        except ModelInputError as exc:
            reason = str(exc).splitlines()[0]
            log.warning("peer %s skipped: it cannot be fitted on this cohort: %s", name, reason)
            results[name] = {"skipped": reason}
            continue
        fit_s = time.perf_counter() - started
        risk, surv = factual_predictions(model, X_test, modality_test,
                                         np.asarray(ep.times_months, float),
                                         ep.risk_horizon_months)
        rep = metrics.survival_report(y_train, y_test, risk, surv, ep.times_months)
        row = {"fit_seconds": round(fit_s, 2), "harrell_c": rep["harrell_c"],
               "uno_c": rep["uno_c"], "ibs": rep["ibs"], "mean_auc": rep["mean_auc"]}
        comparisons[name] = {"ibs_diff": metrics.ibs_difference(
            y_train, y_test, ours["surv"], surv, ep.times_months, **boot)}
        if truth is not None:
            pred = predicted_rmst(model, X_test, ep.rmst_horizon_months)
            peer = Bundle(bundle.matrix, model, {"model_version": name}, bundle.background,
                          None, bundle.rules)
            choice = recommender_policy(peer, test, ep.guideline, recommend_params)
            cf = counterfactual_metrics(pred, truth, allowed, observed_idx, guideline_idx,
                                        choice)
            row.update(pehe_rmst24=cf["pehe_rmst24"],
                       policy_value=cf["policy_value_months"]["model"],
                       gain_captured=cf["gain_captured"]["model"],
                       regret_months=cf["regret_months"]["model"])
            comparisons[name]["gain_diff"] = metrics.gain_difference(
                truth, ours["choice"], choice, observed_idx, oracle_idx, **boot)
        results[name] = row
        log.info("peer %-10s fit %.1fs  Harrell %.3f  Uno %s  gain %s", name, fit_s,
                 rep["harrell_c"], fmt(rep["uno_c"]), fmt(row.get("gain_captured")))
    return results, comparisons


def fmt(v):
    return "n/a" if v is None else f"{v:.3f}"


def interval(d) -> str:
    """``+0.012 [-0.004, +0.027]`` from a :func:`models.metrics.paired_bootstrap` result."""
    if not d or d.get("estimate") is None:
        return "n/a"
    if d.get("lower") is None:
        return f"{d['estimate']:+.4f}"
    return f"{d['estimate']:+.4f} [{d['lower']:+.4f}, {d['upper']:+.4f}]"
