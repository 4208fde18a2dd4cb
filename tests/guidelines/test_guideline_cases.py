"""The worked cases written inside each rule file, and checks on the shipped rule sets' content."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from features.contract import MODALITIES, validate_record
from features.derivation import derive
from guidelines import assess, available_rulesets, load_ruleset
from guidelines.engine import columns_from_frame, evaluate
from guidelines.ruleset import RULES_DIR

RULESETS = available_rulesets()
CASES = [
    pytest.param(name, rule.id, i, id=f"{name}:{rule.id}:{i}:{case.expect}")
    for name in RULESETS
    for rule in load_ruleset(name).rules
    for i, case in enumerate(rule.cases)
]
ANTICANCER = [m for m in MODALITIES if m != "supportive_care"]


@pytest.fixture(scope="module")
def outcomes():
    """Every case of every rule set evaluated in one batch: (ruleset, rule_id, i) -> outcome."""
    out = {}
    for name in RULESETS:
        rs = load_ruleset(name)
        keys, records = [], []
        for rule in rs.rules:
            for i, case in enumerate(rule.cases):
                keys.append((rule.id, i))
                records.append({**rs.case_baseline, **case.patient})
        frame = derive(pd.DataFrame(records))
        ev = evaluate(rs, columns_from_frame(frame, rs.needed), len(frame))
        for row, (rid, i) in enumerate(keys):
            out[(name, rid, i)] = (ev.outcome(rid)[row], records[row])
    return out


@pytest.mark.parametrize(("name", "rule_id", "index"), CASES)
def test_worked_case(outcomes, name, rule_id, index):
    case = load_ruleset(name).rule(rule_id).cases[index]
    got, record = outcomes[(name, rule_id, index)]
    assert got == case.expect, f"{rule_id} case {index} ({case.note}): {dict(case.patient)}"
    validate_record(record)  # every case is a realistic, contract-valid patient


@pytest.mark.parametrize("name", RULESETS)
def test_every_rule_has_fires_and_silent_cases(name):
    for rule in load_ruleset(name).rules:
        expects = {c.expect for c in rule.cases}
        assert {"fires", "silent"} <= expects, rule.id


@pytest.mark.parametrize("name", RULESETS)
def test_case_consequences_through_assess(name):
    """A firing forbid case forbids; an unknown forbid case is a review naming the input."""
    rs = load_ruleset(name)
    for rule in rs.rules:
        for case in rule.cases:
            if rule.effect != "forbid" or case.expect == "silent":
                continue
            a = assess({**rs.case_baseline, **case.patient}, rs)
            if case.expect == "fires":
                assert set(rule.modalities) <= a.forbidden, rule.id
            else:
                assert set(rule.modalities) <= a.forbidden | a.review, rule.id
                hit = next(h for h in a.hits if h.rule_id == rule.id)
                assert hit.effect == "review" and hit.missing, rule.id
                assert all(m in hit.message for m in hit.missing)


@pytest.mark.parametrize("name", RULESETS)
def test_baseline_is_valid_and_silent(name):
    rs = load_ruleset(name)
    validate_record(dict(rs.case_baseline))
    a = assess(dict(rs.case_baseline), rs)
    assert a.hits == () and a.forbidden == frozenset() and a.review == frozenset()


@pytest.mark.parametrize("name", RULESETS)
def test_references_cite_clinical_facts_with_their_tag(name):
    for rule in load_ruleset(name).rules:
        assert "clinical-facts §" in rule.reference, rule.id
        tags = re.findall(r"\[([^\]]*)\]", rule.reference)
        assert any(re.search(rf"\b{rule.evidence}\b", t) for t in tags), rule.id


@pytest.mark.parametrize("name", RULESETS)
def test_identity_and_stages(name):
    rs = load_ruleset(name)
    assert rs.name == name == Path(rs.origin).stem
    assert Path(rs.origin).parent == RULES_DIR
    assert rs.version and rs.source and rs.title
    from guidelines.vocabulary import variables

    assert set(rs.preferred) == set(variables()[rs.stage_variable].categories)


@pytest.mark.parametrize("name", RULESETS)
def test_every_anticancer_modality_has_a_hard_rule(name):
    rs = load_ruleset(name)
    covered = {m for r in rs.rules if r.effect == "forbid" for m in r.modalities}
    assert covered == set(ANTICANCER)


@pytest.mark.parametrize("name", RULESETS)
def test_supportive_care_only_for_ecog_4_and_child_pugh_c_beyond_milan(name, baseline):
    ecog4 = assess({**baseline, "ecog": 4}, name)
    assert ecog4.allowed == {"supportive_care"}
    cp_c = {**baseline, "bilirubin_umol_l": 60, "albumin_g_l": 25, "ascites": "mild"}
    beyond = {**cp_c, "tumor_count": 2, "tumor_max_diameter_cm": 4.0, "tumor_sum_diameter_cm": 7.0}
    assert assess(beyond, name).allowed == {"supportive_care"}
    within = assess(cp_c, name)
    assert within.allowed == {"transplant", "supportive_care"}
    assert within.stage in ("IV", "D") and within.preferred[0] == "transplant"


def test_cnlc_is_the_default():
    assert RULESETS[0] == "cnlc-2024"
    assert set(RULESETS) == {"cnlc-2024", "bclc-2022"}
    assert load_ruleset(None) is load_ruleset("cnlc-2024")
