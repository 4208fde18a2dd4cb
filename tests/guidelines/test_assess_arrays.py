"""``assess_arrays`` says what ``assess_frame`` says, row by row, as arrays (the rule layer of
the columnar bulk scoring)."""

from __future__ import annotations

import numpy as np
import pytest

from features.contract import MODALITIES
from guidelines import assess_arrays, assess_frame

GRADE = {"indicated": 0, "acceptable": 1, "not_indicated": 2}


@pytest.fixture(scope="module")
def derived():
    from features import derive
    from features.contract import PATIENT_FIELDS, validate_cohort
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    cohort, _ = simulate_cohort(1500, 17, SyntheticParams.default())
    frame = cohort[[c for c in PATIENT_FIELDS if c in cohort.columns and c != "patient_id"]]
    frame = frame.astype({"ecog": object, "albumin_g_l": object})
    frame.iloc[::7, frame.columns.get_loc("albumin_g_l")] = None  # undecided rules too
    return derive(validate_cohort(frame, require_outcomes=False, require_id=False).valid)


@pytest.mark.parametrize("ruleset", ["cnlc-2024", "bclc-2022"])
def test_arrays_equal_the_assessments(derived, ruleset):
    frame, arrays = assess_frame(derived, ruleset), assess_arrays(derived, ruleset)
    names = np.array(MODALITIES)
    counts = {"forbidden": 0, "not_indicated": 0, "review": 0}
    for i, a in enumerate(frame):
        assert set(names[arrays.forbidden[i]]) == a.forbidden
        assert set(names[arrays.review[i]]) == a.review
        assert arrays.stage[i] == a.stage
        assert set(names[arrays.preferred[i]]) == set(a.preferred)
        assert [GRADE[a.indication(m)] for m in MODALITIES] == arrays.indication[i].tolist()
        for j, m in enumerate(MODALITIES):
            ids = ", ".join(h.rule_id for h in a.hits if h.effect == "forbid"
                            and m in h.modalities)
            assert arrays.forbidden_by[i, j] == ids
        counts["forbidden"] += len(a.forbidden)
        counts["not_indicated"] += len(a.not_indicated)
        counts["review"] += len(a.review)
    assert all(v > 100 for v in counts.values()), counts  # every verdict exercised
    assert (arrays.stage == None).sum() < len(frame)  # noqa: E711
