"""A malformed rule file fails at load time, naming the rule and the problem."""

from __future__ import annotations

import copy
import os

import pytest

from features.contract import Problem, RequestError
from guidelines import RuleSetError, UnknownGuidelineError, load_ruleset


def _fail(write_rules, data, *needles, text=None):
    path = write_rules(data, text)
    with pytest.raises(RuleSetError) as info:
        load_ruleset(str(path))
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    return info.value


def test_valid_minimal_file_loads(raw_ruleset, write_rules):
    rs = load_ruleset(str(write_rules(raw_ruleset)))
    assert rs.name == "test-set" and [r.id for r in rs.rules] == ["tace-ecog-3"]


@pytest.mark.parametrize(
    ("mutate", "needles"),
    [
        (lambda r: r["condition"].update(var="ecgo"),
         ["tace-ecog-3", "unknown variable 'ecgo'", "did you mean 'ecog'"]),
        (lambda r: r["condition"].update(op="gte"),
         ["tace-ecog-3", "unknown operator 'gte'"]),
        (lambda r: r.update(modalities=["tace", "TACE-RT"]),
         ["tace-ecog-3", "unknown modality 'TACE-RT'"]),
        (lambda r: r["condition"].update(value="three"),
         ["tace-ecog-3", "ecog is an integer", "'three'"]),
        (lambda r: r["condition"].update(value=2.5),
         ["tace-ecog-3", "expected an integer"]),
        (lambda r: r.update(condition={"var": "ascites", "op": "eq", "value": "severe"}),
         ["tace-ecog-3", "ascites is a category", "'severe'"]),
        (lambda r: r.update(condition={"var": "autoimmune_disease", "op": "eq", "value": 1}),
         ["tace-ecog-3", "is a boolean"]),
        (lambda r: r.update(condition={"var": "albumin_g_l", "op": "lt", "value": 3.5}),
         ["tace-ecog-3", "outside the plausible range", "check the unit"]),
        (lambda r: r.update(condition={"var": "pvtt", "op": "ge", "value": "vp3"}),
         ["tace-ecog-3", "ge needs a number"]),
        (lambda r: r.update(condition={"var": "pvtt", "op": "in", "value": []}),
         ["tace-ecog-3", "non-empty list"]),
        (lambda r: r.update(condition={"var": "icg_r15_pct", "op": "is_missing", "value": 1}),
         ["tace-ecog-3", "is_missing takes no value"]),
        (lambda r: r.update(condition={"all": []}),
         ["tace-ecog-3", "condition.all", "non-empty list"]),
        (lambda r: r.update(condition={"any": [{"var": "ecog", "op": "ge"}]}),
         ["tace-ecog-3", "condition.any[0]", "missing key 'value'"]),
        (lambda r: r.update(condition={"var": "ecog", "op": "ge", "value": 3, "unit": "x"}),
         ["tace-ecog-3", "unknown key(s) ['unit']"]),
        (lambda r: r.pop("reference"), ["tace-ecog-3", "missing field 'reference'"]),
        (lambda r: r.pop("cases"), ["tace-ecog-3", "missing field 'cases'"]),
        (lambda r: r.update(title=""), ["tace-ecog-3", "title: expected a non-empty string"]),
        (lambda r: r.update(refrence="x"), ["tace-ecog-3", "unknown field 'refrence'"]),
        (lambda r: r.update(effect="promote"), ["tace-ecog-3", "effect: expected one of"]),
        (lambda r: r.update(evidence="[C]"), ["tace-ecog-3", "evidence: expected one of C, S, U"]),
        (lambda r: r.update(modalities=["tace", "supportive_care"]),
         ["tace-ecog-3", "supportive_care can never be forbidden"]),
        (lambda r: r.update(modalities=[]), ["tace-ecog-3", "non-empty list of modalities"]),
        (lambda r: r.update(modalities=["tace", "tace"]), ["tace-ecog-3", "listed twice"]),
        (lambda r: r.update(cases=[{"expect": "fires", "patient": {"ecog": 3}}]),
         ["tace-ecog-3", "at least one 'silent' case"]),
        (lambda r: r["cases"][0].update(expect="fire"), ["tace-ecog-3", "cases[0].expect"]),
        (lambda r: r["cases"][0].update(patient={"child_pugh_class": "C"}),
         ["tace-ecog-3", "unknown contract field 'child_pugh_class'"]),
        (lambda r: r.update(id=""), ["#0 (no id)", "id: expected a non-empty string"]),
    ],
    ids=lambda x: None if callable(x) else x[1][:40],
)
def test_malformed_rule(raw_ruleset, write_rules, mutate, needles):
    mutate(raw_ruleset["rules"][0])
    _fail(write_rules, raw_ruleset, *needles)


def test_duplicate_id(raw_ruleset, write_rules):
    raw_ruleset["rules"].append(copy.deepcopy(raw_ruleset["rules"][0]))
    _fail(write_rules, raw_ruleset, "rule 'tace-ecog-3': duplicate id")


def test_every_problem_is_reported(raw_ruleset, write_rules):
    second = copy.deepcopy(raw_ruleset["rules"][0])
    second["id"] = "second"
    second["effect"] = "ban"
    raw_ruleset["rules"][0]["condition"]["var"] = "nope"
    raw_ruleset["rules"].append(second)
    error = _fail(write_rules, raw_ruleset, "tace-ecog-3", "unknown variable", "second", "ban")
    assert {rid for rid, _ in error.problems} == {"tace-ecog-3", "second"}


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.pop("source"), "missing top-level field 'source'"),
        (lambda d: d.update(rules=[]), "rules: expected a non-empty list"),
        (lambda d: d.update(author="me"), "unknown top-level field 'author'"),
        (lambda d: d.update(stage_variable="ecog"), "stage_variable"),
        (lambda d: d["preferred"].pop("IIb"), "stage 'IIb' of cnlc_stage is missing"),
        (lambda d: d["preferred"].update(V=["tace"]), "unknown stage 'V'"),
        (lambda d: d["preferred"].update(Ia=["surgery"]), "unknown modality 'surgery'"),
        (lambda d: d["case_baseline"].update(ecgo=1), "unknown contract field 'ecgo'"),
    ],
)
def test_malformed_top_level(raw_ruleset, write_rules, mutate, needle):
    mutate(raw_ruleset)
    _fail(write_rules, raw_ruleset, needle)


def test_yaml_syntax_error_and_duplicate_key(write_rules):
    _fail(write_rules, None, "not valid YAML", text="name: [unclosed\n")
    _fail(write_rules, None, "duplicate key 'name'", text="name: a\nname: b\n")


def test_top_level_not_a_mapping(write_rules):
    _fail(write_rules, None, "expected a mapping at the top level", text="- a\n- b\n")


def test_unknown_name_and_missing_path():
    with pytest.raises(UnknownGuidelineError, match="unknown rule set 'bclc-2023'.*did you mean"):
        load_ruleset("bclc-2023")
    with pytest.raises(RuleSetError, match="no such file"):
        load_ruleset("/nonexistent/rules.yaml")


def test_unknown_name_is_a_request_error_with_one_problem():
    with pytest.raises(RequestError) as info:
        load_ruleset("bclc-2023")
    error = info.value
    assert isinstance(error, UnknownGuidelineError) and isinstance(error, ValueError)
    assert not isinstance(error, RuleSetError)
    assert error.name == "bclc-2023" and "bclc-2022" in error.available
    assert error.problems == (Problem("guideline", "unknown_guideline",
                                      error.problems[0].expected, "'bclc-2023'",
                                      "did you mean 'bclc-2022'?"),)
    assert error.to_dict()["error"] == "unknown_guideline"
    assert error.to_dict()["message"].startswith("ruleset: unknown rule set 'bclc-2023'")


def test_cached_and_reloaded_when_changed(raw_ruleset, write_rules):
    path = write_rules(raw_ruleset)
    first = load_ruleset(str(path))
    assert load_ruleset(path) is first
    assert load_ruleset(first) is first
    raw_ruleset["version"] = "0.2"
    import yaml

    path.write_text(yaml.safe_dump(raw_ruleset, sort_keys=False))
    os.utime(path, ns=(1, 10**18))
    assert load_ruleset(str(path)).version == "0.2"


def test_unquoted_numeric_stage_key_is_accepted(raw_ruleset, write_rules):
    raw_ruleset["stage_variable"] = "bclc_stage"
    raw_ruleset["preferred"] = {0: ["ablation"], "A": ["resection"], "B": ["tace"],
                                "C": ["immunotherapy"], "D": ["supportive_care"]}
    rs = load_ruleset(str(write_rules(raw_ruleset)))
    assert rs.preferred["0"] == ("ablation",)
