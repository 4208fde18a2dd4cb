import numpy as np
import pandas as pd
import pytest

from models import ModalityOutcomeModel, ResponseModel, SurvivalModel
from models.explain import Explanation, contrast, group_shap, tree_shap


@pytest.fixture(scope="module")
def small_model(cohort):
    X, y, _, _ = cohort
    return SurvivalModel(n_estimators=40, max_depth=3, early_stopping_rounds=None).fit(X, y)


def test_contribs_sum_to_margin(cohort, small_model):
    X, _, _, _ = cohort
    ex = tree_shap(small_model.booster_, X.to_numpy(), list(X.columns), "log hazard ratio")
    assert np.allclose(ex.margin, small_model.predict_margin(X), atol=1e-4)
    assert ex.unit == "log hazard ratio"


def test_agrees_with_shap_tree_explainer(cohort, small_model):
    shap = pytest.importorskip("shap")
    X, _, _, _ = cohort
    Xs = X.iloc[:50]
    ours = tree_shap(small_model.booster_, Xs.to_numpy(), list(X.columns), "log hazard ratio")
    explainer = shap.TreeExplainer(small_model.booster_, feature_perturbation="tree_path_dependent")
    theirs = explainer.shap_values(Xs.to_numpy())
    assert np.allclose(ours.values.to_numpy(), theirs, atol=1e-4)
    assert np.allclose(ours.base_values, explainer.expected_value, atol=1e-4)


def test_group_shap_sums_encoded_columns():
    v = pd.DataFrame({"a=1": [0.1, 0.2], "a=2": [0.3, -0.1], "b": [1.0, 2.0]})
    g = group_shap(v, {"a=1": "a", "a=2": "a"})
    assert list(g.columns) == ["a", "b"]
    assert np.allclose(g["a"], [0.4, 0.1])
    assert np.allclose(g.sum(axis=1), v.sum(axis=1))


def test_contrast_is_difference_of_explanations():
    a = Explanation(pd.DataFrame({"x": [1.0], "y": [2.0]}), np.array([0.5]), "log hazard ratio")
    b = Explanation(pd.DataFrame({"x": [0.5], "y": [1.0]}), np.array([0.5]), "log hazard ratio")
    c = contrast(a, b)
    assert np.allclose(c.margin, a.margin - b.margin)
    assert c.unit == "difference in log hazard ratio"


def test_counterfactual_explanations_are_additive(cohort):
    X, y, a, _ = cohort
    m = ModalityOutcomeModel(learner="s", n_bootstrap=0).fit(X, y, a)
    Xs = X.iloc[:20]
    ex = m.explain(Xs, "m1")
    assert "modality" in ex.values.columns and ex.unit == "log hazard ratio"
    marg = m.main_.margins(Xs.to_numpy(), [1])[:, 0]
    assert np.allclose(ex.margin, marg, atol=1e-4)
    allm = m.explain(Xs)
    assert set(allm) == set(m.modalities_)
    assert np.allclose(allm["m1"].values, ex.values)
    c = m.explain_contrast(Xs, "m1", "m0")
    m_all = m.main_.margins(Xs.to_numpy(), [0, 1])
    assert np.allclose(c.margin, m_all[:, 1] - m_all[:, 0], atol=1e-4)
    assert np.allclose(c.base_values, 0.0)


def test_t_learner_contrast_with_horizon(cohort):
    X, y, a, _ = cohort
    m = ModalityOutcomeModel(learner="t", n_bootstrap=0).fit(X, y, a)
    c = m.explain_contrast(X.iloc[:5], "m1", "m0", horizon=12.0)
    assert "log cumulative hazard" in c.unit
    h = [m.main_.models[j].baseline_.at([12.0])[0] for j in (0, 1)]
    logH = [np.log(h[j]) + m.main_.models[j].predict_margin(X.iloc[:5]) for j in (0, 1)]
    assert np.allclose(c.margin, logH[1] - logH[0], atol=1e-4)


def test_response_model_shap_in_log_odds(cohort):
    X, _, _, _ = cohort
    r = (X["x0"] + np.random.default_rng(0).normal(size=len(X)) > 0).astype(float)
    rm = ResponseModel(cv=3).fit(X, r)
    ex = tree_shap(rm.booster_, X.to_numpy(), list(X.columns), "log odds")
    assert np.allclose(ex.margin, rm.predict_margin(X), atol=1e-4)
