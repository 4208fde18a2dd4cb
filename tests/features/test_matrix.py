"""ModelMatrix: fixed columns, no leakage, same row alone or in a cohort, sklearn contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from features.contract import FIELDS, OUTCOME_FIELDS, coerce_frame
from features.derivation import DERIVED_COLUMNS, derive
from features.matrix import MATRIX_DERIVED, NOMINAL_FIELDS, ORDINAL_FIELDS, ModelMatrix

EXPECTED_COLUMNS = [
    "age_years", "sex_male", "sex_female", "economic_status", "etiology_hbv", "etiology_hcv",
    "etiology_hbv_hcv", "etiology_alcohol", "etiology_masld", "etiology_other", "log10_hbv_dna",
    "antiviral_therapy", "cirrhosis", "ascites", "encephalopathy", "varices",
    "prior_variceal_bleeding", "portal_hypertension", "icg_r15_pct", "bilirubin_umol_l",
    "albumin_g_l", "inr", "creatinine_umol_l", "platelets_10e9_l", "log10_afp", "sodium_mmol_l",
    "neutrophils_10e9_l", "hemoglobin_g_l", "ast_u_l", "alt_u_l", "tumor_count",
    "tumor_max_diameter_cm", "tumor_sum_diameter_cm", "liver_involvement_pct", "bilobar",
    "near_major_vessel_or_duct", "pvtt", "hepatic_vein_invasion", "ivc_thrombus",
    "bile_duct_invasion", "extrahepatic_spread", "lymph_node_metastasis", "ecog",
    "autoimmune_disease", "prior_liver_transplant", "recent_cardiovascular_event",
    "on_anticoagulation", *MATRIX_DERIVED,
]


@pytest.fixture
def cohort_with_outcomes(small_cohort):
    frame = small_cohort.copy()
    frame["modality"] = ["resection", "tace", "immunotherapy", "supportive_care", "targeted"]
    frame["os_months"] = [60.0, 30.0, 12.0, 3.0, 9.0]
    frame["death"] = [False, True, True, True, True]
    frame["response"] = ["cr", "pr", "sd", None, "pd"]
    frame["pfs_months"] = [50.0, 20.0, 6.0, 2.0, 4.0]
    frame["progression"] = [False, True, True, True, True]
    frame["secret_extra"] = [1.0, 2.0, 3.0, 4.0, 5.0]
    return frame


def test_column_order_is_fixed_and_data_independent(small_cohort, make_record):
    a = ModelMatrix().fit(small_cohort)
    b = ModelMatrix().fit(pd.DataFrame([make_record(sex="female", etiology="other")]))
    assert list(a.get_feature_names_out()) == EXPECTED_COLUMNS
    assert list(b.get_feature_names_out()) == EXPECTED_COLUMNS
    assert list(a.transform(small_cohort).columns) == EXPECTED_COLUMNS


def test_no_identifier_outcome_or_extra_column_leaks(cohort_with_outcomes, small_cohort):
    mm = ModelMatrix().fit(cohort_with_outcomes)
    X = mm.transform(cohort_with_outcomes)
    forbidden = {"patient_id", "secret_extra", *OUTCOME_FIELDS}
    assert not forbidden & set(X.columns)
    assert not any(c.startswith(("modality", "response")) for c in X.columns)
    assert not forbidden & set(mm.feature_groups_.values())
    pd.testing.assert_frame_equal(X, mm.transform(small_cohort))


def test_same_row_alone_or_in_cohort(small_cohort):
    mm = ModelMatrix().fit(small_cohort)
    X = mm.transform(small_cohort)
    for i in range(len(small_cohort)):
        alone = mm.transform(small_cohort.iloc[[i]])
        pd.testing.assert_frame_equal(alone, X.iloc[[i]])
        record = {k: v for k, v in small_cohort.iloc[i].to_dict().items()
                  if not (isinstance(v, float) and np.isnan(v))}
        np.testing.assert_array_equal(mm.transform(record).to_numpy(), X.iloc[[i]].to_numpy())


def test_one_hot_is_stable_over_all_contract_categories(make_record):
    only_males = pd.DataFrame([make_record(), make_record(age_years=70.0)])
    X = ModelMatrix().fit_transform(only_males)
    assert (X["sex_female"] == 0.0).all() and (X["sex_male"] == 1.0).all()
    assert (X[[f"etiology_{c}" for c in FIELDS["etiology"].categories]].sum(axis=1) == 1).all()


def test_encodings_and_missing_values_stay_nan(small_cohort):
    X = ModelMatrix().fit_transform(small_cohort)
    assert (X.dtypes == "float64").all()
    assert np.isnan(X.loc[0, "sodium_mmol_l"]) and np.isnan(X.loc[0, "economic_status"])
    assert np.isnan(X.loc[0, "meld_na"]) and np.isnan(X.loc[0, "hepatic_vein_invasion"])
    assert X.loc[1, "economic_status"] == 0.0 and X.loc[4, "economic_status"] == 2.0
    assert X.loc[2, "pvtt"] == 3.0 and X.loc[3, "ascites"] == 2.0 and X.loc[1, "varices"] == 1.0
    assert X.loc[0, "log10_afp"] == pytest.approx(np.log10(20.0))
    assert X.loc[1, "log10_hbv_dna"] == pytest.approx(np.log10(5e4))
    assert X.loc[0, "bclc_stage"] == 1.0 and X.loc[3, "bclc_stage"] == 4.0  # A, D
    assert X.loc[4, "cnlc_stage"] == 5.0  # IIIb
    assert X.loc[2, "extrahepatic_spread"] == 0.0 and X.loc[4, "extrahepatic_spread"] == 1.0
    assert X.loc[2, "sex_male"] == 0.0 and X.loc[2, "sex_female"] == 1.0


def test_missing_nominal_category_gives_nan_one_hot(make_record):
    X = ModelMatrix().fit_transform(pd.DataFrame([make_record(sex=None)]))
    assert X[["sex_male", "sex_female"]].isna().all(axis=None)


def test_canonical_plain_and_pre_derived_frames_agree(small_cohort):
    mm = ModelMatrix().fit(small_cohort)
    X = mm.transform(small_cohort)
    pd.testing.assert_frame_equal(mm.transform(coerce_frame(small_cohort)), X)
    pd.testing.assert_frame_equal(mm.transform(derive(small_cohort)), X)
    derived_csv_like = derive(small_cohort)
    for name in ("bclc_stage", "cnlc_stage", "malbi_grade"):
        derived_csv_like[name] = derived_csv_like[name].astype(str)
    pd.testing.assert_frame_equal(mm.transform(derived_csv_like), X)


def test_groups_and_labels(small_cohort):
    mm = ModelMatrix().fit(small_cohort)
    assert set(mm.feature_groups_) == set(EXPECTED_COLUMNS)
    groups = set(mm.feature_groups_.values())
    assert groups <= set(FIELDS) | set(DERIVED_COLUMNS)
    assert set(mm.group_labels_) == groups and all(mm.group_labels_.values())
    assert mm.feature_groups_["etiology_hcv"] == "etiology"
    assert mm.feature_groups_["log10_afp"] == "afp_ng_ml"
    summed = mm.sum_by_group(np.ones((2, mm.n_features_out_)))
    assert summed.loc[0, "etiology"] == len(FIELDS["etiology"].categories)
    assert summed.loc[0, "sex"] == 2 and summed.loc[0, "age_years"] == 1
    assert len(mm.describe()) == mm.n_features_out_


def test_sklearn_contract(small_cohort):
    mm = ModelMatrix(exclude=("economic_status",))
    assert clone(mm).get_params() == {"include_derived": True, "exclude": ("economic_status",)}
    with pytest.raises(NotFittedError):
        mm.transform(small_cohort)
    out = mm.set_output(transform="pandas").fit_transform(small_cohort)
    assert isinstance(out, pd.DataFrame) and "economic_status" not in out.columns
    default = ModelMatrix().set_output(transform="default").fit(small_cohort)
    assert isinstance(default.transform(small_cohort), pd.DataFrame)
    plain = ModelMatrix(include_derived=False).fit_transform(small_cohort)
    assert not set(MATRIX_DERIVED) & set(plain.columns)
    with pytest.raises(ValueError, match="'exclude' parameter"):
        ModelMatrix(exclude=("modality",)).fit(small_cohort)


def test_every_contract_category_field_has_a_declared_encoding():
    categories = {n for n, f in FIELDS.items() if f.kind == "category" and f.group == "patient"}
    assert categories == set(ORDINAL_FIELDS) | set(NOMINAL_FIELDS)
