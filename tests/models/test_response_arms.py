"""Per-modality response estimates: no leakage between modalities, "not applicable" when a
modality's response is not assessed, and a save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest

from models import ModalityOutcomeModel
from models.response_arms import ModalityResponse


@pytest.fixture(scope="module")
def fitted(cohort):
    """m0: response depends on x0 (many labels, a model); m1: rare responders, few labels (a
    rate); m2: never assessed (not applicable)."""
    X, y, a, _ = cohort
    rng = np.random.default_rng(5)
    x0 = X["x0"].to_numpy()
    r = np.full(len(a), np.nan)
    m0, m1 = a == "m0", np.flatnonzero(a == "m1")
    r[m0] = (x0[m0] + 0.5 * rng.normal(size=m0.sum()) > 0).astype(float)
    labelled = m1[:40]
    r[labelled] = 0.0
    r[labelled[:1]] = 1.0  # 1 responder in 40: 2.5%
    model = ModalityOutcomeModel(n_bootstrap=4, survival_params={
        "n_estimators": 40, "early_stopping_rounds": None}).fit(X, y, a, response=r)
    return model, X


def test_each_modality_gets_its_own_kind_of_estimate(fitted):
    model, X = fitted
    summary = model.response_model_.summary()
    assert summary["m0"]["kind"] == "model"
    assert summary["m1"] == {"kind": "rate", "labelled": 40, "responders": 1}
    assert summary["m2"]["kind"] == "not_applicable"
    assert model.response_applicable("m0") and not model.response_applicable("m2")


def test_no_leakage_from_a_frequent_modality_into_a_rare_one(fitted):
    model, X = fitted
    p0 = model.predict_response(X, "m0")
    p1 = model.predict_response(X, "m1")
    # m0 responds in about half of its patients, with a real dependence on x0
    assert 0.3 < p0.mean() < 0.7
    assert np.corrcoef(p0, X["x0"])[0, 1] > 0.8
    # m1: the Jeffreys-smoothed rate (1 + 1/2) / (40 + 1), the same for everyone
    assert np.allclose(p1, 1.5 / 41)
    assert np.isnan(model.predict_response(X, "m2")).all()


def test_outcome_table_and_intervals_say_not_applicable(fitted):
    model, X = fitted
    table = model.predict_outcomes(X.iloc[:3], times=(12,), horizon=24, interval=0.8)
    m2 = table[table["modality"] == "m2"]
    assert m2[["p_response", "p_response_lower", "p_response_upper"]].isna().all().all()
    m1 = table[table["modality"] == "m1"]
    assert (m1["p_response_lower"] <= m1["p_response"]).all()
    assert (m1["p_response"] <= m1["p_response_upper"]).all()
    est, lo, hi = model.predict_response(X.iloc[:5], "m0", interval=0.8)
    assert ((lo <= est) & (est <= hi)).all()


def test_round_trip_keeps_every_estimate(fitted, tmp_path):
    model, X = fitted
    model.save(tmp_path / "m")
    back = ModalityOutcomeModel.load(tmp_path / "m")
    assert isinstance(back.response_model_, ModalityResponse)
    for m in ("m0", "m1"):
        a, lo, hi = model.predict_response(X.iloc[:20], m, interval=0.8)
        b, lo2, hi2 = back.predict_response(X.iloc[:20], m, interval=0.8)
        assert np.allclose(a, b) and np.allclose(lo, lo2) and np.allclose(hi, hi2)
    assert np.isnan(back.predict_response(X.iloc[:2], "m2")).all()
