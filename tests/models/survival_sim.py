"""A small simulated survival cohort with known modality effects (models tests).

A module of its own, not conftest.py: ``from conftest import ...`` resolves to whichever
conftest.py pytest imported first (tests/serving has one too).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sksurv.util import Surv


def simulate(n, seed, confounded=True, log_hr=(0.0, -0.5, 0.3), p=5, horizon=24.0):
    """Exponential survival (months) with a homogeneous modality effect on the log hazard.

    Returns X, y, modality labels, true RMST to ``horizon`` (n, M) under every modality.
    Confounded assignment: x0 (a strong prognostic factor) drives the modality choice.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    M = len(log_hr)
    if confounded:
        logits = np.column_stack([np.zeros(n), 1.2 * X[:, 0] - 0.5 * X[:, 1],
                                  -1.0 * X[:, 0] + 0.5 * X[:, 2]])[:, :M]
    else:
        logits = np.zeros((n, M))
    pr = np.exp(logits)
    pr /= pr.sum(axis=1, keepdims=True)
    a = (pr.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
    base = np.log(1 / 30) + 0.7 * X[:, 0] + 0.4 * X[:, 1] - 0.3 * X[:, 3]
    rate = np.exp(base[:, None] + np.asarray(log_hr)[None, :])
    t_true = rng.exponential(1 / rate[np.arange(n), a])
    cens = np.minimum(rng.exponential(1 / 0.03, n), 60.0)
    y = Surv.from_arrays(t_true <= cens, np.minimum(t_true, cens))
    true_rmst = (1 - np.exp(-rate * horizon)) / rate
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(p)])
    labels = np.array([f"m{j}" for j in range(M)])[a]
    return frame, y, labels, true_rmst
