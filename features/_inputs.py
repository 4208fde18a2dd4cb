"""Input coercion and output typing shared by the score modules (private).

Score functions accept canonical contract columns (float64, pandas ``boolean``, ``Categorical``)
as well as plain ones (python bools, 0/1 floats, strings, ``None``), numpy arrays, lists and
scalars. Internally every input becomes a float64 array where NaN means missing:

* numbers and integers: the value;
* booleans: 1.0 / 0.0;
* categories: a level looked up by category name in a mapping the score module owns
  (for example ascites -> Child-Pugh points), so no score depends on category order.

Values are read with the contract's rules (:mod:`features.contract.parsing`): the same missing
values, true/false words and category matching as validation.

Outputs are typed once, here, so a score function and :func:`features.derive` return the same
representation: float64, nullable ``Int64``, nullable ``boolean`` or an ordered ``Categorical``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.contract.parsing import category_key, is_missing, parse_flag_or_number

_HINT = "validate the input first with features.contract.validate_cohort / validate_record"


class FeatureInputError(ValueError):
    """An input of a derived-feature function is unusable (unknown category, text in a number)."""


def _object_to_float(values: np.ndarray, field: str) -> np.ndarray:
    out = np.empty(len(values))
    for i, v in enumerate(values):
        if is_missing(v):
            out[i] = np.nan
            continue
        try:
            out[i] = parse_flag_or_number(v)
        except ValueError:
            raise FeatureInputError(
                f"{field}: expected a number or true/false, got {v!r}; hint: {_HINT}"
            ) from None
    return out


def as_float(values, field: str = "value") -> np.ndarray:
    """Return a 1-D float64 array (NaN = missing) from numbers or booleans in any container."""
    if isinstance(values, pd.Series | pd.Index):
        dtype = values.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            values = np.asarray(values.astype(object))
        elif pd.api.types.is_extension_array_dtype(dtype):
            if dtype.kind in "biuf":
                return values.to_numpy(dtype=float, na_value=np.nan)
            values = values.to_numpy(dtype=object)
        else:
            values = values.to_numpy()
    elif isinstance(values, pd.api.extensions.ExtensionArray):
        return as_float(pd.Series(values), field)
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.dtype.kind in "biuf":
        return arr.astype(float)
    return _object_to_float(arr.astype(object), field)


def as_level(values, mapping: Mapping[str, float], field: str) -> np.ndarray:
    """Map category names to numeric levels (NaN = missing); unknown names raise.

    Matching ignores case and surrounding blanks, as contract validation does.
    """
    expected = ", ".join(mapping)
    if isinstance(values, pd.Series | pd.Index) and isinstance(values.dtype, pd.CategoricalDtype):
        values = values.array
    if isinstance(values, pd.Categorical):
        table = np.array([_lookup(c, mapping, field, expected) for c in values.categories]
                         + [np.nan])
        return table[values.codes]  # code -1 (missing) picks the trailing NaN
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy(dtype=object)
    arr = np.asarray(values, dtype=object)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    return np.array([_lookup(v, mapping, field, expected) for v in arr], dtype=float)


def _lookup(v, mapping, field, expected) -> float:
    if is_missing(v):
        return np.nan
    # a stage such as "0" read back from CSV as the integer 0 is the category "0"
    key = v if isinstance(v, str) and v in mapping else category_key(v)
    try:
        return float(mapping[key])
    except (KeyError, TypeError):
        raise FeatureInputError(
            f"{field}: expected one of {expected}, got {v!r}; hint: {_HINT}"
        ) from None


def index_of(*inputs):
    """The index of the first pandas Series among ``inputs`` (None when there is none)."""
    for x in inputs:
        if isinstance(x, pd.Series):
            return x.index
    return None


# --- output typing ------------------------------------------------------------------------

def to_int(values: np.ndarray) -> pd.arrays.IntegerArray:
    """Float array of whole numbers (NaN = missing) -> nullable ``Int64`` array."""
    mask = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(mask, 0, values).astype("int64"), mask)


def to_bool(values: np.ndarray) -> pd.arrays.BooleanArray:
    """Float array 1/0 (NaN = unknown) -> nullable ``boolean`` array."""
    mask = np.isnan(values)
    return pd.arrays.BooleanArray(np.where(mask, 0.0, values) > 0.5, mask)


def to_cat(codes: np.ndarray, levels: tuple[str, ...]) -> pd.Categorical:
    """Float codes 0..k-1 (NaN = missing) -> ordered ``Categorical`` over ``levels``."""
    ints = np.where(np.isnan(codes), -1, codes).astype("int64")
    return pd.Categorical.from_codes(ints, dtype=pd.CategoricalDtype(levels, ordered=True))


def typed(values: np.ndarray, kind, index=None):
    """Type a kernel result; ``kind`` is "float", "int", "bool" or a tuple of category levels."""
    if kind == "float":
        out = values
    elif kind == "int":
        out = to_int(values)
    elif kind == "bool":
        out = to_bool(values)
    else:
        out = to_cat(values, kind)
    if index is not None:
        return pd.Series(out, index=index, copy=False)
    return out


def scalar(value: float, kind):
    """One kernel value as a python scalar for a single record (None = missing)."""
    if value != value:
        return None
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value > 0.5)
    return kind[int(value)]
