"""How a received value is read: the one copy of the contract's coercion rules.

Contract validation (:mod:`features.contract.validation`), the derived-feature inputs
(:mod:`features._inputs`) and the guideline engine (:mod:`guidelines.engine`) all read values
through these functions, so a value means the same thing everywhere:

* **missing**: None, NaN (any float NaN, ``pd.NA``, ``NaT``) or a blank string. A container cell
  (list, dict, array ...) is never missing: it is a value of the wrong shape;
* **number**: an int, a float or a numeric string (``"12"``, ``" 1e3 "``); never a bool or bytes;
  a complex number only with a zero imaginary part. NaN and infinities parse (range and
  finiteness are checked by the caller);
* **boolean**: a bool, the numbers 0 and 1, or one of the words of :data:`TRUE_WORDS` /
  :data:`FALSE_WORDS` (case and surrounding blanks ignored);
* **category**: a string matched ignoring case and surrounding blanks; an integer (not a bool)
  stands for its decimal text (a stage ``"0"`` read back from a CSV file as ``0``).

The scalar functions raise ``ValueError`` on a value they cannot read; the vectorised ones return
``(parsed, bad)`` masks over a 1-D array.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

TRUE_WORDS: frozenset[str] = frozenset({"true", "t", "yes", "y", "1", "1.0"})
"""Strings read as true (after ``strip().lower()``)."""
FALSE_WORDS: frozenset[str] = frozenset({"false", "f", "no", "n", "0", "0.0"})
"""Strings read as false (after ``strip().lower()``)."""


# --- missing values and containers -------------------------------------------------------------

def is_container(value) -> bool:
    """True for a cell holding several values (or an array): list, tuple, dict, set, ndarray,
    Series, range, iterator. Strings and bytes are scalars; a 0-d ndarray counts as an array."""
    return isinstance(value, np.ndarray) or pd.api.types.is_list_like(value)


def container_mask(values: np.ndarray) -> np.ndarray:
    """Mask of the cells of a 1-D array that are containers (only object arrays can hold one)."""
    if values.dtype != object or not any(
            issubclass(t, (np.ndarray, Iterable)) and not issubclass(t, (str, bytes))
            for t in set(map(type, values))):  # fast path: no cell of an iterable type
        return np.zeros(len(values), bool)
    return np.fromiter((is_container(v) for v in values), bool, len(values))


def is_missing(value) -> bool:
    """True for a missing value: None, NaN, NA, NaT or a blank string (never a container).

    The scalar form of :func:`missing_mask` (same answer for every cell).
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):  # python float and numpy float64
        return value != value
    if isinstance(value, (int, np.integer, bytes)) or is_container(value):
        return False
    return bool(pd.isna(value))


def missing_mask(values: np.ndarray, containers: np.ndarray | None = None) -> np.ndarray:
    """Mask of the missing cells of a 1-D array: None, NaN, NA, NaT or a blank string.

    A container cell (``containers``, computed when not given) is never missing, whatever its
    elements are: it is a problem of its own (``not_a_scalar``).
    """
    mask = np.asarray(pd.isna(values), dtype=bool)  # cell by cell on a 1-D object array
    if values.dtype != object:
        return mask
    if containers is None:
        containers = container_mask(values)
    mask &= ~containers
    try:
        strings = pd.Series(values, dtype=object).str.strip()  # NaN for every non-string cell
    except (AttributeError, TypeError):  # pandas: no string cell (or bytes): none is blank
        return mask
    mask |= (strings == "").to_numpy(dtype=bool)
    return mask


def as_cells(values) -> np.ndarray:
    """A column as a 1-D numpy array, one element per cell.

    A Series keeps its numpy dtype (object for extension dtypes); any other sequence becomes an
    object array filled cell by cell, so that list cells never turn into a 2-D array.
    """
    if isinstance(values, pd.Series):
        values = values.astype(object).to_numpy() if isinstance(
            values.dtype, (pd.CategoricalDtype, pd.BooleanDtype, pd.StringDtype)
        ) or pd.api.types.is_extension_array_dtype(values.dtype) else values.to_numpy()
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return values
    cells = list(values)
    out = np.empty(len(cells), dtype=object)
    for i, cell in enumerate(cells):
        out[i] = cell
    return out


# --- one value -----------------------------------------------------------------------------------

def parse_number(value) -> float:
    """A (non-missing) value as a float; ``ValueError`` when it is not a number."""
    if isinstance(value, (bool, np.bool_, bytes, bytearray)):  # float(b"5") would parse
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, (complex, np.complexfloating)):
        # pandas turns a column holding one complex cell into complex128: its real-valued
        # cells stay numbers, a complex one is no number (float() would drop .imag)
        if value.imag != 0:
            raise ValueError(f"not a number: {value!r}")
        value = value.real
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"not a number: {value!r}") from None


def boolean_word(text: str) -> bool | None:
    """True / False for a word of :data:`TRUE_WORDS` / :data:`FALSE_WORDS`, else None."""
    key = text.strip().lower()
    if key in TRUE_WORDS:
        return True
    if key in FALSE_WORDS:
        return False
    return None


def parse_boolean(value) -> bool:
    """A (non-missing) value as a bool; ``ValueError`` when it is not true or false."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    word = boolean_word(value) if isinstance(value, str) else None
    if word is None:
        raise ValueError(f"not true or false: {value!r}")
    return word


def parse_flag_or_number(value) -> float:
    """A (non-missing) number or boolean as a float (booleans 1.0 / 0.0).

    For readers that do not know whether a column is a number or a flag (the derived-feature
    inputs): a bool or a true/false word is a flag, anything else must be a number.
    """
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, str):
        word = boolean_word(value)
        if word is not None:
            return float(word)
    return parse_number(value)


def category_key(value) -> str | None:
    """The category name a (non-missing) value stands for, or None when it names none.

    A string stripped and lower-cased; an integer (not a bool) as its decimal text.
    """
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    return None


# --- a column --------------------------------------------------------------------------------

def _only(cells: np.ndarray, types: tuple) -> bool:
    """True when every cell is an instance of ``types`` (exact classes checked in C: a column
    of one python type costs one pass, not one Python call per cell)."""
    if cells.dtype != object:
        return False
    kinds = set(map(type, cells))
    return all(issubclass(k, types) and not (issubclass(k, (bool, np.bool_))
                                             and bool not in types) for k in kinds)


def _distinct(cells: np.ndarray) -> tuple[list, np.ndarray]:
    """(distinct values, code of each cell) of an object array of strings."""
    codes, uniques = pd.factorize(cells)
    return list(uniques), codes


def parse_numbers(values: np.ndarray, skip: np.ndarray):
    """Return (floats, bad) where bad marks the parsed cells (not ``skip``: missing or
    container) that are not numbers."""
    if values.dtype.kind in "iuf":
        return values.astype(float), np.zeros(len(values), bool)
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), bool)
    cells = np.flatnonzero(~skip)
    if _only(values[cells], (float, int, np.floating, np.integer)):  # no text, no bool
        try:
            out[cells] = values[cells].astype(float)
            return out, bad
        except (OverflowError, TypeError, ValueError):  # a huge integer: cell by cell
            pass
    for i in cells:
        try:
            out[i] = parse_number(values[i])
        except ValueError:
            bad[i] = True
    return out, bad


def parse_booleans(values: np.ndarray, skip: np.ndarray):
    """Return (bools, bad); ``skip`` cells (missing or container) are not parsed."""
    out = np.zeros(len(values), bool)
    bad = np.zeros(len(values), bool)
    if values.dtype == bool:
        return values.copy(), bad
    cells = np.flatnonzero(~skip)
    if _only(values[cells], (bool, np.bool_)):
        out[cells] = values[cells].astype(bool)
        return out, bad
    if _only(values[cells], (str,)):  # read each distinct text once
        uniques, codes = _distinct(values[cells])
        table = [boolean_word(u) for u in uniques]
        parsed = np.array([bool(w) for w in table], dtype=bool)
        known = np.array([w is not None for w in table], dtype=bool)
        out[cells], bad[cells] = parsed[codes], ~known[codes]
        return out, bad
    for i in cells:
        try:
            out[i] = parse_boolean(values[i])
        except ValueError:
            bad[i] = True
    return out, bad


def parse_categories(values: np.ndarray, skip: np.ndarray, categories):
    """Return (categories, bad); ``skip`` cells (missing or container) are not parsed.

    A parsed cell holds the category as ``categories`` spells it.
    """
    out = np.full(len(values), None, dtype=object)
    bad = np.zeros(len(values), bool)
    names = {c.lower(): c for c in categories}
    cells = np.flatnonzero(~skip)
    if _only(values[cells], (str,)):  # read each distinct text once
        uniques, codes = _distinct(values[cells])
        table = np.array([names.get(category_key(u)) for u in uniques] + [None], dtype=object)
        out[cells] = table[codes]
        bad[cells] = out[cells] == None  # noqa: E711 (elementwise)
        return out, bad
    for i in cells:
        name = names.get(category_key(values[i]))
        if name is None:
            bad[i] = True
        else:
            out[i] = name
    return out, bad
