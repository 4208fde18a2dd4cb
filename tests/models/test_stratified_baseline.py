"""Stratified (per-modality) baseline hazards of the xgboost Cox S-learner."""

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from models import ModalityOutcomeModel
from models.errors import ModelInputError


def simulate_non_ph(n, seed, horizon=24.0):
    """Two modalities with different hazard *shapes* (not proportional).

    ``m0``: constant hazard ``r(x)``. ``m1`` (surgery-like): hazard ``6 r(x)`` in the first
    3 months (perioperative deaths), then ``0.25 r(x)``. Hazard ``r(x) = exp(-3.4 + 0.6 x0)``.
    Returns X, y, labels, true RMST to ``horizon`` (n, 2).
    """
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=[f"x{i}" for i in range(4)])
    r = np.exp(-3.4 + 0.6 * X["x0"].to_numpy())
    a = (rng.random(n) < 1 / (1 + np.exp(-0.8 * X["x1"].to_numpy()))).astype(int)
    e = rng.exponential(size=n)  # unit-exponential cumulative hazard at death
    t0 = e / r
    early = 6 * r * 3.0
    t1 = np.where(e < early, e / (6 * r), 3.0 + (e - early) / (0.25 * r))
    t = np.where(a == 1, t1, t0)
    cens = np.minimum(rng.exponential(60.0, n), 48.0)
    y = Surv.from_arrays(t <= cens, np.minimum(t, cens))

    grid = np.linspace(0, horizon, 2001)
    H0 = np.outer(r, grid)
    H1 = np.where(grid[None, :] < 3.0, 6 * np.outer(r, grid),
                  6 * r[:, None] * 3.0 + 0.25 * np.outer(r, grid - 3.0))
    truth = np.column_stack([np.trapezoid(np.exp(-H), grid, axis=1) for H in (H0, H1)])
    return X, y, np.array(["m0", "m1"])[a], truth


@pytest.fixture(scope="module")
def non_ph():
    return simulate_non_ph(2500, 5), simulate_non_ph(1000, 6)


def test_stratified_baseline_recovers_non_proportional_effects(non_ph):
    (X, y, a, _), (Xt, _, _, truth) = non_ph
    err = {}
    for baseline in ("pooled", "stratified"):
        m = ModalityOutcomeModel(learner="s", baseline=baseline, n_bootstrap=0).fit(X, y, a)
        pred = np.column_stack([m.predict_rmst(Xt, k, 24.0) for k in ("m0", "m1")])
        d_pred, d_true = pred[:, 1] - pred[:, 0], truth[:, 1] - truth[:, 0]
        err[baseline] = float(np.sqrt(np.mean((d_pred - d_true) ** 2)))
    # one proportional-hazards baseline cannot express "early harm, later benefit"
    assert err["stratified"] < 0.7 * err["pooled"], err
    assert err["stratified"] < 1.5, err  # months of RMST to 24


def test_stratified_quantities_agree_across_code_paths(non_ph):
    (X, y, a, _), _ = non_ph
    m = ModalityOutcomeModel(learner="s", n_bootstrap=3).fit(X, y, a)
    assert m.main_.baselines is not None and len(m.main_.baselines) == 2
    Xs = X.iloc[:40]
    tab = m.predict_outcomes(Xs, times=(3, 12), horizon=24, interval=0.9)
    for k in m.modalities_:
        sub = tab[tab["modality"] == k]
        assert np.allclose(sub["rmst_24"], m.predict_rmst(Xs, k, 24))
        assert np.allclose(sub[["surv_3", "surv_12"]], m.predict_survival(Xs, k, [3, 12]))
        assert np.array_equal(sub["median"], m.predict_median(Xs, k))
        est, lo, hi = m.predict_rmst(Xs, k, 24, interval=0.9)
        assert np.allclose(sub["rmst_24_lower"], lo) and np.allclose(sub["rmst_24_upper"], hi)
    one = m.predict_outcomes(X.iloc[[7]], times=(3, 12), horizon=24, interval=0.9)
    rows = tab[tab["row"] == 7].drop(columns="row").reset_index(drop=True)
    assert one.drop(columns="row").equals(rows)


def test_stratified_contrast_adds_baseline_offset(non_ph):
    (X, y, a, _), _ = non_ph
    m = ModalityOutcomeModel(learner="s", n_bootstrap=0).fit(X, y, a)
    Xs = X.iloc[:10]
    c = m.explain_contrast(Xs, "m1", "m0", horizon=12.0)
    assert "log cumulative hazard at 12" in c.unit
    marg = m.main_.margins(Xs.to_numpy(), [0, 1])
    h = [m.main_.baselines[j].at([12.0])[0] for j in (0, 1)]
    expected = (np.log(h[1]) + marg[:, 1]) - (np.log(h[0]) + marg[:, 0])
    assert np.allclose(c.margin, expected, atol=1e-4)
    # without a horizon: the margin contrast (log hazard ratio on the shared trees)
    assert np.allclose(m.explain_contrast(Xs, "m1", "m0").margin, marg[:, 1] - marg[:, 0],
                       atol=1e-4)


def test_pooled_baseline_and_parameter_errors(non_ph):
    (X, y, a, _), _ = non_ph
    pooled = ModalityOutcomeModel(learner="s", baseline="pooled", n_bootstrap=0).fit(X, y, a)
    assert pooled.main_.baselines is None
    assert pooled.baseline_offset("m1", "m0", 12.0) is None
    t = ModalityOutcomeModel(learner="t", n_bootstrap=0).fit(X, y, a)
    assert t.main_.baselines is None  # T-learners: one baseline per arm already
    with pytest.raises(ModelInputError, match="'baseline'"):
        ModalityOutcomeModel(baseline="per-arm").fit(X, y, a)
    with pytest.raises(ModelInputError, match="only for Cox"):
        ModalityOutcomeModel(survival_params={"objective": "aft"}).fit(X, y, a)


def test_stratified_round_trip_and_legacy_load(tmp_path, non_ph):
    import json

    (X, y, a, _), _ = non_ph
    m = ModalityOutcomeModel(learner="s", n_bootstrap=2).fit(X, y, a)
    m.save(tmp_path / "m")
    m2 = ModalityOutcomeModel.load(tmp_path / "m")
    assert m2.baseline == "stratified" and m2.members_[1].baselines is not None
    assert m.predict_outcomes(X.iloc[:30], interval=0.9).equals(
        m2.predict_outcomes(X.iloc[:30], interval=0.9))
    # a bundle written before stratified baselines existed loads as pooled
    meta_path = tmp_path / "m" / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta["baselines"]
    del meta["params"]["baseline"]
    meta_path.write_text(json.dumps(meta))
    legacy = ModalityOutcomeModel.load(tmp_path / "m")
    assert legacy.baseline == "pooled" and legacy.main_.baselines is None


def test_rmst_stacked_equals_each_baseline():
    from models.curves import BreslowBaseline, rmst_stacked

    rng = np.random.default_rng(0)
    bases = []
    for n in (40, 900, 150, 2000):  # few knots (exact sums) and many (interpolated grid)
        t = np.sort(rng.exponential(20.0, n))
        bases.append(BreslowBaseline(t, np.cumsum(rng.uniform(0.2, 1.0, n) / n)))
    assert {b.rmst_grid(24.0) is None for b in bases} == {True, False}
    margins = rng.normal(0.0, 1.5, (300, 4))
    margins[:3] = [[-40.0] * 4, [25.0] * 4, [0.0] * 4]  # outside the interpolation grids
    cache = {}
    for _ in range(2):  # second call: cached tables
        got = rmst_stacked(bases, margins, 24.0, cache)
        want = np.column_stack([b.rmst(margins[:, c], 24.0) for c, b in enumerate(bases)])
        assert np.allclose(got, want, rtol=0, atol=1e-9)
    one = rmst_stacked(bases, margins[[5]], 24.0, cache)
    assert np.array_equal(one, got[[5]])  # one patient == the same patient in a batch


def test_rmst_band_equals_outcome_table_band(non_ph):
    (X, y, a, _), _ = non_ph
    m = ModalityOutcomeModel(learner="s", n_bootstrap=4).fit(X, y, a)
    tab = m.predict_outcomes(X.iloc[:20], horizon=24, interval=0.8)
    lo, hi = m.predict_rmst_interval(X.iloc[:20], horizon=24, interval=0.8)
    assert np.array_equal(lo.ravel(), tab["rmst_24_lower"].to_numpy())
    assert np.array_equal(hi.ravel(), tab["rmst_24_upper"].to_numpy())
