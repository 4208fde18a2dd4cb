"""Cohort-level checks: "did you mean" for column names, units judged on a column's
distribution, and line numbers as a user sees them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from contract_records import BASE

from features.contract import (
    COLUMN_UNIT_MIN_VALUES,
    InvalidPatientError,
    suggest_field,
    validate_cohort,
    validate_record,
)


def cohort(n=30, **columns) -> pd.DataFrame:
    frame = pd.DataFrame([dict(BASE, patient_id=f"P{i:03d}") for i in range(n)])
    for name, values in columns.items():
        frame[name] = values
    return frame


# --- did you mean ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "field"), [
    ("tumour_max_diameter_cm", "tumor_max_diameter_cm"),   # British spelling
    ("bilirubin_umol_L", "bilirubin_umol_l"),               # case
    ("Haemoglobin (g/L)", "hemoglobin_g_l"),                # British, blanks, punctuation
    ("albumin_gl", "albumin_g_l"),                          # a close typo (difflib)
    ("bilirubin", "bilirubin_umol_l"),                      # the only field it starts
    ("Aetiology", "etiology"),
])
def test_suggest_field_reads_case_spelling_and_punctuation(name, field):
    assert suggest_field(name) == field


@pytest.mark.parametrize("name", ["favourite_colour", "tumor", "", "hospital_ward"])
def test_suggest_field_is_quiet_without_a_likely_field(name):
    assert suggest_field(name) is None  # "tumor" starts five fields: no guess


def test_record_keys_and_cohort_columns_share_the_suggestion():
    with pytest.raises(InvalidPatientError) as info:
        validate_record(dict(BASE, tumour_sum_diameter_cm=7.0))
    (p,) = info.value.problems
    assert p.reason == "unknown_field" and p.hint == "did you mean 'tumor_sum_diameter_cm'?"


def test_misspelt_required_columns_name_the_missing_field_and_the_intended_column():
    frame = cohort().rename(columns={"bilirubin_umol_l": "bilirubin_umol_L",
                                     "tumor_max_diameter_cm": "tumour_max_diameter_cm"})
    result = validate_cohort(frame, require_outcomes=False)
    found = {(p.field, p.reason): p for p in result.problems}
    missing = found[("tumor_max_diameter_cm", "missing_column")]
    assert "'tumour_max_diameter_cm'" in missing.hint
    unknown = found[("tumour_max_diameter_cm", "unknown_column")]
    assert unknown.row is None and unknown.hint == "did you mean 'tumor_max_diameter_cm'?"
    assert unknown.message == ("tumour_max_diameter_cm: expected a contract column name, got a "
                               "column not in the contract (did you mean "
                               "'tumor_max_diameter_cm'?)")
    assert ("bilirubin_umol_L", "unknown_column") in found
    assert ("bilirubin_umol_l", "missing_column") in found
    assert result.n_invalid == len(frame)
    assert result.report["column_suggestions"] == {
        "bilirubin_umol_L": "bilirubin_umol_l", "tumour_max_diameter_cm": "tumor_max_diameter_cm"}


def test_misspelt_optional_column_is_suggested_without_invalidating_rows():
    frame = cohort(tumour_sum_diameter_cm=9.0, ward="B")
    result = validate_cohort(frame, require_outcomes=False)
    assert result.problems == () and result.n_invalid == 0
    assert dict(result.suggestions) == {"tumour_sum_diameter_cm": "tumor_sum_diameter_cm"}
    assert result.extra_columns == ("tumour_sum_diameter_cm", "ward")


def test_a_lookalike_of_a_present_column_gets_no_suggestion():
    frame = cohort(Tumor_Count=3)  # tumor_count is there: a second, unrelated column
    assert validate_cohort(frame, require_outcomes=False).suggestions == {}


# --- units judged on the column's distribution ------------------------------------------------


def _sick_mg_dl(n, rng):
    """Bilirubin in mg/dL, every value >= 1.0: each passes the umol/L range 1-1000 alone."""
    return np.round(rng.uniform(1.0, 4.0, n), 1)


@pytest.mark.parametrize(("field", "values", "unit", "factor"), [
    ("bilirubin_umol_l", _sick_mg_dl(40, np.random.default_rng(1)), "mg/dL", "17.1"),
    ("albumin_g_l", np.round(np.random.default_rng(2).uniform(2.5, 4.5, 40), 1), "g/dL", "10"),
    ("creatinine_umol_l", np.round(np.random.default_rng(3).uniform(0.6, 1.4, 40), 2), "mg/dL",
     "88.4"),
])
def test_a_column_in_another_unit_is_one_problem_invalidating_every_row(field, values, unit,
                                                                        factor):
    result = validate_cohort(cohort(len(values), **{field: values}), require_outcomes=False)
    column = [p for p in result.problems if p.row is None]
    assert [(p.field, p.reason) for p in column] == [(field, "wrong_unit")]
    median = f"{float(np.median(values)):.3g}"
    assert column[0].received.startswith(f"median {median}; 100% of 40 values")
    assert unit in column[0].hint and f"multiply by {factor}" in column[0].hint
    assert result.n_invalid == len(values) and result.valid.empty
    assert result.report["problems_by_field"][field]["wrong_unit"] == len(values)


def test_bilirubin_in_mg_dl_passes_value_by_value_but_not_as_a_column():
    values = _sick_mg_dl(40, np.random.default_rng(4))
    for v in values[:5]:
        validate_record(dict(BASE, bilirubin_umol_l=float(v)))  # every value alone is plausible
    assert validate_cohort(cohort(40, bilirubin_umol_l=values), require_outcomes=False).n_invalid \
        == 40


def test_a_quarter_of_the_column_in_mg_dl_is_enough_a_fifth_is_not():
    rng = np.random.default_rng(5)
    umol = np.round(rng.uniform(8, 40, 40), 1)
    quarter = umol.copy()
    quarter[:10] = _sick_mg_dl(10, rng)          # two hospitals merged, one in mg/dL
    result = validate_cohort(cohort(40, bilirubin_umol_l=quarter), require_outcomes=False)
    assert result.report["problems_by_reason"].get("wrong_unit") == 40
    fifth = umol.copy()
    fifth[:8] = 4.0                              # low but umol/L-plausible values
    result = validate_cohort(cohort(40, bilirubin_umol_l=fifth), require_outcomes=False)
    assert "wrong_unit" not in result.report["problems_by_reason"] and result.n_invalid == 0


def test_a_small_frame_is_never_judged_by_its_distribution():
    n = COLUMN_UNIT_MIN_VALUES - 1
    values = _sick_mg_dl(n, np.random.default_rng(6))
    result = validate_cohort(cohort(n, bilirubin_umol_l=values), require_outcomes=False)
    assert result.problems == ()
    # missing values do not count towards the minimum
    padded = np.concatenate([values, [np.nan] * 10])
    result = validate_cohort(cohort(len(padded), bilirubin_umol_l=padded),
                             require_outcomes=False)
    assert "wrong_unit" not in result.report["problems_by_reason"]


def test_tumour_sizes_in_millimetres_flag_the_column_including_small_ones():
    mm = np.array([25.0, 18.0, 45.0, 60.0, 28.0] * 6)  # 25 mm passes as 25 cm alone
    result = validate_cohort(cohort(30, tumor_max_diameter_cm=mm, tumor_count=1),
                             require_outcomes=False)
    column = [p for p in result.problems if p.row is None]
    assert [p.reason for p in column] == ["wrong_unit"] and "millimetres" in column[0].hint
    assert result.n_invalid == 30


def test_prothrombin_seconds_in_the_inr_column():
    seconds = np.round(np.random.default_rng(7).uniform(11, 16, 30), 1)
    result = validate_cohort(cohort(30, inr=seconds), require_outcomes=False)
    (column,) = [p for p in result.problems if p.row is None]
    assert column.expected == "a column of INR values" and "prothrombin" in column.hint


def test_simulated_cohorts_are_never_taken_for_another_unit():
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    frame = simulate_cohort(3000, 11, SyntheticParams.default())[0]
    assert validate_cohort(frame).report["problems_by_reason"] == {}


# --- line numbers -------------------------------------------------------------------------------


def test_problems_carry_the_row_position_and_the_line_a_user_sees():
    frame = cohort(6)
    frame.loc[3, "albumin_g_l"] = 3.8
    result = validate_cohort(frame, require_outcomes=False)
    (p,) = result.problems
    assert (p.row, p.line) == (3, 5)  # header = line 1, row 0 = line 2
    table = result.problem_frame()
    assert table.loc[0, ["row", "line"]].tolist() == [3, 5]
    assert list(table.columns[:3]) == ["row", "line", "field"]
    whole = validate_cohort(cohort(6).drop(columns=["ecog"]), require_outcomes=False)
    assert whole.problem_frame()["line"].isna().all()


def test_a_decimal_comma_in_a_numeric_column_gets_a_hint():
    frame = cohort(4)
    frame["inr"] = frame["inr"].astype(object)
    frame.loc[2, "inr"] = "1,05"
    (p,) = validate_cohort(frame, require_outcomes=False).problems
    assert p.reason == "not_a_number" and "decimal comma" in p.hint and p.line == 4
