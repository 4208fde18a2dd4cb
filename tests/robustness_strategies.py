"""Hypothesis strategies for the robustness tests: valid contract records and malformed ones.

Every malformed record is built from a valid one with exactly one class of defect, so that a
record accepted by the contract is a bug of the strategy or of the validation, never an accident:
wrong type, out of range, non-finite, missing required field, unknown category, extra field,
empty record, thousands of keys, huge string value. ``json_only=True`` restricts values to what a
JSON request can carry (the REST tests).

Parsing rules these strategies rely on (features/contract/parsing.py): numbers accept numeric strings
("12"), booleans accept true/false, yes/no, 1/0 and "1"/"0", categories are matched after
strip().lower(), a blank string or NaN is a missing value (valid for an optional field).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from features.contract import FIELDS, MODALITIES

PATIENT = tuple(n for n, s in FIELDS.items() if s.group == "patient" and n != "patient_id")
REQUIRED = tuple(n for n in PATIENT if FIELDS[n].required)
OPTIONAL = tuple(n for n in PATIENT if not FIELDS[n].required)
NUMERIC = tuple(n for n in PATIENT if FIELDS[n].kind in ("number", "integer"))
BOOLEAN = tuple(n for n in PATIENT if FIELDS[n].kind == "boolean")
CATEGORY = tuple(n for n in PATIENT if FIELDS[n].kind == "category")
_TRUE_FALSE = {"true", "t", "yes", "y", "1", "1.0", "false", "f", "no", "n", "0", "0.0"}
_SIZES = ("tumor_count", "tumor_max_diameter_cm", "tumor_sum_diameter_cm")


# --- valid --------------------------------------------------------------------------------------

def _case_variants(word: str):
    """A category word as sent by careless clients: any case, surrounding spaces."""
    return st.sampled_from((word, word.upper(), word.title(), f" {word} ", f"{word}\t"))


def valid_value(name: str, json_only: bool = False):
    spec = FIELDS[name]
    if spec.kind == "category":
        return st.sampled_from(spec.categories).flatmap(_case_variants)
    if spec.kind == "boolean":
        base = st.booleans()
        return base | st.sampled_from(("yes", "no", "TRUE", "false", 0, 1))
    if spec.kind == "integer":
        ints = st.integers(int(spec.low), int(spec.high))
        return ints | ints.map(float) | ints.map(str)
    floats = st.floats(spec.low, spec.high, allow_nan=False, allow_infinity=False,
                       exclude_min=spec.low_exclusive)
    return floats | floats.map(lambda v: f"{v!r}")


@st.composite
def valid_records(draw, json_only: bool = False, missing: bool = True):
    """A contract-valid patient record; optional fields absent, None or present."""
    rec = {}
    for name in PATIENT:
        if name in _SIZES:
            continue
        if name in OPTIONAL and missing:
            choice = draw(st.sampled_from(("value", "value", "none", "absent")))
            if choice == "absent":
                continue
            if choice == "none":
                rec[name] = None
                continue
        rec[name] = draw(valid_value(name, json_only))
    count = draw(st.integers(1, 6) | st.integers(1, 50))
    largest = draw(st.floats(0.1, 30, allow_nan=False))
    rec["tumor_count"] = count
    rec["tumor_max_diameter_cm"] = largest
    if not missing or draw(st.booleans()):
        rec["tumor_sum_diameter_cm"] = largest if count == 1 else draw(
            st.floats(largest, largest * count, allow_nan=False))
    return rec


def preferences():
    """Valid preferences (None or a mapping of the three keys)."""
    return st.none() | st.fixed_dictionaries({}, optional={
        "excluded_modalities": st.lists(st.sampled_from(MODALITIES), max_size=10, unique=True),
        "max_cost_tier": st.sampled_from((None, "low", "middle", "high", " High ")),
        "objective": st.sampled_from((None, "rmst24", "surv12", "surv24", "median_os")),
    })


# --- malformed values ---------------------------------------------------------------------------

def _parses_as_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError, OverflowError):
        return False


def _blank(value) -> bool:
    return isinstance(value, str) and not value.strip()


def _containers(json_only: bool, lists: bool = True):
    """Dicts, lists of one value and (``lists``) lists of 0 or 2+ values; beyond JSON also
    tuples, sets, numpy arrays (0-d, one value, several), complex numbers and bare objects."""
    scalars = st.integers(-5, 5) | st.text(max_size=5)
    out = st.dictionaries(st.text(max_size=5), scalars, max_size=3) | st.lists(
        scalars, min_size=1, max_size=1)
    if lists:
        out = out | st.lists(scalars, min_size=2, max_size=4) | st.just([])
    if not json_only:
        numbers = st.integers(-5, 5) | st.floats(-5, 5)
        out = out | st.sets(st.integers(), min_size=1, max_size=3) | st.just(1j) \
            | st.just(object()) | st.tuples(scalars) | numbers.map(np.array) \
            | st.lists(numbers, min_size=1, max_size=3).map(np.array)
    return out


def wrong_type(name: str, json_only: bool = False, lists: bool = True):
    """A value of a type the field's kind never accepts (``lists``: include lists of 0 or 2+
    values)."""
    kind = FIELDS[name].kind
    text = st.text(min_size=1, max_size=30).filter(lambda s: not _blank(s))
    if kind in ("number", "integer"):
        return (text.filter(lambda s: not _parses_as_number(s)) | st.booleans()
                | _containers(json_only, lists))
    if kind == "boolean":
        odd = st.integers().filter(lambda v: v not in (0, 1)) | st.floats(
            allow_nan=False, allow_infinity=not json_only).filter(lambda v: v not in (0, 1))
        return (text.filter(lambda s: s.strip().lower() not in _TRUE_FALSE) | odd
                | _containers(json_only, lists))
    # category
    return (st.integers() | st.floats(allow_nan=False, allow_infinity=not json_only)
            | st.booleans() | _containers(json_only, lists))


def out_of_range(name: str, json_only: bool = False):
    spec = FIELDS[name]
    below = st.floats(max_value=spec.low, allow_nan=False, allow_infinity=False,
                      exclude_max=not spec.low_exclusive) if spec.low is not None else None
    above = st.floats(min_value=spec.high, allow_nan=False, allow_infinity=False,
                      exclude_min=True) if spec.high is not None else None
    options = [s for s in (below, above) if s is not None]
    huge = st.integers(min_value=10 ** 30) | st.integers(max_value=-(10 ** 30))
    out = st.one_of(*options) | huge
    if spec.kind == "integer":  # a fraction inside the range is also out of the contract
        out = out | st.floats(spec.low, spec.high, allow_nan=False).filter(
            lambda v: v != round(v))
    return out


def unknown_category(name: str):
    cats = FIELDS[name].categories
    return st.text(min_size=1, max_size=40).filter(
        lambda s: s.strip().lower() not in cats and not _blank(s))


@st.composite
def malformed_records(draw, json_only: bool = False, lists: bool = True):
    """(record, defect class, field named in the problems or None)."""
    rec = draw(valid_records(json_only=json_only))
    kind = draw(st.sampled_from(("wrong_type", "out_of_range", "non_finite", "missing_required",
                                 "unknown_category", "extra_field", "empty", "many_keys",
                                 "huge_string")))
    if kind == "wrong_type":
        name = draw(st.sampled_from(PATIENT))
        rec[name] = draw(wrong_type(name, json_only, lists))
        return rec, kind, name
    if kind == "out_of_range":
        name = draw(st.sampled_from(NUMERIC))
        rec[name] = draw(out_of_range(name, json_only))
        return rec, kind, name
    if kind == "non_finite":
        name = draw(st.sampled_from(NUMERIC))
        values = (math.inf, -math.inf) + ((math.nan,) if name in REQUIRED else ())
        rec[name] = draw(st.sampled_from(values))
        return rec, kind, name
    if kind == "missing_required":
        name = draw(st.sampled_from(REQUIRED))
        how = draw(st.sampled_from(("delete", None, "", "   ", math.nan)))
        if how == "delete":
            del rec[name]
        else:
            rec[name] = how
        return rec, kind, name
    if kind == "unknown_category":
        name = draw(st.sampled_from(CATEGORY))
        rec[name] = draw(unknown_category(name))
        return rec, kind, name
    if kind == "extra_field":
        key = draw(st.text(min_size=1, max_size=30).filter(lambda k: k not in FIELDS))
        rec[key] = draw(st.integers() | st.text(max_size=10) | st.none())
        return rec, kind, None
    if kind == "empty":
        return {}, kind, None
    if kind == "many_keys":
        n = draw(st.integers(600, 5000))
        rec.update({f"x_{i}": i for i in range(n)})
        return rec, kind, None
    name = draw(st.sampled_from(NUMERIC + CATEGORY + BOOLEAN))
    size = draw(st.integers(10_000, 1_000_000))
    rec[name] = draw(st.sampled_from(("x", "9", "yes "))) * size
    return rec, kind, name


def malformed_preferences():
    """Preferences the request must reject: non-mappings, unknown keys, bad values."""
    bad_modalities = st.lists(st.text(max_size=12).filter(
        lambda s: s.strip().lower() not in MODALITIES), min_size=1, max_size=3)
    return st.one_of(
        st.text(min_size=1, max_size=10), st.integers(), st.lists(st.text(max_size=5),
                                                                  min_size=1, max_size=3),
        st.fixed_dictionaries({"excluded_modalities": bad_modalities}),
        st.fixed_dictionaries({"excluded_modalities": st.integers() | st.dictionaries(
            st.text(max_size=3), st.integers(), min_size=1, max_size=2)}),
        st.fixed_dictionaries({"max_cost_tier": st.text(min_size=1, max_size=10).filter(
            lambda s: s.strip().lower() not in ("low", "middle", "high")) | st.integers()}),
        st.fixed_dictionaries({"objective": st.text(min_size=1, max_size=10).filter(
            lambda s: s not in ("rmst24", "surv12", "surv24", "median_os")) | st.integers()}),
        st.dictionaries(st.text(min_size=1, max_size=10).filter(
            lambda k: k not in ("excluded_modalities", "max_cost_tier", "objective")),
            st.integers(), min_size=1, max_size=3),
    )
