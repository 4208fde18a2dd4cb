"""Input validation shared by the estimators of :mod:`models`.

Messages follow the scikit-learn template ("The 'y' parameter of fit must be ...
Got ... instead.") plus a hint, as agreed in the project conventions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class ModelInputError(ValueError):
    """Invalid input (parameter, feature frame or target) given to a model."""


class NotFittedModelError(ValueError):
    """A method that needs a fitted model was called before ``fit``/``load``."""


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"ndarray(dtype={value.dtype}, shape={value.shape})"
    return f"{type(value).__name__}"


def check_survival_y(y, method: str = "fit") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(event bool array, time float array)`` from a structured target.

    Accepts the scikit-survival convention: a structured array with two fields, the
    first boolean (event observed), the second float (time). The field names
    ``("event", "time")`` are recommended but any names are accepted, as in
    :func:`sksurv.util.check_array_survival`.
    """
    ok = (
        isinstance(y, np.ndarray)
        and y.dtype.names is not None
        and len(y.dtype.names) == 2
        and y.ndim == 1
    )
    if not ok:
        raise ModelInputError(
            f"The 'y' parameter of {method} must be a structured array with fields "
            f"('event', 'time'). Got {_describe(y)} instead. "
            "Hint: build it with sksurv.util.Surv.from_arrays(event, time)."
        )
    ev_name, t_name = y.dtype.names
    event = np.asarray(y[ev_name])
    if event.dtype != bool:
        if not np.isin(event, [0, 1]).all():
            raise ModelInputError(
                f"The 'y' parameter of {method} must have a boolean event field "
                f"({ev_name!r}). Got values other than 0/1 instead."
            )
        event = event.astype(bool)
    time = np.asarray(y[t_name], dtype=float)
    if not np.isfinite(time).all() or (time < 0).any():
        raise ModelInputError(
            f"The 'y' parameter of {method} must have finite non-negative times "
            f"(field {t_name!r}). Got min={np.nanmin(time)!r} and "
            f"{int((~np.isfinite(time)).sum())} non-finite values instead."
        )
    if event.sum() == 0:
        raise ModelInputError(
            f"The 'y' parameter of {method} must contain at least one event. Got 0 events "
            "instead. Hint: all observations are censored; survival cannot be estimated."
        )
    return event, time


def check_frame(X, method: str = "fit", columns: list[str] | None = None) -> pd.DataFrame:
    """Return ``X`` as a float64 DataFrame, checking columns against the fitted ones.

    Booleans (including pandas nullable) become 0/1 with NaN for missing; any other
    non-numeric column raises. Extra columns are ignored and column order is
    restored when ``columns`` is given.
    """
    if isinstance(X, np.ndarray):
        if X.ndim != 2:
            raise ModelInputError(
                f"The 'X' parameter of {method} must be a 2-D numeric frame. "
                f"Got {_describe(X)} instead."
            )
        names = columns if columns is not None else [f"x{i}" for i in range(X.shape[1])]
        if len(names) != X.shape[1]:
            raise ModelInputError(
                f"The 'X' parameter of {method} must have {len(names)} columns. "
                f"Got {X.shape[1]} instead. Hint: pass a DataFrame with named columns."
            )
        X = pd.DataFrame(X, columns=names)
    if not isinstance(X, pd.DataFrame):
        raise ModelInputError(
            f"The 'X' parameter of {method} must be a pandas DataFrame of numeric features. "
            f"Got {_describe(X)} instead."
        )
    if columns is not None:
        missing = [c for c in columns if c not in X.columns]
        if missing:
            raise ModelInputError(
                f"The 'X' parameter of {method} must contain the fitted feature columns. "
                f"Got a frame missing {missing[:10]} instead. Hint: use the same feature "
                "code as in training."
            )
        X = X.loc[:, list(columns)]
    if all(isinstance(dt, np.dtype) and dt.kind in "fiub" for dt in X.dtypes):
        frame = X.astype(float, copy=False)  # fast path: plain numpy numeric columns
        if np.isinf(frame.to_numpy()).any():
            raise ModelInputError(
                f"The 'X' parameter of {method} must not contain infinite values. Got "
                "+/-inf instead. Hint: use NaN for missing values."
            )
        return frame
    out = {}
    for c in X.columns:
        s = X[c]
        try:
            out[c] = pd.to_numeric(s.astype("Float64") if s.dtype == "boolean" else s,
                                   errors="raise").astype(float)
        except (TypeError, ValueError) as exc:
            raise ModelInputError(
                f"The 'X' parameter of {method} must be numeric. Got column {c!r} of dtype "
                f"{s.dtype} instead. Hint: one-hot encode categories before modelling."
            ) from exc
    frame = pd.DataFrame(out, index=X.index)
    if np.isinf(frame.to_numpy()).any():
        raise ModelInputError(
            f"The 'X' parameter of {method} must not contain infinite values. Got +/-inf "
            "instead. Hint: use NaN for missing values."
        )
    return frame


def check_positive(name: str, value, method: str = "predict") -> np.ndarray:
    """Return ``value`` as a 1-D float array of finite, non-negative times."""
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.ndim != 1 or not np.isfinite(arr).all() or (arr < 0).any():
        raise ModelInputError(
            f"The '{name}' parameter of {method} must be finite non-negative time(s). "
            f"Got {value!r} instead."
        )
    return arr
