"""Issue 12, items 5-6: predictions a clinician can believe and explanations an MDT can read.

Response "not applicable" where it is not graded or the modality is forbidden; predictions
outside the training data of a modality marked as extrapolated; the contrast in months with its
main effect and noise; equivalence of the top two options with what separates them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipeline.recommender.contrast import EQUIVALENT_MONTHS, MAIN_EFFECT_TEXT
from pipeline.recommender.envelope import MIN_LEVEL_PATIENTS, fit_envelope, outside


@pytest.fixture(scope="module")
def batch(recommender, patient_rows):
    return [r.to_dict() for r in recommender.recommend_batch(patient_rows.iloc[:60])]


def test_response_not_applicable_after_surgery_and_when_forbidden(recommender, examples):
    # the simulator never records response after resection or transplant (not graded)
    basis = recommender.predictor.response_basis
    for name in ("resection", "transplant"):
        assert basis[_contract_index(name)] == "not_applicable"
    d = recommender.recommend(examples["advanced"]).to_dict()
    for m in d["modalities"]:
        o = m["outcomes"]
        if m["modality"] in ("resection", "transplant"):
            assert o["p_response"] is None and not o["response_applicable"]
            assert "not" in o["response_note"]
        if m["eligibility"] == "forbidden":
            assert o["p_response"] is None and "forbidden" in o["response_note"]


def _contract_index(modality: str) -> int:
    from features.contract import MODALITIES

    return MODALITIES.index(modality)


def test_ecog4_resection_is_marked_extrapolated(recommender, examples):
    patient = dict(examples["early"], ecog=4)
    d = recommender.recommend(patient).to_dict()
    resection = next(m for m in d["modalities"] if m["modality"] == "resection")
    o = resection["outcomes"]
    assert o["extrapolated"] is True
    assert any(w.startswith("ECOG 4") for w in o["extrapolated_because"])
    # the same patient at ECOG 0 is inside resection's envelope for ECOG
    d0 = recommender.recommend(dict(examples["early"], ecog=0)).to_dict()
    o0 = next(m for m in d0["modalities"] if m["modality"] == "resection")["outcomes"]
    assert not any(w.startswith("ECOG") for w in o0["extrapolated_because"])


def test_envelope_rule():
    train = pd.DataFrame({
        "modality": ["resection"] * 12 + ["tace"] * 3,
        "ecog": [0] * 6 + [1] * 6 + [2, 2, 2],
        "child_pugh_class": ["A"] * 15,
        "bclc_stage": ["A"] * 15,
        "tumor_max_diameter_cm": [float(k) for k in range(1, 13)] + [5.0, 6.0, 7.0],
    })
    env = fit_envelope(train)
    assert env["resection"]["ecog"] == {"0": 6, "1": 6} and env["resection"]["n"] == 12
    assert outside(env, "resection", {"ecog": 1, "child_pugh_class": "A",
                                      "tumor_max_diameter_cm": 3.0}) == []
    why = outside(env, "resection", {"ecog": 2, "child_pugh_class": "B",
                                     "tumor_max_diameter_cm": 30.0})
    assert len(why) == 3 and why[0].startswith("ECOG 2: 0 of the 12")
    assert "Child-Pugh class B" in why[1] and "largest tumour diameter" in why[2]
    # three patients hold ECOG 2 under TACE: fewer than MIN_LEVEL_PATIENTS
    assert MIN_LEVEL_PATIENTS > 3 and outside(env, "tace", {"ecog": 2})
    assert outside(None, "tace", {"ecog": 2}) == [] and outside(env, "ablation", {"ecog": 4}) == []


def test_contrast_in_months_adds_up_and_drops_noise(batch):
    seen = 0
    for d in batch:
        c = d["contrast"]
        if c is None:
            continue
        seen += 1
        rmst = {m["modality"]: m["outcomes"]["rmst_months"] for m in d["modalities"]}
        assert math.isclose(c["difference"], rmst[c["a"]] - rmst[c["b"]], abs_tol=1e-3)
        parts = c["main_effect"]["months"] + sum(f["months"] for f in c["factors"])
        assert math.isclose(parts + c["other_factors"], c["difference"], abs_tol=1e-3)
        assert c["main_effect"]["text"] == MAIN_EFFECT_TEXT
        assert "modality" not in {f["field"] for f in c["factors"]}  # stated once, as main
        shown = {f["field"] for f in c["factors"]}
        assert not shown & set(c["noise_factors"])
        for f in c["factors"]:  # kept factors: stable sign and above the members' spread
            assert f["sign_agreement"] >= 0.8 and abs(f["months"]) >= f["spread_months"]
        assert MAIN_EFFECT_TEXT in d["message"]
    assert seen > 20


def test_equivalence_rule_and_what_separates(batch):
    equivalent = 0
    for d in batch:
        e = d["equivalence"]
        if d["runner_up"] is None:
            assert e is None
            continue
        assert (e["a"], e["b"]) == (d["recommended"], d["runner_up"])
        lo, hi = e["paired_interval_months"]
        undecided = lo <= 0.0 <= hi
        assert e["equivalent"] == (abs(e["difference_months"]) < EQUIVALENT_MONTHS or undecided)
        for s in e["separated_by"]:
            assert s["favours"] in (e["a"], e["b"])
            assert s["criterion"] in ("guideline_preference", "cost_tier")
        pref = d["guideline"]["preferred"]
        crit = {s["criterion"]: s["favours"] for s in e["separated_by"]}
        if e["a"] in pref and e["b"] not in pref:
            assert crit["guideline_preference"] == e["a"]
        if e["equivalent"]:
            equivalent += 1
            assert "are equivalent for this patient" in d["message"]
        else:
            assert "are equivalent" not in d["message"]
    assert equivalent > 0


def test_member_shap_fast_path_equals_explain(recommender, patient_rows):
    """The stacked TreeSHAP of a bootstrap member equals ``explain(member=...)`` grouped."""
    from features import derive
    from pipeline.recommender.contrast import _grouped, _member_shap

    owner = recommender.predictor
    rows = patient_rows.drop(columns=["patient_id"]).iloc[:5]
    X = recommender.bundle.matrix.transform(derive(rows))
    owner.predict(X)  # sets the group order
    model = owner.model
    Xa = model._X(X)
    (pa, ba), (pb, bb) = _member_shap(owner, Xa, "tace", "targeted", 1)
    ea = _grouped(owner, model.explain(X, "tace", member=1))
    eb = _grouped(owner, model.explain(X, "targeted", member=1))
    for fast, slow in ((pa, ea[0]), (ba, ea[1]), (pb, eb[0]), (bb, eb[1])):
        assert np.allclose(fast, slow, atol=1e-5)
    # a member is not the full fit
    full = _grouped(owner, model.explain(X, "tace"))
    assert not np.allclose(pa, full[0], atol=1e-5)
