import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sksurv.metrics import concordance_index_censored
from sksurv.util import Surv

from models import CoxPHPeer, RSFPeer, SurvivalModel, check_survival_curves
from models.checks import SurvivalCurveError
from models.curves import BreslowBaseline, step_median, step_rmst
from models.errors import ModelInputError, NotFittedModelError


@pytest.fixture(scope="module")
def split(whas500):
    X, y = whas500
    rng = np.random.default_rng(0)
    te = rng.random(len(y)) < 0.3
    return X[~te], y[~te], X[te], y[te]


@pytest.fixture(scope="module")
def fitted(split):
    Xtr, ytr, _, _ = split
    return SurvivalModel().fit(Xtr, ytr)


def test_whas500_cindex_above_0_7(split, fitted):
    _, _, Xte, yte = split
    c = concordance_index_censored(yte["event"], yte["time"], fitted.predict(Xte))[0]
    assert c > 0.7


def test_curves_are_valid_survival_functions(split, fitted):
    _, _, Xte, _ = split
    times = np.r_[0.0, np.linspace(1, 2500, 40)]
    check_survival_curves(fitted.predict_survival(Xte, times), times)
    arr = fitted.predict_survival_function(Xte, return_array=True)
    check_survival_curves(arr, fitted.unique_times_)
    fns = fitted.predict_survival_function(Xte.iloc[:3])
    assert np.allclose(fns[0](fitted.unique_times_), arr[0])


def test_rmst_and_median_agree_with_curves(split, fitted):
    _, _, Xte, _ = split
    arr = fitted.predict_survival_function(Xte, return_array=True)
    t = fitted.unique_times_
    assert np.allclose(fitted.predict_rmst(Xte, 1000.0), step_rmst(t, arr, 1000.0))
    assert np.array_equal(fitted.predict_median(Xte), step_median(t, arr))
    # RMST to h is bounded by h and increases with h
    r1, r2 = fitted.predict_rmst(Xte, 500.0), fitted.predict_rmst(Xte, 1000.0)
    assert (r1 <= 500.0 + 1e-9).all() and (r2 >= r1).all()


def test_risk_direction_higher_is_riskier(split, fitted):
    _, _, Xte, _ = split
    risk = fitted.predict(Xte)
    s = fitted.predict_survival(Xte, [365.0])[:, 0]
    assert np.corrcoef(risk, s)[0, 1] < -0.9


def test_aft_objective_runs(split):
    Xtr, ytr, Xte, yte = split
    m = SurvivalModel(objective="aft").fit(Xtr, ytr)
    times = np.r_[0.0, np.linspace(1, 2000, 20)]
    check_survival_curves(m.predict_survival(Xte, times), times)
    assert concordance_index_censored(yte["event"], yte["time"], m.predict(Xte))[0] > 0.7


def test_missing_values_and_weights_are_accepted(cohort):
    X, y, _, _ = cohort
    X = X.copy()
    X.iloc[::7, 0] = np.nan
    m = SurvivalModel(n_estimators=50, early_stopping_rounds=None).fit(
        X, y, sample_weight=np.linspace(0.5, 2, len(y)))
    assert np.isfinite(m.predict(X)).all() and m.n_estimators_ == 50


def test_errors_follow_the_template(cohort):
    X, y, _, _ = cohort
    with pytest.raises(ModelInputError, match=r"The 'y' parameter of fit must be a structured"):
        SurvivalModel().fit(X, y["time"])
    with pytest.raises(ModelInputError, match="must be numeric"):
        SurvivalModel().fit(X.assign(s="a"), y)
    with pytest.raises(ModelInputError, match="at least one event"):
        SurvivalModel().fit(X, Surv.from_arrays(np.zeros(len(y), bool), y["time"]))
    with pytest.raises(ModelInputError, match="objective"):
        SurvivalModel(objective="weibull").fit(X, y)
    with pytest.raises(NotFittedModelError):
        SurvivalModel().predict(X)
    m = SurvivalModel(n_estimators=5, early_stopping_rounds=None).fit(X, y)
    with pytest.raises(ModelInputError, match="missing"):
        m.predict(X.drop(columns="x0"))


def test_params_roundtrip():
    m = SurvivalModel(max_depth=3)
    assert m.get_params()["max_depth"] == 3
    assert m.set_params(learning_rate=0.1).learning_rate == 0.1
    with pytest.raises(ModelInputError):
        m.set_params(nope=1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=5, max_size=30),
       st.lists(st.floats(0.1, 50), min_size=5, max_size=30), st.integers(0, 1000))
def test_breslow_curves_invariants_property(margins, times, seed):
    n = min(len(margins), len(times))
    rng = np.random.default_rng(seed)
    event = rng.random(n) < 0.7
    event[0] = True
    base = BreslowBaseline.fit(np.asarray(margins[:n]), event, np.asarray(times[:n]))
    grid = np.r_[0.0, np.linspace(0.05, 60, 25)]
    m = rng.normal(size=8)
    s = base.survival(m, grid)
    check_survival_curves(s, grid)
    assert (base.rmst(m, 30.0) <= 30.0 + 1e-9).all()


def test_check_survival_curves_rejects_bad_curves():
    with pytest.raises(SurvivalCurveError):
        check_survival_curves([[1.0, 0.5, 0.7]])
    with pytest.raises(SurvivalCurveError):
        check_survival_curves([[1.2, 0.5]])
    with pytest.raises(SurvivalCurveError):
        check_survival_curves([[0.9, 0.5]], times=[0.0, 1.0])


@pytest.mark.parametrize("peer", [CoxPHPeer(), RSFPeer(n_estimators=30)])
def test_peers_share_the_interface(split, peer):
    Xtr, ytr, Xte, yte = split
    Xtr = Xtr.copy()
    Xtr.iloc[::5, 1] = np.nan  # imputed inside the peer
    peer.fit(Xtr, ytr)
    times = np.r_[0.0, np.linspace(1, 2000, 15)]
    s = peer.predict_survival(Xte, times)
    check_survival_curves(s, times)
    assert peer.predict_rmst(Xte, 1000.0).shape == (len(yte),)
    assert concordance_index_censored(yte["event"], yte["time"], peer.predict(Xte))[0] > 0.7
    assert isinstance(peer.predict_median(pd.DataFrame(Xte)), np.ndarray)


def test_tiny_sample_uses_short_ensemble(cohort):
    X, y, _, _ = cohort
    m = SurvivalModel().fit(X.iloc[:30], y[:30])
    assert m.n_estimators_ == 100 and m.best_validation_score_ is None
