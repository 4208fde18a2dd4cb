"""Which contract field a misspelt name was meant to be: one implementation for the keys of a
record and the columns of a cohort file.

A name is first normalised (case, blanks and punctuation, British spellings such as ``tumour``
or ``haemoglobin``, ``µmol``); a normalised name equal to a field's, or the only field that
starts with it (``bilirubin`` -> ``bilirubin_umol_l``), is the suggestion. Otherwise the closest
field by :func:`difflib.get_close_matches` (ratio at least 0.6), as a record key always had.
A stem of several fields (``tumor``) gets no guess.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable

from features.contract.schema import FIELDS

# British (and other) spellings -> the American ones of the contract names, on whole words or
# word starts of a normalised name.
_SPELLINGS: tuple[tuple[str, str], ...] = (
    ("tumour", "tumor"),
    ("haemoglobin", "hemoglobin"),
    ("aetiology", "etiology"),
    ("oesophageal", "esophageal"),
    ("µmol", "umol"),
    ("μmol", "umol"),
)
_CUTOFF = 0.6


def normalise_name(name) -> str:
    """A field or column name as compared: lower case, British spellings made American, every
    run of blanks and punctuation one underscore (``"Tumour max-diameter (cm)"`` ->
    ``"tumor_max_diameter_cm"``)."""
    text = str(name).strip().lower()
    for british, american in _SPELLINGS:
        text = text.replace(british, american)
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


@functools.cache
def _normalised(candidates: tuple[str, ...]) -> dict[str, str]:
    return {normalise_name(c): c for c in candidates}


def suggest_field(name, candidates: Iterable[str] | None = None) -> str | None:
    """The contract field ``name`` was most likely meant to be, or None.

    Parameters
    ----------
    name : str
        A record key or a column name that is not a contract field.
    candidates : iterable of str, optional
        The field names to choose from (default: every contract field).

    Examples
    --------
    >>> suggest_field("tumour_max_diameter_cm"), suggest_field("bilirubin_umol_L")
    ('tumor_max_diameter_cm', 'bilirubin_umol_l')
    >>> suggest_field("albumin_gl"), suggest_field("favourite_colour") is None
    ('albumin_g_l', True)
    """
    pool = tuple(FIELDS) if candidates is None else tuple(candidates)
    if not pool:
        return None
    table = _normalised(pool)
    key = normalise_name(name)
    if not key:
        return None
    if key in table:
        return table[key]
    starts = [c for k, c in table.items() if k.startswith(key + "_")]
    if starts:  # the stem of one field, or of several (ambiguous: no guess)
        return starts[0] if len(starts) == 1 else None
    close = difflib.get_close_matches(key, list(table), n=1, cutoff=_CUTOFF)
    return table[close[0]] if close else None


def did_you_mean(name, candidates: Iterable[str] | None = None) -> str:
    """``"did you mean 'field'?"`` for :func:`suggest_field`'s answer, or ``""``."""
    field = suggest_field(name, candidates)
    return f"did you mean '{field}'?" if field else ""
