import json

import numpy as np
import pytest

from models import CoxPHPeer, ModalityOutcomeModel, ResponseModel, RSFPeer, SurvivalModel
from models.persistence import ModelFileError


def _no_pickle(path):
    files = [p for p in path.rglob("*") if p.is_file()]
    assert files and all(p.suffix in (".json", ".ubj") for p in files)


@pytest.mark.parametrize("objective", ["cox", "aft"])
def test_survival_model_round_trip(tmp_path, cohort, objective):
    X, y, _, _ = cohort
    m = SurvivalModel(objective=objective, n_estimators=200).fit(X, y)
    m.save(tmp_path / "m")
    _no_pickle(tmp_path / "m")
    m2 = SurvivalModel.load(tmp_path / "m")
    assert np.array_equal(m.predict(X), m2.predict(X))
    assert np.array_equal(m.predict_survival(X, [3, 12, 30]), m2.predict_survival(X, [3, 12, 30]))
    assert np.array_equal(m.predict_rmst(X, 24), m2.predict_rmst(X, 24))
    assert m2.get_params() == m.get_params()


def test_response_model_round_trip(tmp_path, cohort):
    X, _, _, _ = cohort
    r = (X["x1"] + np.random.default_rng(1).normal(size=len(X)) > 0).astype(float)
    for cal in ("sigmoid", "isotonic"):
        m = ResponseModel(calibration=cal, cv=3).fit(X, r)
        m.save(tmp_path / cal)
        m2 = ResponseModel.load(tmp_path / cal)
        assert np.array_equal(m.predict_proba(X), m2.predict_proba(X))


def test_modality_model_round_trip(tmp_path, cohort):
    X, y, a, _ = cohort
    r = (X["x0"] > 0).astype(float).to_numpy()
    r[::9] = np.nan
    m = ModalityOutcomeModel(n_bootstrap=3, propensity_features=True).fit(X, y, a, response=r)
    m.save(tmp_path / "cf")
    _no_pickle(tmp_path / "cf")
    m2 = ModalityOutcomeModel.load(tmp_path / "cf")
    t1 = m.predict_outcomes(X.iloc[:50], interval=0.9)
    t2 = m2.predict_outcomes(X.iloc[:50], interval=0.9)
    assert t1.equals(t2)
    assert list(m.policy(X.iloc[:50])) == list(m2.policy(X.iloc[:50]))
    assert np.array_equal(m.explain(X.iloc[:5], "m1").values, m2.explain(X.iloc[:5], "m1").values)
    assert m.propensity_overlap_.round(12).equals(m2.propensity_overlap_.round(12))
    meta = json.loads((tmp_path / "cf" / "meta.json").read_text())
    assert meta["kind"] == "ModalityOutcomeModel"


def test_coxph_base_round_trip_and_rsf_refuses(tmp_path, cohort):
    X, y, a, _ = cohort
    m = ModalityOutcomeModel(base="coxph", learner="t", n_bootstrap=0).fit(X, y, a)
    m.save(tmp_path / "c")
    m2 = ModalityOutcomeModel.load(tmp_path / "c")
    assert m.predict_outcomes(X.iloc[:20]).equals(m2.predict_outcomes(X.iloc[:20]))
    p = CoxPHPeer().fit(X, y)
    p.save(tmp_path / "p")
    assert np.array_equal(p.predict_rmst(X, 24), CoxPHPeer.load(tmp_path / "p").predict_rmst(X, 24))
    with pytest.raises(ModelFileError):
        RSFPeer(n_estimators=5).fit(X.iloc[:200], y[:200]).save(tmp_path / "r")


def test_load_rejects_wrong_kind(tmp_path, cohort):
    X, y, _, _ = cohort
    SurvivalModel(n_estimators=5, early_stopping_rounds=None).fit(X, y).save(tmp_path / "s")
    with pytest.raises(ModelFileError, match="kind"):
        ResponseModel.load(tmp_path / "s")
    with pytest.raises(ModelFileError, match="no such file"):
        SurvivalModel.load(tmp_path / "missing")
