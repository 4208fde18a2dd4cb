import numpy as np
import pandas as pd
import pytest
from sksurv.nonparametric import kaplan_meier_estimator
from survival_sim import simulate

from models import ModalityOutcomeModel, check_survival_curves
from models.errors import ModelInputError
from models.metrics import policy_report


def km_rmst(y, horizon):
    t, s = kaplan_meier_estimator(y["event"], y["time"])
    knots = np.r_[0.0, t[t < horizon], horizon]
    return float(np.sum(np.diff(knots) * np.r_[1.0, s[t < horizon]]))


@pytest.fixture(scope="module")
def fitted(cohort):
    X, y, a, _ = cohort
    r = np.where(np.random.default_rng(3).random(len(a)) < 0.2, np.nan,
                 (X["x0"].to_numpy() + (a == "m1") + np.random.default_rng(4).normal(size=len(a))
                  < 0).astype(float))
    return ModalityOutcomeModel(n_bootstrap=8).fit(X, y, a, response=r)


def test_confounding_aware_learner_beats_naive_km(cohort):
    X, y, a, true_rmst = cohort
    Xt, _, _, true_t = simulate(2000, 11)
    truth = true_t.mean(axis=0)
    contrast_true = truth[1:] - truth[0]
    naive = np.array([km_rmst(y[a == m], 24.0) for m in ("m0", "m1", "m2")])
    naive_err = np.abs((naive[1:] - naive[0]) - contrast_true)
    m = ModalityOutcomeModel(learner="ipw-s", n_bootstrap=0).fit(X, y, a)
    est = np.array([m.predict_rmst(Xt, k, 24.0).mean() for k in ("m0", "m1", "m2")])
    err = np.abs((est[1:] - est[0]) - contrast_true)
    assert (err < naive_err).all(), (err, naive_err)
    assert err.mean() < 0.5 * naive_err.mean(), (err, naive_err)  # months, RMST to 24
    assert naive_err.max() > 1.5  # the simulation really is confounded


def test_homogeneous_randomised_trial_policy_not_worse_than_best_arm():
    X, y, a, _ = simulate(800, 21, confounded=False, log_hr=(0.0, -0.3, 0.2))
    Xt, _, _, true_t = simulate(1500, 22, confounded=False, log_hr=(0.0, -0.3, 0.2))
    for learner in ("ipw-s", "s"):
        m = ModalityOutcomeModel(learner=learner, n_bootstrap=0).fit(X, y, a)
        idx = np.array([m.modalities_.index(c) for c in m.policy(Xt)])
        rep = policy_report(true_t, idx)
        # best single arm = reference; allow 0.05 month (1.5 days) of numerical slack
        assert rep["value"] >= rep["reference_value"] - 0.05, (learner, rep)
    # the T-learner chases noise; the bootstrap-confidence guard must cut its regret
    m = ModalityOutcomeModel(learner="t", n_bootstrap=10).fit(X, y, a)
    plain = policy_report(true_t, [m.modalities_.index(c) for c in m.policy(Xt)])
    guarded = policy_report(true_t, [m.modalities_.index(c)
                                     for c in m.policy(Xt, confidence=0.8)])
    assert guarded["regret"] < plain["regret"], (plain, guarded)


def test_outcome_table_matches_single_quantities(fitted, cohort):
    X, _, _, _ = cohort
    Xs = X.iloc[:30]
    tab = fitted.predict_outcomes(Xs, times=(0, 6, 12), horizon=24)
    M = len(fitted.modalities_)
    assert len(tab) == 30 * M and list(tab["modality"][:M]) == fitted.modalities_
    for mod in fitted.modalities_:
        sub = tab[tab["modality"] == mod]
        assert np.allclose(sub["rmst_24"], fitted.predict_rmst(Xs, mod, 24))
        assert np.allclose(sub[["surv_0", "surv_6", "surv_12"]],
                           fitted.predict_survival(Xs, mod, [0, 6, 12]))
        assert np.array_equal(sub["median"], fitted.predict_median(Xs, mod))
        assert np.allclose(sub["p_response"], fitted.predict_response(Xs, mod))
    check_survival_curves(tab[["surv_0", "surv_6", "surv_12"]].to_numpy(), [0, 6, 12])
    # per-row modality labels
    mods = np.array(fitted.modalities_)[np.arange(30) % M]
    per_row = fitted.predict_rmst(Xs, mods, 24)
    assert np.allclose(per_row, tab["rmst_24"].to_numpy().reshape(30, M)[np.arange(30),
                                                                          np.arange(30) % M])


def test_intervals_bracket_estimates_reasonably(fitted, cohort):
    X, _, _, _ = cohort
    est, lo, hi = fitted.predict_rmst(X.iloc[:50], "m1", 24, interval=0.9)
    assert (lo <= hi).all() and (hi - lo).mean() > 0
    assert np.mean((est >= lo - 0.5) & (est <= hi + 0.5)) > 0.9
    tab = fitted.predict_outcomes(X.iloc[:5], interval=0.8)
    assert {"rmst_24_lower", "rmst_24_upper", "p_response_lower"} <= set(tab.columns)
    p, plo, phi = fitted.predict_response(X.iloc[:5], "m0", interval=0.8)
    assert ((plo >= 0) & (phi <= 1)).all()


@pytest.mark.parametrize("learner", ["ipw-s", "t"])
def test_rmst_interval_equals_the_outcome_table_band(cohort, learner):
    X, y, a, _ = cohort
    m = (ModalityOutcomeModel(learner=learner, n_bootstrap=4).fit(X.iloc[:600], y[:600],
                                                                   a[:600]))
    Xs = X.iloc[:25]
    mods = ["m2", "m0"]  # any subset, in the order asked
    tab = m.predict_outcomes(Xs, times=(12,), horizon=18, modalities=mods, interval=0.8,
                             response=False)
    lo, hi = m.predict_rmst_interval(Xs, 18, mods, 0.8)
    assert lo.shape == hi.shape == (25, 2)
    assert np.array_equal(lo.ravel(), tab["rmst_18_lower"].to_numpy())
    assert np.array_equal(hi.ravel(), tab["rmst_18_upper"].to_numpy())
    with pytest.raises(ModelInputError, match="interval"):
        m.predict_rmst_interval(Xs, 18, mods, 1.5)
    with pytest.raises(ModelInputError, match="n_bootstrap"):
        ModalityOutcomeModel(n_bootstrap=0).fit(X.iloc[:300], y[:300],
                                                a[:300]).predict_rmst_interval(Xs)


def test_policy_respects_allowed(fitted, cohort):
    X, _, _, _ = cohort
    Xs = X.iloc[:40]
    allowed = np.ones((40, 3), dtype=bool)
    allowed[:, 1] = False
    allowed[0] = False
    choice = fitted.policy(Xs, allowed=allowed)
    assert choice[0] is None and "m1" not in set(choice[1:])
    df = pd.DataFrame(allowed, columns=fitted.modalities_)
    assert list(fitted.policy(Xs, allowed=df)) == list(choice)
    for obj in ("surv12", "median", "response", "rmst12"):
        assert len(fitted.policy(Xs, objective=obj)) == 40
    with pytest.raises(ModelInputError):
        fitted.policy(Xs, objective="best")
    with pytest.raises(ModelInputError):
        fitted.policy(Xs, allowed=allowed[:, :2])


def test_overlap_report(fitted):
    ov = fitted.propensity_overlap_
    assert list(ov.index) == fitted.modalities_
    assert {"min_p_treated", "median_p_treated", "share_p_lt_0.01", "share_p_lt_0.05",
            "ess", "ess_fraction"} <= set(ov.columns)
    assert ((ov["ess_fraction"] > 0) & (ov["ess_fraction"] <= 1)).all()


def test_categorical_modality_order_and_errors(cohort):
    X, y, a, _ = cohort
    cat = pd.Categorical(a, categories=["m2", "unused", "m0", "m1"])
    m = ModalityOutcomeModel(learner="s", n_bootstrap=0).fit(X, y, cat)
    assert m.modalities_ == ["m2", "m0", "m1"]
    with pytest.raises(ModelInputError, match="never observed"):
        m.predict_rmst(X.iloc[:2], "unused", 24)
    with pytest.raises(ModelInputError, match="bootstrap"):
        m.predict_rmst(X.iloc[:2], "m0", 24, interval=0.9)
    with pytest.raises(ModelInputError, match="learner"):
        ModalityOutcomeModel(learner="x").fit(X, y, a)


@pytest.mark.parametrize("base,learner", [("coxph", "s"), ("coxph", "ipw-t"), ("rsf", "t")])
def test_peer_bases(cohort, base, learner):
    X, y, a, _ = cohort
    params = {"n_estimators": 20} if base == "rsf" else None
    m = ModalityOutcomeModel(learner=learner, base=base, n_bootstrap=2,
                             survival_params=params).fit(X.iloc[:600], y[:600], a[:600])
    tab = m.predict_outcomes(X.iloc[:10], interval=0.9)
    check_survival_curves(tab[["surv_6", "surv_12", "surv_24", "surv_36"]].to_numpy())
    assert len(m.policy(X.iloc[:10])) == 10


def test_single_patient_equals_batch(fitted, cohort):
    X, _, _, _ = cohort
    batch = fitted.predict_outcomes(X.iloc[:25], interval=0.9)
    for i in (0, 7, 24):
        one = fitted.predict_outcomes(X.iloc[[i]], interval=0.9)
        rows = batch[batch["row"] == i].drop(columns="row").reset_index(drop=True)
        assert one.drop(columns="row").equals(rows)


def test_large_baseline_rmst_interpolation_is_exact_enough():
    from models.curves import BreslowBaseline

    rng = np.random.default_rng(0)
    m = rng.normal(size=3000)
    t = rng.exponential(20 * np.exp(-m))
    base = BreslowBaseline.fit(m, rng.random(3000) < 0.8, t)
    w, h = base._rmst_terms(24.0)
    assert len(h) > base.EXACT_RMST_MAX_KNOTS  # interpolated path
    q = np.r_[rng.normal(size=500) * 3, -60.0, 60.0]
    assert np.abs(base.rmst(q, 24.0) - base._rmst_exact(q, w, h)).max() < 1e-6
    assert np.array_equal(base.rmst(q[:1], 24.0), base.rmst(q, 24.0)[:1])


def test_t_learner_needs_events_in_every_arm(cohort):
    X, y, a, _ = cohort
    a = a.astype(object)
    a[:3] = "rare"
    with pytest.raises(ModelInputError, match="at least 5 events"):
        ModalityOutcomeModel(learner="t", n_bootstrap=0).fit(X, y, a)
    m = ModalityOutcomeModel(learner="s", n_bootstrap=0).fit(X, y, a)  # S pools: fine
    assert "rare" in m.modalities_
