"""Shared fixtures for the features tests: a minimal valid patient record and cohorts of them."""

from __future__ import annotations

import pandas as pd
import pytest

BASE_RECORD = {
    "age_years": 58.0,
    "sex": "male",
    "etiology": "hbv",
    "cirrhosis": True,
    "ascites": "none",
    "encephalopathy": "none",
    "bilirubin_umol_l": 15.0,
    "albumin_g_l": 40.0,
    "inr": 1.1,
    "creatinine_umol_l": 80.0,
    "platelets_10e9_l": 160.0,
    "afp_ng_ml": 20.0,
    "tumor_count": 1,
    "tumor_max_diameter_cm": 3.0,
    "pvtt": "none",
    "extrahepatic_spread": False,
    "ecog": 0,
}


@pytest.fixture
def make_record():
    """Factory: a valid record (required fields only) with ``overrides`` applied."""

    def make(**overrides):
        return {**BASE_RECORD, **overrides}

    return make


@pytest.fixture
def small_cohort(make_record):
    """Five hand-written patients spanning stages, with optional fields partly missing."""
    rows = [
        make_record(patient_id="p1"),
        make_record(patient_id="p2", tumor_count=2, tumor_max_diameter_cm=4.0,
                    tumor_sum_diameter_cm=7.0, sodium_mmol_l=131.0, hbv_dna_iu_ml=5e4,
                    antiviral_therapy=False, economic_status="low", varices="small"),
        make_record(patient_id="p3", pvtt="vp3", ecog=1, afp_ng_ml=2500.0, sex="female",
                    etiology="alcohol", liver_involvement_pct=60.0, hepatic_vein_invasion=True),
        make_record(patient_id="p4", ascites="moderate_severe", encephalopathy="grade_1_2",
                    bilirubin_umol_l=70.0, albumin_g_l=26.0, inr=2.5, etiology="hcv"),
        make_record(patient_id="p5", tumor_count=5, tumor_max_diameter_cm=6.0,
                    extrahepatic_spread=True, lymph_node_metastasis=True, ecog=2,
                    etiology="masld", economic_status="high"),
    ]
    return pd.DataFrame(rows)
