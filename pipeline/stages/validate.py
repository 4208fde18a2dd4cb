"""DVC stage ``validate``: check every row of the cohort against the patient contract.

Valid rows go on in canonical dtypes; every problem is reported (counts by field and reason in
``validation.json``, one line per problem in ``rejected_rows.csv``, never by identifier: ``row``
is the 0-based position and ``line`` the line of the user's file, header = line 1). The stage
fails when the invalid share exceeds ``validate.max_invalid_share``.
"""

from __future__ import annotations

import logging

import pandas as pd

from features.contract import validate_cohort
from pipeline import io
from pipeline.config import build
from pipeline.io import ValidateParams
from pipeline.stages import entry

log = logging.getLogger("pipeline.stages.validate")


class CohortRejectedError(SystemExit):
    """The cohort has more invalid rows than ``validate.max_invalid_share`` allows."""


def run(args, params: dict) -> dict:
    vp = build(ValidateParams, params["validate"], "validate")
    cohort = pd.read_parquet(args.cohort)
    result = validate_cohort(cohort, require_outcomes=True, require_id=True)
    report = result.report
    report["max_invalid_share"] = vp.max_invalid_share
    io.write_json(args.report, report)
    io.write_frame(args.rejected, result.problem_frame())
    import mlflow

    mlflow.log_dict(report, "validation.json")
    log.info("validated %d rows: %d valid, %d invalid (%.1f%%)", report["n_rows"],
             report["n_valid"], report["n_invalid"], 100 * report["invalid_share"])
    for field, reasons in report["problems_by_field"].items():
        log.warning("  %s: %s", field, ", ".join(f"{r} x{c}" for r, c in reasons.items()))
    if result.extra_columns:
        log.warning("unknown columns kept aside, not used: %s", ", ".join(
            f"{c} (did you mean '{result.suggestions[c]}'?)" if c in result.suggestions else c
            for c in result.extra_columns))
    if report["n_rows"] == 0 or result.invalid_share > vp.max_invalid_share:
        top = "\n".join(f"  - {'all rows' if p.row is None else f'line {p.line}'}: {p.message}"
                        for p in result.problems[:20])
        raise CohortRejectedError(
            f"cohort rejected: {report['n_invalid']} of {report['n_rows']} rows invalid "
            f"({100 * result.invalid_share:.1f}% > validate.max_invalid_share "
            f"{100 * vp.max_invalid_share:.1f}%). See {args.report} and {args.rejected}.\n{top}"
        )
    io.write_frame(args.valid, result.valid.reset_index(drop=True))
    return {"n_valid": report["n_valid"], "n_invalid": report["n_invalid"],
            "invalid_share": report["invalid_share"]}


def _args(parser):
    parser.add_argument("--cohort", default="data/raw/cohort.parquet")
    parser.add_argument("--valid", default="data/interim/cohort_valid.parquet")
    parser.add_argument("--report", default="data/reports/validation.json")
    parser.add_argument("--rejected", default="data/reports/rejected_rows.csv")


if __name__ == "__main__":
    entry.main("validate", _args, run, section="validate", description=__doc__)
