"""Hypothesis properties over valid contract records: ranges, total staging, monotonicity,
record path = cohort path."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import liver
from features.contract import FIELDS, validate_record
from features.derivation import DERIVED_COLUMNS, derive
from features.matrix import ModelMatrix
from features.staging import BCLC_STAGES, CNLC_STAGES

SETTINGS = settings(max_examples=int(os.environ.get("FEATURES_HYPOTHESIS_EXAMPLES", 60)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _num(name, low=None, high=None):
    spec = FIELDS[name]
    return st.floats(spec.low if low is None else low, spec.high if high is None else high,
                     allow_nan=False, allow_infinity=False)


def _cat(name):
    return st.sampled_from(FIELDS[name].categories)


def _optional(strategy):
    return st.none() | strategy


@st.composite
def valid_records(draw):
    """A contract-valid patient record; optional fields present or missing at random."""
    count = draw(st.integers(1, 12) | st.integers(1, 50))
    size = draw(_num("tumor_max_diameter_cm"))
    rec = {
        "age_years": draw(_num("age_years")),
        "sex": draw(_cat("sex")),
        "etiology": draw(_cat("etiology")),
        "cirrhosis": draw(st.booleans()),
        "ascites": draw(_cat("ascites")),
        "encephalopathy": draw(_cat("encephalopathy")),
        "bilirubin_umol_l": draw(_num("bilirubin_umol_l")),
        "albumin_g_l": draw(_num("albumin_g_l")),
        "inr": draw(_num("inr")),
        "creatinine_umol_l": draw(_num("creatinine_umol_l")),
        "platelets_10e9_l": draw(_num("platelets_10e9_l")),
        "afp_ng_ml": draw(_num("afp_ng_ml")),
        "tumor_count": count,
        "tumor_max_diameter_cm": size,
        "pvtt": draw(_cat("pvtt")),
        "extrahepatic_spread": draw(st.booleans()),
        "ecog": draw(st.integers(0, 4)),
        "sodium_mmol_l": draw(_optional(_num("sodium_mmol_l"))),
        "hbv_dna_iu_ml": draw(_optional(_num("hbv_dna_iu_ml"))),
        "antiviral_therapy": draw(_optional(st.booleans())),
        "liver_involvement_pct": draw(_optional(_num("liver_involvement_pct"))),
        "hepatic_vein_invasion": draw(_optional(st.booleans())),
        "ivc_thrombus": draw(_optional(st.booleans())),
        "lymph_node_metastasis": draw(_optional(st.booleans())),
        "economic_status": draw(_optional(_cat("economic_status"))),
        "varices": draw(_optional(_cat("varices"))),
    }
    if count > 1:
        rec["tumor_sum_diameter_cm"] = draw(_optional(st.floats(size, size * count)))
    return rec


def _in(series, low, high):
    values = series.dropna().astype(float)
    return bool(((values >= low) & (values <= high)).all())


@SETTINGS
@given(st.lists(valid_records(), min_size=1, max_size=15))
def test_scores_in_range_and_staging_total(records):
    for rec in records:
        validate_record(rec)  # the strategy only makes contract-valid records
    out = derive(pd.DataFrame(records))
    assert _in(out["child_pugh_points"], 5, 15) and out["child_pugh_points"].notna().all()
    assert out["child_pugh_class"].notna().all()
    assert out["albi_grade"].isin([1, 2, 3]).all()
    assert _in(out["meld"], 6, 40) and out["meld"].notna().all()
    assert _in(out["meld_na"], 6, 40)
    assert out["meld_na"].isna().tolist() == [r["sodium_mmol_l"] is None for r in records]
    assert _in(out["afp_model_score"], 0, 9) and _in(out["clip_score"], 0, 6)
    assert _in(out["hap_score"], 0, 4) and _in(out["pvtt_grade"], 0, 4)
    assert (out["tumor_burden_score"] > 0).all()
    # Total staging: exactly one valid stage per patient, in each system.
    assert out["bclc_stage"].notna().all() and out["bclc_stage"].isin(BCLC_STAGES).all()
    assert out["cnlc_stage"].notna().all() and out["cnlc_stage"].isin(CNLC_STAGES).all()
    # Flags decided by required inputs are never unknown.
    for name in ("within_milan", "within_up_to_seven", "within_metroticket",
                 "macrovascular_invasion", "extrahepatic_disease"):
        assert out[name].notna().all(), name
    # Milan is nested in up-to-seven (not in UCSF: 3 x 3 cm exceeds its 8 cm total).
    milan = out["within_milan"].astype(bool)
    assert out.loc[milan, "within_up_to_seven"].all()


@SETTINGS
@given(valid_records(), st.floats(1, 1000), st.floats(1, 1000))
def test_worse_bilirubin_never_improves_liver_scores(rec, b1, b2):
    low, high = sorted((b1, b2))
    a = derive({**rec, "bilirubin_umol_l": low})
    b = derive({**rec, "bilirubin_umol_l": high})
    assert b["child_pugh_points"] >= a["child_pugh_points"]
    assert b["albi_score"] >= a["albi_score"] and b["albi_grade"] >= a["albi_grade"]
    assert b["meld"] >= a["meld"] - 1e-12
    if rec["sodium_mmol_l"] is not None:
        assert b["meld_na"] >= a["meld_na"] - 1e-12
    assert BCLC_STAGES.index(b["bclc_stage"]) >= BCLC_STAGES.index(a["bclc_stage"])
    assert CNLC_STAGES.index(b["cnlc_stage"]) >= CNLC_STAGES.index(a["cnlc_stage"])


@SETTINGS
@given(valid_records(), st.floats(10, 60), st.floats(10, 60))
def test_lower_albumin_never_improves_liver_scores(rec, a1, a2):
    low, high = sorted((a1, a2))
    worse = derive({**rec, "albumin_g_l": low})
    better = derive({**rec, "albumin_g_l": high})
    assert worse["child_pugh_points"] >= better["child_pugh_points"]
    assert worse["albi_score"] >= better["albi_score"]
    assert liver.MALBI_GRADES.index(worse["malbi_grade"]) >= liver.MALBI_GRADES.index(
        better["malbi_grade"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(valid_records(), min_size=2, max_size=8), st.data())
def test_record_path_equals_cohort_path_and_matrix_rows(records, data):
    frame = pd.DataFrame(records)
    derived = derive(frame)
    i = data.draw(st.integers(0, len(records) - 1))
    alone = derive(records[i])
    for name in DERIVED_COLUMNS:
        expected = derived[name].iloc[i]
        if pd.isna(expected):
            assert alone[name] is None, name
        elif isinstance(alone[name], float):
            assert np.isclose(alone[name], float(expected), rtol=1e-12, atol=0), name
        else:
            assert alone[name] == expected, name
    mm = ModelMatrix().fit(frame)
    X = mm.transform(frame)
    np.testing.assert_array_equal(mm.transform(frame.iloc[[i]]).to_numpy(),
                                  X.iloc[[i]].to_numpy())
    np.testing.assert_allclose(mm.transform(records[i]).to_numpy(), X.iloc[[i]].to_numpy(),
                               rtol=1e-12, atol=0)
