"""DVC stage ``generate``: the cohort the pipeline runs on.

``data.source: synthetic`` (the default) simulates the embedded cohort with its counterfactual
truth; a path reads the user's CSV/Parquet file in the patient contract, for which no truth
exists (an empty truth table is written and the counterfactual parts of later stages are skipped).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import io
from pipeline.config import build
from pipeline.stages import entry

log = logging.getLogger("pipeline.stages.generate")



def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    """Make object columns of mixed types storable in Parquet without losing a value."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(
                lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            )
    return out


def summarise(cohort: pd.DataFrame) -> dict:
    """Aggregate cohort summary (no identifiers): size, events, follow-up, mixes."""
    summary: dict = {"n_patients": int(len(cohort))}
    if "death" in cohort:
        death = pd.to_numeric(cohort["death"].astype("object"), errors="coerce")
        summary["death_share"] = float(np.nanmean(death)) if len(death) else None
        summary["censored_share"] = 1 - summary["death_share"] if len(death) else None
    if "os_months" in cohort:
        summary["median_followup_months"] = float(
            pd.to_numeric(cohort["os_months"], errors="coerce").median())
    for col in ("modality", "etiology", "sex", "pvtt", "economic_status"):
        if col in cohort:
            shares = cohort[col].astype("object").value_counts(normalize=True, dropna=False)
            summary[f"{col}_share"] = {str(k): round(float(v), 4) for k, v in shares.items()}
    return summary


def run(args, params: dict) -> dict:
    from pipeline.simulation.cohort import (
        CALIBRATION_FILE,
        TRUTH_COLUMNS,
        CohortParams,
        SyntheticParams,
        simulate_cohort,
    )

    source = params["data"]["source"]
    if source == "synthetic":
        cp = build(CohortParams, params["synthetic"], "synthetic")
        cohort, truth = simulate_cohort(cp.n, cp.seed, SyntheticParams.default())
        log.info("simulated %d patients (seed %d) with truth for %d modalities",
                 len(cohort), cp.seed, truth["modality"].nunique())
    else:
        cohort = io.read_cohort(Path(source))
        truth = pd.DataFrame({c: pd.Series(dtype="float64") for c in TRUTH_COLUMNS})
        log.info("read %d rows from the user cohort (no counterfactual truth: the "
                 "counterfactual metrics will be skipped)", len(cohort))
    io.write_frame(args.cohort, _storable(cohort))
    io.write_frame(args.truth, truth)
    summary = summarise(cohort)
    summary["source"] = "synthetic" if source == "synthetic" else "user file"
    summary["has_truth"] = bool(len(truth))
    io.write_json(args.summary, summary)
    import mlflow

    mlflow.log_dict(summary, "cohort_summary.json")
    if source == "synthetic":
        mlflow.log_artifact(str(CALIBRATION_FILE), "simulation")
    return {"n_patients": summary["n_patients"], "censored_share": summary.get("censored_share") or 0}


def _args(parser):
    parser.add_argument("--cohort", default="data/raw/cohort.parquet")
    parser.add_argument("--truth", default="data/raw/truth.parquet")
    parser.add_argument("--summary", default="data/reports/cohort_summary.json")


if __name__ == "__main__":
    entry.main("generate", _args, run, section="data", description=__doc__)
