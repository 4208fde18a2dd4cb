import numpy as np
import pandas as pd
import pytest

from models import ResponseModel
from models.errors import ModelInputError
from models.metrics import response_report


def _data(n, seed):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    p = 1 / (1 + np.exp(-(1.5 * X["a"] - 0.5)))
    return X, (rng.random(n) < p).astype(float), p


def test_calibrated_probabilities():
    X, y, _ = _data(1000, 0)
    y[:60] = np.nan  # not assessed: ignored
    m = ResponseModel(cv=3).fit(X, y)
    Xt, yt, pt = _data(3000, 1)
    p = m.predict_proba(Xt)
    assert p.shape == (3000, 2) and np.allclose(p.sum(axis=1), 1)
    rep = response_report(yt, p[:, 1])
    assert rep["auroc"] > 0.75
    assert abs(p[:, 1].mean() - pt.mean()) < 0.03  # calibration-in-the-large
    assert np.corrcoef(p[:, 1], pt)[0, 1] > 0.9


def test_errors():
    X, y, _ = _data(100, 0)
    with pytest.raises(ModelInputError, match="binary"):
        ResponseModel().fit(X, np.full(100, 2.0))
    with pytest.raises(ModelInputError, match="both classes"):
        ResponseModel().fit(X, np.zeros(100))
    with pytest.raises(ModelInputError, match="calibration"):
        ResponseModel(calibration="beta").fit(X, y)
