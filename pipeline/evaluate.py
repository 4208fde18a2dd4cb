"""DVC stage ``evaluate``: honest held-out evaluation of the recommender against the truth and peers.

* Factual metrics on the held-out split, overall and per modality: Harrell's and Uno's C-index,
  integrated Brier score, time-dependent AUC, calibration at ``evaluate.calibration_month``,
  response AUROC and Brier score.
* Counterfactual metrics where the truth exists (the synthetic cohort): RMSE of predicted RMST24
  per modality, PEHE of modality contrasts, and the value of treatment policies measured with the
  truth: the model's (best predicted RMST24 among the modalities the guideline allows), the
  oracle, the observed physicians', the best single modality and the guideline's.
* Peers fitted on the same split in the same run (lifelines CoxPH, random survival forest, plain
  xgboost as S- and T-learners), with the same metrics and fit times.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.contract import MODALITIES
from pipeline import io, plots, stage
from pipeline.params import build

log = logging.getLogger("pipeline.evaluate")


@dataclass(frozen=True)
class EvaluateParams:
    times_months: tuple[float, ...]
    calibration_month: float
    rmst_horizon_months: float
    risk_horizon_months: float
    guideline: str
    peers: dict[str, dict[str, Any]]
    bootstrap: int = 200


def predicted_rmst(model, X: pd.DataFrame, horizon: float) -> np.ndarray:
    """(n, 10) predicted RMST to ``horizon`` under every contract modality."""
    return np.column_stack([model.predict_rmst(X, m, horizon) for m in MODALITIES])


def factual_predictions(model, X, modality, times, risk_horizon):
    """Risk (-RMST to ``risk_horizon``) and survival at ``times`` under the received modality."""
    n = len(X)
    risk = np.empty(n)
    surv = np.empty((n, len(times)))
    for m in np.unique(modality):
        rows = np.flatnonzero(modality == m)
        sub = X.iloc[rows]
        risk[rows] = -model.predict_rmst(sub, m, risk_horizon)
        surv[rows] = model.predict_survival(sub, m, times)
    return risk, surv


def factual_metrics(model, X, y_train, y_test, modality, response, ep: EvaluateParams):
    """(metrics, risk, survival at ``times_months``, calibration table) under the received
    modality on the held-out set."""
    from models import metrics

    times = np.asarray(ep.times_months, float)
    risk, surv = factual_predictions(model, X, modality, times, ep.risk_horizon_months)

    def surv_at(t):
        return factual_predictions(model, X, modality, np.asarray(t), ep.risk_horizon_months)[1]

    out = {"overall": metrics.survival_report(y_train, y_test, risk, surv_at, times)}
    per = {}
    for m in np.unique(modality):
        rows = modality == m
        if rows.sum() < 30 or y_test["event"][rows].sum() < 10:
            per[str(m)] = {"n": int(rows.sum()), "note": "too few patients or events to evaluate"}
            continue
        rep = metrics.survival_report(y_train, y_test[rows], risk[rows], surv[rows], times)
        per[str(m)] = {"n": int(rows.sum()), "harrell_c": rep["harrell_c"],
                       "uno_c": rep["uno_c"], "ibs": rep["ibs"]}
    out["per_modality"] = per
    s_cal = factual_predictions(model, X, modality, np.array([ep.calibration_month]),
                                ep.risk_horizon_months)[1][:, 0]
    table, summary = metrics.calibration_table(y_test, s_cal, ep.calibration_month)
    out["calibration"] = summary
    resp = np.full(len(X), np.nan)
    for m in np.unique(modality):
        rows = np.flatnonzero(modality == m)
        resp[rows] = model.predict_response(X.iloc[rows], m)
    if np.isfinite(response).sum() > 20:
        out["response"] = metrics.response_report(response, resp)
    return out, risk, surv, table


def recommender_policy(bundle, test: pd.DataFrame, ruleset: str, recommend_params) -> np.ndarray:
    """Index of the modality :func:`pipeline.recommend` chooses for every test patient.

    The served code path itself (guideline veto, data-support guard, objective), without SHAP
    or intervals; no preferences (no declined modality, no cost ceiling).
    """
    from features.contract import PATIENT_FIELDS
    from pipeline.recommender import Recommender

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


def shap_importance(model, X: pd.DataFrame, groups: dict, n: int = 400, seed: int = 0):
    """Mean |SHAP| per contract field (or derived score) over modalities, on a sample."""
    sample = X.sample(min(n, len(X)), random_state=seed)
    total = None
    unit = "log hazard ratio"
    for m in MODALITIES:
        expl = model.explain(sample, m)
        frame = getattr(expl, "values", expl)
        unit = getattr(expl, "unit", unit)
        frame = frame.drop(columns=[c for c in frame.columns if c not in groups], errors="ignore")
        grouped = frame.abs().T.groupby(lambda c: groups.get(c, c)).sum().T.mean()
        total = grouped if total is None else total.add(grouped, fill_value=0)
    return (total / len(MODALITIES)).sort_values(ascending=False), unit


def evaluate_peers(ep: EvaluateParams, tp, bundle, recommend_params, train, test, X_train,
                   X_test, y_test, modality_test, truth, allowed, observed_idx,
                   guideline_idx, ours: dict) -> tuple[dict, dict]:
    """Fit each peer on the same split; same metrics, its policy through the same recommender.

    Returns (peer rows, comparisons): for each peer, ours minus the peer's integrated Brier
    score and share of gain captured, with paired bootstrap intervals over the test patients
    (``ours``: our ``surv`` at ``times_months`` and policy ``choice``)."""
    from models import metrics
    from pipeline.bundle import Bundle
    from pipeline.train import make_outcome_model, targets

    y_train, mod_train, resp_train = targets(train)
    results, comparisons = {}, {}
    boot = {"n_boot": ep.bootstrap, "seed": tp.seed}
    oracle_idx = (np.where(allowed, truth, -np.inf).argmax(axis=1) if truth is not None
                  else None)
    for name, overrides in ep.peers.items():
        started = time.perf_counter()
        model = make_outcome_model(tp, **dict(overrides))
        model.fit(X_train, y_train, mod_train, response=resp_train)
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
                 rep["harrell_c"], _fmt(rep["uno_c"]), _fmt(row.get("gain_captured")))
    return results, comparisons


def _fmt(v):
    return "n/a" if v is None else f"{v:.3f}"


def _interval(d) -> str:
    """``+0.012 [-0.004, +0.027]`` from a :func:`models.metrics.paired_bootstrap` result."""
    if not d or d.get("estimate") is None:
        return "n/a"
    if d.get("lower") is None:
        return f"{d['estimate']:+.4f}"
    return f"{d['estimate']:+.4f} [{d['lower']:+.4f}, {d['upper']:+.4f}]"


def truth_matrix(truth: pd.DataFrame, ids: pd.Series, column: str) -> np.ndarray | None:
    if truth is None or truth.empty:
        return None
    wide = truth.pivot(index="patient_id", columns="modality", values=column)
    return wide.loc[ids.to_numpy(), list(MODALITIES)].to_numpy(float)


def run(args, params: dict) -> dict:
    import mlflow

    from models import metrics
    from pipeline.bundle import load_bundle
    from pipeline.recommendation import RecommendParams
    from pipeline.train import TrainParams, targets

    ep = build(EvaluateParams, params["evaluate"], "evaluate")
    rp = build(RecommendParams, params["recommend"], "recommend")
    tp = build(TrainParams, params["train"], "train")
    bundle = load_bundle(args.bundle)
    train, test = pd.read_parquet(args.train), pd.read_parquet(args.test)
    truth_long = pd.read_parquet(args.truth)
    has_truth = not truth_long.empty
    X_train, X_test = bundle.matrix.transform(train), bundle.matrix.transform(test)
    y_train, _, _ = targets(train)
    y_test, modality_test, response_test = targets(test)
    out_dir = Path(args.plots)

    log.info("factual metrics on %d held-out patients", len(test))
    factual, risk, surv, cal_table = factual_metrics(bundle.model, X_test, y_train, y_test,
                                                     modality_test, response_test, ep)
    result: dict = {"n_test": len(test), "has_truth": has_truth, "factual": factual}

    allowed, guideline_idx = guideline_allowed(test, ep.guideline)
    observed_idx = np.array([MODALITIES.index(m) for m in modality_test])
    truth = truth_matrix(truth_long, test["patient_id"], "rmst24_months")
    if has_truth:
        pred = predicted_rmst(bundle.model, X_test, ep.rmst_horizon_months)
        choice = recommender_policy(bundle, test, ep.guideline, rp)
        result["counterfactual"] = counterfactual_metrics(pred, truth, allowed, observed_idx,
                                                          guideline_idx, choice)
        # the oracle C-index: the true risk under the received modality on the same test set
        risk_true = truth_long.set_index(["patient_id", "modality"])["risk_score"]
        keys = list(zip(test["patient_id"], modality_test, strict=True))
        true_risk = risk_true.loc[keys].to_numpy(float)
        oracle = metrics.survival_report(y_train, y_test, true_risk, lambda t: np.ones(
            (len(test), len(t))), ep.times_months)
        result["oracle"] = {"harrell_c": oracle["harrell_c"], "uno_c": oracle["uno_c"]}
        plots.policy_values(result["counterfactual"]["policy_value_months"],
                            out_dir / "policy_values.png")
    else:
        log.warning("no counterfactual truth for this cohort (a user file): counterfactual "
                    "metrics and policy values are skipped")

    log.info("fitting %d peers on the same split", len(ep.peers))
    ours = {"surv": surv, "choice": choice if has_truth else None}
    result["peers"], result["versus_peers"] = evaluate_peers(
        ep, tp, bundle, rp, train, test, X_train, X_test, y_test, modality_test,
        truth if has_truth else None, allowed, observed_idx, guideline_idx, ours)
    for name, comp in result["versus_peers"].items():
        log.info("ours - %-10s IBS %s  gain %s", name, _interval(comp["ibs_diff"]),
                 _interval(comp.get("gain_diff")))
    result["peers"]["ours"] = {
        "fit_seconds": bundle.settings.get("fit_seconds"),
        "harrell_c": factual["overall"]["harrell_c"], "uno_c": factual["overall"]["uno_c"],
        "ibs": factual["overall"]["ibs"], "mean_auc": factual["overall"]["mean_auc"],
    }
    if has_truth:
        cf = result["counterfactual"]
        result["peers"]["ours"].update(
            pehe_rmst24=cf["pehe_rmst24"], policy_value=cf["policy_value_months"]["model"],
            gain_captured=cf["gain_captured"]["model"], regret_months=cf["regret_months"]["model"])

    # plots
    plots.calibration(cal_table, ep.calibration_month, out_dir / "calibration.png")
    data_dir = Path(args.plot_data)
    data_dir.mkdir(parents=True, exist_ok=True)
    cal_table.to_json(data_dir / "calibration.json", orient="records")
    km = plots.km_by_risk_group(y_test["time"], y_test["event"], risk, out_dir / "km_risk_groups.png")
    pd.DataFrame(km).to_json(data_dir / "km_risk_groups.json", orient="records")
    auc = factual["overall"].get("auc") or {}
    plots.time_dependent_auc(list(map(float, auc)), {"ours": list(auc.values())},
                             out_dir / "time_dependent_auc.png")
    groups = bundle.matrix.feature_groups_
    importance, unit = shap_importance(bundle.model, X_test, groups, seed=tp.seed)
    plots.shap_importance(importance, unit, out_dir / "shap_importance.png")
    result["shap_importance"] = {"unit": unit, "mean_abs": importance.round(5).to_dict()}

    overall = factual["overall"]
    headline = {
        "uno_c_index": overall["uno_c"],
        "harrell_c_index": overall["harrell_c"],
        "integrated_brier_score": overall["ibs"],
        "calibration_slope_12m": factual["calibration"]["slope"],
    }
    if has_truth:
        cf = result["counterfactual"]
        headline.update(
            oracle_uno_c_index=result["oracle"]["uno_c"],
            gain_captured=cf["gain_captured"]["model"],
            regret_months=cf["regret_months"]["model"],
            guideline_gain_captured=cf["gain_captured"]["guideline"],
            pehe_rmst24=cf["pehe_rmst24"],
            forbidden_recommendations=cf["forbidden_recommendations"],
        )
    else:
        headline["forbidden_recommendations"] = 0
    result["headline"] = headline
    io.write_json(args.metrics, result)
    for png in out_dir.glob("*.png"):
        mlflow.log_artifact(str(png), "plots")
    mlflow.log_dict(result, "metrics.json")
    flat = {}
    for key, value in headline.items():
        if isinstance(value, (int, float)):
            flat[key] = value
    for name, row in result["peers"].items():
        for key, value in row.items():
            if isinstance(value, (int, float)):
                flat[f"peer.{name}.{key}"] = value
    for name, comp in result["versus_peers"].items():
        for key, d in comp.items():
            for part in ("estimate", "lower", "upper"):
                if isinstance(d.get(part), (int, float)):
                    flat[f"versus.{name}.{key}.{part}"] = d[part]
    for key, value in flat.items():
        log.info("%-40s %s", key, _fmt(value))
    return flat


def _args(parser):
    parser.add_argument("--bundle", default="data/artifacts/recommender")
    parser.add_argument("--train", default="data/features/train.parquet")
    parser.add_argument("--test", default="data/features/test.parquet")
    parser.add_argument("--truth", default="data/raw/truth.parquet")
    parser.add_argument("--metrics", default="data/reports/metrics.json")
    parser.add_argument("--plots", default="data/reports/plots")
    parser.add_argument("--plot-data", default="data/reports/plot_data")


if __name__ == "__main__":
    stage.main("evaluate", _args, run, section="evaluate", description=__doc__)
