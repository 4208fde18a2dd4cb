"""Worked MDT situations (issue 12): the verdicts of both rule sets on whole patients.

Every situation is a patient (a partial record on the rule files' documented baseline: a fit
58-year-old with one 3 cm HCC, Child-Pugh A5, on antivirals) and what each rule set must say:
forbidden, under review, indicated / acceptable / not indicated, and the required actions. The
rule-level cases of each rule are in the rule files (run by test_guideline_cases.py); these
check how the rules combine, and where CNLC 2024 and BCLC 2022 differ.
"""

from __future__ import annotations

import pytest

from features.contract import MODALITIES, validate_record
from features.derivation import derive
from guidelines import assess, load_ruleset

BASE = dict(load_ruleset("cnlc-2024").case_baseline)
SYSTEMIC = {"immunotherapy", "targeted", "chemotherapy"}
PROCEDURES = {"resection", "transplant", "ablation", "tace", "tace_radiotherapy"}
CP_B7 = {"bilirubin_umol_l": 40, "albumin_g_l": 30}
CP_B8 = {**CP_B7, "ascites": "mild"}
CP_C10 = {"bilirubin_umol_l": 60, "albumin_g_l": 25, "ascites": "mild"}
FIVE_BILOBAR = {"tumor_count": 5, "tumor_max_diameter_cm": 4, "tumor_sum_diameter_cm": 18,
                "bilobar": True, "liver_involvement_pct": 30}
VP3 = {"pvtt": "vp3", "tumor_max_diameter_cm": 7, "tumor_sum_diameter_cm": 7,
       "liver_involvement_pct": 20}
C, B = "cnlc-2024", "bclc-2022"

# (id, patient, ruleset, expectations). Expectation keys: stage; forbidden / not_forbidden,
# review / not_review (subsets); indicated (equal), not_indicated / acceptable (subsets);
# required: {modality: rule ids that must be among its required actions}; no_required: the
# modalities with no required action; hits / no_hits: rule ids.
SITUATIONS = [
    ("bclc-0-single-1.8-cm", {"tumor_max_diameter_cm": 1.8, "tumor_sum_diameter_cm": 1.8}, B,
     {"stage": "0", "indicated": {"ablation", "resection"},
      "not_indicated": {"transplant", "tace_radiotherapy", "chemotherapy"} | SYSTEMIC,
      "acceptable": {"tace", "radiotherapy", "supportive_care"}}),
    ("cnlc-ia-single-1.8-cm", {"tumor_max_diameter_cm": 1.8, "tumor_sum_diameter_cm": 1.8}, C,
     {"stage": "Ia", "indicated": {"resection", "ablation", "transplant"},
      "review": {"transplant"}, "hits": {"transplant-single-nodule-under-2-cm"}}),
    ("resectable-4.5-cm-no-systemic-cnlc", {"tumor_max_diameter_cm": 4.5,
                                            "tumor_sum_diameter_cm": 4.5}, C,
     {"stage": "Ia", "not_indicated": SYSTEMIC, "not_forbidden": {"resection"},
      "review": {"ablation"}}),
    ("resectable-4.5-cm-no-systemic-bclc", {"tumor_max_diameter_cm": 4.5,
                                            "tumor_sum_diameter_cm": 4.5}, B,
     {"stage": "A", "not_indicated": SYSTEMIC, "indicated": {"resection", "transplant",
                                                               "ablation"}}),
    ("bclc-a-three-small-nodules", {"tumor_count": 3, "tumor_max_diameter_cm": 2.5,
                                    "tumor_sum_diameter_cm": 6.5}, B,
     {"stage": "A", "not_indicated": {"resection"}, "hits": {"resection-multinodular"}}),
    ("cnlc-ib-three-small-nodules", {"tumor_count": 3, "tumor_max_diameter_cm": 2.5,
                                     "tumor_sum_diameter_cm": 6.5}, C,
     {"stage": "Ib", "indicated": {"resection", "tace", "ablation", "transplant"}}),
    ("bclc-b-four-nodules-within-up-to-seven", {"tumor_count": 4, "tumor_max_diameter_cm": 3,
                                                "tumor_sum_diameter_cm": 10}, B,
     {"stage": "B", "indicated": {"transplant", "tace"}, "not_forbidden": {"transplant"},
      "review": {"transplant"}, "acceptable": {"immunotherapy", "targeted"},
      "not_indicated": {"resection", "ablation", "radiotherapy", "tace_radiotherapy",
                        "chemotherapy"}}),
    ("cnlc-iib-four-nodules", {"tumor_count": 4, "tumor_max_diameter_cm": 3,
                               "tumor_sum_diameter_cm": 10}, C,
     {"stage": "IIb", "indicated": {"tace"}, "not_indicated": {"transplant", "radiotherapy"},
      "acceptable": {"resection", "immunotherapy", "targeted", "chemotherapy"},
      "review": {"resection"}}),
    ("bclc-c-vp3-systemic-only", VP3, B,
     {"stage": "C", "indicated": {"immunotherapy", "targeted"},
      "not_indicated": {"resection", "tace", "tace_radiotherapy", "radiotherapy", "ablation",
                        "transplant", "chemotherapy"}, "hits": {"bclc-c-vascular-or-extrahepatic"}}),
    ("cnlc-iiia-vp3-tace-rt-indicated", VP3, C,
     {"stage": "IIIa", "indicated": {"immunotherapy", "targeted", "tace", "tace_radiotherapy"},
      "acceptable": {"resection", "radiotherapy", "chemotherapy"},
      "not_forbidden": {"radiotherapy", "tace_radiotherapy", "resection"}}),
    ("cnlc-iiia-hepatic-vein-only", {"hepatic_vein_invasion": True}, C,
     {"stage": "IIIa", "not_indicated": {"resection"},
      "hits": {"resection-iiia-without-portal-thrombus"}}),
    ("cnlc-iiib-chemotherapy-indicated", {"extrahepatic_spread": True}, C,
     {"stage": "IIIb", "indicated": {"immunotherapy", "targeted", "chemotherapy"},
      "forbidden": {"resection", "transplant", "ablation"}}),
    ("bclc-c-extrahepatic-no-chemotherapy", {"extrahepatic_spread": True}, B,
     {"stage": "C", "not_indicated": {"chemotherapy", "tace"}}),
    ("bclc-c-by-ecog-1-only", {"ecog": 1}, B,
     {"stage": "C", "indicated": {"immunotherapy", "targeted"},
      "acceptable": {"resection", "ablation", "transplant", "tace", "radiotherapy"},
      "review": {"resection"}, "no_hits": {"bclc-c-vascular-or-extrahepatic"}}),
    ("ecog-3-no-radiotherapy-cnlc", {"ecog": 3}, C,
     {"stage": "IV", "indicated": {"transplant", "supportive_care"},
      "not_indicated": {"radiotherapy", "ablation", "tace"} | SYSTEMIC,
      "forbidden": {"transplant", "resection", "tace", "targeted"}}),
    ("ecog-3-no-radiotherapy-bclc", {"ecog": 3}, B,
     {"stage": "D", "not_indicated": {"radiotherapy"}, "forbidden": {"transplant"}}),
    ("child-pugh-c-within-milan", CP_C10, B,
     {"stage": "D", "indicated": {"transplant", "supportive_care"},
      "not_forbidden": {"transplant"}}),
    ("ecog-2-five-bilobar-cnlc", {"ecog": 2, **FIVE_BILOBAR}, C,
     {"stage": "IIb", "forbidden": {"resection", "immunotherapy", "chemotherapy"},
      "hits": {"resection-ecog-2"}}),
    ("ecog-2-five-bilobar-bclc", {"ecog": 2, **FIVE_BILOBAR}, B,
     {"stage": "C", "forbidden": {"resection"},
      "hits": {"resection-ecog-2", "resection-multinodular-bilobar"}}),
    ("six-bilobar-nodules-ecog-0-cnlc", {"tumor_count": 6, "tumor_max_diameter_cm": 3,
                                         "tumor_sum_diameter_cm": 15, "bilobar": True,
                                         "liver_involvement_pct": 35}, C,
     {"stage": "IIb", "forbidden": {"resection"},
      "hits": {"resection-multinodular-bilobar", "resection-future-liver-remnant"}}),
    ("post-transplant-recurrence", {"prior_liver_transplant": True, "tumor_count": 2,
                                    "tumor_max_diameter_cm": 2.5,
                                    "tumor_sum_diameter_cm": 4.5}, C,
     {"forbidden": {"transplant", "immunotherapy"},
      "hits": {"transplant-prior-liver-transplant"}}),
    ("post-transplant-recurrence-bclc", {"prior_liver_transplant": True}, B,
     {"forbidden": {"transplant", "immunotherapy"}}),
    ("elderly-85", {"age_years": 85}, C,
     {"forbidden": {"transplant"}, "review": {"chemotherapy"},
      "hits": {"transplant-age-over-75"}}),
    ("elderly-85-bclc", {"age_years": 85}, B, {"forbidden": {"transplant"}}),
    ("age-68-chinese-practice", {"age_years": 68}, C,
     {"review": {"transplant"}, "hits": {"transplant-age-over-65"}}),
    ("age-68-bclc", {"age_years": 68}, B,
     {"not_review": {"transplant"}, "no_hits": {"transplant-age-over-70"}}),
    ("age-72-bclc", {"age_years": 72}, B, {"review": {"transplant"},
                                           "hits": {"transplant-age-over-70"}}),
    ("autoimmune-disease", {"autoimmune_disease": True, **VP3}, C,
     {"not_forbidden": {"immunotherapy"}, "review": {"immunotherapy"},
      "hits": {"immunotherapy-autoimmune-disease"}}),
    ("child-pugh-b7-checkpoint-inhibitor", {**CP_B7, **VP3}, C,
     {"not_forbidden": {"immunotherapy", "targeted", "tace"},
      "review": {"immunotherapy", "targeted"}}),
    ("large-untreated-varices", {"varices": "large_untreated", "portal_hypertension": True,
                                 **VP3}, C,
     {"not_forbidden": {"immunotherapy"}, "review": {"tace", "targeted", "resection"},
      "required": {"immunotherapy": {"bevacizumab-untreated-varices"}},
      "no_required": {"targeted", "tace", "supportive_care"}}),
    ("varices-not-recorded-with-portal-hypertension", {"varices": None,
                                                       "portal_hypertension": True}, B,
     {"required": {"immunotherapy": {"bevacizumab-untreated-varices"}}}),
    ("warfarin-inr-2.6", {"on_anticoagulation": True, "inr": 2.6}, C,
     {"stage": "Ia", "not_forbidden": {"ablation"}, "review": {"ablation"},
      "forbidden": {"immunotherapy"},
      "hits": {"inr-not-liver-function-on-anticoagulation", "ablation-inr-on-anticoagulation",
               "bevacizumab-anticoagulation", "targeted-anticoagulation"},
      "no_hits": {"immunotherapy-child-pugh-b", "ablation-coagulopathy"},
      "required": {m: {"procedures-anticoagulant-management"} for m in PROCEDURES},
      "no_required": {"radiotherapy", "targeted", "supportive_care"}}),
    ("inr-2.6-without-anticoagulant", {"inr": 2.6}, C,
     {"forbidden": {"ablation"}, "hits": {"ablation-coagulopathy", "immunotherapy-child-pugh-b"},
      "no_hits": {"inr-not-liver-function-on-anticoagulation"}}),
    ("untreated-viraemia", {"hbv_dna_iu_ml": 2_600_000, "antiviral_therapy": False}, C,
     {"required": {m: {"hbv-antiviral-therapy"} for m in MODALITIES}}),
    ("same-viraemia-on-antivirals", {"hbv_dna_iu_ml": 2_600_000, "antiviral_therapy": True}, B,
     {"no_required": set(MODALITIES)}),
    ("hcv-related", {"etiology": "hcv", "hbv_dna_iu_ml": None}, B,
     {"required": {m: {"hcv-antiviral-therapy"} for m in MODALITIES}}),
    ("recent-cardiovascular-event", {"recent_cardiovascular_event": True, **VP3}, B,
     {"forbidden": {"immunotherapy"}, "review": {"targeted"},
      "hits": {"bevacizumab-recent-cardiovascular-event", "targeted-recent-cardiovascular-event",
               "surgery-recent-cardiovascular-event"}}),
    ("cnlc-tace-child-pugh-b8-review", CP_B8, C,
     {"not_forbidden": {"tace"}, "review": {"tace"}, "hits": {"tace-child-pugh-b8"}}),
    ("bclc-tace-child-pugh-b8-forbidden", CP_B8, B,
     {"forbidden": {"tace"}, "hits": {"tace-child-pugh-8"}}),
    ("cnlc-tace-vp4-review", {"pvtt": "vp4"}, C,
     {"not_forbidden": {"tace", "tace_radiotherapy"}, "review": {"tace"}}),
    ("bclc-tace-vp4-forbidden", {"pvtt": "vp4"}, B, {"forbidden": {"tace"}}),
    ("radiotherapy-to-pvtt-large-burden", {**VP3, "liver_involvement_pct": 60}, C,
     {"not_forbidden": {"radiotherapy", "tace_radiotherapy"}, "review": {"radiotherapy"},
      "hits": {"radiotherapy-thrombus-with-large-burden"}}),
    ("radiotherapy-large-burden-no-pvtt", {"liver_involvement_pct": 60,
                                           "tumor_max_diameter_cm": 9,
                                           "tumor_sum_diameter_cm": 9}, C,
     {"forbidden": {"radiotherapy", "tace_radiotherapy"},
      "hits": {"radiotherapy-sbrt-size", "resection-future-liver-remnant"}}),
    ("child-pugh-b8-multinodular-cnlc", {**CP_B8, "tumor_count": 5, "tumor_max_diameter_cm": 4,
                                         "tumor_sum_diameter_cm": 14, "afp_ng_ml": 80}, C,
     {"stage": "IIb", "not_indicated": {"transplant"}}),
    ("child-pugh-b8-multinodular-bclc", {**CP_B8, "tumor_count": 5, "tumor_max_diameter_cm": 4,
                                         "tumor_sum_diameter_cm": 14, "afp_ng_ml": 80}, B,
     {"forbidden": {"transplant", "tace"}}),
]


@pytest.mark.parametrize(("name", "patch", "ruleset", "expect"), SITUATIONS,
                         ids=[s[0] for s in SITUATIONS])
def test_situation(name, patch, ruleset, expect):
    record = {**BASE, **patch}
    validate_record(record)
    a = assess(record, ruleset)
    ids = {h.rule_id for h in a.hits}
    assert a.stage == expect.get("stage", a.stage), a.stage
    assert expect.get("forbidden", set()) <= a.forbidden, a.forbidden
    assert not expect.get("not_forbidden", set()) & a.forbidden, a.forbidden
    assert expect.get("review", set()) <= a.review, a.review
    assert not expect.get("not_review", set()) & a.review, a.review
    if "indicated" in expect:
        assert a.indicated == expect["indicated"], a.indicated
    assert expect.get("not_indicated", set()) <= a.not_indicated, a.not_indicated
    assert expect.get("acceptable", set()) <= a.acceptable, a.acceptable
    assert expect.get("hits", set()) <= ids, ids
    assert not expect.get("no_hits", set()) & ids, ids
    for modality, rules in expect.get("required", {}).items():
        assert rules <= {h.rule_id for h in a.required_for(modality)}, modality
    for modality in expect.get("no_required", set()):
        assert a.required_for(modality) == (), modality


@pytest.mark.parametrize("ruleset", [C, B])
def test_indication_is_a_partition_and_supportive_care_is_never_not_indicated(ruleset):
    for _, patch, _, _ in SITUATIONS:
        a = assess({**BASE, **patch}, ruleset)
        assert a.indicated | a.acceptable | a.not_indicated == set(MODALITIES)
        assert not (a.indicated & a.acceptable or a.indicated & a.not_indicated
                    or a.acceptable & a.not_indicated)
        assert "supportive_care" not in a.not_indicated
        assert a.concordant(next(iter(a.indicated))) or next(iter(a.indicated)) in a.forbidden
        for m in a.not_indicated:
            assert not a.concordant(m) and a.not_indicated_because(m)


def test_the_two_rule_sets_differ_where_the_guidelines_differ():
    """Same patients, different verdicts: the differences listed in docs/rules.md."""
    differ = 0
    for _, patch, _, _ in SITUATIONS:
        record = {**BASE, **patch}
        c, b = assess(record, C), assess(record, B)
        differ += (c.forbidden, c.not_indicated, c.indicated) != (b.forbidden, b.not_indicated,
                                                                   b.indicated)
    assert differ >= 0.5 * len(SITUATIONS)


def test_untreated_viraemia_differs_from_the_same_patient_on_antivirals():
    viraemic = {**BASE, "hbv_dna_iu_ml": 2_600_000, "antiviral_therapy": False}
    treated = {**viraemic, "antiviral_therapy": True}
    for ruleset in (C, B):
        a, b = assess(viraemic, ruleset), assess(treated, ruleset)
        assert derive(viraemic)["hbv_viremia_untreated"] is True
        assert a.to_dict()["required_actions"] and not b.to_dict()["required_actions"]
        assert a.to_dict() != b.to_dict()


def test_inr_on_anticoagulation_is_not_liver_function():
    warfarin = derive({**BASE, "inr": 2.6, "on_anticoagulation": True})
    plain = derive({**BASE, "inr": 2.6})
    assert warfarin["inr_excluded"] is True and plain["inr_excluded"] is False
    assert warfarin["child_pugh_points"] == 5 and plain["child_pugh_points"] == 7
    assert warfarin["meld"] < plain["meld"]
    assert derive({**BASE, "inr": 2.6, "on_anticoagulation": None})["child_pugh_points"] == 7
