"""Factored S-learner scoring (models/factored.py) equals the stacked scoring."""

from __future__ import annotations

import numpy as np
import pytest
from survival_sim import simulate

from models import ModalityOutcomeModel
from models.factored import FACTORED_MIN_ROWS


@pytest.fixture(scope="module")
def s_model():
    X, y, a, _ = simulate(900, 31)
    return ModalityOutcomeModel(learner="ipw-s", n_bootstrap=3,
                                survival_params={"max_depth": 3}).fit(X, y, a), X


def _rows(X, n):
    reps = int(np.ceil(n / len(X)))
    return X.iloc[np.tile(np.arange(len(X)), reps)[:n]].reset_index(drop=True)


def test_factored_margins_and_shap_equal_the_stacked_ones(s_model):
    model, X = s_model
    Xb = _rows(X, FACTORED_MIN_ROWS + 44)
    times = (3, 12, 30)
    plain_tab = model.predict_outcomes(Xb, times=times, horizon=24, interval=0.8)
    plain_band = model.predict_rmst_interval(Xb, 24, interval=0.8)
    plain_shap = model.explain(Xb)
    added = model.enable_factored_scoring()
    try:
        assert added and all(a.factoring is not None for a in [model.main_, *model.members_])
        # the full fit: SHAP only (its margins = point estimates stay bit-identical)
        assert model.main_.factored(len(Xb), "shap") and not model.main_.factored(len(Xb))
        assert all(a.factored(len(Xb)) for a in model.members_)
        n_parts = sum(p is not None for p in model.main_.factoring.parts)
        assert 0 < n_parts <= len(model.modalities_)
        tab = model.predict_outcomes(Xb, times=times, horizon=24, interval=0.8)
        band = model.predict_rmst_interval(Xb, 24, interval=0.8)
        shap = model.explain(Xb)
    finally:
        for arms in [model.main_, *model.members_]:
            arms.factoring = None
    for col in plain_tab.columns:
        if col in ("modality", "index", "row") or not col.endswith(("_lower", "_upper")):
            assert (tab[col] == plain_tab[col]).all(), col  # point estimates: identical
        else:
            np.testing.assert_allclose(tab[col], plain_tab[col], rtol=1e-5, atol=1e-5,
                                       err_msg=col)
    np.testing.assert_allclose(band, plain_band, rtol=1e-5, atol=1e-5)
    for m in model.modalities_:
        np.testing.assert_allclose(shap[m].values, plain_shap[m].values, atol=1e-5)
        np.testing.assert_allclose(shap[m].base_values, plain_shap[m].base_values, atol=1e-5)
        # additivity still holds: base + sum = the margin
        margin = model.main_.margins(model._X(Xb), [model._idx(m)])[:, 0]
        np.testing.assert_allclose(shap[m].margin, margin, atol=1e-4)


def test_small_calls_and_t_learners_are_not_factored(s_model):
    model, X = s_model
    model.enable_factored_scoring()
    try:
        assert not model.members_[0].factored(FACTORED_MIN_ROWS - 1)
        assert model.members_[0].factored(FACTORED_MIN_ROWS)
        assert not model.main_.factored(FACTORED_MIN_ROWS - 1, "shap")
    finally:
        for arms in [model.main_, *model.members_]:
            arms.factoring = None
    Xt, yt, at, _ = simulate(600, 32)
    t = ModalityOutcomeModel(learner="t", n_bootstrap=0).fit(Xt, yt, at)
    assert t.enable_factored_scoring() == [] and t.main_.factoring is None
