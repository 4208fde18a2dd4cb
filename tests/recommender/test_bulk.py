"""The columnar tables of ``recommend_table`` say what ``recommend_batch`` says, patient by
patient: the same recommended modality and runner-up, the same ranks, verdicts and reason codes
(bit-identical), the same numbers (float tolerance); invalid rows come back as rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.contract import MODALITIES, InvalidPatientError
from pipeline import recommend_table

N_PATIENTS = 2500


@pytest.fixture(scope="module")
def cohort():
    """A few thousand fresh simulated patients, with a handful of invalid rows."""
    from features.contract import PATIENT_FIELDS
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    frame, _ = simulate_cohort(N_PATIENTS, 77, SyntheticParams.default())
    frame = frame[[c for c in PATIENT_FIELDS if c in frame.columns]].reset_index(drop=True)
    frame = frame.astype({"albumin_g_l": object, "ecog": object})
    frame.loc[11, "albumin_g_l"] = "abc"
    frame.loc[12, "ecog"] = 9
    frame.loc[13, "pvtt"] = "vp7"
    return frame


def _rank_key(m):
    """Ranking order of a ModalityAssessment (the reference, written independently of
    rank_matrix): indicated before acceptable, candidates before the ones set aside, then
    objective, then RMST (higher first; NaN last), then contract order."""
    def desc(v):
        return math.inf if v is None or v != v else -v
    return (m.indication != "indicated", "low_data_support" in m.excluded_because,
            desc(m.score), desc(m.outcomes["rmst_months"]), MODALITIES.index(m.modality))


def _check_equal(batch, table, intervals: bool):
    pats, long = table.patients, table.modalities
    assert list(pats["row"]) == list(range(len(batch)))
    by_row = {r: g for r, g in zip(long["row"].to_numpy()[:: len(MODALITIES)],
                                   np.split(np.arange(len(long)), len(long) // 10), strict=True)}
    n_ranked_checked = 0
    for i, rec in enumerate(batch):
        p = pats.iloc[i]
        if isinstance(rec, InvalidPatientError):
            assert not p["ok"] and i not in by_row
            for problem in rec.problems:
                assert problem.message in p["errors"]
            continue
        assert p["ok"] and p["errors"] is None
        assert p["recommended"] == rec.recommended and p["runner_up"] == rec.runner_up
        assert p["patient_ref"] == rec.patient_ref
        assert p["stage"] == rec.guideline["stage"]
        assert bool(p["concordant"]) == rec.guideline["concordant"]
        rows = long.iloc[by_row[i]]
        assert list(rows["modality"]) == list(MODALITIES)
        assert int(p["n_candidates"]) == sum(m.candidate for m in rec.modalities)
        ranked = sorted([m for m in rec.modalities if m.candidate
                         or m.excluded_because == ("low_data_support",)], key=_rank_key)
        expected_rank = {m.modality: k + 1 for k, m in enumerate(ranked)}
        for (_, t), m in zip(rows.iterrows(), rec.modalities, strict=True):
            where = f"row {i} {m.modality}"
            assert t["eligibility"] == m.eligibility, where
            assert t["indication"] == m.indication, where
            assert t["candidate"] == m.candidate, where
            codes = [r["code"] for r in m.not_candidate_because]
            assert t["not_candidate_because"] == ",".join(codes), where
            forbid = [h["rule_id"] for h in m.hits if h["effect"] == "forbid"]
            assert t["forbidden_by"] == ", ".join(forbid), where
            assert t["data_support"] == m.data_support and t["cost_tier"] == m.cost_tier
            rank = t["rank"]
            assert (None if pd.isna(rank) else int(rank)) == expected_rank.get(m.modality), where
            n_ranked_checked += not pd.isna(rank)
            assert t["is_recommended"] == (m.modality == rec.recommended), where
            o = m.outcomes
            pairs = [(t["score"], m.score), (t["rmst_months"], o["rmst_months"]),
                     (t["p_response"], o["p_response"])]
            pairs += [(t[f"survival_{k}"], v) for k, v in o["survival"].items()]
            if intervals:
                band = o["rmst_interval_months"] or [None, None]
                pairs += [(t["rmst_lower"], band[0]), (t["rmst_upper"], band[1])]
            if o["median_reached"] is not None:
                assert bool(t["median_reached"]) == o["median_reached"], where
            pairs.append((t["median_os_months"], o["median_os_months"]))
            for got, want in pairs:
                if want is None or want != want:
                    assert got != got, where
                else:
                    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), where
    assert n_ranked_checked > len(batch)  # the ranks were exercised, not only missing


@pytest.mark.parametrize("request_", [
    {"intervals": True},
    {"preferences": {"excluded_modalities": ["resection"], "max_cost_tier": "middle",
                     "objective": "median_os"}, "guideline": "bclc-2022"},
    {"preferences": {"objective": "surv12", "consider_not_indicated": True}},
], ids=["default", "declined-ceiling-median-bclc", "surv12-consider-not-indicated"])
def test_table_equals_recommend_batch_for_every_patient(recommender, cohort, request_):
    intervals = request_.get("intervals", False)
    kwargs = {k: v for k, v in request_.items() if k != "intervals"}
    batch = recommender.recommend_batch(cohort, explain=False, intervals=intervals,
                                        errors="report", progress=False, **kwargs)
    table = recommend_table(cohort, recommender=recommender, intervals=intervals,
                            chunk_size=1000, **kwargs)  # several chunks
    assert len(table.patients) == len(cohort)
    assert (~table.patients["ok"]).sum() == 3
    _check_equal(batch, table, intervals)
    reasons = set(table.modalities["not_candidate_because"])
    codes = {c for r in reasons for c in r.split(",") if c}
    assert {"forbidden", "low_data_support"} <= codes
    considered = (request_.get("preferences") or {}).get("consider_not_indicated", False)
    assert ("not_indicated" in codes) != considered


def test_shap_values_are_the_recommendations_factors(recommender, cohort):
    rows = cohort.iloc[:150]
    batch = recommender.recommend_batch(rows, explain=True, errors="report", progress=False)
    long = recommend_table(rows, recommender=recommender, explain=True).modalities
    checked = 0
    for rec in batch:
        if isinstance(rec, InvalidPatientError):
            continue
        for m in rec.modalities:
            t = long[(long["row"] == batch.index(rec)) & (long["modality"] == m.modality)].iloc[0]
            for f in m.factors:
                assert math.isclose(t[f"shap__{f.field}"], f.shap, rel_tol=1e-9, abs_tol=1e-12)
                checked += 1
            if m.factors_base_value is not None:
                assert math.isclose(t["shap_base"], m.factors_base_value, rel_tol=1e-9)
    assert checked > 100


def test_invalid_rows_and_whole_frame_problems_never_fail_the_call(recommender, cohort):
    table = recommend_table(cohort.drop(columns=["tumor_count"]).iloc[:50],
                            recommender=recommender)
    assert len(table.patients) == 50 and not table.patients["ok"].any()
    assert table.patients["errors"].str.contains("tumor_count").all()
    assert len(table.modalities) == 0
    assert list(table.modalities.columns) == list(recommend_table(
        cohort.iloc[:2], recommender=recommender).modalities.columns)
    wide = table.wide()
    assert wide["tace__rank"].isna().all() and len(wide) == 50
    shap_columns = recommend_table(cohort.iloc[:2], recommender=recommender,
                                   explain=True).modalities.columns
    assert list(recommend_table(cohort.iloc[:3].drop(columns=["ecog"]), recommender=recommender,
                                explain=True).modalities.columns) == list(shap_columns)
    with pytest.raises(InvalidPatientError):
        recommend_table([{"age_years": 50}], recommender=recommender)


def test_wide_table_spreads_every_modality(recommender, cohort):
    table = recommend_table(cohort.iloc[:40], recommender=recommender, intervals=True)
    wide = table.wide()
    assert len(wide) == 40
    assert wide.loc[~wide["ok"], "resection__rmst_months"].isna().all()
    long = table.modalities
    for m in ("tace", "supportive_care"):
        part = long[long["modality"] == m].set_index("row")
        got = wide.set_index("row").loc[part.index]
        assert np.array_equal(got[f"{m}__rmst_upper"].to_numpy(), part["rmst_upper"].to_numpy(),
                              equal_nan=True)
        assert list(got[f"{m}__eligibility"]) == list(part["eligibility"].astype(str))
    ids = set(cohort["patient_id"].astype(str))
    assert not any(str(v) in ids for v in wide.astype(str).to_numpy().ravel())  # no identifier
