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
import numbers
from pathlib import Path

import numpy as np
import pandas as pd

from features.contract import MODALITIES
from pipeline import io
from pipeline.config import build
from pipeline.evaluation import plots
from pipeline.evaluation.comparison import evaluate_peers, fmt, interval
from pipeline.evaluation.factual import EvaluateParams, factual_metrics, predicted_rmst
from pipeline.evaluation.importance import shap_importance
from pipeline.evaluation.policies import (
    counterfactual_metrics,
    guideline_allowed,
    interval_coverage,
    recommender_policy,
    truth_matrix,
)
from pipeline.stages import entry

log = logging.getLogger("pipeline.stages.evaluate")


def run(args, params: dict) -> dict:
    import mlflow

    from models import metrics
    from pipeline.recommender.bundle import load_bundle
    from pipeline.recommender.request import RecommendParams
    from pipeline.recommender.training import TrainParams, targets

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
    # the served code path's choice for every held-out patient: safety is measured on any cohort
    choice = recommender_policy(bundle, test, ep.guideline, rp)
    forbidden = int((~allowed[np.arange(len(choice)), choice]).sum())
    if has_truth:
        pred = predicted_rmst(bundle.model, X_test, ep.rmst_horizon_months)
        result["counterfactual"] = counterfactual_metrics(pred, truth, allowed, observed_idx,
                                                          guideline_idx, choice)
        result["counterfactual"]["rmst24_interval"] = interval_coverage(
            bundle.model, X_test, pred, truth, ep.rmst_horizon_months, rp.interval_level)
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
    ours = {"surv": surv, "choice": choice}
    result["peers"], result["versus_peers"] = evaluate_peers(
        ep, tp, bundle, rp, train, test, X_train, X_test, y_test, modality_test,
        truth if has_truth else None, allowed, observed_idx, guideline_idx, ours)
    for name, comp in result["versus_peers"].items():
        log.info("ours - %-10s IBS %s  gain %s", name, interval(comp["ibs_diff"]),
                 interval(comp.get("gain_diff")))
    # fit times are not results: untracked file + MLflow (a rerun leaves the reports unchanged)
    timings = {name: row.pop("fit_seconds") for name, row in result["peers"].items()
               if "fit_seconds" in row}
    io.write_json(args.timings, {"peer_fit_seconds": timings})
    mlflow.log_metrics({f"timing.{name}.fit_seconds": s for name, s in timings.items()})
    result["peers"]["ours"] = {
        "harrell_c": factual["overall"]["harrell_c"], "uno_c": factual["overall"]["uno_c"],
        "ibs": factual["overall"]["ibs"], "mean_auc": factual["overall"]["mean_auc"],
    }
    if has_truth:
        cf = result["counterfactual"]
        result["peers"]["ours"].update(
            pehe_rmst24=cf["pehe_rmst24"], policy_value=cf["policy_value_months"]["model"],
            gain_captured=cf["gain_captured"]["model"], regret_months=cf["regret_months"]["model"])

    # plots: PNGs for MLflow and the docs, their data (JSON) for DVC's plots
    plots.calibration(cal_table, ep.calibration_month, out_dir / "calibration.png")
    km = plots.km_by_risk_group(y_test["time"], y_test["event"], risk, out_dir / "km_risk_groups.png")
    auc = factual["overall"].get("auc") or {}
    plots.time_dependent_auc(list(map(float, auc)), {"ours": list(auc.values())},
                             out_dir / "time_dependent_auc.png")
    groups = bundle.matrix.feature_groups_
    importance, unit = shap_importance(bundle.model, X_test, groups, seed=tp.seed)
    plots.shap_importance(importance, unit, out_dir / "shap_importance.png")
    result["shap_importance"] = {"unit": unit, "mean_abs": importance.round(5).to_dict()}
    policy_values = result["counterfactual"]["policy_value_months"] if has_truth else None
    plots.write_plot_data(Path(args.plot_data), calibration=cal_table,
                          calibration_month=ep.calibration_month, km=km, auc=auc,
                          importance=importance, unit=unit, policy_values=policy_values)

    overall = factual["overall"]
    headline = {
        "uno_c_index": overall["uno_c"],
        "harrell_c_index": overall["harrell_c"],
        "integrated_brier_score": overall["ibs"],
        "calibration_slope_12m": factual["calibration"]["slope"],
        "calibration_ici_12m": factual["calibration"]["ici"],
        "forbidden_recommendations": forbidden,
    }
    if has_truth:
        cf = result["counterfactual"]
        headline.update(
            oracle_uno_c_index=result["oracle"]["uno_c"],
            gain_captured=cf["gain_captured"]["model"],
            regret_months=cf["regret_months"]["model"],
            guideline_gain_captured=cf["gain_captured"]["guideline"],
            pehe_rmst24=cf["pehe_rmst24"],
        )
    result["headline"] = headline
    io.write_json(args.metrics, result)
    io.write_json(args.headline, compact_headline(headline, n_train=len(train), n_test=len(test)))
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
        log.info("%-40s %s", key, fmt(value))
    return flat


# ``dvc metrics show`` prints one table row per metrics file and one column per key: the DVC
# metrics file keeps a few headline numbers under short keys so the table fits a terminal
# (docs/usage.md explains each); metrics.json (a plain report file) keeps every detail.
COMPACT_KEYS = {
    "uno_c": "uno_c_index",
    "harrell_c": "harrell_c_index",
    "ibs": "integrated_brier_score",
    "cal_slope": "calibration_slope_12m",
    "gain": "gain_captured",
    "regret": "regret_months",
    "pehe": "pehe_rmst24",
    "forbidden": "forbidden_recommendations",
}


def compact_headline(headline: dict, n_train: int, n_test: int) -> dict:
    """The DVC metrics file: the headline numbers under short keys (those measured), rounded
    to 4 decimals, with the sizes of the training and held-out sets."""
    out = {}
    for short, key in COMPACT_KEYS.items():
        value = headline.get(key)
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            out[short] = int(value)
        elif isinstance(value, numbers.Real) and np.isfinite(value):
            out[short] = round(float(value), 4)
    out["n_train"], out["n_test"] = int(n_train), int(n_test)
    return out


def _args(parser):
    parser.add_argument("--bundle", default="data/artifacts/recommender")
    parser.add_argument("--train", default="data/features/train.parquet")
    parser.add_argument("--test", default="data/features/test.parquet")
    parser.add_argument("--truth", default="data/raw/truth.parquet")
    parser.add_argument("--metrics", default="data/reports/metrics.json")
    parser.add_argument("--headline", default="data/reports/headline.json",
                        help="the small DVC metrics file (headline numbers, short keys)")
    parser.add_argument("--plots", default="data/reports/plots")
    parser.add_argument("--plot-data", default="data/reports/plot_data")
    parser.add_argument("--timings", default="data/reports/timings/evaluate.json",
                        help="peer fit times (untracked; also logged to MLflow)")


if __name__ == "__main__":
    entry.main("evaluate", _args, run, section="evaluate", description=__doc__)
