"""The patient contract: one definition, every problem reported with field, expectation, value."""

import math

import numpy as np
import pandas as pd
import pytest
from contract_records import BASE
from hypothesis import given, settings
from hypothesis import strategies as st

from features.contract import (
    FIELDS,
    MODALITIES,
    InvalidPatientError,
    coerce_frame,
    pandera_schema,
    validate_cohort,
    validate_record,
)

OUTCOME = dict(modality="tace", os_months=14.2, death=True)


def problems_of(record, **kw):
    with pytest.raises(InvalidPatientError) as info:
        validate_record(record, **kw)
    return {p.field: p for p in info.value.problems}


def test_valid_record_is_normalised_with_every_patient_field():
    out = validate_record(BASE)
    assert out["tumor_count"] == 2 and isinstance(out["tumor_count"], int)
    assert out["varices"] is None  # optional, missing
    assert set(out) == {n for n, f in FIELDS.items() if f.group == "patient"}


def test_albumin_in_g_dl_gets_a_unit_hint():
    p = problems_of(dict(BASE, albumin_g_l=3.8))["albumin_g_l"]
    assert p.reason == "out_of_range" and "g/dL" in p.hint and p.received == "3.8"
    assert "g/L" in p.expected


@pytest.mark.parametrize(
    "field,value,reason",
    [
        ("creatinine_umol_l", 1.1, "out_of_range"),  # mg/dL
        ("platelets_10e9_l", 150000, "out_of_range"),  # per uL
        ("tumor_max_diameter_cm", 45, "out_of_range"),  # mm
        ("afp_ng_ml", "high", "not_a_number"),
        ("age_years", math.inf, "non_finite"),
        ("age_years", float("nan"), "missing_value"),
        ("ecog", 1.5, "not_an_integer"),
        ("sex", "M", "unknown_category"),
        ("cirrhosis", "maybe", "not_a_boolean"),
        ("bilirubin_umol_l", True, "not_a_number"),
    ],
)
def test_each_kind_of_problem_is_named(field, value, reason):
    p = problems_of(dict(BASE, **{field: value}))[field]
    assert p.reason == reason
    assert p.expected and p.received


def test_every_problem_is_collected_not_just_the_first():
    record = dict(BASE, albumin_g_l=3.8, sex="Mal", ecog=7, unknown_thing=1)
    del record["pvtt"]
    found = problems_of(record)
    assert set(found) == {"albumin_g_l", "sex", "ecog", "pvtt", "unknown_thing"}
    assert found["sex"].hint == "did you mean 'male'?"
    assert found["pvtt"].reason == "missing_value"


def test_typo_in_field_name_suggests_the_contract_name():
    record = dict(BASE, albumin_gl=38)
    assert "albumin_g_l" in problems_of(record)["albumin_gl"].hint


def test_sum_diameter_must_not_be_below_max_and_pfs_not_above_os():
    found = problems_of(dict(BASE, **OUTCOME, tumor_sum_diameter_cm=3.0, pfs_months=20.0),
                        require_outcomes=True)
    assert found["tumor_sum_diameter_cm"].reason == "inconsistent"
    assert found["pfs_months"].reason == "inconsistent"


def test_outcomes_required_only_for_training_rows():
    validate_record(BASE)
    assert set(problems_of(BASE, require_outcomes=True)) == {"modality", "os_months", "death"}


@pytest.mark.parametrize("record", [None, [], "patient", 42])
def test_non_mapping_input_is_an_invalid_patient(record):
    with pytest.raises(InvalidPatientError):
        validate_record(record)


def _cohort(n=6):
    rows = [dict(BASE, **OUTCOME, patient_id=f"P{i:03d}") for i in range(n)]
    return pd.DataFrame(rows)


def test_cohort_report_counts_by_field_and_reason_and_keeps_extra_columns_aside():
    frame = _cohort()
    frame.loc[1, "albumin_g_l"] = 3.5
    frame.loc[2, "sex"] = "unknown"
    frame["afp_ng_ml"] = frame["afp_ng_ml"].astype(object)
    frame.loc[3, "afp_ng_ml"] = "n/a"  # a text in a numeric column
    frame["favourite_colour"] = "blue"
    result = validate_cohort(frame)
    report = result.report
    assert report["n_rows"] == 6 and report["n_invalid"] == 3 and report["n_valid"] == 3
    assert report["problems_by_field"]["albumin_g_l"] == {"out_of_range": 1}
    assert report["problems_by_field"]["afp_ng_ml"] == {"not_a_number": 1}
    assert report["extra_columns"] == ["favourite_colour"]
    assert "favourite_colour" not in result.valid
    assert sorted(result.invalid_rows.tolist()) == [1, 2, 3]
    assert len(result.valid) + result.n_invalid == len(frame)  # nothing silently dropped
    # no identifier in the report
    assert "P001" not in str(report) and "P001" not in result.problem_frame().to_string()


def test_missing_required_column_invalidates_every_row():
    result = validate_cohort(_cohort().drop(columns=["ecog"]))
    assert result.n_invalid == 6
    assert result.report["problems_by_field"]["ecog"] == {"missing_column": 6}


def test_duplicate_patient_ids_are_reported():
    frame = _cohort()
    frame.loc[4, "patient_id"] = "P000"
    assert validate_cohort(frame).report["problems_by_reason"] == {"duplicate_id": 1}


CONTAINERS = [[], [56, 57], [56], (56, 57), {"a": 1}, {1, 2}, frozenset({3}),
              np.array([56.0, 1.0]), np.array([56.0]), np.array(56.0), pd.Series([56.0])]


@pytest.mark.parametrize("value", CONTAINERS, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("field", ["age_years", "ecog", "sex", "cirrhosis"])
def test_container_cells_in_a_cohort_are_problems_of_their_row_only(field, value):
    """Regression: a list (tuple, dict, set, array) cell is one ``not_a_scalar`` problem of its
    row, naming the field, the expectation and the value; the other rows stay valid."""
    rows = _cohort().to_dict("records")
    rows[2][field] = rows[4][field] = value  # built from records: pandas keeps every cell whole
    rows[5][field] = None  # a missing required value next to them is still reported as such
    result = validate_cohort(pd.DataFrame(rows))
    assert result.invalid_rows.tolist() == [2, 4, 5]
    assert result.valid.index.tolist() == [0, 1, 3]
    found = {(p.row, p.field, p.reason) for p in result.problems}
    assert found == {(2, field, "not_a_scalar"), (4, field, "not_a_scalar"),
                     (5, field, "missing_value")}
    problem = next(p for p in result.problems if p.row == 2)
    assert problem.expected == FIELDS[field].expectation
    assert problem.received == str(value)[:60] and type(value).__name__ in problem.hint
    # the single-record path says the same
    single = problems_of(dict(BASE, **{field: value}))[field]
    assert (single.reason, single.received) == ("not_a_scalar", problem.received)


def test_container_cells_in_every_row_and_in_a_list_column():
    frame = _cohort(3)
    frame["albumin_g_l"] = [[39.0, 40.0], [41.0, 42.0], [43.0, 44.0]]  # equal lengths: no 2-D
    result = validate_cohort(frame)
    assert result.n_invalid == 3 and result.report["problems_by_reason"] == {"not_a_scalar": 3}
    from features.contract.validation import check_column

    parsed, missing, problems = check_column(FIELDS["albumin_g_l"], [[1, 2], [3, 4], 40, None])
    assert np.isnan(parsed[:2]).all() and parsed[2] == 40 and missing.tolist() == [0, 0, 0, 1]
    assert [(p.row, p.reason) for p in problems] == [(0, "not_a_scalar"), (1, "not_a_scalar")]


def test_patient_id_cells_of_any_type_are_identifiers():
    rows = _cohort(3).to_dict("records")
    rows[1]["patient_id"] = ["P", 1]
    assert validate_cohort(pd.DataFrame(rows)).n_invalid == 0


def test_repeated_contract_column_invalidates_every_row():
    frame = _cohort(3)
    frame = pd.concat([frame, frame[["ecog"]]], axis=1)
    result = validate_cohort(frame)
    assert result.n_invalid == 3
    assert result.report["problems_by_field"]["ecog"] == {"duplicate_column": 3}


def test_a_complex_cell_is_no_number_and_its_column_neighbours_stay_valid():
    """Regression: pandas stores a column with one complex cell as complex128; float() of it
    dropped the imaginary part, so ``1j`` in ecog was read as grade 0."""
    rows = _cohort(3).to_dict("records")
    rows[1]["ecog"] = 1j
    frame = pd.DataFrame(rows)
    assert frame["ecog"].dtype.kind == "c"
    result = validate_cohort(frame)
    assert result.invalid_rows.tolist() == [1]
    assert [(p.row, p.field, p.reason) for p in result.problems] == [(1, "ecog", "not_a_number")]
    assert result.valid["ecog"].tolist() == [BASE["ecog"]] * 2


def test_bytes_are_not_numbers():
    assert problems_of(dict(BASE, age_years=b"56"))["age_years"].reason == "not_a_number"


def test_canonical_dtypes_and_pandera_schema_agree():
    valid = coerce_frame(_cohort(), require_outcomes=True)
    assert valid["sex"].dtype == pd.CategoricalDtype(FIELDS["sex"].categories)
    assert str(valid["cirrhosis"].dtype) == "boolean"
    assert valid["ecog"].dtype == np.int64
    assert list(valid["modality"].cat.categories) == list(MODALITIES)
    pandera_schema(outcomes=True).validate(valid)
    bad = valid.copy()
    bad.loc[0, "albumin_g_l"] = 3.8
    import pandera.errors

    with pytest.raises(pandera.errors.SchemaError):
        pandera_schema().validate(bad)


def test_single_record_and_cohort_paths_agree():
    record = dict(BASE, hbv_dna_iu_ml=2.5e4, varices="small")
    alone = validate_record(record)
    frame = validate_cohort(pd.DataFrame([record]), require_outcomes=False,
                            require_id=False).valid
    for name, value in alone.items():
        cell = frame[name].iloc[0] if name in frame else None
        if value is None:
            assert cell is None or pd.isna(cell)
        else:
            assert cell == value


numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12),
                    st.text(max_size=5), st.none(), st.booleans())


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from(sorted(FIELDS)), value=numbers)
def test_any_value_either_validates_or_raises_invalid_patient(field, value):
    try:
        validate_record(dict(BASE, **{field: value}), require_outcomes=False)
    except InvalidPatientError as exc:
        assert exc.problems and all(p.field and p.expected for p in exc.problems)
