"""DVC stage ``featurize``: add the derived clinical scores (Child-Pugh, ALBI, MELD, BCLC, CNLC,
Milan ...) to every valid patient with :func:`features.derive`."""

from __future__ import annotations

import logging

import pandas as pd

from features import derive
from pipeline import io
from pipeline.stages import entry

log = logging.getLogger("pipeline.stages.featurize")


def run(args, params: dict) -> dict:
    cohort = pd.read_parquet(args.valid)
    derived = derive(cohort)
    io.write_frame(args.out, derived)
    shares = {}
    for col in ("bclc_stage", "cnlc_stage", "child_pugh_class"):
        counts = derived[col].value_counts(normalize=True, sort=False)
        shares[col] = {str(k): round(float(v), 4) for k, v in counts.items()}
        log.info("%s: %s", col, ", ".join(f"{k} {100 * v:.1f}%" for k, v in shares[col].items()))
    import mlflow

    mlflow.log_dict(shares, "stage_mix.json")
    return {"n_features_derived": len(derived.columns) - len(cohort.columns)}


def _args(parser):
    parser.add_argument("--valid", default="data/interim/cohort_valid.parquet")
    parser.add_argument("--out", default="data/features/cohort_features.parquet")


if __name__ == "__main__":
    entry.main("featurize", _args, run, section=None, description=__doc__)
