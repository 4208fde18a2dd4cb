"""Shared simulated cohorts for the models tests (small n, fixed seeds)."""

from __future__ import annotations

import pytest
from sksurv.util import Surv
from survival_sim import simulate


@pytest.fixture(scope="session")
def cohort():
    return simulate(1200, 1)


@pytest.fixture(scope="session")
def whas500():
    from sksurv.column import encode_categorical
    from sksurv.datasets import load_whas500

    X, y = load_whas500()
    X = encode_categorical(X).astype(float)
    return X, Surv.from_arrays(y["fstat"], y["lenfol"])
