"""Fewer, better flags: rules decided from the inputs a patient has (clinical-facts §2.11), and
the reviews that missing data alone causes summarised as "fill in these N fields"."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from features.derivation import derive
from guidelines import RuleSet, assess, assess_frame, available_rulesets, load_ruleset
from guidelines.engine import columns_from_frame, evaluate

RULESETS = available_rulesets()
GUARDED = ("liver_involvement_pct", "varices", "prior_variceal_bleeding", "ivc_thrombus")


@pytest.fixture(scope="module")
def early(examples):
    return examples["early"]


@pytest.fixture(scope="module")
def cohort():
    """200 simulated patients with the optional fields masked as the simulator does."""
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    return simulate_cohort(200, 5, SyntheticParams.default())[0]


def _is_guard(node) -> bool:
    """``{not: {all: [{var: X, op: is_missing}, ...]}}``: decides a missing X from others."""
    inner = node.get("not") if isinstance(node, dict) else None
    parts = inner.get("all") if isinstance(inner, dict) else None
    return bool(parts) and parts[0].get("op") == "is_missing"


def _strip(node):
    """The condition without its missing-input guards (the rule as it was before them)."""
    if not isinstance(node, dict):
        return node
    if "all" in node:
        kept = [_strip(c) for c in node["all"] if not _is_guard(c)]
        return kept[0] if len(kept) == 1 else {"all": kept}
    if "any" in node:
        return {"any": [_strip(c) for c in node["any"]]}
    if "not" in node:
        return {"not": _strip(node["not"])}
    return dict(node)


def _unguarded(name: str) -> RuleSet:
    data = copy.deepcopy(dict(load_ruleset(name).raw))
    for rule in data["rules"]:
        rule["condition"] = _strip(rule["condition"])
        rule["cases"] = [c for c in rule["cases"] if c["expect"] != "silent"] + [
            {"expect": "silent", "patient": {}}]
    return RuleSet.from_dict(data, "<unguarded>")


def _missing_only(a) -> set:
    causes: dict[str, list] = {}
    for h in a.hits:
        if h.effect == "review":
            for m in h.modalities:
                causes.setdefault(m, []).append(bool(h.missing))
    return {m for m in a.review if causes.get(m) and all(causes[m])}


@pytest.mark.parametrize("name", RULESETS)
def test_guards_change_no_decision_made_on_recorded_inputs(name, cohort):
    """Where the guarded input is recorded, every rule decides as without its guard; where it
    is missing, a guard only turns an unknown into silent (never fires, never silences)."""
    guarded, plain = load_ruleset(name), _unguarded(name)
    frame = derive(cohort)
    new = evaluate(guarded, columns_from_frame(frame, guarded.needed), len(frame))
    old = evaluate(plain, columns_from_frame(frame, plain.needed), len(frame))
    changed = 0
    for rule in guarded.rules:
        a, b = new.outcome(rule.id), old.outcome(rule.id)
        inputs = [v for v in GUARDED if v in rule.variables]
        recorded = np.ones(len(frame), bool)
        for v in inputs:
            recorded &= frame[v].notna().to_numpy()
        assert (a[recorded] == b[recorded]).all(), rule.id
        differ = a != b
        assert ((a[differ] == "silent") & (b[differ] == "unknown")).all(), rule.id
        changed += int(differ.sum())
    assert changed > 0


@pytest.mark.parametrize("name", RULESETS)
def test_a_single_small_nodule_is_not_massive_liver_replacement(name, early):
    assert early["tumor_count"] == 1 and early["tumor_max_diameter_cm"] == 2.8
    assert "liver_involvement_pct" not in early
    a = assess(early, name)
    ids = {h.rule_id for h in a.hits}
    for rid in ("tace-massive-liver-replacement", "tace-liver-involvement-over-50",
                "radiotherapy-liver-involvement-50", "resection-portal-hypertension",
                "resection-hepatic-vein-or-ivc-thrombus", "transplant-macrovascular-invasion",
                "ablation-vascular-invasion-or-extrahepatic", "bevacizumab-bleeding-risk"):
        assert rid not in ids, rid
    # decided from what the patient has: ablation and radiotherapy carry no flag; surgery only
    # asks for the history the record lacks (a prior transplant, a recent MI or stroke: 1.2)
    assert {"ablation", "radiotherapy"}.isdisjoint(a.review)
    surgery = {f for h in a.hits if {"resection", "transplant"} & set(h.modalities)
               and h.effect == "review" for f in h.missing}
    assert surgery == {"prior_liver_transplant", "recent_cardiovascular_event"}
    assert a.review == {"resection", "transplant", "tace", "tace_radiotherapy", "targeted",
                        "immunotherapy", "chemotherapy"}
    lenvatinib = next(h for h in a.hits if h.rule_id == "targeted-lenvatinib-exclusions")
    assert lenvatinib.missing == ("bile_duct_invasion",)  # involvement is decided: not asked for


@pytest.mark.parametrize("name", RULESETS)
def test_fewer_reviews_caused_only_by_missing_data(name, early, cohort):
    """Measured on the early patient and 200 simulated patients: the rule sets of this change
    against the same rules without the guards."""
    plain = _unguarded(name)
    assert len(_missing_only(assess(early, plain))) == 9
    assert len(_missing_only(assess(early, name))) == 7
    before = sum(len(_missing_only(a)) for a in assess_frame(cohort, plain))
    after = sum(len(_missing_only(a)) for a in assess_frame(cohort, name))
    assert after < 0.9 * before, (before, after)


@pytest.mark.parametrize("name", RULESETS)
def test_missing_inputs_summary_of_the_early_patient(name, early):
    a = assess(early, name)
    summary = a.missing_inputs
    assert summary["reviews"] == ["resection", "transplant", "tace", "tace_radiotherapy",
                                  "targeted", "immunotherapy", "chemotherapy"]
    # settles the most reviews (4: resection, transplant, targeted, immunotherapy)
    assert summary["fields"][0] == "recent_cardiovascular_event"
    assert set(summary["fields"]) == {
        "neutrophils_10e9_l", "bile_duct_invasion", "hemoglobin_g_l", "autoimmune_disease",
        "prior_liver_transplant", "recent_cardiovascular_event", "on_anticoagulation"}
    # an undecided required action (anticoagulant management) is not a review
    assert summary["hits"] == len([h for h in a.hits if h.missing and h.effect == "review"]) == 12
    assert [h.rule_id for h in a.hits if h.effect == "require"] == [
        "procedures-anticoagulant-management"]
    assert summary["message"].startswith(
        "fill in these 7 fields to settle 7 reviews (resection, transplant, tace, "
        "tace_radiotherapy, targeted, immunotherapy, chemotherapy): recent_cardiovascular_event, ")
    d = json.loads(json.dumps(a.to_dict()))
    assert d["missing_inputs"] == summary and len(d["hits"]) == len(a.hits)  # detail kept


def test_no_summary_when_nothing_is_missing(baseline):
    a = assess(baseline)
    assert a.missing_inputs == {"fields": [], "reviews": [], "hits": 0, "message": ""}


@pytest.mark.parametrize("name", RULESETS)
def test_filling_in_the_listed_fields_settles_the_listed_reviews(name, cohort, baseline):
    """Whatever the values, filling in the fields decides every review they were listed for."""
    rows = cohort.to_dict("records")
    for i, a in enumerate(assess_frame(cohort, name)):
        summary = a.missing_inputs
        if not summary["reviews"]:
            continue
        filled = {**rows[i], **{f: baseline[f] for f in summary["fields"]}}
        after = assess(filled, name)
        assert not set(summary["reviews"]) & set(after.missing_inputs["reviews"]), i
        undecided = {m for h in after.hits if h.missing and h.effect == "review"
                     for m in h.modalities}
        assert not set(summary["reviews"]) & undecided, i


def test_a_review_caused_by_a_known_finding_is_not_in_the_summary(baseline):
    a = assess({**baseline, "bile_duct_invasion": True, "neutrophils_10e9_l": None})
    assert "tace" in a.review
    assert "tace" not in a.missing_inputs["reviews"]  # bile-duct invasion is known
    assert a.missing_inputs["reviews"] == ["chemotherapy"]
    assert a.missing_inputs["message"] == ("fill in this field to settle 1 review "
                                           "(chemotherapy): neutrophils_10e9_l")


def test_frame_of_the_summary_matches_row_by_row(cohort):
    frame = pd.DataFrame(cohort)
    assert [a.missing_inputs for a in assess_frame(frame)] == [
        assess(r).missing_inputs for r in frame.to_dict("records")]
