import numpy as np
import pytest
from sksurv.util import Surv

from models import SurvivalModel
from models.metrics import (
    calibration_table,
    gain_difference,
    ibs_difference,
    pehe,
    policy_report,
    policy_value,
    rmst_rmse,
    survival_report,
    usable_times,
)


def test_survival_report_clips_times(cohort):
    X, y, _, _ = cohort
    tr, te = slice(0, 800), slice(800, None)
    m = SurvivalModel().fit(X.iloc[tr], y[tr])
    times = [0.0001, 6, 12, 24, 500]
    rep = survival_report(y[tr], y[te], m.predict(X.iloc[te]),
                          lambda t: m.predict_survival(X.iloc[te], t), times)
    assert 500 in rep["times_dropped"] and rep["times_used"] == [6.0, 12.0, 24.0]
    assert 0.6 < rep["harrell_c"] < 1 and 0.6 < rep["uno_c"] < 1
    assert 0 < rep["ibs"] < 0.25 and rep["mean_auc"] > 0.6
    # array form with the requested times
    arr = m.predict_survival(X.iloc[te], times)
    rep2 = survival_report(y[tr], y[te], m.predict(X.iloc[te]), arr, times)
    assert rep2["ibs"] == pytest.approx(rep["ibs"])
    assert usable_times(y[tr], y[te], [-1, 1e9]).size == 0


def test_calibration_table_perfect_model():
    rng = np.random.default_rng(0)
    rate = np.exp(rng.normal(size=4000)) / 20
    t = rng.exponential(1 / rate)
    y = Surv.from_arrays(np.ones_like(t, bool), t)
    table, summary = calibration_table(y, np.exp(-rate * 12), 12.0)
    assert len(table) == 10 and table["n"].sum() == 4000
    assert summary["slope"] == pytest.approx(1.0, abs=0.1)
    assert summary["ici"] < 0.03


def test_counterfactual_metrics():
    true = np.array([[10.0, 12.0, 8.0], [5.0, 4.0, 9.0]])
    pred = true + 1.0
    assert rmst_rmse(true, pred) == {"0": 1.0, "1": 1.0, "2": 1.0}
    assert pehe(true, pred)["mean"] == pytest.approx(0.0)
    assert policy_value(true, [1, 2]) == pytest.approx(10.5)
    rep = policy_report(true, [1, 2])
    assert rep["regret"] == pytest.approx(0.0) and rep["share_optimal"] == 1.0
    # reference = best single arm (col 0 mean 7.5, col 1 8, col 2 8.5 -> col 2)
    assert rep["reference_value"] == pytest.approx(8.5)
    assert rep["captured_gain"] == pytest.approx(1.0)
    bad = policy_report(true, [2, 2])
    assert bad["captured_gain"] == pytest.approx(0.0) and bad["regret"] == pytest.approx(2.0)
    allowed = np.array([[True, False, True], [True, True, False]])
    assert policy_report(true, [0, 0], allowed=allowed)["oracle_value"] == pytest.approx(7.5)


def test_ibs_difference_is_the_reported_difference_with_a_paired_interval(cohort):
    X, y, _, _ = cohort
    tr, te = slice(0, 800), slice(800, None)
    m = SurvivalModel().fit(X.iloc[tr], y[tr])
    times = [6, 12, 24, 500]  # 500 is clipped, as in survival_report
    good = m.predict_survival(X.iloc[te], times)
    flat = np.tile(good.mean(axis=0), (len(good), 1))  # no discrimination
    d = ibs_difference(y[tr], y[te], good, flat, times, n_boot=100, seed=1)
    ibs_good = survival_report(y[tr], y[te], m.predict(X.iloc[te]), good, times)["ibs"]
    ibs_flat = survival_report(y[tr], y[te], m.predict(X.iloc[te]), flat, times)["ibs"]
    assert d["estimate"] == pytest.approx(ibs_good - ibs_flat)
    assert d["lower"] < d["estimate"] < d["upper"] < 0  # clearly better than no model
    assert d["level"] == 0.95 and d["n_boot"] == 100
    same = ibs_difference(y[tr], y[te], good, good, times, n_boot=50)
    assert same["estimate"] == same["lower"] == same["upper"] == 0.0
    assert ibs_difference(y[tr], y[te], good, flat, [500, 600])["estimate"] is None


def test_gain_difference_against_oracle_and_observed():
    rng = np.random.default_rng(0)
    truth = rng.normal(12, 3, size=(500, 4))
    oracle = truth.argmax(axis=1)
    observed = rng.integers(0, 4, 500)
    d = gain_difference(truth, oracle, observed, observed, oracle, n_boot=100)
    assert d["estimate"] == pytest.approx(1.0) and d["lower"] == pytest.approx(1.0)
    half = np.where(rng.random(500) < 0.5, oracle, observed)
    d = gain_difference(truth, half, oracle, observed, oracle, n_boot=200, seed=3)
    assert -0.65 < d["lower"] < d["estimate"] < d["upper"] < -0.35
    assert gain_difference(truth, oracle, oracle, oracle, oracle)["estimate"] is None
