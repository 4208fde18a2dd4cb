"""Transplant criteria and HCC scores: definitions, boundaries and missing-input behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import tumour

NO, YES = [False], [True]


def _one(result):
    value = result[0]
    return None if value is pd.NA else bool(value) if isinstance(value, (bool, np.bool_)) else value


# --- invasion summaries ------------------------------------------------------------------

@pytest.mark.parametrize(("pvtt", "hv", "ivc", "expected"), [
    ("none", None, None, False), ("vp1", None, None, True), ("vp4", False, False, True),
    ("none", True, None, True), ("none", None, True, True), ("none", False, False, False)])
def test_macrovascular_invasion(pvtt, hv, ivc, expected):
    assert _one(tumour.macrovascular_invasion([pvtt], [hv], [ivc])) is expected


def test_missing_optional_findings_count_as_absent():
    assert _one(tumour.macrovascular_invasion(["none"])) is False
    assert _one(tumour.extrahepatic_disease([False], [None])) is False
    assert _one(tumour.extrahepatic_disease([False], [True])) is True
    assert _one(tumour.extrahepatic_disease([True])) is True


def test_pvtt_grade():
    assert list(tumour.pvtt_grade(["none", "vp1", "vp2", "vp3", "vp4"])) == [0, 1, 2, 3, 4]


# --- Milan / UCSF / up-to-seven / Metroticket (clinical-facts §2.2) -----------------------

@pytest.mark.parametrize(("count", "size", "expected"), [
    (1, 5.0, True), (1, 5.01, False), (2, 3.0, True), (3, 3.0, True), (3, 3.01, False),
    (4, 1.0, False), (1, 0.5, True)])
def test_milan_at_every_boundary(count, size, expected):
    assert _one(tumour.within_milan([count], [size], NO, NO)) is expected


def test_milan_requires_no_invasion_or_spread():
    assert _one(tumour.within_milan([1], [2.0], YES, NO)) is False
    assert _one(tumour.within_milan([1], [2.0], NO, YES)) is False


@pytest.mark.parametrize(("count", "size", "total", "expected"), [
    (1, 6.5, None, True), (1, 6.51, None, False),
    (3, 4.5, 8.0, True), (3, 4.5, 8.01, False), (2, 4.51, 5.0, False), (4, 2.0, 8.0, False),
    # total missing: decided when possible, otherwise unknown
    (2, 4.0, None, True),   # 2 x 4.0 = 8 <= 8: total surely within
    (3, 2.5, None, True),   # 3 x 2.5 = 7.5
    (3, 4.0, None, None),   # could be 4 + 0.5 + 0.5 or 4 + 4 + 4
    (2, 5.0, None, False),  # largest > 4.5 decides without the total
])
def test_ucsf_including_missing_total(count, size, total, expected):
    assert _one(tumour.within_ucsf([count], [size], [total], NO, NO)) is expected


def test_ucsf_unknown_total_still_false_with_invasion():
    assert _one(tumour.within_ucsf([3], [4.0], [None], YES, NO)) is False


@pytest.mark.parametrize(("count", "size", "expected"), [
    (1, 6.0, True), (2, 5.0, True), (3, 4.0, True), (3, 4.01, False), (7, 0.5, False)])
def test_up_to_seven_boundary(count, size, expected):
    assert _one(tumour.within_up_to_seven([count], [size], NO, NO)) is expected


@pytest.mark.parametrize(("afp", "count", "size", "expected"), [
    (199.9, 1, 6.0, True), (199.9, 1, 6.01, False),      # up-to-7
    (200.0, 1, 4.0, True), (200.0, 1, 4.01, False),      # AFP 200 -> up-to-5
    (399.9, 2, 3.0, True), (400.0, 2, 3.0, False),       # AFP 400 -> up-to-4
    (400.0, 1, 3.0, True), (1000.0, 1, 3.0, True),       # 1000 still in the 400-1000 tier
    (1000.1, 1, 1.0, False),                             # AFP > 1000 -> outside
])
def test_metroticket_afp_tiers(afp, count, size, expected):
    assert _one(tumour.within_metroticket([count], [size], [afp], NO, NO)) is expected


def test_metroticket_requires_no_invasion():
    assert _one(tumour.within_metroticket([1], [2.0], [10.0], YES, NO)) is False


# --- tumour burden score, AFP model, CLIP, HAP (clinical-facts §2.2, §4.4) ----------------

def test_tumor_burden_score():
    # 3-4-5 triangle: largest 4 cm, 3 nodules -> 5.
    assert tumour.tumor_burden_score([3], [4.0])[0] == pytest.approx(5.0)


@pytest.mark.parametrize(("count", "size", "afp", "points"), [
    (1, 3.0, 100.0, 0), (1, 3.01, 100.0, 1), (1, 6.0, 100.0, 1), (1, 6.01, 100.0, 4),
    (3, 1.0, 100.0, 0), (4, 1.0, 100.0, 2), (1, 1.0, 100.01, 2), (1, 1.0, 1000.0, 2),
    (1, 1.0, 1000.01, 3), (5, 8.0, 5000.0, 9)])
def test_afp_model_points_at_every_boundary(count, size, afp, points):
    assert int(tumour.afp_model_score([count], [size], [afp])[0]) == points


def test_afp_model_high_risk_is_strictly_above_two():
    assert list(tumour.afp_model_high_risk([0, 2, 3, 9])) == [False, False, True, True]


@pytest.mark.parametrize(("cp", "count", "pct", "afp", "pvtt", "score"), [
    (5, 1, 20.0, 10.0, "none", 0),
    (7, 1, 20.0, 10.0, "none", 1),       # Child-Pugh B
    (10, 1, 20.0, 10.0, "none", 2),      # Child-Pugh C
    (5, 2, 50.0, 10.0, "none", 1),       # multinodular, exactly 50 % counts as <= 50 %
    (5, 1, 50.1, 10.0, "none", 2),       # > 50 %
    (5, 1, 20.0, 400.0, "none", 1),      # AFP exactly 400 scores 1
    (5, 1, 20.0, 399.9, "vp2", 1),       # portal-vein thrombosis
    (12, 4, 80.0, 9000.0, "vp4", 6),     # maximum
])
def test_clip(cp, count, pct, afp, pvtt, score):
    assert int(tumour.clip_score([cp], [count], [pct], [afp], [pvtt])[0]) == score


def test_clip_missing_without_liver_involvement():
    assert tumour.clip_score([5], [1], [None], [10.0], ["none"]).isna()[0]


@pytest.mark.parametrize(("alb", "afp", "bili", "size", "score", "cls"), [
    (36.0, 400.0, 17.0, 7.0, 0, "A"),    # every value exactly on its cut-off scores 0
    (35.9, 400.0, 17.0, 7.0, 1, "B"),
    (35.9, 400.1, 17.0, 7.0, 2, "C"),
    (35.9, 400.1, 17.1, 7.0, 3, "D"),
    (35.9, 400.1, 17.1, 7.1, 4, "D"),
])
def test_hap(alb, afp, bili, size, score, cls):
    out = tumour.hap_score([alb], [afp], [bili], [size])
    assert int(out[0]) == score
    assert tumour.hap_class(out)[0] == cls
