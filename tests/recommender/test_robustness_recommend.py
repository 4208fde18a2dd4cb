"""Robustness of ``recommend()``: malformed input gets InvalidPatientError and nothing else;
valid input never raises and never gets a forbidden, declined or unaffordable modality.

Hypothesis generates the records (tests/robustness_strategies.py), against the tiny
session bundle of tests/conftest.py. Examples are bounded so the module runs in well under a
minute on two cores.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robustness_strategies import (
    malformed_preferences,
    malformed_records,
    preferences,
    valid_records,
)

from features.contract import COST_TIERS, InvalidPatientError, RequestError
from guidelines import UnknownGuidelineError, available_rulesets
from pipeline.recommender.request import InvalidPreferencesError

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GUIDELINES = st.sampled_from((None, *available_rulesets(), "CNLC-2024", " bclc-2022 "))


def _only_request_error(call, kind=InvalidPatientError):
    """Run ``call``; it must raise ``kind`` (a RequestError, a ValueError) with problems listed."""
    with pytest.raises(kind) as info:
        call()
    assert isinstance(info.value, RequestError) and isinstance(info.value, ValueError)
    assert info.value.problems, f"{kind.__name__} without problems"
    json.dumps(info.value.to_dict())  # the error itself is JSON-safe (CLI, REST)
    return info.value


@FAST
@given(case=malformed_records(lists=True))
def test_malformed_records_raise_invalid_patient_error_only(recommender, case):
    record, kind, field = case
    error = _only_request_error(lambda: recommender.recommend(record, explain=False))
    if field is not None:
        assert field in {p.field for p in error.problems}, (kind, error.problems[:3])
    assert len(str(error)) < 20_000  # a huge value is truncated in the message


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=valid_records(), prefs=malformed_preferences(), guideline=GUIDELINES)
def test_malformed_preferences_raise_request_errors_only(recommender, record, prefs,
                                                                guideline):
    _only_request_error(lambda: recommender.recommend(record, prefs, guideline, explain=False),
                        RequestError)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=valid_records(), guideline=st.one_of(
    st.text(min_size=1, max_size=20).filter(
        lambda s: s.strip() and s.strip().lower() not in available_rulesets()),
    st.integers(min_value=1), st.lists(st.text(), min_size=1, max_size=2)))
def test_unknown_guideline_raises_unknown_guideline_error_only(recommender, record, guideline):
    error = _only_request_error(lambda: recommender.recommend(record, None, guideline,
                                                              explain=False), UnknownGuidelineError)
    assert {p.field for p in error.problems} == {"guideline"}


@pytest.mark.parametrize("patient", ["a text", 42, None, ["age_years", 60], ("x",),
                                     np.array([1.0])])
def test_non_mapping_patient_is_invalid(recommender, patient):
    _only_request_error(lambda: recommender.recommend(patient))


@pytest.mark.parametrize("prefs", [{1: "x", "budget": 3}, {"objective": ["rmst24"]},
                                   {"objective": {}}])
def test_preferences_with_odd_keys_or_unhashable_objective(recommender, examples, prefs):
    _only_request_error(lambda: recommender.recommend(examples["early"], prefs),
                        InvalidPreferencesError)


@pytest.mark.parametrize("value", [[], [56, 57], (56, 57), np.array([56.0, 1.0])])
def test_list_cells_in_a_record(recommender, examples, value):
    for name in ("age_years", "sex", "cirrhosis"):
        _only_request_error(
            lambda name=name: recommender.recommend(dict(examples["early"], **{name: value})))
    # patient_id is free text: any value is an identifier, hashed, never shown
    rec = recommender.recommend(dict(examples["early"], patient_id=value), explain=False)
    assert rec.patient_ref.startswith("sha256:")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=valid_records(), prefs=preferences(), guideline=GUIDELINES)
def test_valid_records_never_raise_nor_recommend_forbidden(recommender, record, prefs,
                                                           guideline):
    rec = recommender.recommend(record, prefs, guideline, explain=False, intervals=False)
    assert len(rec.modalities) == 10
    json.dumps(rec.to_dict(), allow_nan=False)  # JSON-safe, no NaN/inf leaks
    if rec.recommended is None:
        assert not any(m.candidate for m in rec.modalities)
        return
    chosen = rec.modality(rec.recommended)
    assert chosen.eligibility != "forbidden" and chosen.candidate
    declined = set((prefs or {}).get("excluded_modalities") or ())
    assert rec.recommended not in declined
    tier = ((prefs or {}).get("max_cost_tier") or "").strip().lower()
    if tier:
        assert COST_TIERS.index(chosen.cost_tier) <= COST_TIERS.index(tier)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=valid_records(), guideline=GUIDELINES)
def test_valid_records_with_shap_and_intervals(recommender, record, guideline):
    rec = recommender.recommend(record, None, guideline)
    out = rec.to_dict()
    json.dumps(out, allow_nan=False)
    if rec.recommended is not None:
        assert rec.modality(rec.recommended).eligibility != "forbidden"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(valid_records(), min_size=1, max_size=6),
       bad=st.lists(malformed_records(lists=True), min_size=1, max_size=3), data=st.data())
def test_batch_reports_invalid_rows_and_keeps_valid_ones(recommender, records, bad, data):
    """The cohort path (REST, CLI): a malformed row is reported, the valid rows still come back.

    Unknown columns are ignored by design in a cohort (named in a warning), so the rows whose
    only defect is an extra field (or thousands of them) are valid there.
    """
    import pandas as pd

    rows = list(records)
    positions = []
    for record, _kind, _field in bad:
        at = data.draw(st.integers(0, len(rows)))
        rows.insert(at, record)
        positions = [p + (p >= at) for p in positions] + [at]
    kinds = {at: kind for at, (_, kind, _) in zip(positions, bad, strict=True)}
    try:
        frame = pd.DataFrame(rows)
    except (OverflowError, ValueError):  # pandas itself cannot hold the values
        return
    out = recommender.recommend_batch(frame, explain=False, intervals=False, errors="report",
                                      progress=False)
    assert len(out) == len(rows)
    for i, item in enumerate(out):
        if i in kinds and kinds[i] not in ("extra_field", "many_keys"):
            assert isinstance(item, InvalidPatientError), (kinds[i], rows[i])
        elif i not in kinds:
            assert not isinstance(item, InvalidPatientError), item
            assert item.recommended is None or item.modality(
                item.recommended).eligibility != "forbidden"
