"""BCLC 2022 and CNLC staging: the decision tables of clinical-facts §1.1 and §1.2."""

from __future__ import annotations

import pytest

from features import staging


def _stages(ecog=0, cp=5, mvi=False, ehs=False, count=1, size=2.0):
    args = ([ecog], [cp], [mvi], [ehs], [count], [size])
    return staging.bclc_stage(*args)[0], staging.cnlc_stage(*args)[0]


@pytest.mark.parametrize(("kw", "bclc", "cnlc"), [
    ({"size": 1.5}, "0", "Ia"),
    ({"size": 2.0}, "0", "Ia"),               # exactly 2 cm single -> BCLC 0
    ({"size": 2.01}, "A", "Ia"),
    ({"size": 5.0}, "A", "Ia"),               # exactly 5 cm single -> CNLC Ia
    ({"size": 5.01}, "A", "Ib"),
    ({"size": 12.0}, "A", "Ib"),              # single, any size -> BCLC A
    ({"count": 2, "size": 3.0}, "A", "Ib"),   # exactly 3 cm, 2-3 nodules
    ({"count": 3, "size": 3.0}, "A", "Ib"),
    ({"count": 2, "size": 3.01}, "B", "IIa"),
    ({"count": 3, "size": 8.0}, "B", "IIa"),
    ({"count": 4, "size": 1.0}, "B", "IIb"),
    ({"count": 12, "size": 9.0}, "B", "IIb"),
    ({"mvi": True}, "C", "IIIa"),
    ({"ehs": True}, "C", "IIIb"),
    ({"mvi": True, "ehs": True}, "C", "IIIb"),
    ({"ecog": 1}, "C", "Ia"),                 # BCLC: PS 1-2 -> C; CNLC keeps PS 0-2 in I-III
    ({"ecog": 2, "count": 4}, "C", "IIb"),
    ({"ecog": 3}, "D", "IV"),
    ({"ecog": 4, "mvi": True}, "D", "IV"),
    ({"cp": 10}, "D", "IV"),                  # Child-Pugh C
    ({"cp": 9, "count": 4}, "B", "IIb"),      # Child-Pugh B staged by tumour
    ({"cp": 9, "ehs": True}, "C", "IIIb"),
])
def test_stage_table(kw, bclc, cnlc):
    assert _stages(**kw) == (bclc, cnlc)


def test_stage_outputs_are_ordered_categoricals():
    out = staging.bclc_stage([0, 3], [5, 5], [False, False], [False, False], [1, 1], [1.0, 1.0])
    assert out.ordered and list(out.categories) == list(staging.BCLC_STAGES)
    assert out[0] < out[1]
    assert list(staging.cnlc_stage([0], [5], [False], [False], [1], [1.0]).categories) == list(
        staging.CNLC_STAGES)


def test_missing_required_input_gives_missing_stage():
    out = staging.bclc_stage([None], [5], [False], [False], [1], [1.0])
    assert out.isna()[0]
