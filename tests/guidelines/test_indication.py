"""The indication table and the effects not_indicated and require: engine and loader."""

from __future__ import annotations

import copy

import pytest

from features.contract import MODALITIES
from guidelines import RuleSet, RuleSetError, assess, load_ruleset

ENTRY = {"indicated": ["tace"], "acceptable": ["immunotherapy"],
         "reference": "clinical-facts §1.2 (test) [S]", "evidence": "S"}


def _with_indication(raw, **changes):
    data = copy.deepcopy(raw)
    data.pop("preferred")
    data["indication"] = {s: copy.deepcopy(ENTRY) for s in
                          ("Ia", "Ib", "IIa", "IIb", "IIIa", "IIIb", "IV")}
    data.update(changes)
    return data


def _rule(rid, condition, effect, modalities):
    return {"id": rid, "title": f"rule {rid}", "effect": effect, "modalities": modalities,
            "condition": condition, "rationale": "test",
            "reference": "clinical-facts §2.4 (test) [C]", "evidence": "C",
            "cases": [{"expect": "fires", "patient": {"ecog": 1}},
                      {"expect": "silent", "patient": {"ecog": 0}}]}


def test_stage_table_grades_every_modality(raw_ruleset, baseline):
    rs = RuleSet.from_dict(_with_indication(raw_ruleset))
    a = assess(baseline, rs)
    assert a.indicated == {"tace"}
    assert a.acceptable == {"immunotherapy", "supportive_care"}  # supportive care always
    assert a.not_indicated == set(MODALITIES) - {"tace", "immunotherapy", "supportive_care"}
    assert a.preferred == ("tace", "immunotherapy", "supportive_care")
    assert "stage Ia: indicated tace; acceptable immunotherapy" in a.not_indicated_because(
        "resection")
    d = a.to_dict()
    assert d["indicated"] == ["tace"] and d["not_indicated"][0] == "resection"
    assert d["indication_reference"] == ENTRY["reference"]


def test_not_indicated_rule_fires_and_undecided_is_a_review(raw_ruleset, baseline):
    data = _with_indication(raw_ruleset)
    data["rules"].append(_rule("ni", {"var": "ecog", "op": "ge", "value": 1}, "not_indicated",
                               ["immunotherapy"]))
    data["rules"].append(_rule("ni2", {"var": "autoimmune_disease", "op": "eq", "value": True},
                               "not_indicated", ["tace"]))
    rs = RuleSet.from_dict(data)
    a = assess({**baseline, "ecog": 1}, rs)
    assert "immunotherapy" in a.not_indicated and "immunotherapy" not in a.forbidden
    hit = next(h for h in a.hits if h.rule_id == "ni")
    assert hit.effect == "not_indicated" and "ni: rule ni" in a.not_indicated_because(
        "immunotherapy")
    unknown = assess({**baseline, "autoimmune_disease": None}, rs)
    assert "tace" in unknown.review and "tace" in unknown.indicated  # never a silent grade
    hit = next(h for h in unknown.hits if h.rule_id == "ni2")
    assert hit.effect == "review" and hit.missing == ("autoimmune_disease",)


def test_require_is_an_action_not_a_veto(raw_ruleset, baseline):
    data = _with_indication(raw_ruleset)
    data["rules"].append(_rule("rq", {"var": "on_anticoagulation", "op": "eq", "value": True},
                               "require", ["tace", "supportive_care"]))
    rs = RuleSet.from_dict(data)
    fired = assess({**baseline, "on_anticoagulation": True}, rs)
    assert not fired.forbidden and not fired.review
    assert [h.rule_id for h in fired.required_for("tace")] == ["rq"]
    assert fired.required_for("resection") == ()
    unknown = assess({**baseline, "on_anticoagulation": None}, rs)
    hit = unknown.required_for("supportive_care")[0]
    assert hit.effect == "require" and hit.missing == ("on_anticoagulation",)
    assert "check on_anticoagulation" in hit.message and not unknown.review
    assert unknown.missing_inputs["reviews"] == []  # a required action is not a review
    assert unknown.to_dict()["required_actions"][0]["rule_id"] == "rq"


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda d: d["indication"].pop("IIb"), "stage 'IIb' of cnlc_stage is missing"),
    (lambda d: d["indication"].update(V=ENTRY), "unknown stage 'V'"),
    (lambda d: d["indication"]["Ia"].update(acceptable=["tace"]), "listed both"),
    (lambda d: d["indication"]["Ia"].update(reference="BCLC [C]"), "clinical-facts §"),
    (lambda d: d["indication"]["Ia"].update(evidence="U"), "also cited as a tag"),
    (lambda d: d["indication"]["Ia"].pop("evidence"), r"missing \['evidence'\]"),
    (lambda d: d["indication"]["Ia"].update(indicated=["surgery"]), "unknown modality"),
    (lambda d: d.update(preferred={"Ia": ["tace"]}), "exactly one of 'indication'"),
])
def test_malformed_indication(raw_ruleset, mutate, needle):
    data = _with_indication(raw_ruleset)
    mutate(data)
    with pytest.raises(RuleSetError, match=needle):
        RuleSet.from_dict(data)


def test_supportive_care_cannot_be_not_indicated(raw_ruleset):
    data = _with_indication(raw_ruleset)
    data["rules"].append(_rule("x", {"var": "ecog", "op": "ge", "value": 1}, "not_indicated",
                               ["supportive_care"]))
    with pytest.raises(RuleSetError, match="supportive_care can never be not indicated"):
        RuleSet.from_dict(data)


def test_a_rule_file_before_1_2_grades_nothing(raw_ruleset, baseline):
    """Bundles trained with older rule files keep their ranking: no indicated, no not
    indicated modality, and ``preferred`` as the file lists it."""
    rs = RuleSet.from_dict(raw_ruleset)
    a = assess(baseline, rs)
    assert a.indicated == frozenset() and a.not_indicated == frozenset()
    assert a.acceptable == set(MODALITIES)
    assert a.preferred == tuple(raw_ruleset["preferred"]["Ia"])


@pytest.mark.parametrize("name", ["cnlc-2024", "bclc-2022"])
def test_shipped_sets_state_indication_for_every_stage(name):
    rs = load_ruleset(name)
    assert rs.version == "1.2" and "indication" in rs.raw and "preferred" not in rs.raw
    for entry in rs.indication.values():
        assert entry.indicated and "clinical-facts §" in entry.reference
    effects = {r.effect for r in rs.rules}
    assert {"forbid", "review", "require", "warn"} <= effects
