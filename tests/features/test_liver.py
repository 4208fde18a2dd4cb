"""Child-Pugh, ALBI / mALBI, MELD and MELD-Na: worked examples and every published boundary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features import liver
from features._inputs import FeatureInputError


def _cp(bili=15.0, alb=40.0, inr=1.0, ascites="none", enceph="none"):
    return int(liver.child_pugh_points([bili], [alb], [inr], [ascites], [enceph])[0])


# --- Child-Pugh (clinical-facts §4.1) -----------------------------------------------------

@pytest.mark.parametrize(("bili", "points"), [
    (33.9, 1), (34.0, 2), (42.0, 2), (50.0, 2), (50.1, 3), (1.0, 1), (1000.0, 3)])
def test_bilirubin_points_at_every_boundary(bili, points):
    assert int(liver.child_pugh_component_points([bili], [40.0], [1.0])["bilirubin"][0]) == points


@pytest.mark.parametrize(("alb", "points"), [
    (35.1, 1), (35.0, 2), (30.0, 2), (28.0, 2), (27.9, 3), (60.0, 1), (10.0, 3)])
def test_albumin_points_at_every_boundary(alb, points):
    assert int(liver.child_pugh_component_points([15.0], [alb], [1.0])["albumin"][0]) == points


@pytest.mark.parametrize(("inr", "points"), [
    (1.69, 1), (1.7, 2), (2.0, 2), (2.3, 2), (2.31, 3), (0.7, 1), (10.0, 3)])
def test_inr_points_at_every_boundary(inr, points):
    assert int(liver.child_pugh_component_points([15.0], [40.0], [inr])["inr"][0]) == points


@pytest.mark.parametrize(("ascites", "enceph", "extra"), [
    ("none", "none", 0), ("mild", "none", 1), ("moderate_severe", "none", 2),
    ("none", "grade_1_2", 1), ("none", "grade_3_4", 2), ("moderate_severe", "grade_3_4", 4)])
def test_clinical_components(ascites, enceph, extra):
    assert _cp(ascites=ascites, enceph=enceph) == 5 + extra


def test_worked_examples_and_classes():
    # Normal labs, no ascites or HE: the minimum, Child-Pugh A5.
    assert _cp() == 5
    # Bilirubin 40 (2) + albumin 30 (2) + INR 1.5 (1) + mild ascites (2) + no HE (1) = 8 -> B.
    assert _cp(40.0, 30.0, 1.5, "mild", "none") == 8
    # Every component at its worst: 15 -> C.
    assert _cp(60.0, 25.0, 2.5, "moderate_severe", "grade_3_4") == 15
    classes = liver.child_pugh_class([5, 6, 7, 9, 10, 15])
    assert list(classes) == ["A", "A", "B", "B", "C", "C"]
    assert classes.ordered


def test_child_pugh_boundary_triplet_sums_to_middle_tier():
    # All three labs exactly on the lower cut-off score 2 each (closed middle tier).
    assert _cp(34.0, 35.0, 1.7) == 8
    assert _cp(50.0, 28.0, 2.3) == 8


def test_child_pugh_series_keeps_index_and_canonical_categoricals():
    idx = pd.Index([10, 20])
    asc = pd.Series(pd.Categorical(["none", "mild"], categories=["none", "mild",
                                                                 "moderate_severe"]), index=idx)
    enc = pd.Series(["none", None], index=idx, dtype=object)
    out = liver.child_pugh_points(pd.Series([15.0, 40.0], index=idx), 40.0, 1.0, asc, enc)
    assert isinstance(out, pd.Series) and list(out.index) == [10, 20]
    assert out.dtype == "Int64"
    assert out.iloc[0] == 5 and out.isna().iloc[1]  # missing encephalopathy -> missing score


def test_unknown_category_raises_with_field_name():
    with pytest.raises(FeatureInputError, match="ascites: expected one of none, mild"):
        liver.child_pugh_points([15.0], [40.0], [1.0], ["severe"], ["none"])


def test_category_matching_ignores_case_and_blanks():
    assert int(liver.child_pugh_points([15.0], [40.0], [1.0], [" Mild "], ["NONE"])[0]) == 6


# --- ALBI and mALBI (clinical-facts §4.2) --------------------------------------------------

def test_albi_worked_examples():
    # Bilirubin 10 umol/L (log10 = 1), albumin 40 g/L: 0.66 - 3.40 = -2.74 -> grade 1.
    assert liver.albi_score([10.0], [40.0])[0] == pytest.approx(-2.74)
    # Bilirubin 100, albumin 30: 1.32 - 2.55 = -1.23 -> grade 3.
    assert liver.albi_score([100.0], [30.0])[0] == pytest.approx(-1.23)
    # Bilirubin 20, albumin 35: 0.66 x 1.30103 - 2.975 = -2.1163 -> grade 2, mALBI 2b.
    score = liver.albi_score([20.0], [35.0])
    assert score[0] == pytest.approx(-2.11632, abs=1e-5)
    assert int(liver.albi_grade(score)[0]) == 2
    assert liver.malbi_grade(score)[0] == "2b"


@pytest.mark.parametrize(("score", "grade", "malbi"), [
    (-3.5, 1, "1"), (-2.60, 1, "1"), (-2.5999, 2, "2a"), (-2.27, 2, "2a"), (-2.2699, 2, "2b"),
    (-1.39, 2, "2b"), (-1.3899, 3, "3"), (0.0, 3, "3")])
def test_albi_grade_at_every_boundary(score, grade, malbi):
    assert int(liver.albi_grade([score])[0]) == grade
    assert liver.malbi_grade([score])[0] == malbi


def test_albi_grade_ignores_float_noise_at_boundary():
    # A score that is -2.60 up to rounding error still grades 1.
    assert int(liver.albi_grade([-2.60 + 1e-13])[0]) == 1


def test_albi_missing_input_gives_missing_grade():
    out = liver.albi_grade(liver.albi_score([np.nan, 10.0], [40.0, 40.0]))
    assert out.isna()[0] and out[1] == 1


# --- MELD and MELD-Na (clinical-facts §4.3) ------------------------------------------------

def _meld(bili_mg, cr_mg, inr):
    return float(liver.meld([bili_mg * 17.1], [cr_mg * 88.4], [inr])[0])


def test_meld_all_normal_is_the_constant():
    # Bilirubin, creatinine and INR of 1: 10 x 0.643 = 6.43 (the published minimum, "MELD 6").
    assert _meld(1.0, 1.0, 1.0) == pytest.approx(6.43)


def test_meld_worked_example():
    # Bilirubin 3 mg/dL, creatinine 2 mg/dL, INR 2 (Kamath 2001 formula, clinical-facts §4.3):
    expected = 10 * (0.957 * math.log(2) + 0.378 * math.log(3) + 1.120 * math.log(2) + 0.643)
    assert _meld(3.0, 2.0, 2.0) == pytest.approx(expected)
    assert expected == pytest.approx(24.980, abs=1e-3)


def test_meld_floors_caps_and_range():
    # Values below 1 are set to 1.
    assert _meld(0.3, 0.5, 0.8) == pytest.approx(6.43)
    # Creatinine is capped at 4 mg/dL.
    assert _meld(1.0, 8.0, 1.0) == pytest.approx(_meld(1.0, 4.0, 1.0))
    # The score is bounded to 40.
    assert _meld(50.0, 4.0, 9.0) == 40.0


def test_meld_unit_conversion():
    assert liver.bilirubin_mg_dl([34.2])[0] == pytest.approx(2.0)
    assert liver.creatinine_mg_dl([88.4])[0] == pytest.approx(1.0)


def test_meld_na_formula_bounds_and_missing_sodium():
    m = np.array([20.0, 20.0, 20.0, 10.0, 20.0])
    na = np.array([130.0, 120.0, 140.0, 125.0, np.nan])
    out = liver.meld_na(m, na)
    assert out[0] == pytest.approx(20 + 1.32 * 7 - 0.033 * 20 * 7)
    assert out[1] == pytest.approx(20 + 1.32 * 12 - 0.033 * 20 * 12)  # Na bounded to 125
    assert out[2] == pytest.approx(20.0)  # Na bounded to 137: no change
    assert out[3] == pytest.approx(10.0)  # MELD <= 11: MELD-Na = MELD
    assert np.isnan(out[4])  # sodium missing -> NaN
    assert liver.meld_na([11.0], [125.0])[0] == pytest.approx(11.0)  # boundary: MELD 11 unchanged
    assert liver.meld_na([40.0], [125.0])[0] == pytest.approx(40.0)  # stays within 6-40
