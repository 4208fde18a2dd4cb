"""DVC stage ``train``: fit the per-modality outcome model and write the recommender bundle
(:func:`pipeline.recommender.training.train_bundle`), with the propensity-overlap report.

The bundle's id names its training data and settings (``s-d<data hash>-p<settings hash>``).
Fit times go to MLflow and to ``--timings`` (an untracked file: timings are not results, and a
rerun must leave the tracked reports and ``dvc.lock`` unchanged)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from pipeline import io
from pipeline.config import build
from pipeline.recommender.training import TrainParams, train_bundle
from pipeline.stages import entry

log = logging.getLogger("pipeline.stages.train")


def run(args, params: dict) -> dict:
    import mlflow

    tp = build(TrainParams, params["train"], "train")
    train = pd.read_parquet(args.train)
    log.info("training %s learner on %d patients", tp.outcome_model.get("learner"), len(train))
    source = str(params.get("data", {}).get("source", "synthetic"))
    settings = train_bundle(train, tp, args.out, {
        "recommend": params.get("recommend", {}),
        "data_source": source if source == "synthetic" else Path(source).name})
    log.info("bundle %s written to %s", settings["model_version"], args.out)
    from pipeline.recommender.bundle import load_bundle

    model = load_bundle(args.out).model
    io.write_json(args.timings, {"fit_seconds": settings["fit_seconds"]})
    metrics = {"fit_seconds": settings["fit_seconds"], "n_train": settings["n_train"],
               "training_warnings": len(settings["warnings"])}
    overlap = getattr(model, "propensity_overlap_", None)
    if overlap is not None:
        table = overlap.round(5).reset_index().to_dict(orient="records")
        report = {"note": "propensity of each modality from a cross-fitted multinomial model; "
                          "share_p_lt_0.05 = share of all patients for whom that modality's "
                          "outcome is an extrapolation", "modalities": table,
                  "min_ess_fraction": float(overlap["ess_fraction"].min())}
        metrics["min_ess_fraction"] = report["min_ess_fraction"]
        for row in table:
            log.info("overlap %-18s n=%-5d median p(treated)=%.3f  share p<0.05=%.2f  ESS=%.0f",
                     row["modality"], row["n"], row["median_p_treated"], row["share_p_lt_0.05"],
                     row["ess"])
    else:
        report = {"note": f"learner {model.learner} fits no propensity model"}
    io.write_json(args.overlap, report)
    mlflow.log_dict(report, "propensity_overlap.json")
    mlflow.set_tags({"hcc.model_version": settings["model_version"],
                     "hcc.data_sha256": settings["data_sha256"]})
    return metrics


def _args(parser):
    parser.add_argument("--train", default="data/features/train.parquet")
    parser.add_argument("--out", default="data/artifacts/recommender")
    parser.add_argument("--overlap", default="data/reports/propensity_overlap.json")
    parser.add_argument("--timings", default="data/reports/timings/train.json",
                        help="fit time (untracked; also logged to MLflow)")


if __name__ == "__main__":
    entry.main("train", _args, run, section="train", description=__doc__)
