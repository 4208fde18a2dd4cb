"""recommend() and recommend_batch(): sensible, safe, explained, and one code path."""

from __future__ import annotations

import json
import logging
import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.contract import COST_TIERS, MODALITIES, InvalidPatientError

CURATIVE = ("resection", "transplant", "ablation")
OBJECTIVES = ("rmst24", "surv12", "surv24", "median_os")


def test_every_modality_in_contract_order_and_json_safe(recommender, examples):
    rec = recommender.recommend(examples["advanced"])
    d = rec.to_dict()
    assert [m["modality"] for m in d["modalities"]] == list(MODALITIES)
    text = json.dumps(d, allow_nan=False)  # no NaN / inf anywhere
    assert json.loads(text) == d
    for m in d["modalities"]:
        o = m["outcomes"]
        assert m["eligibility"] in ("allowed", "review", "forbidden")
        assert m["cost_tier"] in COST_TIERS
        assert set(o["survival"]) == {"6", "12", "24", "36"}
        assert o["rmst_horizon_months"] == 24
        lo, hi = o["rmst_interval_months"]
        assert lo <= hi and 0 < o["rmst_months"] <= 24
        if o["p_response"] is None:  # forbidden, or response not graded for the modality
            assert o["response_note"] and (m["eligibility"] == "forbidden"
                                           or not o["response_applicable"])
        else:
            assert 0 <= o["p_response"] <= 1 and o["response_basis"] in ("model", "rate")
        assert isinstance(o["extrapolated"], bool)
        assert o["extrapolated"] == bool(o["extrapolated_because"])
        curve = m["curve"]
        assert len(curve["months"]) == len(curve["survival"]) == 25
        assert curve["months"][0] == 0 and curve["months"][-1] == 60
        assert np.all(np.diff(curve["survival"]) <= 1e-12), "survival curve must not increase"
        for hit in m["hits"]:
            assert {"rule_id", "effect", "message", "reference", "evidence"} <= set(hit)
    assert "log hazard ratio" in d["shap_unit"]
    assert "does not replace" in d["caveat"] and "multidisciplinary" in d["caveat"]
    assert d["versions"]["model"] and d["versions"]["ruleset"].startswith("cnlc-2024")


def test_early_patient_gets_a_curative_option(recommender, examples):
    rec = recommender.recommend(examples["early"])
    assert any(rec.modality(m).eligibility != "forbidden" for m in CURATIVE)
    assert rec.recommended is not None and rec.recommended not in rec.forbidden
    assert rec.guideline["stage"] == "Ia"


def test_intermediate_patient(recommender, examples):
    rec = recommender.recommend(examples["intermediate"])
    assert rec.recommended is not None and rec.recommended not in rec.forbidden
    assert rec.modality("ablation").eligibility == "forbidden"  # 4 nodules, 5.5 cm
    assert rec.guideline["stage"] == "IIb" and "tace" in rec.guideline["preferred"]


def test_advanced_pvtt_patient(recommender, examples):
    rec = recommender.recommend(examples["advanced"])
    assert rec.modality("transplant").eligibility == "forbidden"  # macrovascular invasion
    assert rec.recommended is not None and rec.recommended not in rec.forbidden
    assert rec.runner_up is not None and rec.runner_up != rec.recommended


def test_terminal_patient_gets_supportive_care(recommender, examples):
    rec = recommender.recommend(examples["terminal"])  # ECOG 4, Child-Pugh C
    assert rec.recommended == "supportive_care"
    assert set(rec.forbidden) == set(MODALITIES) - {"supportive_care"}
    assert rec.runner_up is None and rec.contrast is None
    assert rec.guideline["concordant"]


def test_review_hits_on_the_recommendation_are_flagged(recommender, examples):
    for patient in examples.values():
        rec = recommender.recommend(patient)
        if rec.recommended is None:
            continue
        reviews = [h["rule_id"] for h in rec.modality(rec.recommended).hits
                   if h["effect"] == "review"]
        assert reviews == [f["rule_id"] for f in rec.flags if f["effect"] == "review"]
        summary = rec.guideline["missing_inputs"]
        for flag in rec.flags:
            if flag["effect"] != "review":
                continue
            if not flag["missing"]:
                assert flag["rule_id"] in rec.message  # decided: named
            elif rec.recommended in summary["reviews"]:
                assert all(field in rec.message for field in flag["missing"])  # summarised


def test_the_recommendation_message_summarises_missing_inputs(recommender, examples):
    rec = recommender.recommend(examples["early"])
    summary = rec.guideline["missing_inputs"]
    assert summary["reviews"] and summary["message"]
    assert "Fill in these 7 fields to settle 7 reviews" in rec.message
    for field in summary["fields"]:
        assert field in rec.message
    undecided = [f for m in rec.modalities for f in m.hits if f["missing"]]
    assert undecided and not any(f["rule_id"] in rec.message for f in undecided)
    assert json.loads(json.dumps(rec.to_dict()))["guideline"]["missing_inputs"] == summary


def test_preferences_decline_and_cost_ceiling(recommender, examples):
    first = recommender.recommend(examples["advanced"])
    declined = recommender.recommend(examples["advanced"],
                                     {"excluded_modalities": [first.recommended]})
    assert declined.recommended != first.recommended
    assert declined.modality(first.recommended).excluded_because == ("declined",)
    cheap = recommender.recommend(examples["advanced"], {"max_cost_tier": "low"})
    assert cheap.modality(cheap.recommended).cost_tier == "low"
    assert "above_cost_ceiling" in cheap.modality("immunotherapy").excluded_because
    assert cheap.preferences.max_cost_tier == "low"


def test_nothing_allowed_refers_to_the_mdt(recommender, examples):
    rec = recommender.recommend(examples["terminal"], {"excluded_modalities": ["supportive_care"]})
    assert rec.recommended is None and rec.runner_up is None
    assert "multidisciplinary team" in rec.message
    assert rec.to_dict()["recommended"] is None


def test_objective_changes_the_ranking_key(recommender, examples):
    for objective in OBJECTIVES:
        rec = recommender.recommend(examples["advanced"], {"objective": objective})
        assert rec.objective == objective
        best = rec.modality(rec.recommended)
        assert best.data_support or not any(m.candidate and m.data_support
                                            for m in rec.modalities)
        assert best.indication == "indicated" or not any(
            m.candidate and m.indication == "indicated" for m in rec.modalities)
        for m in rec.modalities:
            # among candidates of the same indication tier and data support, the recommended
            # one scores best
            if m.candidate and m.data_support == best.data_support and (
                    m.indication == "indicated") == (best.indication == "indicated"):
                assert m.score <= best.score or (math.isinf(best.score) and math.isinf(m.score))


def test_guideline_choice(recommender, examples):
    rec = recommender.recommend(examples["advanced"], guideline="bclc-2022")
    assert rec.guideline["ruleset"] == "bclc-2022" and rec.guideline["stage"] == "C"
    assert rec.versions["ruleset"].startswith("bclc-2022")


def test_shap_factors_in_contract_terms(recommender, examples):
    rec = recommender.recommend(examples["advanced"])
    matrix = recommender.bundle.matrix
    groups = set(matrix.feature_groups_.values()) | {"modality"}
    for m in rec.modalities:
        assert 0 < len(m.factors) <= recommender.params.top_factors
        for f in m.factors:
            assert f.field in groups  # one-hot columns summed back (no "etiology_hbv")
    assert all(not f.field.startswith("etiology_") for m in rec.modalities for f in m.factors)
    c = rec.contrast
    assert c["a"] == rec.recommended and c["b"] == rec.runner_up
    # in months of RMST: main effect + factors + the rest = the predicted RMST difference
    assert c["unit"].startswith("months of RMST to 24")
    shown = sum(f["months"] for f in c["factors"])
    assert math.isclose(c["main_effect"]["months"] + shown + c["other_factors"],
                        c["difference"], abs_tol=1e-3)  # factors are rounded to 4 decimals
    rmst = {m.modality: m.outcomes["rmst_months"] for m in rec.modalities}
    assert math.isclose(c["difference"], rmst[c["a"]] - rmst[c["b"]], abs_tol=1e-3)
    assert c["base_value"] == c["main_effect"]["months"]
    # the margin-scale contrast is still given: stratified baselines add log H0_a - log H0_b
    stratified = recommender.bundle.model.main_.baselines is not None
    assert ("log cumulative hazard at 24" if stratified else "log hazard ratio") in c[
        "margin_unit"]
    assert c["noise_assessed"] and all(not f["within_noise"] for f in c["factors"])
    values = {f["field"]: f["value"] for m in rec.to_dict()["modalities"] for f in m["factors"]}
    if "pvtt" in values:
        assert values["pvtt"] == "vp3"  # the patient's value of the factor


def test_explain_false_skips_shap_only(recommender, examples, same):
    full = recommender.recommend(examples["advanced"]).to_dict()
    fast = recommender.recommend(examples["advanced"], explain=False).to_dict()
    assert fast["contrast"] is None and all(not m["factors"] for m in fast["modalities"])
    for key in ("recommended", "runner_up", "flags", "guideline"):
        assert fast[key] == full[key]
    same([m["outcomes"] for m in fast["modalities"]], [m["outcomes"] for m in full["modalities"]])


def test_intervals_false_skips_only_the_interval(recommender, examples, patient_rows, same):
    full = recommender.recommend(examples["advanced"], explain=False).to_dict()
    fast = recommender.recommend(examples["advanced"], explain=False, intervals=False).to_dict()
    for a, b in zip(full["modalities"], fast["modalities"], strict=True):
        assert b["outcomes"]["rmst_interval_months"] is None
        a["outcomes"]["rmst_interval_months"] = None
        same(a, b)
    rows = patient_rows.iloc[:10]
    batch = recommender.recommend_batch(rows, explain=False, intervals=False)
    for i, rec in enumerate(batch):
        record = {k: (None if pd.isna(v) else v) for k, v in rows.iloc[i].items()}
        single = recommender.recommend(record, explain=False, intervals=False)
        same(rec.to_dict(), single.to_dict())


@pytest.mark.parametrize("explain", [True, False])
def test_single_equals_batch_row(recommender, patient_rows, explain, same):
    rows = patient_rows.iloc[:40]
    batch = recommender.recommend_batch(rows, explain=explain)
    assert len(batch) == len(rows)
    for i, rec in enumerate(batch):
        record = {k: (None if pd.isna(v) else v) for k, v in rows.iloc[i].items()}
        same(rec.to_dict(), recommender.recommend(record, explain=explain).to_dict(), f"row {i}")


def _without(d, keys):
    """A to_dict() result without the entries named ``keys`` (at any depth)."""
    if isinstance(d, dict):
        return {k: _without(v, keys) for k, v in d.items() if k not in keys}
    if isinstance(d, list):
        return [_without(v, keys) for v in d]
    return d


def _field(factor: dict) -> str:
    return factor["field"]


def _close(a, b, path=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            if k == "factors" and a[k]:  # near-ties in |SHAP| may swap places: compare as sets
                size = "months" if "months" in a[k][0] else "shap"  # contrast: months
                for fs in (a[k], b[k]):  # each still ordered by size (up to rounding)
                    assert all(abs(x[size]) >= abs(y[size]) - 2e-4
                               for x, y in zip(fs, fs[1:], strict=False)), path
                if {f["field"] for f in a[k]} == {f["field"] for f in b[k]}:
                    _close(sorted(a[k], key=_field), sorted(b[k], key=_field), f"{path}.{k}")
                    continue
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert math.isclose(a, b, abs_tol=2e-4), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_large_batch_factored_scoring_equals_single(recommender, patient_rows, same):
    """From FACTORED_MIN_ROWS patients a batch scores the bootstrap members and SHAP in factored
    form: the recommendation, estimates and ranking are identical to recommend(); intervals and
    SHAP values agree to float32 rounding (a last-digit difference after rounding)."""
    from models.factored import FACTORED_MIN_ROWS

    rows = pd.concat([patient_rows] * (FACTORED_MIN_ROWS // len(patient_rows) + 1),
                     ignore_index=True).drop(columns=["patient_id"])
    assert len(rows) >= FACTORED_MIN_ROWS
    assert recommender.predictor.model.members_[0].factoring is not None  # by the predictor
    batch = recommender.recommend_batch(rows, explain=True)
    rounded = {"rmst_interval_months", "factors", "contrast"}
    for i in range(0, len(rows), 7):
        record = {k: (None if pd.isna(v) else v) for k, v in rows.iloc[i].items()}
        single = recommender.recommend(record).to_dict()
        same(_without(batch[i].to_dict(), rounded), _without(single, rounded), f"row {i}")
        _close(batch[i].to_dict(), single, f"row {i}")


def test_batch_preferences_and_guideline_equal_single(recommender, patient_rows, same):
    prefs = {"excluded_modalities": ["tace"], "max_cost_tier": "middle", "objective": "surv12"}
    rows = patient_rows.iloc[40:55]
    batch = recommender.recommend_batch(rows, prefs, "bclc-2022", explain=False)
    for i, rec in enumerate(batch):
        record = {k: (None if pd.isna(v) else v) for k, v in rows.iloc[i].items()}
        single = recommender.recommend(record, prefs, "bclc-2022", explain=False)
        same(rec.to_dict(), single.to_dict())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=st.integers(0, 119),
       excluded=st.sets(st.sampled_from(MODALITIES), max_size=9),
       ceiling=st.sampled_from((None, *COST_TIERS)),
       objective=st.sampled_from(OBJECTIVES),
       guideline=st.sampled_from(("cnlc-2024", "bclc-2022")))
def test_forbidden_never_recommended(recommender, patient_rows, row, excluded, ceiling,
                                     objective, guideline):
    record = {k: (None if pd.isna(v) else v) for k, v in patient_rows.iloc[row].items()}
    prefs = {"excluded_modalities": sorted(excluded), "max_cost_tier": ceiling,
             "objective": objective}
    rec = recommender.recommend(record, prefs, guideline, explain=False)
    if rec.recommended is not None:
        chosen = rec.modality(rec.recommended)
        assert chosen.eligibility != "forbidden"
        assert chosen.candidate and rec.recommended not in excluded
    if rec.runner_up is not None:
        assert rec.modality(rec.runner_up).eligibility != "forbidden"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(excluded=st.sets(st.sampled_from(MODALITIES), max_size=10),
       ceiling=st.sampled_from((None, *COST_TIERS)))
def test_forbidden_never_recommended_in_batch(recommender, patient_rows, excluded, ceiling):
    prefs = {"excluded_modalities": sorted(excluded), "max_cost_tier": ceiling}
    for rec in recommender.recommend_batch(patient_rows, prefs, explain=False):
        assert rec.recommended is None or rec.recommended not in rec.forbidden


def test_patient_id_never_in_output_or_logs(recommender, examples, patient_rows, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "MRN-0042-SECRET"
    rec = recommender.recommend(dict(examples["advanced"], patient_id=secret))
    text = json.dumps(rec.to_dict())
    assert secret not in text and rec.patient_ref.startswith("sha256:")
    rows = patient_rows.iloc[:3].assign(patient_id=[secret + str(i) for i in range(3)])
    batch = recommender.recommend_batch(rows.assign(extra_note="x"))
    assert all(secret not in json.dumps(r.to_dict()) for r in batch)
    assert secret not in caplog.text
    assert "extra_note" in caplog.text  # unknown columns are named, never used


@pytest.mark.parametrize("patient, field", [
    ({"age_years": 61}, "sex"),
    ("not a record", "<record>"),
    (None, "<record>"),
])
def test_invalid_record_raises_invalid_patient_error(recommender, patient, field):
    with pytest.raises(InvalidPatientError) as info:
        recommender.recommend(patient)
    assert field in {p.field for p in info.value.problems}


def test_invalid_values_list_every_problem(recommender, examples):
    bad = dict(examples["advanced"], albumin_g_l=3.6, ecog=7, pvtt="vp9", color="blue")
    with pytest.raises(InvalidPatientError) as info:
        recommender.recommend(bad)
    fields = {p.field for p in info.value.problems}
    assert {"albumin_g_l", "ecog", "pvtt", "color"} <= fields
    assert "g/dL" in str(info.value)


@pytest.mark.parametrize("prefs, guideline, field", [
    ({"excluded_modalities": ["surgery"]}, None, "preferences.excluded_modalities"),
    ({"max_cost_tier": "cheap"}, None, "preferences.max_cost_tier"),
    ({"objective": "rmst99"}, None, "preferences.objective"),
    ({"budget": 3}, None, "preferences.budget"),
    ("tace", None, "preferences"),
    (None, "who-2030", "guideline"),
])
def test_invalid_request_raises_a_request_error(recommender, examples, prefs, guideline, field):
    """Bad preferences: InvalidPreferencesError; an unknown guideline: UnknownGuidelineError;
    both RequestErrors (ValueErrors) listing the problem."""
    from features.contract import RequestError
    from guidelines import UnknownGuidelineError
    from pipeline.recommender.request import InvalidPreferencesError

    expected = UnknownGuidelineError if guideline else InvalidPreferencesError
    with pytest.raises(expected) as info:
        recommender.recommend(examples["early"], prefs, guideline)
    assert isinstance(info.value, RequestError)
    assert field in {p.field for p in info.value.problems}


def test_batch_invalid_rows_raise_with_positions_or_report(recommender, patient_rows):
    rows = patient_rows.iloc[:5].copy()
    rows["albumin_g_l"] = rows["albumin_g_l"].astype(object)
    rows.loc[1, "albumin_g_l"] = 3.9
    rows.loc[3, "albumin_g_l"] = "high"
    with pytest.raises(InvalidPatientError) as info:
        recommender.recommend_batch(rows)
    assert {p.row for p in info.value.problems} == {1, 3}
    out = recommender.recommend_batch(rows, errors="report", explain=False)
    assert [isinstance(o, InvalidPatientError) for o in out] == [False, True, False, True, False]
    assert out[1].problems[0].field == "albumin_g_l" and out[1].problems[0].row == 1
    with pytest.raises(InvalidPatientError):
        recommender.recommend_batch(rows.drop(columns=["sex"]))
    with pytest.raises(ValueError):
        recommender.recommend_batch(rows, errors="ignore")


def test_batch_handles_plain_frames_and_empty(recommender, examples):
    plain = pd.DataFrame([examples["early"], examples["terminal"]])  # python objects, no dtypes
    out = recommender.recommend_batch(plain, progress=True)
    assert [r.recommended for r in out][1] == "supportive_care"
    assert recommender.recommend_batch(plain.iloc[:0]) == []


def test_batch_pauses_the_collector_and_restores_it(recommender, patient_rows, monkeypatch):
    import gc
    import threading

    from pipeline.recommender import runtime as module

    seen = []
    real = module.OutcomePredictor.predict

    def spy(self, *a, **kw):
        seen.append(gc.isenabled())
        return real(self, *a, **kw)

    monkeypatch.setattr(module.OutcomePredictor, "predict", spy)
    assert gc.isenabled()
    recommender.recommend_batch(patient_rows.iloc[:3], explain=False)
    assert seen == [False] and gc.isenabled()
    with pytest.raises(InvalidPatientError):  # an error mid-batch restores it too
        monkeypatch.setattr(module.OutcomePredictor, "predict",
                            lambda *a, **k: (_ for _ in ()).throw(InvalidPatientError([])))
        recommender.recommend_batch(patient_rows.iloc[:3], explain=False)
    assert gc.isenabled()
    # overlapping batches (threads of a server): enabled again only after the last one
    first_in, release = threading.Event(), threading.Event()

    def slow(self, *a, **kw):
        first_in.set()
        release.wait(10)
        return real(self, *a, **kw)

    monkeypatch.setattr(module.OutcomePredictor, "predict", slow)
    t = threading.Thread(target=recommender.recommend_batch,
                         args=(patient_rows.iloc[:2],), kwargs={"explain": False})
    t.start()
    first_in.wait(10)
    with module._gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other batch is still running
    release.set()
    t.join(30)
    assert gc.isenabled()
    gc.disable()  # a caller that had it off keeps it off
    try:
        monkeypatch.setattr(module.OutcomePredictor, "predict", real)
        recommender.recommend_batch(patient_rows.iloc[:2], explain=False)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_module_api_and_cache(tiny_bundle, examples):
    from pipeline.recommender import api as api

    api.load_recommender.cache_clear()
    r1 = api.load_recommender(tiny_bundle)
    assert api.load_recommender(str(tiny_bundle)) is r1
    rec = api.recommend(examples["early"], recommender=tiny_bundle)
    assert rec.recommended is not None
    assert len(api.recommend_batch(pd.DataFrame([examples["early"]]), recommender=r1)) == 1


def test_package_level_exports(tiny_bundle, examples):
    """`from pipeline import recommend` is the function, even after the module was imported."""
    import pipeline.recommender.api  # noqa: F401

    try:
        from pipeline import Recommendation, load_recommender, recommend, recommend_batch
    except ImportError:
        pytest.skip("pipeline/__init__.py does not export the recommend API yet")
    assert callable(recommend) and callable(recommend_batch)
    rec = recommend(examples["early"], recommender=load_recommender(tiny_bundle))
    assert isinstance(rec, Recommendation)


def test_missing_bundle_fails_with_a_hint(tmp_path):
    from pipeline.recommender.api import load_recommender
    from pipeline.recommender.bundle import BundleError

    with pytest.raises(BundleError, match="dvc repro"):
        load_recommender(tmp_path / "nothing")


def test_latency_is_reasonable(recommender, examples):
    """Smoke bound only (shared CI machines); see the README for measured latencies."""
    patient = examples["advanced"]
    recommender.recommend(patient)
    times = []
    for _ in range(15):
        started = time.perf_counter()
        recommender.recommend(patient)
        times.append(time.perf_counter() - started)
    assert np.median(times) < 0.5


def test_data_support_guard_ranks_extrapolations_last(recommender, examples):
    """A modality the patient's profile almost never received ranks after supported ones."""
    import dataclasses

    from pipeline.recommender.api import Recommender

    strict = Recommender(recommender.bundle, dataclasses.replace(recommender.params,
                                                                 min_propensity=0.2))
    off = Recommender(recommender.bundle, dataclasses.replace(recommender.params,
                                                              min_propensity=0.0))
    for name in ("early", "intermediate", "advanced"):
        rec = strict.recommend(examples[name])
        ranked = [m for m in rec.modalities if m.candidate]
        assert rec.recommended is not None
        if any(m.data_support for m in ranked):
            assert rec.modality(rec.recommended).data_support
        assert all(m.data_support for m in off.recommend(examples[name]).modalities)


def test_parallel_chunks_equal_one_after_the_other(recommender, patient_rows, monkeypatch,
                                                    same):
    """Batches of several chunks are scored two chunks at a time (threads): same results."""
    from pipeline.recommender import runtime as module

    rows = patient_rows.iloc[:90]
    monkeypatch.setattr(module, "_BATCH_CHUNK", 16)
    monkeypatch.setattr(module, "_BATCH_WORKERS", 1)
    serial = recommender.recommend_batch(rows, explain=True)
    monkeypatch.setattr(module, "_BATCH_WORKERS", 2)
    threads = set()
    real = module.Recommender._score_chunk

    def spy(self, *a, **kw):
        import threading

        threads.add(threading.get_ident())
        return real(self, *a, **kw)

    monkeypatch.setattr(module.Recommender, "_score_chunk", spy)
    parallel = recommender.recommend_batch(rows, explain=True)
    assert len(threads) == 2  # really ran in two threads
    assert recommender.predictor._pinned is None  # thread setting restored
    for i, (a, b) in enumerate(zip(serial, parallel, strict=True)):
        same(a.to_dict(), b.to_dict(), f"row {i}")


def test_assemble_equals_the_constructor():
    from dataclasses import FrozenInstanceError

    from pipeline.recommender.recommendation import ModalityAssessment

    kw = dict(modality="tace", label="TACE", eligibility="allowed", hits=(),
              excluded_because=(), cost_tier="low", candidate=True, outcomes={"x": 1.0},
              score=1.0, data_support=True, not_candidate_because=(), factors=(),
              factors_base_value=None,
              curve={"months": [0.0], "survival": [1.0]}, indication="indicated",
              required_actions=())
    fast = ModalityAssessment.assemble(**kw)
    assert fast == ModalityAssessment(**kw) and fast.to_dict() == ModalityAssessment(
        **kw).to_dict()
    with pytest.raises(FrozenInstanceError):
        fast.score = 2.0
    with pytest.raises(TypeError, match="expected the fields"):
        ModalityAssessment.assemble(modality="tace")
