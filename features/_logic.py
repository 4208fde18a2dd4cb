"""Three-valued (Kleene) logic on float arrays: 1.0 true, 0.0 false, NaN unknown (private).

Criteria such as "within UCSF" combine conditions where one may be unknown (a missing optional
input). Kleene logic keeps a result decided whenever the known conditions decide it: unknown AND
false is false, unknown OR true is true, otherwise unknown.
"""

from __future__ import annotations

import numpy as np

NAN = np.nan


def na_where(values, *inputs) -> np.ndarray:
    """``values`` with NaN wherever any of ``inputs`` is NaN."""
    missing = np.zeros(np.broadcast(values, *inputs).shape, bool)
    for x in inputs:
        missing = missing | np.isnan(x)
    return np.where(missing, NAN, values)


def flag(mask, *inputs) -> np.ndarray:
    """A boolean comparison as 1/0, unknown (NaN) where an input it used is NaN."""
    return na_where(np.asarray(mask, dtype=float), *inputs)


def k_and(*xs) -> np.ndarray:
    """Kleene AND: false if any is false, else unknown if any is unknown, else true."""
    any_false = np.zeros(np.broadcast(*xs).shape, bool)
    any_nan = any_false.copy()
    for x in xs:
        any_false = any_false | (x == 0.0)
        any_nan = any_nan | np.isnan(x)
    return np.where(any_false, 0.0, np.where(any_nan, NAN, 1.0))


def k_or(*xs) -> np.ndarray:
    """Kleene OR: true if any is true, else unknown if any is unknown, else false."""
    any_true = np.zeros(np.broadcast(*xs).shape, bool)
    any_nan = any_true.copy()
    for x in xs:
        any_true = any_true | (x == 1.0)
        any_nan = any_nan | np.isnan(x)
    return np.where(any_true, 1.0, np.where(any_nan, NAN, 0.0))


def k_not(x) -> np.ndarray:
    """Kleene NOT (unknown stays unknown)."""
    return 1.0 - x
