"""Data support of a prediction: is the patient like the patients who received the modality?

A model predicts an outcome under every modality for every patient, also where no training
patient resembles this one under that modality (an ECOG 4 patient under resection, a 15 cm
tumour under ablation): the prediction is then an extrapolation of the trees' last split.
The rule, simple and documented (docs/modelling.md, "Extrapolation"):

* at training time, for each modality, the key features of the patients who received it are
  summarised (:func:`fit_envelope`): the count of each observed level of the ordinal features
  ECOG, Child-Pugh class and BCLC stage, and the 1st-99th percentile range of the largest
  tumour diameter;
* a prediction for modality ``m`` is **extrapolated** when any key feature of the patient is
  outside that envelope: a level held by fewer than :data:`MIN_LEVEL_PATIENTS` training
  patients of ``m``, or a tumour size outside the range; and, when the data-support guard is
  on, when the patient's estimated propensity for ``m`` is below ``recommend.min_propensity``.

The envelope holds counts and percentiles of groups, never a patient's row.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

ORDINAL = {"ecog": "ECOG", "child_pugh_class": "Child-Pugh class", "bclc_stage": "BCLC stage"}
"""Ordinal key features (derived field -> label) checked level by level."""
CONTINUOUS = {"tumor_max_diameter_cm": "largest tumour diameter (cm)"}
"""Continuous key features (derived field -> label) checked against a percentile range."""
MIN_LEVEL_PATIENTS = 5
"""Fewest training patients of a modality holding a level for it to be inside the envelope."""
RANGE_PERCENTILES = (1.0, 99.0)


def _level(value) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def fit_envelope(train: pd.DataFrame) -> dict:
    """Per modality received in ``train`` (a derived training frame with ``modality``): level
    counts of :data:`ORDINAL` and the percentile range of :data:`CONTINUOUS` (JSON-ready)."""
    out = {}
    for m, group in train.groupby(train["modality"].astype(str), sort=True):
        entry = {"n": int(len(group))}
        for col in ORDINAL:
            if col in group:
                levels = [_level(v) for v in group[col].astype(object).tolist()]
                counts = pd.Series([v for v in levels if v is not None]).value_counts()
                entry[col] = {str(k): int(v) for k, v in sorted(counts.items())}
        for col in CONTINUOUS:
            if col in group:
                values = pd.to_numeric(group[col], errors="coerce").dropna().to_numpy(float)
                if len(values):
                    lo, hi = np.percentile(values, RANGE_PERCENTILES)
                    entry[col] = [round(float(lo), 3), round(float(hi), 3)]
        out[str(m)] = entry
    return out


def outside(envelope: dict | None, modality: str, row: dict) -> list[str]:
    """Why the patient (``row``: derived field -> value) is outside the envelope of
    ``modality``: one sentence per key feature (empty: inside, or no envelope stored)."""
    if not envelope or modality not in envelope:
        return []
    entry = envelope[modality]
    why = []
    for col, label in ORDINAL.items():
        level = _level(row.get(col))
        if level is None or col not in entry:
            continue
        held = entry[col].get(level, 0)
        if held < MIN_LEVEL_PATIENTS:
            why.append(f"{label} {level}: {held} of the {entry['n']} training patients who "
                       f"received {modality} (fewer than {MIN_LEVEL_PATIENTS})")
    for col, label in CONTINUOUS.items():
        value = row.get(col)
        if col not in entry or value is None or value is pd.NA:
            continue
        value = float(value)
        lo, hi = entry[col]
        if math.isfinite(value) and not lo <= value <= hi:
            why.append(f"{label} {value:g}: outside {lo:g}-{hi:g} (percentiles "
                       f"{RANGE_PERCENTILES[0]:g} to {RANGE_PERCENTILES[1]:g} of the training "
                       f"patients who received {modality})")
    return why


def outside_frame(envelope: dict | None, derived: pd.DataFrame, modalities) -> list[list]:
    """:func:`outside` for every row of ``derived`` and every modality, vectorised.

    Returns one list per row with one entry per modality (in the order given): a tuple of
    sentences, empty when the patient is inside the envelope (or none is stored)."""
    n = len(derived)
    out = [[()] * len(modalities) for _ in range(n)]
    if not envelope:
        return out
    levels = {col: [_level(v) for v in derived[col].astype(object).tolist()]
              for col in ORDINAL if col in derived}
    numbers = {col: pd.to_numeric(derived[col], errors="coerce").to_numpy(float)
               for col in CONTINUOUS if col in derived}
    for c, m in enumerate(modalities):
        entry = envelope.get(m)
        if entry is None:
            continue
        flagged = np.zeros(n, dtype=bool)
        for col, values in levels.items():
            if col in entry:
                counts = entry[col]
                flagged |= np.array([v is not None and counts.get(v, 0) < MIN_LEVEL_PATIENTS
                                     for v in values], dtype=bool)
        for col, values in numbers.items():
            if col in entry:
                lo, hi = entry[col]
                with np.errstate(invalid="ignore"):
                    flagged |= (values < lo) | (values > hi)
        for i in np.flatnonzero(flagged):
            row = {col: vals[i] for col, vals in levels.items()}
            row.update({col: vals[i] for col, vals in numbers.items()})
            out[i][c] = tuple(outside(envelope, m, row))
    return out
