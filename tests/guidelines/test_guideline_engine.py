"""The engine: three-valued logic, effects, the Assessment object and the entry points."""

from __future__ import annotations

import copy
import dataclasses
import json
import time

import numpy as np
import pandas as pd
import pytest

from features.contract import MODALITIES, coerce_frame
from features.derivation import derive
from guidelines import (
    Assessment,
    GuidelineInputError,
    RuleSet,
    assess,
    assess_frame,
    load_ruleset,
    preferred_allowed,
)
from guidelines.engine import evaluate


def _rule(rule_id, condition, effect="forbid", modalities=("tace",)):
    return {
        "id": rule_id, "title": f"title {rule_id}", "effect": effect,
        "modalities": list(modalities), "condition": condition, "rationale": "r",
        "reference": "clinical-facts §0 [U]", "evidence": "U",
        "cases": [{"expect": "fires", "patient": {}}, {"expect": "silent", "patient": {}}],
    }


def _ruleset(raw, *rules):
    data = copy.deepcopy(raw)
    data["rules"] = list(rules)
    return RuleSet.from_dict(data, "<test>")


# --- three-valued logic --------------------------------------------------------------------

T, F, N = 1.0, 0.0, np.nan
AF = {"var": "autoimmune_disease", "op": "eq", "value": True}   # a
BF = {"var": "on_anticoagulation", "op": "eq", "value": True}   # b
ROWS = [(a, b) for a in (T, F, N) for b in (T, F, N)]


def _truth(x):
    return "fires" if x == 1 else ("silent" if x == 0 else "unknown")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"all": [AF, BF]}, lambda a, b: min(a, b) if not (np.isnan(a) or np.isnan(b))
         else (0.0 if 0.0 in (a, b) else np.nan)),
        ({"any": [AF, BF]}, lambda a, b: max(a, b) if not (np.isnan(a) or np.isnan(b))
         else (1.0 if 1.0 in (a, b) else np.nan)),
        ({"not": AF}, lambda a, b: 1.0 - a),
        ({"var": "autoimmune_disease", "op": "is_missing"}, lambda a, b: float(np.isnan(a))),
        ({"var": "autoimmune_disease", "op": "ne", "value": True}, lambda a, b: 1.0 - a),
    ],
    ids=["all", "any", "not", "is_missing", "ne"],
)
def test_kleene_truth_tables(raw_ruleset, condition, expected):
    rs = _ruleset(raw_ruleset, _rule("r", condition))
    cols = {"autoimmune_disease": np.array([a for a, _ in ROWS]),
            "on_anticoagulation": np.array([b for _, b in ROWS]),
            "cnlc_stage": np.zeros(len(ROWS))}
    got = evaluate(rs, cols, len(ROWS)).outcome("r")
    assert list(got) == [_truth(expected(a, b)) for a, b in ROWS]


def test_membership_and_comparisons_on_a_cohort(raw_ruleset):
    rs = _ruleset(
        raw_ruleset,
        _rule("in", {"var": "pvtt", "op": "in", "value": ["vp3", "vp4"]}),
        _rule("not-in", {"var": "pvtt", "op": "not_in", "value": ["none"]}),
        _rule("lt", {"var": "platelets_10e9_l", "op": "lt", "value": 50}),
    )
    frame = pd.DataFrame({"pvtt": ["none", "vp3", None, "VP4"],
                          "platelets_10e9_l": [49.9, 50.0, np.nan, 10],
                          "cnlc_stage": ["Ia"] * 4})
    from guidelines.engine import columns_from_frame

    ev = evaluate(rs, columns_from_frame(frame, rs.needed), 4)
    assert list(ev.outcome("in")) == ["silent", "fires", "unknown", "fires"]
    assert list(ev.outcome("not-in")) == ["silent", "fires", "unknown", "fires"]
    assert list(ev.outcome("lt")) == ["fires", "silent", "unknown", "fires"]


# --- effects ----------------------------------------------------------------------------------

def test_effects_and_missing_inputs(raw_ruleset, baseline):
    rs = _ruleset(
        raw_ruleset,
        _rule("f", {"var": "neutrophils_10e9_l", "op": "lt", "value": 1.5}, "forbid", ["tace"]),
        _rule("r", {"var": "varices", "op": "eq", "value": "large_untreated"}, "review",
              ["immunotherapy"]),
        _rule("w", {"var": "hemoglobin_g_l", "op": "lt", "value": 90}, "warn", ["chemotherapy"]),
    )
    fired = assess({**baseline, "neutrophils_10e9_l": 1.0, "varices": "large_untreated",
                    "hemoglobin_g_l": 80}, rs)
    assert fired.forbidden == {"tace"} and fired.review == {"immunotherapy"}
    assert [(h.rule_id, h.effect) for h in fired.hits] == [("f", "forbid"), ("r", "review"),
                                                          ("w", "warn")]
    missing = assess({**baseline, "neutrophils_10e9_l": None, "varices": None,
                      "hemoglobin_g_l": None}, rs)
    assert missing.forbidden == frozenset()
    assert missing.review == {"tace", "immunotherapy"}  # never a silent allow
    assert [(h.rule_id, h.effect, h.missing) for h in missing.hits] == [
        ("f", "review", ("neutrophils_10e9_l",)), ("r", "review", ("varices",))]
    assert "neutrophils_10e9_l is missing" in missing.hits[0].message  # unknown warn dropped


def test_review_excludes_forbidden(raw_ruleset, baseline):
    rs = _ruleset(raw_ruleset,
                  _rule("f", {"var": "ecog", "op": "ge", "value": 1}, "forbid", ["tace"]),
                  _rule("r", {"var": "ecog", "op": "ge", "value": 1}, "review", ["tace", "ablation"]))
    a = assess({**baseline, "ecog": 1}, rs)
    assert a.forbidden == {"tace"} and a.review == {"ablation"}


# --- Assessment -------------------------------------------------------------------------------

def test_assessment_object(baseline):
    a = assess({**baseline, "ecog": 2, "varices": None})
    assert isinstance(a, Assessment)
    assert a.ruleset == "cnlc-2024" and a.version == load_ruleset().version
    assert a.allowed == frozenset(MODALITIES) - a.forbidden
    assert "supportive_care" in a.allowed and not (a.review & a.forbidden)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.forbidden = frozenset()
    d = json.loads(json.dumps(a.to_dict()))
    assert d["forbidden"] == [m for m in MODALITIES if m in a.forbidden]
    assert d["preferred_allowed"] == preferred_allowed(a)
    assert {h["rule_id"] for h in d["hits"]} == {h.rule_id for h in a.hits}
    ranks = [("forbid", "not_indicated", "review", "require", "warn").index(h.effect)
             for h in a.hits]
    assert ranks == sorted(ranks)
    for h in a.hits:
        assert h.reference and h.evidence in ("C", "S", "U") and h.rationale


def test_preferred_allowed_and_concordance(baseline):
    a = assess(baseline)  # CNLC Ia: resection, ablation, transplant
    assert a.stage == "Ia" and preferred_allowed(a) == "resection" and a.concordant("ablation")
    a = assess({**baseline, "bilirubin_umol_l": 34.2})  # resection forbidden
    assert preferred_allowed(a) == "ablation" and not a.concordant("resection")
    a = assess({**baseline, "platelets_10e9_l": 90})  # resection flagged (portal hypertension)
    assert preferred_allowed(a) == "resection"
    assert preferred_allowed(a, avoid_review=True) == "ablation"
    empty = dataclasses.replace(a, preferred=("tace",), forbidden=frozenset({"tace"}))
    assert preferred_allowed(empty) == "supportive_care"


# --- entry points -----------------------------------------------------------------------------

def test_ruleset_argument_forms(baseline):
    rs = load_ruleset("bclc-2022")
    by_name = assess(baseline, "bclc-2022")
    assert by_name == assess(baseline, rs) == assess(baseline, rs.origin)
    assert by_name.ruleset == "bclc-2022" and by_name.stage == "A"
    assert assess(baseline).ruleset == assess(baseline, None).ruleset == "cnlc-2024"


def test_frame_and_record_paths_agree(baseline):
    rows = [baseline, {**baseline, "pvtt": "vp4", "ecog": 1, "varices": None},
            {**baseline, "tumor_count": 5, "tumor_max_diameter_cm": 6.0,
             "tumor_sum_diameter_cm": None, "hepatic_vein_invasion": None}]
    frame = pd.DataFrame(rows)
    plain = assess_frame(frame)
    assert plain == [assess(r) for r in rows]
    assert assess_frame(coerce_frame(frame)) == plain
    assert assess_frame(derive(frame)) == plain
    assert assess(frame.iloc[[1]]) == plain[1]
    assert assess(derive(rows[1])) == plain[1]


def test_empty_frame_and_custom_index(baseline):
    assert assess_frame(pd.DataFrame([baseline]).iloc[:0]) == []
    frame = pd.DataFrame([baseline, {**baseline, "ecog": 4}], index=[10, 3])
    assert assess_frame(frame) == [assess(baseline), assess({**baseline, "ecog": 4})]


def test_bad_inputs(baseline):
    with pytest.raises(ValueError, match="1-row DataFrame, got 2 rows"):
        assess(pd.DataFrame([baseline, baseline]))
    with pytest.raises(TypeError, match="dict record"):
        assess([baseline])
    with pytest.raises(TypeError, match="DataFrame"):
        assess_frame([baseline])
    rs = load_ruleset()
    from guidelines.engine import columns_from_record

    with pytest.raises(GuidelineInputError, match="varices: expected one of"):
        columns_from_record({**baseline, "varices": "huge"}, rs.needed)
    with pytest.raises(GuidelineInputError, match="bilobar: expected true or false"):
        columns_from_record({**baseline, "bilobar": "maybe"}, rs.needed)


def test_plain_boolean_and_text_representations(baseline):
    ref = assess({**baseline, "autoimmune_disease": True})
    assert assess({**baseline, "autoimmune_disease": "true"}) == ref
    assert assess({**baseline, "autoimmune_disease": 1.0}) == ref
    frame = pd.DataFrame([{**baseline, "autoimmune_disease": "yes"},
                          {**baseline, "autoimmune_disease": None}])
    a, b = assess_frame(frame)
    assert a == ref and "immunotherapy" in b.review


def test_speed(baseline):
    """Loose bounds (the targets are < 2 ms per patient and > 20k patients/s)."""
    record = derive(baseline)
    assess(record)
    start = time.perf_counter()
    for _ in range(200):
        assess(record)
    assert (time.perf_counter() - start) / 200 < 0.01
    frame = derive(pd.DataFrame([baseline] * 5000))
    assess_frame(frame)
    start = time.perf_counter()
    assess_frame(frame)
    assert 5000 / (time.perf_counter() - start) > 5000
