"""Liver-function scores: Child-Pugh, ALBI / mALBI, MELD and MELD-Na.

Every function is vectorised: it takes numbers, numpy arrays or pandas Series (canonical or plain
contract columns) and returns one value per patient, as a pandas Series when an input is a Series
(index of the first Series; inputs are combined by position, not aligned), else as a numpy /
pandas array. Missing inputs (NaN, None, pd.NA) give a missing output, never an exception;
unknown category names raise :class:`features._inputs.FeatureInputError` (a ``ValueError``).

Units are the contract's SI units (bilirubin and creatinine umol/L, albumin g/L). For every score
higher means worse liver function.

Boundary convention for Child-Pugh (the published table reads "<34 = 1, 34-50 = 2, >50 = 3"):
the middle tier is closed at both ends, so a value exactly on a cut-off always scores the middle
(2) points: bilirubin 34 or 50 umol/L -> 2, albumin 28 or 35 g/L -> 2, INR 1.7 or 2.3 -> 2.
"""

from __future__ import annotations

import numpy as np

from features._inputs import as_float, as_level, index_of, typed
from features._logic import na_where as _na_where

ASCITES_POINTS = {"none": 1, "mild": 2, "moderate_severe": 3}
"""Child-Pugh points per ``ascites`` category (clinical-facts §4.1, Pugh 1973 [C])."""

ENCEPHALOPATHY_POINTS = {"none": 1, "grade_1_2": 2, "grade_3_4": 3}
"""Child-Pugh points per ``encephalopathy`` category (clinical-facts §4.1, Pugh 1973 [C])."""

CHILD_PUGH_CLASSES = ("A", "B", "C")
MALBI_GRADES = ("1", "2a", "2b", "3")

# clinical-facts §4.3 (Kamath 2001 via cliot [C]): mg/dL conversion factors.
BILIRUBIN_UMOL_PER_MG_DL = 17.1
CREATININE_UMOL_PER_MG_DL = 88.4

# --- kernels: float arrays in (NaN = missing), float arrays out ----------------------------

def _bilirubin_points(bili):
    return _na_where(np.where(bili < 34, 1.0, np.where(bili <= 50, 2.0, 3.0)), bili)


def _albumin_points(alb):
    return _na_where(np.where(alb > 35, 1.0, np.where(alb >= 28, 2.0, 3.0)), alb)


def _inr_points(inr):
    return _na_where(np.where(inr < 1.7, 1.0, np.where(inr <= 2.3, 2.0, 3.0)), inr)


def _child_pugh_points(bili, alb, inr, ascites_pts, enceph_pts):
    return (_bilirubin_points(bili) + _albumin_points(alb) + _inr_points(inr)
            + ascites_pts + enceph_pts)


def _child_pugh_class(points):
    """Class codes 0=A (5-6), 1=B (7-9), 2=C (10-15)."""
    return _na_where(np.where(points <= 6, 0.0, np.where(points <= 9, 1.0, 2.0)), points)


def _albi_score(bili, alb):
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.66 * np.log10(bili) - 0.085 * alb


def _albi_grade(score):
    s = np.round(score, 10)  # removes float noise only, so -2.60 computed from labs grades as 1
    return _na_where(np.where(s <= -2.60, 1.0, np.where(s <= -1.39, 2.0, 3.0)), score)


def _malbi_grade(score):
    """mALBI codes 0='1', 1='2a', 2='2b', 3='3'."""
    s = np.round(score, 10)
    code = np.where(s <= -2.60, 0.0, np.where(s <= -2.27, 1.0, np.where(s <= -1.39, 2.0, 3.0)))
    return _na_where(code, score)


def _meld(bili, creat, inr):
    b = np.maximum(bili / BILIRUBIN_UMOL_PER_MG_DL, 1.0)
    c = np.clip(creat / CREATININE_UMOL_PER_MG_DL, 1.0, 4.0)
    i = np.maximum(inr, 1.0)
    raw = 10.0 * (0.957 * np.log(c) + 0.378 * np.log(b) + 1.120 * np.log(i) + 0.643)
    return np.clip(raw, 6.0, 40.0)  # NaN passes through np.clip


def _meld_na(meld, sodium):
    na = np.clip(sodium, 125.0, 137.0)
    adjusted = meld + 1.32 * (137.0 - na) - 0.033 * meld * (137.0 - na)
    return _na_where(np.clip(np.where(meld > 11.0, adjusted, meld), 6.0, 40.0), sodium)


def _liver_inr(inr, on_anticoagulation):
    """The INR as a liver-function input: 1 (normal) where the patient is on anticoagulation."""
    value = as_float(inr, "inr")
    if on_anticoagulation is None:
        return value
    return np.where(as_float(on_anticoagulation, "on_anticoagulation") == 1.0, 1.0, value)


# --- public functions ---------------------------------------------------------------------

def bilirubin_mg_dl(bilirubin_umol_l):
    """Total bilirubin converted to mg/dL (umol/L / 17.1).

    clinical-facts §4.3 (conversion used for MELD, Kamath 2001 [C]).
    """
    return typed(as_float(bilirubin_umol_l, "bilirubin_umol_l") / BILIRUBIN_UMOL_PER_MG_DL,
                 "float", index_of(bilirubin_umol_l))


def creatinine_mg_dl(creatinine_umol_l):
    """Serum creatinine converted to mg/dL (umol/L / 88.4).

    clinical-facts §4.3 (conversion used for MELD, Kamath 2001 [C]).
    """
    return typed(as_float(creatinine_umol_l, "creatinine_umol_l") / CREATININE_UMOL_PER_MG_DL,
                 "float", index_of(creatinine_umol_l))


def child_pugh_component_points(bilirubin_umol_l, albumin_g_l, inr):
    """Child-Pugh points (1-3) of the three laboratory components.

    clinical-facts §4.1, Pugh 1973 [C]. Bilirubin <34 -> 1, 34-50 -> 2, >50 umol/L -> 3;
    albumin >35 -> 1, 28-35 -> 2, <28 g/L -> 3; INR <1.7 -> 1, 1.7-2.3 -> 2, >2.3 -> 3.
    Boundary convention: a value exactly on a cut-off (34, 50; 28, 35; 1.7, 2.3) scores 2.

    Returns
    -------
    dict
        ``{"bilirubin": ..., "albumin": ..., "inr": ...}``, each nullable ``Int64`` points.
    """
    idx = index_of(bilirubin_umol_l, albumin_g_l, inr)
    return {
        "bilirubin": typed(_bilirubin_points(as_float(bilirubin_umol_l, "bilirubin_umol_l")),
                           "int", idx),
        "albumin": typed(_albumin_points(as_float(albumin_g_l, "albumin_g_l")), "int", idx),
        "inr": typed(_inr_points(as_float(inr, "inr")), "int", idx),
    }


def child_pugh_points(bilirubin_umol_l, albumin_g_l, inr, ascites, encephalopathy,
                      on_anticoagulation=None):
    """Child-Pugh score: total points 5-15 (higher = worse liver function).

    clinical-facts §4.1, Pugh 1973 [C]. Sum of 1-3 points for each of bilirubin, albumin, INR,
    ascites (none / mild / moderate_severe) and encephalopathy (none / grade_1_2 / grade_3_4).
    Boundary convention: the middle tier is closed, so bilirubin 34 or 50 umol/L, albumin 28 or
    35 g/L and INR 1.7 or 2.3 each score 2 points.

    Parameters
    ----------
    bilirubin_umol_l, albumin_g_l, inr : array-like of float
        Total bilirubin (umol/L), albumin (g/L), INR (ratio).
    ascites, encephalopathy : array-like of str or Categorical
        Contract categories.
    on_anticoagulation : array-like of bool, optional
        Where true, the INR reflects the anticoagulant, not the liver: it scores 1 point
        (clinical-facts §2.12 [U]). Missing or false: the INR as measured.

    Returns
    -------
    nullable Int64 array or Series
        Points 5-15; missing when any input is missing.
    """
    idx = index_of(bilirubin_umol_l, albumin_g_l, inr, ascites, encephalopathy)
    pts = _child_pugh_points(
        as_float(bilirubin_umol_l, "bilirubin_umol_l"), as_float(albumin_g_l, "albumin_g_l"),
        _liver_inr(inr, on_anticoagulation), as_level(ascites, ASCITES_POINTS, "ascites"),
        as_level(encephalopathy, ENCEPHALOPATHY_POINTS, "encephalopathy"))
    return typed(pts, "int", idx)


def child_pugh_class(points):
    """Child-Pugh class from total points: A = 5-6, B = 7-9, C = 10-15.

    clinical-facts §4.1, Pugh 1973 [C]. C is the worst liver function.

    Returns
    -------
    ordered Categorical ("A" < "B" < "C") or Series of it; missing when points are missing.
    """
    return typed(_child_pugh_class(as_float(points, "child_pugh_points")), CHILD_PUGH_CLASSES,
                 index_of(points))


def albi_score(bilirubin_umol_l, albumin_g_l):
    """ALBI score = 0.66 x log10(bilirubin, umol/L) - 0.085 x albumin (g/L).

    clinical-facts §4.2, Johnson et al. J Clin Oncol 2015 [C]. Continuous, usually -4 to 0;
    higher (less negative) = worse liver function.
    """
    idx = index_of(bilirubin_umol_l, albumin_g_l)
    return typed(_albi_score(as_float(bilirubin_umol_l, "bilirubin_umol_l"),
                             as_float(albumin_g_l, "albumin_g_l")), "float", idx)


def albi_grade(score):
    """ALBI grade 1-3 from the ALBI score (higher = worse).

    clinical-facts §4.2, Johnson 2015 [C]: grade 1 <= -2.60; grade 2 > -2.60 to <= -1.39;
    grade 3 > -1.39. Boundary convention as published: exactly -2.60 is grade 1, exactly -1.39
    is grade 2. The score is rounded to 10 decimals first to remove floating-point noise only.

    Returns
    -------
    nullable Int64 array or Series (1, 2, 3).
    """
    return typed(_albi_grade(as_float(score, "albi_score")), "int", index_of(score))


def malbi_grade(score):
    """Modified ALBI grade "1", "2a", "2b", "3" (grade 2 split at -2.27; higher = worse).

    clinical-facts §4.2 (mALBI, IMbrave150 post-hoc PMC10601852 [C]; the -2.27 cut-off is [U]).
    "1" <= -2.60 < "2a" <= -2.27 < "2b" <= -1.39 < "3": a value exactly on a cut-off belongs to
    the better (lower) grade, as for ALBI.

    Returns
    -------
    ordered Categorical ("1" < "2a" < "2b" < "3") or Series of it.
    """
    return typed(_malbi_grade(as_float(score, "albi_score")), MALBI_GRADES, index_of(score))


def meld(bilirubin_umol_l, creatinine_umol_l, inr, on_anticoagulation=None):
    """Original MELD score (Kamath 2001), 6-40, higher = worse; not rounded.

    clinical-facts §4.3 [C]: 10 x (0.957 ln Cr + 0.378 ln Bili + 1.120 ln INR + 0.643) with Cr and
    Bili in mg/dL (umol/L / 88.4 and / 17.1); each input below 1 is set to 1, creatinine is capped
    at 4.0 mg/dL, and the result is bounded to 6-40. Dialysis (Cr set to 4.0) is not a contract
    field and is therefore not applied. Where ``on_anticoagulation`` is true the INR reflects the
    anticoagulant and is set to 1 (clinical-facts §2.12 [U]).
    """
    idx = index_of(bilirubin_umol_l, creatinine_umol_l, inr)
    return typed(_meld(as_float(bilirubin_umol_l, "bilirubin_umol_l"),
                       as_float(creatinine_umol_l, "creatinine_umol_l"),
                       _liver_inr(inr, on_anticoagulation)), "float", idx)


def meld_na(meld_score, sodium_mmol_l):
    """MELD-Na (OPTN/UNOS 2016), 6-40, higher = worse; NaN when sodium is missing.

    clinical-facts §4.3 (concept [C], exact formula [U]): for MELD > 11,
    MELD-Na = MELD + 1.32 x (137 - Na) - 0.033 x MELD x (137 - Na) with Na bounded to 125-137
    mmol/L; for MELD <= 11 MELD-Na equals MELD. Result bounded to 6-40.

    Parameters
    ----------
    meld_score : array-like of float
        Output of :func:`meld`.
    sodium_mmol_l : array-like of float
        Serum sodium (mmol/L), optional in the contract.
    """
    idx = index_of(meld_score, sodium_mmol_l)
    return typed(_meld_na(as_float(meld_score, "meld"), as_float(sodium_mmol_l, "sodium_mmol_l")),
                 "float", idx)
