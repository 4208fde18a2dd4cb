"""AFP and HBV DNA transforms and viraemia flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import markers


def test_log10_afp_with_floor():
    out = markers.log10_afp([0.0, 0.5, 1.0, 400.0, 1e7, np.nan])
    assert out[:5] == pytest.approx([0.0, 0.0, 0.0, np.log10(400.0), 7.0])
    assert np.isnan(out[5])


def test_log10_hbv_dna_with_floor_and_missing():
    out = markers.log10_hbv_dna(pd.Series([0.0, 2000.0, None]))
    assert out.iloc[0] == pytest.approx(1.0)
    assert out.iloc[1] == pytest.approx(np.log10(2000.0))
    assert np.isnan(out.iloc[2])


def test_viremia_threshold_is_strict():
    out = markers.hbv_viremia([1999.0, 2000.0, 2000.1, None])
    assert list(out[:3]) == [False, False, True]
    assert out.isna()[3]


@pytest.mark.parametrize(("dna", "antiviral", "expected"), [
    (5e4, False, True), (5e4, True, False), (100.0, False, False), (100.0, None, False),
    (5e4, None, None), (None, False, None)])
def test_viremia_untreated(dna, antiviral, expected):
    value = markers.hbv_viremia_untreated([dna], [antiviral])[0]
    assert (None if value is pd.NA else bool(value)) is expected
