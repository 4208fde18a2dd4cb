"""Vectorised validation of patient records against :data:`features.contract.schema.FIELDS`.

One engine serves a single record (arrays of length one) and a cohort of 100k rows. Every problem
is collected (never the first only) as a :class:`~features.contract.problems.Problem` naming the
field, the expectation with its unit, the received value and, where one helps, a hint such as
"looks like g/dL". Values are read with the rules of :mod:`features.contract.parsing`.

* :func:`validate_record` for one patient (a mapping) and :func:`validate_cohort` for a frame,
  both driven by :func:`check_column` and the cross-field checks. A cohort column is also judged
  as a whole: when its distribution says another unit (bilirubin in mg/dL, albumin in g/dL ...,
  see :class:`~features.contract.schema.UnitHint`), one ``wrong_unit`` problem invalidates every
  row, because the values that pass the per-value range are in the wrong unit too;
* :func:`coerce_frame`, the canonical dtypes every later floor relies on.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.contract.parsing import (
    as_cells,
    container_mask,
    missing_mask,
    parse_booleans,
    parse_categories,
    parse_numbers,
)
from features.contract.problems import InvalidPatientError, Problem, received_text
from features.contract.schema import (
    COLUMN_UNIT_MIN_VALUES,
    COLUMN_UNIT_SHARE,
    FIELDS,
    FieldSpec,
)
from features.contract.suggest import did_you_mean, suggest_field

_MAX_RECORD_FIELDS = 500


def _category_hint(value, categories) -> str:
    if not isinstance(value, str):
        return "categories are lower-case strings"
    close = difflib.get_close_matches(value.strip().lower(), categories, n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else ""


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")


def _number_text_hint(value) -> str:
    if not isinstance(value, str):
        return ""
    if _DECIMAL_COMMA.match(value):
        return "a decimal comma? the contract wants a decimal point (1.5, not 1,5)"
    return "a text in a numeric column"


def _column_unit_problems(spec: FieldSpec, numbers: np.ndarray) -> list[Problem]:
    """One ``wrong_unit`` problem (row None) when the column's distribution says another unit.

    ``numbers`` are the column's finite parsed values, out-of-range ones included. Judged only
    from :data:`~features.contract.schema.COLUMN_UNIT_MIN_VALUES` values on: a single record is
    never judged by a distribution.
    """
    if len(numbers) < COLUMN_UNIT_MIN_VALUES:
        return []
    for hint in spec.hints:
        if hint.column is None:
            continue
        lo, hi = hint.column
        share = float(np.mean((numbers >= lo) & (numbers < hi)))
        if share >= COLUMN_UNIT_SHARE:
            received = (f"median {float(np.median(numbers)):.3g}; {share:.0%} of {len(numbers)} "
                        f"values between {lo:g} and {hi:g}")
            expected = "a column of INR values" if spec.unit == "ratio" else \
                f"a column in {spec.unit}"
            return [Problem(spec.name, "wrong_unit", expected, received,
                            f"the column {hint.message}; convert the whole column", None)]
    return []


def _unit_hint(spec, value: float) -> str:
    for hint in spec.hints:
        if hint.low <= value < hint.high:
            return hint.message
    return ""


def check_column(spec: FieldSpec, values, rows: np.ndarray | None = None):
    """Check one column of values against ``spec``.

    Returns ``(parsed, missing, problems)``: parsed values (float array for numbers, bool array for
    booleans, object array for categories and strings), the missing mask and the problems found.
    """
    values = as_cells(values)
    n = len(values)
    rows = np.arange(n) if rows is None else rows
    # A cell holding several values (list, dict, array, ...) is one problem of its row, found
    # before any parsing: the missing mask and the per-kind parsers only ever see scalars.
    # patient_id (free text) is exempt: any value is an identifier, hashed, never echoed.
    containers = container_mask(values) if spec.kind != "string" else np.zeros(n, bool)
    missing = missing_mask(values, containers)
    skip = missing | containers
    problems: list[Problem] = []

    def add(mask, reason, hint_fn=None, by_row=False):
        for i in np.flatnonzero(mask):
            v = values[i]
            hint = (hint_fn(i) if by_row else hint_fn(v)) if hint_fn else ""
            problems.append(
                Problem(spec.name, reason, spec.expectation, received_text(v), hint, int(rows[i]))
            )

    add(containers, "not_a_scalar",
        lambda v: f"one value per field; this cell holds a {type(v).__name__}")
    if spec.kind in ("number", "integer"):
        parsed, bad = parse_numbers(values, skip)
        add(bad, "not_a_number", _number_text_hint)
        ok = ~skip & ~bad
        nonfinite = ok & ~np.isfinite(parsed)
        add(nonfinite, "non_finite")
        ok &= ~nonfinite
        problems.extend(_column_unit_problems(spec, parsed[ok]))
        with np.errstate(invalid="ignore"):
            low_bad = np.zeros(n, bool)
            if spec.low is not None:
                low_bad = (parsed <= spec.low) if spec.low_exclusive else (parsed < spec.low)
            high_bad = (parsed > spec.high) if spec.high is not None else np.zeros(n, bool)
        out_of_range = ok & (low_bad | high_bad)
        add(out_of_range, "out_of_range", lambda i: _unit_hint(spec, parsed[i]), by_row=True)
        ok &= ~out_of_range
        if spec.kind == "integer":
            frac = ok & (parsed != np.round(parsed))
            add(frac, "not_an_integer")
        invalid = bad | nonfinite | out_of_range | containers
        parsed = np.where(invalid, np.nan, parsed)
    elif spec.kind == "boolean":
        parsed, bad = parse_booleans(values, skip)
        add(bad, "not_a_boolean")
    elif spec.kind == "category":
        parsed, bad = parse_categories(values, skip, spec.categories)
        add(bad, "unknown_category", lambda v: _category_hint(v, spec.categories))
    else:
        parsed = np.where(missing, None, values.astype(object))
        bad = np.zeros(n, bool)
    return parsed, missing, problems


def _cross_checks(parsed: dict, rows: np.ndarray) -> list[Problem]:
    problems = []
    pairs = (
        ("tumor_sum_diameter_cm", "tumor_max_diameter_cm", "at least tumor_max_diameter_cm", "cm"),
        ("pfs_months", "os_months", "at most os_months", "months"),
    )
    for name, other, expectation, unit in pairs:
        if name not in parsed or other not in parsed:
            continue
        a, b = parsed[name], parsed[other]
        with np.errstate(invalid="ignore"):
            bad = (a < b) if name == "tumor_sum_diameter_cm" else (a > b)
        for i in np.flatnonzero(bad):
            problems.append(
                Problem(name, "inconsistent", f"{expectation} ({b[i]:g} {unit})",
                        f"{a[i]:g}", "", int(rows[i]))
            )
    return problems


def _check_columns(columns: Mapping, n: int, require_outcomes: bool, require_id: bool,
                   rows: np.ndarray | None = None):
    rows = np.arange(n) if rows is None else rows
    parsed, missing, problems = {}, {}, []
    for spec in FIELDS.values():
        if spec.group == "outcome" and not require_outcomes and spec.name not in columns:
            continue
        required = spec.required and (spec.group == "patient" or require_outcomes)
        if spec.name == "patient_id":
            required = require_id
        if spec.name not in columns:
            if required:
                problems.append(Problem(spec.name, "missing_column", spec.expectation,
                                        "no such column", "", None))
            continue
        p, m, probs = check_column(spec, columns[spec.name], rows)
        problems.extend(probs)
        if required:
            for i in np.flatnonzero(m):
                problems.append(Problem(spec.name, "missing_value", spec.expectation,
                                        "missing", "required field", int(rows[i])))
        parsed[spec.name], missing[spec.name] = p, m
    problems.extend(_cross_checks(parsed, rows))
    if "patient_id" in parsed and n > 1:
        ids = pd.Series(parsed["patient_id"])
        dup = (ids.duplicated(keep="first") & ids.notna()).to_numpy()
        for i in np.flatnonzero(dup):
            problems.append(Problem("patient_id", "duplicate_id", "a unique identifier per row",
                                    "a repeated identifier", "one row per patient", int(rows[i])))
    return parsed, missing, problems


def validate_record(record, require_outcomes: bool = False) -> dict:
    """Validate one patient record and return it normalised to contract types.

    Parameters
    ----------
    record : mapping
        Contract field name -> value (``None`` or NaN for a missing optional field).
    require_outcomes : bool
        Also require the treatment and outcome fields (training rows).

    Returns
    -------
    dict
        Field -> python value (float, int, bool, str or None), contract fields only.

    Raises
    ------
    InvalidPatientError
        Listing every problem: unknown fields, missing required fields, wrong types, out-of-range
        or non-finite values, unknown categories, inconsistent pairs.
    """
    if not isinstance(record, Mapping):
        raise InvalidPatientError([Problem("<record>", "not_a_mapping",
                                           "a mapping of contract fields to values",
                                           received_text(type(record).__name__))])
    if len(record) > _MAX_RECORD_FIELDS:
        raise InvalidPatientError([Problem("<record>", "too_many_fields",
                                           f"at most {_MAX_RECORD_FIELDS} fields",
                                           f"{len(record)} fields")])
    problems = []
    for key in record:
        if key not in FIELDS:
            problems.append(Problem(received_text(key).strip("'"), "unknown_field",
                                    "a contract field name", "an unknown field",
                                    did_you_mean(key) or "remove it; extra fields are not used"))
    columns = {}
    for key, value in record.items():
        if key in FIELDS:
            cell = np.empty(1, dtype=object)  # a list value stays one cell (never a 2-D array)
            cell[0] = value
            columns[key] = cell
    parsed, missing, found = _check_columns(columns, 1, require_outcomes, require_id=False)
    for p in found:
        if p.reason == "missing_column":
            p = Problem(p.field, "missing_value", p.expected, "missing", "required field")
        problems.append(Problem(p.field, p.reason, p.expected, p.received, p.hint, None))
    if problems:
        raise InvalidPatientError(problems)
    out = {name: None for name, spec in FIELDS.items()
           if spec.group == "patient" or (require_outcomes and name in parsed)}
    for name, values in parsed.items():
        spec = FIELDS[name]
        if missing[name][0]:
            out[name] = None
        elif spec.kind == "integer":
            out[name] = int(values[0])
        elif spec.kind == "number":
            out[name] = float(values[0])
        elif spec.kind == "boolean":
            out[name] = bool(values[0])
        else:
            out[name] = str(values[0])
    return out


@dataclass(frozen=True)
class CohortValidation:
    """Result of :func:`validate_cohort`.

    ``valid`` holds the rows without any problem, in canonical dtypes (original index kept);
    ``problems`` every problem found (rows by position, see :attr:`Problem.line` for the line a
    user sees); ``extra_columns`` the unknown columns, kept aside and never used as features;
    ``suggestions`` the unknown columns that look like a contract column the frame lacks
    (column -> field: ``tumour_max_diameter_cm`` -> ``tumor_max_diameter_cm``); ``report`` a
    JSON-safe summary without identifiers.
    """

    valid: pd.DataFrame
    problems: tuple[Problem, ...]
    invalid_rows: np.ndarray
    extra_columns: tuple[str, ...]
    n_rows: int
    suggestions: Mapping[str, str] = field(default_factory=dict)

    @property
    def n_invalid(self) -> int:
        return int(len(self.invalid_rows))

    @property
    def invalid_share(self) -> float:
        return self.n_invalid / self.n_rows if self.n_rows else 0.0

    @property
    def report(self) -> dict:
        by_field: dict[str, Counter] = {}
        by_reason: Counter = Counter()
        for p in self.problems:
            count = self.n_rows if p.row is None else 1
            by_field.setdefault(p.field, Counter())[p.reason] += count
            by_reason[p.reason] += count
        return {
            "n_rows": self.n_rows,
            "n_valid": self.n_rows - self.n_invalid,
            "n_invalid": self.n_invalid,
            "invalid_share": round(self.invalid_share, 6),
            "n_problems": len(self.problems),
            "problems_by_reason": dict(sorted(by_reason.items())),
            "problems_by_field": {k: dict(sorted(v.items())) for k, v in sorted(by_field.items())},
            "extra_columns": list(self.extra_columns),
            "column_suggestions": dict(self.suggestions),
        }

    def problem_frame(self) -> pd.DataFrame:
        """One row per problem: ``row`` (0-based position), ``line`` (the line of a file with a
        header line: row + 2; empty for a whole-column problem), field, reason, expected,
        received, hint."""
        cols = ["row", "line", "field", "reason", "expected", "received", "hint"]
        rows = [dict(p.to_dict(), line=p.line) for p in self.problems]
        frame = pd.DataFrame(rows, columns=cols)
        for c in ("row", "line"):
            frame[c] = frame[c].astype("Int64")
        return frame


def validate_cohort(frame: pd.DataFrame, require_outcomes: bool = True,
                    require_id: bool = True) -> CohortValidation:
    """Validate a cohort row by row; never drops a row silently.

    Parameters
    ----------
    frame : DataFrame
        One row per patient, contract column names.
    require_outcomes : bool
        Require modality, os_months and death (training or evaluation cohorts).
    require_id : bool
        Require a non-empty ``patient_id`` on every row (cohort files).

    Returns
    -------
    CohortValidation
        The valid rows in canonical dtypes and every problem by row position. A cell holding
        several values (list, tuple, dict, set, array) is a ``not_a_scalar`` problem of its row;
        a repeated contract column, a missing required one or a column whose distribution says
        another unit (``wrong_unit``, from 20 values on) invalidates every row. An unknown
        column that looks like a missing required one (``tumour_max_diameter_cm``) is an
        ``unknown_column`` problem with "did you mean"; one that looks like a missing optional
        field is listed in ``suggestions`` (kept aside, like every unknown column).

    Raises
    ------
    TypeError
        ``frame`` is not a DataFrame.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"validate_cohort expects a pandas DataFrame, got {type(frame).__name__}")
    n = len(frame)
    columns, repeated = {}, Counter()
    for i, c in enumerate(frame.columns):
        if c in FIELDS:
            if c in columns:
                repeated[c] += 1
            else:
                columns[c] = frame.iloc[:, i]  # a repeated name would give a 2-D frame[c]
    extra = tuple(dict.fromkeys(str(c) for c in frame.columns if c not in FIELDS))
    parsed, missing, problems = _check_columns(columns, n, require_outcomes, require_id)
    absent = [name for name in FIELDS if name not in columns]
    suggestions = {c: name for c in extra if (name := suggest_field(c, absent))}
    problems = _name_the_intended_columns(problems, suggestions)
    problems.extend(Problem(c, "duplicate_column", "one column per contract field",
                            f"{k + 1} columns named {c}", "", None) for c, k in repeated.items())
    whole_column = any(p.row is None for p in problems)
    bad_rows = np.unique([p.row for p in problems if p.row is not None]).astype(int)
    keep = np.ones(n, bool)
    keep[bad_rows] = False
    if whole_column:
        keep[:] = False
        bad_rows = np.arange(n)
    canonical = _canonical_frame(parsed, missing, frame.index)
    return CohortValidation(canonical[keep], tuple(problems), bad_rows, extra, n, suggestions)


def _name_the_intended_columns(problems: list, suggestions: dict) -> list:
    """A missing required column that an unknown column looks like: the missing_column problem
    names that column, and the column gets an ``unknown_column`` problem with "did you mean"."""
    absent = {p.field for p in problems if p.reason == "missing_column"}
    lookalikes: dict[str, list] = {}
    for column, name in suggestions.items():
        if name in absent:
            lookalikes.setdefault(name, []).append(column)
    out = []
    for p in problems:
        if p.reason == "missing_column" and p.field in lookalikes:
            seen = ", ".join(f"'{c}'" for c in lookalikes[p.field])
            p = Problem(p.field, p.reason, p.expected, p.received,
                        f"the file has {seen}: rename it to '{p.field}'", p.row)
        out.append(p)
    for name, found in lookalikes.items():
        out.extend(Problem(c, "unknown_column", "a contract column name",
                           "a column not in the contract", f"did you mean '{name}'?", None)
                   for c in found)
    return out


def _canonical_frame(parsed: dict, missing: dict, index) -> pd.DataFrame:
    data = {}
    for name, values in parsed.items():
        spec, miss = FIELDS[name], missing[name]
        if spec.kind == "number":
            data[name] = pd.Series(values, index=index, dtype="float64")
        elif spec.kind == "integer":
            series = pd.Series(values, index=index, dtype="float64")
            data[name] = series if np.isnan(values).any() else series.astype("int64")
        elif spec.kind == "boolean":
            arr = pd.array(values.astype(bool), dtype="boolean")
            arr[miss] = pd.NA
            data[name] = pd.Series(arr, index=index)
        elif spec.kind == "category":
            data[name] = pd.Series(pd.Categorical(values, categories=spec.categories), index=index)
        else:
            data[name] = pd.Series(values, index=index, dtype=object)
    return pd.DataFrame(data, index=index)


def coerce_frame(frame: pd.DataFrame, require_outcomes: bool = False) -> pd.DataFrame:
    """Canonical dtypes for a frame that must be valid; raises on the first invalid row set.

    Numbers float64, integer fields int64, booleans pandas ``boolean``, categories ``Categorical``
    with the contract's categories in contract order. Unknown columns are dropped from the result
    (they are reported by :func:`validate_cohort`).
    """
    result = validate_cohort(frame, require_outcomes=require_outcomes, require_id=False)
    if result.problems:
        raise InvalidPatientError(result.problems, context="cohort")
    return result.valid

