"""What the indication layer costs or adds on a synthetic cohort, and how often the two rule sets
recommend differently (issue 12; the numbers quoted in docs/rules.md).

Reads a trained bundle, the held-out test features and the counterfactual truth of a pipeline
run (read-only) and prints one JSON document::

    python tools/measure_indication.py                       # data/ of this checkout
    python tools/measure_indication.py --data /work/main/data --out /tmp/indication.json

For each rule set and each ``min_propensity`` (the bundle's and 0) it runs the served code path
(``Recommender.recommend_batch``, no preferences) with

* ``with``: the shipped rule files (indication tables and ``not_indicated`` rules);
* ``without``: the same files with the indication removed (every modality acceptable, the
  ``not_indicated`` rules dropped): the contraindications and required actions are unchanged;
* ``bundle``: the rule files the bundle was trained with (before this change: 1.1),

and reports the share of the achievable gain captured (``pipeline.evaluation.policies.
counterfactual_metrics``: (policy value - observed) / (oracle - observed), the oracle being the
best modality the shipped rule set allows), the policy values in months of RMST24, the gain of
the guideline policy, the months gained or lost per patient by stage (with against without),
and the share of simulated patients whose recommendation differs between cnlc-2024 and
bclc-2022.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rules_without_indication(out_dir: Path) -> Path:
    import yaml

    from guidelines.ruleset import RULES_DIR

    for path in RULES_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        data["preferred"] = {str(k): list(v["indicated"]) + list(v["acceptable"] or ())
                             for k, v in data.pop("indication").items()}
        data["rules"] = [r for r in data["rules"] if r["effect"] != "not_indicated"]
        (out_dir / path.name).write_text(yaml.safe_dump(data, sort_keys=False))
    return out_dir


def _recommender(bundle, rules_dir: Path, min_propensity: float):
    from pipeline.recommender.runtime import Recommender

    b = dataclasses.replace(bundle, rules=tuple(sorted(rules_dir.glob("*.yaml"))))
    params = dataclasses.replace(Recommender(bundle).params, min_propensity=min_propensity)
    return Recommender(b, params)


def _choices(recommender, rows, guideline):
    import numpy as np

    from features.contract import MODALITIES

    recs = recommender.recommend_batch(rows, guideline=guideline, explain=False,
                                       intervals=False, progress=False)
    return np.array([MODALITIES.index(r.recommended or "supportive_care") for r in recs]), recs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "data"),
                        help="data folder of a pipeline run (artifacts/recommender, "
                        "features/test.parquet, raw/truth.parquet)")
    parser.add_argument("--n-switch", type=int, default=200,
                        help="simulated patients for the rule-set switch (default 200)")
    parser.add_argument("--seed", type=int, default=20261212)
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd

    from features import derive
    from features.contract import PATIENT_FIELDS
    from guidelines.ruleset import RULES_DIR
    from pipeline.evaluation.factual import predicted_rmst
    from pipeline.evaluation.policies import (
        counterfactual_metrics,
        guideline_allowed,
        truth_matrix,
    )
    from pipeline.recommender.bundle import load_bundle
    from pipeline.recommender.training import targets
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    data = Path(args.data)
    bundle = load_bundle(data / "artifacts" / "recommender")
    bundle_rules = bundle.path / "rules"
    test = pd.read_parquet(data / "features" / "test.parquet")
    truth = truth_matrix(pd.read_parquet(data / "raw" / "truth.parquet"), test["patient_id"],
                         "rmst24_months")
    _, modality_test, _ = targets(test)
    from features.contract import MODALITIES

    observed = np.array([MODALITIES.index(m) for m in modality_test])
    pred = predicted_rmst(bundle.model, bundle.matrix.transform(test), 24)
    rows = test[[c for c in PATIENT_FIELDS if c in test]]
    derived = derive(rows)
    guard = bundle.settings["recommend"].get("min_propensity", 0.0)
    out: dict = {"n_test": len(test), "bundle": bundle.settings.get("model_version"),
                 "gain": {}, "by_stage": {}}
    with tempfile.TemporaryDirectory() as tmp:
        without = _rules_without_indication(Path(tmp))
        for name, stage in (("cnlc-2024", "cnlc_stage"), ("bclc-2022", "bclc_stage")):
            allowed, guideline_idx = guideline_allowed(test, str(RULES_DIR / f"{name}.yaml"))
            picks = {}
            for mp in sorted({guard, 0.0}, reverse=True):
                for label, rules in (("with", RULES_DIR), ("without", without),
                                     ("bundle", bundle_rules)):
                    choice, recs = _choices(_recommender(bundle, rules, mp), rows, name)
                    m = counterfactual_metrics(pred, truth, allowed, observed, guideline_idx,
                                               choice)
                    out["gain"][f"{name} {label} min_propensity={mp:g}"] = {
                        "gain_captured": round(m["gain_captured"]["model"], 4),
                        "value_months": round(m["policy_value_months"]["model"], 3),
                        "oracle_months": round(m["policy_value_months"]["oracle"], 3),
                        "observed_months": round(m["policy_value_months"]["observed"], 3),
                        "guideline_gain_captured": round(m["gain_captured"]["guideline"], 4),
                        "forbidden_recommendations": m["forbidden_recommendations"],
                        "not_indicated_recommendations": int(sum(
                            r.guideline.get("indication") == "not_indicated" for r in recs)),
                    }
                    picks[(label, mp)] = choice
            i = np.arange(len(test))
            diff = truth[i, picks[("with", guard)]] - truth[i, picks[("without", guard)]]
            frame = pd.DataFrame({"stage": derived[stage].astype(str), "diff": diff,
                                  "changed": picks[("with", guard)] != picks[("without", guard)]})
            out["by_stage"][name] = {
                s: {"n": int(len(g)), "changed": int(g["changed"].sum()),
                    "months_per_patient": round(float(g["diff"].mean()), 3)}
                for s, g in frame.groupby("stage")}
        cohort = simulate_cohort(args.n_switch, args.seed, SyntheticParams.default())[0]
        sim = cohort[[c for c in PATIENT_FIELDS if c in cohort]]
        for label, rules in (("with", RULES_DIR), ("bundle", bundle_rules)):
            for mp in sorted({guard, 0.0}, reverse=True):
                r = _recommender(bundle, rules, mp)
                a, _ = _choices(r, sim, "cnlc-2024")
                b, _ = _choices(r, sim, "bclc-2022")
                out.setdefault("switch_differs", {})[f"{label} min_propensity={mp:g}"] = {
                    "n": args.n_switch, "differ": int((a != b).sum()),
                    "share": round(float((a != b).mean()), 3)}
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
