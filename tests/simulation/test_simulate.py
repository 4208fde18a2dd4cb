"""Synthetic cohort: contract, population mix, outcome invariants and counterfactual truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from features.contract import FIELDS, MODALITIES, validate_cohort
from pipeline.config import ParamsError, build
from pipeline.simulation.cohort import (
    CALIBRATION_FILE,
    SyntheticParams,
    SyntheticParamsError,
    policy_probabilities,
    potential_outcomes,
    simulate_cohort,
)
from pipeline.simulation.population import clinical_state, draw_population
from pipeline.simulation.potential_outcomes import EffectParamsError

N = 3000


@pytest.fixture(scope="module")
def params() -> SyntheticParams:
    return SyntheticParams.default()


@pytest.fixture(scope="module")
def sim(params):
    return simulate_cohort(N, 7, params)


def _crude_bclc(c: pd.DataFrame) -> pd.Series:
    """BCLC stage from the contract columns (clinical-facts §1.1 pseudo-code; Pugh points)."""
    b, a, inr = c["bilirubin_umol_l"], c["albumin_g_l"], c["inr"]
    pts = (3 + (b >= 34).astype(int) + (b > 50) + (a <= 35) + (a < 28) + (inr >= 1.7) + (inr > 2.3)
           + 2 + c["ascites"].map({"none": 0, "mild": 1, "moderate_severe": 2})
           + c["encephalopathy"].map({"none": 0, "grade_1_2": 1, "grade_3_4": 2}))
    spread = ((c["pvtt"] != "none") | c["extrahepatic_spread"]
              | c["hepatic_vein_invasion"].fillna(False).astype(bool)
              | c["ivc_thrombus"].fillna(False).astype(bool)
              | c["lymph_node_metastasis"].fillna(False).astype(bool))
    n, d = c["tumor_count"], c["tumor_max_diameter_cm"]
    return pd.Series(np.select(
        [(c["ecog"] >= 3) | (pts >= 10), spread | (c["ecog"] >= 1), (n == 1) & (d <= 2),
         (n == 1) | ((n <= 3) & (d <= 3))], ["D", "C", "0", "A"], "B"), index=c.index)


def test_cohort_has_every_contract_column_and_validates(sim):
    cohort, _ = sim
    assert list(cohort.columns) == list(FIELDS)
    result = validate_cohort(cohort, require_outcomes=True)
    assert not result.problems, [p.message for p in result.problems[:5]]


def test_cohort_dtypes(sim):
    cohort, _ = sim
    for name, spec in FIELDS.items():
        col = cohort[name]
        if name == "patient_id":
            assert col.str.fullmatch(r"SYN-\d{6}").all() and col.is_unique
        elif spec.kind == "number":
            assert col.dtype == np.float64, name
        elif spec.kind == "integer":
            assert col.dtype == np.int64, name
        elif spec.kind == "boolean":
            assert col.dtype == (bool if spec.required else "boolean"), name
        elif spec.kind == "category":
            values = set(col.dropna().unique())
            assert values <= set(spec.categories), name
            assert all(isinstance(v, str) for v in values), name
        if spec.required:
            assert col.notna().all(), name


def test_numbers_within_contract_ranges(sim):
    cohort, _ = sim
    for name, spec in FIELDS.items():
        if spec.kind not in ("number", "integer"):
            continue
        values = cohort[name].dropna()
        if spec.low is not None:
            assert (values > spec.low).all() if spec.low_exclusive else (values >= spec.low).all()
        if spec.high is not None:
            assert (values <= spec.high).all(), name
    sums = cohort["tumor_sum_diameter_cm"]
    assert (sums.isna() | (sums >= cohort["tumor_max_diameter_cm"])).all()


def test_deterministic_for_a_seed(params):
    a_cohort, a_truth = simulate_cohort(300, 11, params)
    b_cohort, b_truth = simulate_cohort(300, 11, params)
    pd.testing.assert_frame_equal(a_cohort, b_cohort)
    pd.testing.assert_frame_equal(a_truth, b_truth)
    c_cohort, _ = simulate_cohort(300, 12, params)
    assert not np.allclose(a_cohort["os_months"], c_cohort["os_months"])


def test_population_mix_is_chinese_advanced_leaning(sim):
    cohort, _ = sim
    assert 0.80 <= cohort["etiology"].isin(["hbv", "hbv_hcv"]).mean() <= 0.88
    assert 0.78 <= (cohort["sex"] == "male").mean() <= 0.86
    assert 0.75 <= cohort["cirrhosis"].mean() <= 0.86
    bclc = _crude_bclc(cohort)
    assert 0.45 <= (bclc == "C").mean() <= 0.62
    assert (bclc == "D").mean() <= 0.08


def test_bclc_share_with_feature_code(sim):
    derive = pytest.importorskip("features").derive
    stages = derive(sim[0])["bclc_stage"].astype(str)
    assert 0.45 <= (stages == "C").mean() <= 0.62


def test_pvtt_rises_with_tumour_size_and_afp(sim):
    cohort, _ = sim
    pvtt = cohort["pvtt"] != "none"
    size = cohort["tumor_max_diameter_cm"]
    assert pvtt[size > 10].mean() > 2.5 * pvtt[size < 5].mean()
    afp = cohort["afp_ng_ml"]
    assert pvtt[afp > 400].mean() > pvtt[afp <= 20].mean()


def test_optional_fields_realistically_missing(sim):
    cohort, _ = sim
    assert 0.55 <= cohort["icg_r15_pct"].isna().mean() <= 0.65
    assert 0.06 <= cohort["sodium_mmol_l"].isna().mean() <= 0.14
    assert cohort["economic_status"].notna().mean() > 0.85


def test_censoring_rate_within_band(sim):
    cohort, _ = sim
    assert 0.20 <= 1.0 - cohort["death"].mean() <= 0.35


def test_outcome_invariants(sim):
    cohort, _ = sim
    assert (cohort["os_months"] > 0).all() and (cohort["pfs_months"] > 0).all()
    assert (cohort["pfs_months"] <= cohort["os_months"]).all()
    # a death is a progression event (PFS counts death)
    assert cohort.loc[cohort["death"] & (cohort["pfs_months"] == cohort["os_months"]),
                      "progression"].all()
    bsc = cohort["modality"] == "supportive_care"
    surgical = cohort["modality"].isin(["resection", "transplant"])
    assert cohort.loc[bsc, "response"].isna().mean() > 0.8
    assert cohort.loc[surgical, "response"].isna().all()  # not graded after surgery
    assert cohort.loc[~bsc & ~surgical, "response"].notna().mean() > 0.7
    ablated = (cohort["modality"] == "ablation") & cohort["response"].notna()
    assert (cohort.loc[ablated, "response"] == "cr").mean() > 0.5


def test_every_modality_assigned_with_overlap(sim, params):
    cohort, _ = sim
    shares = cohort["modality"].value_counts(normalize=True)
    assert set(shares.index) == set(MODALITIES)
    assert shares.max() < 0.4
    pop = draw_population(2000, np.random.default_rng(3), params.population)
    prop = policy_probabilities(clinical_state(pop), params.policy)
    assert np.allclose(prop.sum(axis=1), 1.0)
    # every modality has a non-trivial propensity for a sizeable share of patients
    assert ((prop > 0.02).mean(axis=0) > 0.2).all()


def test_truth_has_all_modalities_and_valid_quantities(sim, params):
    cohort, truth = sim
    assert len(truth) == 10 * N
    counts = truth.groupby("patient_id")["modality"].agg(lambda s: tuple(sorted(s)))
    assert (counts == tuple(sorted(MODALITIES))).all()
    assert set(truth["patient_id"]) == set(cohort["patient_id"])
    assert truth[["rmst24_months", "rmst60_months", "surv12", "median_os_months",
                  "risk_score"]].notna().all().all()
    # response is not graded after surgical removal: no true probability, never recorded
    surgical = truth["modality"].isin(["resection", "transplant"])
    assert truth.loc[surgical, "p_response"].isna().all()
    assert truth.loc[~surgical, "p_response"].notna().all()
    assert cohort.loc[cohort["modality"].isin(["resection", "transplant"]), "response"].isna().all()
    assert (truth["rmst24_months"] <= 24.0).all() and (truth["rmst24_months"] > 0).all()
    assert (truth["rmst24_months"] <= truth["rmst60_months"] + 1e-9).all()
    assert (truth["rmst60_months"] <= 60.0).all()
    assert truth["surv12"].between(0.0, 1.0).all()
    assert truth.loc[~surgical, "p_response"].between(0.0, 1.0).all()
    assert (truth["median_os_months"] > 0).all()
    assert (truth["median_os_months"] <= params.median_horizon_months).all()
    # risk score is the true cumulative hazard to 24 months: ordered against rmst24
    assert (truth["risk_score"] >= 0).all()
    assert truth[["risk_score", "rmst24_months"]].corr(method="spearman").iloc[0, 1] < -0.9


def _km_at(time: np.ndarray, event: np.ndarray, t: float) -> float:
    order = np.argsort(time)
    time, event = time[order], event[order]
    at_risk = len(time) - np.arange(len(time))
    factors = np.where(event & (time <= t), 1.0 - 1.0 / at_risk, 1.0)
    return float(np.prod(factors))


def test_factual_outcomes_follow_the_true_curves(sim):
    cohort, truth = sim
    merged = cohort[["patient_id", "modality", "os_months", "death"]].merge(
        truth, on=["patient_id", "modality"])
    for m in ("tace", "resection", "targeted"):
        sub = merged[merged["modality"] == m]
        km = _km_at(sub["os_months"].to_numpy(), sub["death"].to_numpy(), 12.0)
        assert abs(km - sub["surv12"].mean()) < 0.06, m


def _edit(pop: dict, idx: np.ndarray, **fields) -> dict:
    out = {k: v[idx].copy() for k, v in pop.items()}
    for name, value in fields.items():
        out[name] = np.full(len(idx), value, dtype=out[name].dtype)
    return out


@pytest.fixture(scope="module")
def base_pop(params):
    pop = draw_population(4000, np.random.default_rng(21), params.population)
    state = clinical_state(pop)
    # CP A, ECOG 0-1, no spread: patients for whom every option is a priori open
    keep = np.flatnonzero((state["cp_class"] == "A") & (pop["ecog"] <= 1)
                          & (state["x"]["mvi"] == 0) & ~pop["extrahepatic_spread"])[:400]
    return pop, keep


def _wide(truth: pd.DataFrame, col: str = "rmst60_months") -> pd.DataFrame:
    return truth.pivot(index="patient_id", columns="modality", values=col)


def test_tace_with_main_trunk_pvtt_is_worse_all_else_equal(base_pop, params):
    pop, keep = base_pop
    none = _wide(potential_outcomes(_edit(pop, keep, pvtt="none"), params), "rmst24_months")
    vp4 = _wide(potential_outcomes(_edit(pop, keep, pvtt="vp4"), params), "rmst24_months")
    assert (vp4["tace"] < none["tace"]).all()
    # harm, not only a worse prognosis: TACE below untreated with Vp4 (clinical-facts §2.4)
    assert vp4["tace"].mean() < vp4["supportive_care"].mean()
    assert none["tace"].mean() > none["supportive_care"].mean()


def test_contraindicated_modalities_carry_harm(base_pop, params):
    pop, keep = base_pop
    cp_c = _wide(potential_outcomes(_edit(pop, keep, ascites="moderate_severe",
                                          encephalopathy="grade_3_4", bilirubin_umol_l=80.0,
                                          albumin_g_l=26.0), params))
    assert cp_c["resection"].mean() < cp_c["supportive_care"].mean()
    assert cp_c["immunotherapy"].mean() < cp_c["supportive_care"].mean()
    ehs = _wide(potential_outcomes(_edit(pop, keep, extrahepatic_spread=True), params))
    assert ehs["transplant"].mean() < ehs["supportive_care"].mean()
    plain = _wide(potential_outcomes(_edit(pop, keep, autoimmune_disease=False), params))
    auto = _wide(potential_outcomes(_edit(pop, keep, autoimmune_disease=True), params))
    assert (auto["immunotherapy"] < plain["immunotherapy"]).all()


def test_effect_heterogeneity_by_aetiology(base_pop, params):
    pop, keep = base_pop
    hbv = _wide(potential_outcomes(_edit(pop, keep, etiology="hbv", pvtt="vp2"), params))
    nonviral = _wide(potential_outcomes(_edit(pop, keep, etiology="masld", pvtt="vp2"), params))
    # IMbrave150: HR vs sorafenib 0.51 in HBV, 0.91 non-viral (clinical-facts §3.1)
    gain_hbv = (hbv["immunotherapy"] - hbv["targeted"]).mean()
    gain_nonviral = (nonviral["immunotherapy"] - nonviral["targeted"]).mean()
    assert gain_hbv > gain_nonviral > 0


def default_mapping() -> dict:
    import yaml

    return yaml.safe_load(CALIBRATION_FILE.read_text())


def test_params_round_trip_and_errors():
    mapping = default_mapping()
    assert build(SyntheticParams, mapping, "synthetic") == SyntheticParams.default()
    bad = default_mapping()
    bad["effects"]["modalities"]["tace"]["harm"]["no_such_flag"] = 2.0
    with pytest.raises(EffectParamsError, match="no_such_flag"):
        build(SyntheticParams, bad, "synthetic")
    missing = default_mapping()
    del missing["policy"]["intercept"]["tace"]
    with pytest.raises(SyntheticParamsError, match="policy.intercept"):
        build(SyntheticParams, missing, "synthetic")
    typo = default_mapping()
    typo["censoring"]["acrual_months"] = 3
    with pytest.raises(ParamsError, match="acrual_months"):
        build(SyntheticParams, typo, "synthetic")


def test_params_are_frozen(params):
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.median_horizon_months = 5


def test_effect_heterogeneity_by_pvtt_grade_and_tumour_size(base_pop, params):
    pop, keep = base_pop
    gain = {}
    for grade in ("none", "vp3"):
        wide = _wide(potential_outcomes(_edit(pop, keep, pvtt=grade), params))
        gain[grade] = (wide["tace_radiotherapy"] - wide["tace"]).mean()
    # START: radiotherapy to the thrombus adds most with Vp2-3 (clinical-facts §3.3, §2.10)
    assert gain["vp3"] > gain["none"] + 2.0
    small = _wide(potential_outcomes(_edit(pop, keep, tumor_count=1, tumor_max_diameter_cm=2.5,
                                           tumor_sum_diameter_cm=2.5), params))
    large = _wide(potential_outcomes(_edit(pop, keep, tumor_count=1, tumor_max_diameter_cm=7.0,
                                           tumor_sum_diameter_cm=7.0), params))
    # ablation: curative <= 3 cm, poor > 5 cm (clinical-facts §2.3); resection less size-bound
    assert (small["ablation"] >= small["resection"]).mean() > 0.5
    assert (large["ablation"] < large["resection"]).all()


def test_params_yaml_synthetic_section_sets_size_and_seed_only(tmp_path):
    """params.yaml holds the cohort's size and seed; the calibration is the package data file,
    and a calibration file of the same shape can replace it."""
    from pathlib import Path

    import yaml

    from pipeline.config import build
    from pipeline.simulation.cohort import CohortParams

    params = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    cohort = build(CohortParams, params["synthetic"], "synthetic")
    assert cohort.n >= 1000
    with pytest.raises(SyntheticParamsError, match="synthetic.n"):
        CohortParams(n=0, seed=1)
    edited = default_mapping()
    edited["censoring"]["accrual_months"] = 12
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(edited))
    variant = SyntheticParams.from_file(path)
    assert variant.censoring.accrual_months == 12
    assert variant.effects == SyntheticParams.default().effects


def test_response_rates_by_modality_are_plausible(sim):
    """Placebo arms respond in 1-2% (clinical-facts §3.1), FOLFOX4 in about 8% (EACH)."""
    _, truth = sim
    rate = truth.groupby("modality")["p_response"].mean()
    assert rate["supportive_care"] < 0.03
    assert rate["chemotherapy"] < 0.15
    assert rate["ablation"] > rate["tace"] > rate["targeted"] > rate["supportive_care"]


def test_no_patient_dies_within_days_of_progressive_disease(params):
    """The log hazard has a smooth ceiling (baseline.max_log_hazard): even a patient with
    every adverse factor keeps an untreated median of weeks, not 0.1 months."""
    from pipeline.simulation.cohort import modality_components
    from pipeline.simulation.potential_outcomes import median, soft_cap

    pop = draw_population(20000, np.random.default_rng(5), params.population)
    comps = modality_components(pop, clinical_state(pop), params)
    untreated = median(comps["supportive_care"], params.median_horizon_months)
    assert untreated.min() > 0.5
    assert np.median(untreated) > 5.0
    x = np.array([-3.0, 0.0, 2.0, 4.0, 10.0, 100.0])
    capped = soft_cap(x, 4.5)
    assert (capped <= 4.5).all() and (np.diff(capped) > 0).all()
    assert np.allclose(capped[:3], x[:3], atol=0.01)
