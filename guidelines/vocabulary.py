"""The variables a rule may test: contract patient fields plus the derived features.

A rule file is checked against this vocabulary at load time, so a misspelt variable, a category
that does not exist or a value of the wrong type fails loudly instead of silently never firing.

Every variable is evaluated as a float64 array (NaN = missing):

* ``number`` and ``integer``: the value in the unit of the name (``bilirubin_umol_l`` in umol/L);
* ``boolean``: 1.0 true, 0.0 false;
* ``category``: the position of the value in ``categories`` (0, 1, ...). Rules compare categories
  by name only (``eq``, ``ne``, ``in``, ``not_in``), so the codes are an internal detail.

Contract fields come from :data:`features.contract.FIELDS`; derived features are the columns
``features.derivation.DERIVED_COLUMNS`` with the kinds ``features.derivation.derived_kind``
reports, so the vocabulary follows the features floor without a copy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import MappingProxyType

from features import derivation
from features.contract import FIELDS, MODALITIES


@dataclass(frozen=True)
class Variable:
    """One variable of the rule language.

    Parameters
    ----------
    name : str
        Column name (contract field or derived feature).
    kind : str
        ``number``, ``integer``, ``boolean`` or ``category``.
    categories : tuple of str or None
        Allowed values of a category, in code order.
    low, high : float or None
        Plausible range of a number (inclusive); a rule threshold outside it is an error
        (usually a unit mistake, for example bilirubin in mg/dL).
    derived : bool
        True for a column computed by :func:`features.derive`.
    required : bool
        True for a required contract field (never missing in a valid record).
    unit : str
        Unit of the value, for messages.
    """

    name: str
    kind: str
    categories: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    derived: bool = False
    required: bool = False
    unit: str = ""

    @property
    def codes(self) -> MappingProxyType:
        """Category name (lower case) -> code; empty for non-categories."""
        return MappingProxyType(
            {c.lower(): i for i, c in enumerate(self.categories or ())}
        )


# Plausible ranges of numeric derived columns: a rule threshold outside is a load error.
_DERIVED_RANGES: MappingProxyType = MappingProxyType({
    "child_pugh_points": (5, 15),
    "albi_grade": (1, 3),
    "meld": (6, 40),
    "meld_na": (6, 40),
    "pvtt_grade": (0, 4),
    "tumor_burden_score": (0, None),
    "bilirubin_mg_dl": (0, None),
    "creatinine_mg_dl": (0, None),
    "afp_model_score": (0, 9),
    "clip_score": (0, 6),
    "hap_score": (0, 4),
})

_KIND = {"float": "number", "int": "integer", "bool": "boolean"}


def _derived_variables() -> list[Variable]:
    """Derived columns with their kinds, as published by :mod:`features.derivation`."""
    out = []
    for name in derivation.DERIVED_COLUMNS:
        kind = derivation.derived_kind(name)
        low, high = _DERIVED_RANGES.get(name, (None, None))
        if isinstance(kind, tuple):
            out.append(Variable(name, "category", tuple(kind), derived=True))
        else:
            out.append(Variable(name, _KIND[kind], None, low, high, derived=True))
    return out


@functools.cache
def variables() -> MappingProxyType:
    """Every variable a rule may use, by name (contract patient fields, then derived features)."""
    out: dict[str, Variable] = {}
    for spec in FIELDS.values():
        if spec.group != "patient" or spec.kind == "string":
            continue
        out[spec.name] = Variable(
            spec.name, spec.kind, spec.categories, spec.low, spec.high,
            derived=False, required=spec.required, unit=spec.unit,
        )
    for var in _derived_variables():
        out.setdefault(var.name, var)
    return MappingProxyType(out)


@functools.cache
def modalities() -> tuple[str, ...]:
    """The modality vocabulary of the contract, in contract order."""
    return tuple(MODALITIES)

