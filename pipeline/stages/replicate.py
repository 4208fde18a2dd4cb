"""DVC stage ``replicate_trials``: simulate each cited trial with the generator and compare with
the published figures (median OS per arm, hazard ratio, response rate)."""

from __future__ import annotations

import logging

from pipeline import io
from pipeline.config import build
from pipeline.stages import entry

log = logging.getLogger("pipeline.stages.replicate")


def run(args, params: dict) -> dict:
    from pipeline.simulation.cohort import CohortParams, SyntheticParams
    from pipeline.simulation.trials import replicate_trials

    cp = build(CohortParams, params["synthetic"], "synthetic")
    table = replicate_trials(SyntheticParams.default(), seed=cp.seed)
    rows = table.to_dict(orient="records")
    n_within = int(table["within"].sum())
    for row in rows:
        log.info("%-14s %-34s published %8.3g simulated %8.3g  %s", row["trial"], row["metric"],
                 row["published"], row["simulated"], "ok" if row["within"] else "OUTSIDE")
    result = {
        "n_figures": len(rows),
        "n_within_tolerance": n_within,
        "all_within_tolerance": bool(n_within == len(rows)),
        "figures": {f"{r['trial']}: {r['metric']}": {k: r[k] for k in r if k not in ("trial", "metric")}
                    for r in rows},
    }
    io.write_json(args.out, result)
    import mlflow

    mlflow.log_table(table, "trials.json")
    return {"trial_figures_within": n_within, "trial_figures": len(rows)}


def _args(parser):
    parser.add_argument("--out", default="data/reports/trials.json")


if __name__ == "__main__":
    entry.main("replicate_trials", _args, run, section="synthetic", description=__doc__)
