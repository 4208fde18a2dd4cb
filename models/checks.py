"""Reusable invariant checks for predicted survival curves."""

from __future__ import annotations

import numpy as np


class SurvivalCurveError(ValueError):
    """Predicted survival curves violate a basic invariant."""


def check_survival_curves(surv, times=None, atol: float = 1e-9) -> None:
    """Raise :class:`SurvivalCurveError` unless every curve is a valid survival function.

    Invariants: values within [0, 1], non-increasing in time, and ``S(0) = 1`` when
    ``times`` contains 0.

    Parameters
    ----------
    surv : array-like, shape (n_patients, n_times)
        Survival probabilities on increasing ``times``.
    times : array-like, shape (n_times,), optional
        Evaluation times; must be non-decreasing when given.
    atol : float
        Numerical tolerance.
    """
    s = np.atleast_2d(np.asarray(surv, dtype=float))
    if np.isnan(s).any():
        raise SurvivalCurveError("survival curves: expected no NaN, got NaN values.")
    if (s < -atol).any() or (s > 1 + atol).any():
        raise SurvivalCurveError(
            f"survival curves: expected values in [0, 1], got range [{s.min()}, {s.max()}]."
        )
    if s.shape[1] > 1 and (np.diff(s, axis=1) > atol).any():
        raise SurvivalCurveError(
            "survival curves: expected non-increasing in time, got an increase of "
            f"{np.diff(s, axis=1).max():.3g}."
        )
    if times is not None:
        t = np.asarray(times, dtype=float)
        if t.shape[0] != s.shape[1]:
            raise SurvivalCurveError(
                f"survival curves: expected {s.shape[1]} times, got {t.shape[0]}."
            )
        if (np.diff(t) < 0).any():
            raise SurvivalCurveError("survival curves: expected increasing times.")
        zero = t == 0
        if zero.any() and (np.abs(s[:, zero] - 1.0) > atol).any():
            raise SurvivalCurveError("survival curves: expected S(0) = 1.")
