"""Every interval contains its point estimate; every option that is not a candidate says why.

Intervals: the bootstrap members' percentile band extended to the full fit's estimate
(``ModalityOutcomeModel._band``), for every interval-bearing quantity of the model (survival at
each time, RMST, median, response) and for the recommender's RMST interval, one patient at a
time and in a batch large enough for the factored scoring of the members.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from features.contract import MODALITIES
from pipeline.recommender.ranking import REASON_CODES


@pytest.fixture(scope="module")
def cohort_X(recommender, tiny_cohort):
    """The model matrix of the 600 training patients (a batch: factored scoring)."""
    from features import derive
    from features.contract import PATIENT_FIELDS

    cohort = tiny_cohort[0]
    rows = cohort[[c for c in PATIENT_FIELDS if c in cohort.columns and c != "patient_id"]]
    return recommender.bundle.matrix.transform(derive(rows.reset_index(drop=True)))


def _inside(est, lo, hi) -> np.ndarray:
    """Within the band; a NaN estimate (a response "not applicable") has a NaN band."""
    est, lo, hi = (np.asarray(v, dtype=float) for v in (est, lo, hi))
    na = np.isnan(est)
    assert (np.isnan(lo) == na).all() and (np.isnan(hi) == na).all()
    return ((lo <= est) & (est <= hi)) | na


def test_model_bands_contain_the_point_estimate(recommender, cohort_X):
    model = recommender.bundle.model
    X = cohort_X
    tab = model.predict_outcomes(X, times=(6, 12, 24, 36), horizon=24, interval=0.9)
    columns = [c[: -len("_lower")] for c in tab.columns if c.endswith("_lower")]
    assert {"surv_6", "surv_12", "surv_24", "surv_36", "rmst_24", "median",
            "p_response"} <= set(columns)
    for c in columns:
        ok = _inside(tab[c], tab[f"{c}_lower"], tab[f"{c}_upper"])
        assert ok.all(), f"{c}: {int((~ok).sum())} estimates outside their band"
    # the members' percentiles alone miss the estimate here: the test exercises the extension
    Xa, js, at = model._X(X), list(range(len(model.modalities_))), np.array([24.0])
    members = [model._quantities(a, Xa, js, at, 24.0, curves=False)["rmst"]
               for a in model.members_]
    lo, hi = type(model)._band(members, 0.9)
    point = tab["rmst_24"].to_numpy().reshape(len(X), -1)
    assert (~_inside(point, lo, hi)).sum() > 0
    band = model.predict_rmst_interval(X, 24, interval=0.9)
    assert np.array_equal(band[0].ravel(), tab["rmst_24_lower"].to_numpy())
    assert np.array_equal(band[1].ravel(), tab["rmst_24_upper"].to_numpy())


def test_per_quantity_predictions_contain_the_point_estimate(recommender, cohort_X):
    model = recommender.bundle.model
    X = cohort_X.iloc[:200]
    labels = np.resize(np.asarray(model.modalities_, dtype=object), len(X))  # one per row
    for name, call in (
            ("survival", lambda: model.predict_survival(X, labels, (6, 12, 24), interval=0.9)),
            ("rmst", lambda: model.predict_rmst(X, labels, 24, interval=0.9)),
            ("median", lambda: model.predict_median(X, labels, interval=0.9)),
            ("response", lambda: model.predict_response(X, labels, interval=0.9))):
        est, lo, hi = call()
        assert _inside(est, lo, hi).all(), name


def test_recommendation_intervals_contain_the_rmst(recommender, patient_rows, tiny_cohort):
    from features.contract import PATIENT_FIELDS

    def check(rec, where):
        for m in rec.modalities:
            o = m.outcomes
            if o["rmst_interval_months"] is None:
                continue
            lo, hi = o["rmst_interval_months"]
            assert lo <= o["rmst_months"] <= hi, f"{where} {m.modality}: {o}"
            j = rec.to_dict()["modalities"][MODALITIES.index(m.modality)]["outcomes"]
            assert j["rmst_interval_months"][0] <= j["rmst_months"] <= j["rmst_interval_months"][1]

    rows = patient_rows.drop(columns=["patient_id"])
    for i, record in enumerate(rows.iloc[:40].to_dict("records")):
        record = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                  for k, v in record.items()}
        check(recommender.recommend(record, explain=False), f"single {i}")
    cohort = tiny_cohort[0]
    batch = cohort[[c for c in PATIENT_FIELDS if c in cohort.columns]].iloc[:300]  # factored
    for i, rec in enumerate(recommender.recommend_batch(batch, explain=False)):
        check(rec, f"batch {i}")


# --- reasons --------------------------------------------------------------------------------

def _check_reasons(rec) -> None:
    d = rec.to_dict()
    for m, md in zip(rec.modalities, d["modalities"], strict=True):
        codes = [r["code"] for r in m.not_candidate_because]
        assert [r["code"] for r in md["not_candidate_because"]] == codes
        if m.candidate:
            assert codes == [] and m.excluded_because == () and m.eligibility != "forbidden"
            continue
        assert codes, f"{m.modality}: not a candidate without a reason"
        assert all(c in REASON_CODES for c in codes)
        assert ("forbidden" in codes) == (m.eligibility == "forbidden")
        assert [c for c in codes if c != "forbidden"] == list(m.excluded_because)
        for r in md["not_candidate_because"]:
            assert set(r) == {"code", "reason"} and len(r["reason"]) > 10
            if r["code"] == "forbidden":
                forbid = [h["rule_id"] for h in md["hits"] if h["effect"] == "forbid"]
                assert forbid and all(f in r["reason"] for f in forbid)


def test_every_non_candidate_has_a_reason(recommender, examples):
    for patient in examples.values():
        _check_reasons(recommender.recommend(patient))
    rec = recommender.recommend(examples["advanced"], {"excluded_modalities": ["tace"],
                                                       "max_cost_tier": "middle"})
    _check_reasons(rec)
    tace = rec.modality("tace")
    assert tace.not_candidate_because[0]["code"] == "declined"
    immuno = {r["code"]: r["reason"] for r in rec.modality("immunotherapy").not_candidate_because}
    assert "above_cost_ceiling" in immuno and "high" in immuno["above_cost_ceiling"]
    assert "middle" in immuno["above_cost_ceiling"]


def test_low_data_support_is_a_reason_and_in_the_message(recommender, examples):
    strict = _with(recommender, min_propensity=0.2)
    seen = 0
    for name in ("early", "intermediate", "advanced"):
        rec = strict.recommend(examples[name])
        _check_reasons(rec)
        aside = [m.modality for m in rec.modalities if "low_data_support" in m.excluded_because]
        for m in aside:
            a = rec.modality(m)
            assert not a.candidate and not a.data_support
            reason = a.not_candidate_because[-1]["reason"]
            assert "0.2" in reason and "propensity" in reason
            prop = float(strict.bundle.model.propensity(
                strict.bundle.matrix.transform(_derived(examples[name])))[m].iloc[0])
            assert f"{prop:.3f}" in reason
        if aside:
            seen += 1
            assert f"{len(aside)} modalit" in rec.message
            assert all(m in rec.message for m in aside)
            best = rec.modality(rec.recommended)  # counted within its indication tier
            n_cand = sum(m.candidate and (m.indication == "indicated")
                         == (best.indication == "indicated") for m in rec.modalities)
            assert f"{n_cand} candidate" in rec.message or "only candidate" in rec.message
            if rec.runner_up in aside:
                assert f"runner-up, {rec.runner_up}" in rec.message
    assert seen  # the strict guard sets something aside for these patients


def test_message_claims_data_support_only_when_checked(recommender, examples):
    off = _with(recommender, min_propensity=0.0)
    rec = off.recommend(examples["advanced"])
    assert "supported by data" not in rec.message
    assert all(m.data_support for m in rec.modalities)
    none = _with(recommender, min_propensity=0.95)  # no modality that likely for anyone
    rec = none.recommend(examples["advanced"])
    _check_reasons(rec)
    assert rec.recommended is not None
    assert "No candidate is supported by data" in rec.message
    assert not rec.modality(rec.recommended).data_support
    assert not any("low_data_support" in m.excluded_because for m in rec.modalities)


def test_no_model_is_a_reason(recommender, examples):
    r = _with(recommender)
    p = r.predictor
    p.observed = [m for m in p.observed if m != "chemotherapy"]
    p.column = {m: k for k, m in enumerate(p.observed)}
    rec = r.recommend(examples["advanced"])
    _check_reasons(rec)
    chemo = rec.modality("chemotherapy")
    assert "no_model" in chemo.excluded_because and not chemo.candidate
    rec = r.recommend(examples["terminal"], {"excluded_modalities": ["supportive_care"]})
    assert rec.recommended is None


def _with(recommender, **changes):
    from pipeline.recommender.runtime import Recommender

    return Recommender(recommender.bundle, dataclasses.replace(recommender.params, **changes))


def _derived(patient):
    from features import derive
    from features.contract import validate_record

    record = validate_record(patient)
    record.pop("patient_id", None)
    return derive(record)


def test_evaluate_measures_the_interval_coverage_of_the_truth(recommender, cohort_X,
                                                               tiny_cohort):
    """evaluate reports how often the served RMST interval holds the true RMST."""
    from types import SimpleNamespace

    from pipeline.evaluation.factual import predicted_rmst
    from pipeline.evaluation.policies import interval_coverage, truth_matrix

    model = recommender.bundle.model
    cohort, truth_long = tiny_cohort
    X = cohort_X.iloc[:300]
    truth = truth_matrix(truth_long, cohort["patient_id"].iloc[:300], "rmst24_months")
    pred = predicted_rmst(model, X, 24)
    out = interval_coverage(model, X, pred, truth, 24, 0.9)
    lo, hi = model.predict_rmst_interval(X, 24, list(MODALITIES), 0.9)
    inside = (truth >= lo) & (truth <= hi)
    assert out["coverage"] == pytest.approx(inside.mean()) and out["level"] == 0.9
    assert set(out["by_modality"]) == set(MODALITIES)
    assert out["by_modality"]["tace"] == pytest.approx(inside[:, MODALITIES.index("tace")].mean())
    assert 0 < out["coverage"] < 1 and out["mean_width_months"] > 0
    assert interval_coverage(SimpleNamespace(members_=[]), X, pred, truth, 24, 0.9) is None
