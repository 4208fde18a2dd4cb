"""Treatment policies measured with the counterfactual truth (synthetic cohorts): the
recommender's choice through the served code path, the guideline's, the observed physicians',
the oracle, the best single modality; prediction error of RMST and PEHE of modality contrasts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import MODALITIES


def recommender_policy(bundle, test: pd.DataFrame, ruleset: str, recommend_params) -> np.ndarray:
    """Index of the modality :func:`pipeline.recommend` chooses for every test patient.

    The served code path itself (guideline veto, data-support guard, objective), without SHAP
    or intervals; no preferences (no declined modality, no cost ceiling).
    """
    from features.contract import PATIENT_FIELDS
    from pipeline.recommender.runtime import Recommender

    recommender = Recommender(bundle, recommend_params)
    recs = recommender.recommend_batch(test[[c for c in PATIENT_FIELDS if c in test]],
                                       guideline=ruleset, explain=False, intervals=False,
                                       progress=False)
    return np.array([MODALITIES.index(r.recommended) if r.recommended else
                     MODALITIES.index("supportive_care") for r in recs])


def guideline_allowed(test: pd.DataFrame, ruleset: str):
    """(allowed mask (n, 10), guideline-policy choice index) from the rule layer."""
    import guidelines

    assessments = guidelines.assess_frame(test, ruleset)
    allowed = np.array([[m not in a.forbidden for m in MODALITIES] for a in assessments])
    guideline_choice = np.array([
        MODALITIES.index(guidelines.preferred_allowed(a)) for a in assessments
    ])
    return allowed, guideline_choice


def counterfactual_metrics(pred: np.ndarray, truth: np.ndarray, allowed: np.ndarray,
                           observed_idx: np.ndarray, guideline_idx: np.ndarray,
                           choice: np.ndarray) -> dict:
    """Error of predicted RMST24 and value of each policy, measured with the truth.

    ``choice`` is the recommender's choice per patient (index into MODALITIES).
    """
    from models import metrics

    report = metrics.policy_report(truth, choice, reference_idx=observed_idx, allowed=allowed)
    best_single = int(np.argmax(truth.mean(axis=0)))
    values = {
        "oracle": report["oracle_value"],
        "model": report["value"],
        "observed": report["reference_value"],
        "best_single_modality": metrics.policy_value(truth, np.full(len(truth), best_single)),
        "guideline": metrics.policy_value(truth, guideline_idx),
    }
    gain = values["oracle"] - values["observed"]

    def captured(v):
        return (v - values["observed"]) / gain if gain > 1e-9 else None

    return {
        "rmse_rmst24": metrics.rmst_rmse(truth, pred, list(MODALITIES)),
        "pehe_rmst24": metrics.pehe(truth, pred)["mean"],
        "policy_value_months": values,
        "regret_months": {k: values["oracle"] - v for k, v in values.items()},
        "gain_captured": {k: captured(v) for k, v in values.items()},
        "best_single_modality": MODALITIES[best_single],
        "share_optimal": report["share_optimal"],
        "forbidden_recommendations": int((~allowed[np.arange(len(choice)), choice]).sum()),
        "model_choice_mix": {MODALITIES[k]: int(v) for k, v in
                             zip(*np.unique(choice, return_counts=True), strict=True)},
    }


def interval_coverage(model, X, pred: np.ndarray, truth: np.ndarray, horizon: float,
                      level: float) -> dict | None:
    """How often the served RMST interval holds the true RMST (the synthetic truth).

    The interval of the recommender (``recommend.interval_level``): the bootstrap members'
    percentile band extended to the point estimate ``pred`` (n, 10). It reflects the variability
    of refits on resampled patients, not the model's bias, so its coverage of the truth can be
    well below ``level``: measured here, reported as is. None without bootstrap members.
    """
    if len(getattr(model, "members_", ())) < 2:
        return None
    lo, hi = model.predict_rmst_interval(X, horizon, list(MODALITIES), level, estimate=pred)
    inside = (truth >= lo) & (truth <= hi)
    return {"level": float(level), "coverage": float(inside.mean()),
            "by_modality": {m: float(inside[:, j].mean()) for j, m in enumerate(MODALITIES)},
            "mean_width_months": float(np.mean(hi - lo))}


def truth_matrix(truth: pd.DataFrame, ids: pd.Series, column: str) -> np.ndarray | None:
    if truth is None or truth.empty:
        return None
    wide = truth.pivot(index="patient_id", columns="modality", values=column)
    return wide.loc[ids.to_numpy(), list(MODALITIES)].to_numpy(float)
