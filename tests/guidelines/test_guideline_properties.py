"""Hypothesis properties of the rule layer over valid contract patients."""

from __future__ import annotations

import copy
import os

import pandas as pd
from guideline_patients import OPTIONAL_FIELDS, forbid_rules, patients
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.contract import validate_record
from guidelines import RuleSet, assess, assess_frame, available_rulesets, load_ruleset
from guidelines import preferred_allowed as policy

SETTINGS = settings(
    max_examples=int(os.environ.get("GUIDELINES_HYPOTHESIS_EXAMPLES", 40)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RULESETS = st.sampled_from(available_rulesets())
COHORTS = st.lists(patients(), min_size=1, max_size=8)


def _clean(a) -> frozenset:
    """Modalities allowed without any flag."""
    return a.allowed - a.review


@SETTINGS
@given(cohort=COHORTS)
def test_generated_patients_are_valid(cohort):
    for rec in cohort:
        validate_record(rec)


@SETTINGS
@given(cohort=COHORTS, name=RULESETS, rule=forbid_rules())
def test_adding_a_forbid_rule_only_grows_forbidden(cohort, name, rule):
    rs = load_ruleset(name)
    data = copy.deepcopy(dict(rs.raw))
    data["rules"] = list(data["rules"]) + [rule]
    bigger = RuleSet.from_dict(data, "<extended>")
    frame = pd.DataFrame(cohort)
    for before, after in zip(assess_frame(frame, rs), assess_frame(frame, bigger), strict=True):
        assert before.forbidden <= after.forbidden
        assert after.forbidden - before.forbidden <= set(rule["modalities"])
        assert _clean(after) <= _clean(before)  # a rule never promotes


@SETTINGS
@given(rec=patients(missing=False), name=RULESETS, data=st.data())
def test_missing_optional_field_is_review_not_silent_allow(rec, name, data):
    field = data.draw(st.sampled_from(OPTIONAL_FIELDS))
    full = assess(rec, name)
    blank = assess({**rec, field: None}, name)
    # Every modality with a concern on the full record still has one (forbidden or review).
    assert _clean(blank) <= _clean(full)
    rs = load_ruleset(name)
    for hit in full.hits:
        rule = rs.rule(hit.rule_id)
        if hit.effect == "forbid" and field in rule.variables:
            assert set(rule.modalities) <= blank.forbidden | blank.review
            again = [h for h in blank.hits if h.rule_id == rule.id]
            assert again and (again[0].effect == "forbid" or field in again[0].missing)


@SETTINGS
@given(cohort=COHORTS, name=RULESETS, seed=st.randoms(use_true_random=False))
def test_deterministic_and_order_free(cohort, name, seed):
    frame = pd.DataFrame(cohort)
    first = assess_frame(frame, name)
    assert assess_frame(frame, name) == first
    order = list(range(len(cohort)))
    seed.shuffle(order)
    shuffled = assess_frame(frame.iloc[order].reset_index(drop=True), name)
    assert shuffled == [first[i] for i in order]
    assert [a.to_dict() for a in first] == [a.to_dict() for a in assess_frame(frame, name)]


@SETTINGS
@given(cohort=COHORTS, name=RULESETS)
def test_assess_frame_equals_assess_row_by_row(cohort, name):
    assert assess_frame(pd.DataFrame(cohort), name) == [assess(r, name) for r in cohort]


@SETTINGS
@given(cohort=COHORTS, name=RULESETS)
def test_invariants(cohort, name):
    for a in assess_frame(pd.DataFrame(cohort), name):
        assert "supportive_care" not in a.forbidden
        assert "supportive_care" in a.allowed
        assert not (a.review & a.forbidden)
        assert policy(a) not in a.forbidden
        assert policy(a, avoid_review=True) in a.allowed - a.review | {"supportive_care"}
        assert a.stage is not None and a.preferred
        forbid_hits = {m for h in a.hits if h.effect == "forbid" for m in h.modalities}
        assert forbid_hits == a.forbidden
        review_hits = {m for h in a.hits if h.effect == "review" for m in h.modalities}
        assert a.review == review_hits - a.forbidden
