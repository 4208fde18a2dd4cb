"""Ranking and wording of a recommendation: the candidates of each patient in order, the
one-paragraph message, rule hits and derived values as plain python for display.

Pure functions over the predictions and rule assessments; :class:`pipeline.recommender.api.
Recommender` composes them.
"""

from __future__ import annotations

import functools
import math
from types import MappingProxyType

import numpy as np
import pandas as pd

from features.contract import MODALITIES, MODALITY_LABELS
from pipeline.recommender.recommendation import REFER_MDT
from pipeline.recommender.request import OBJECTIVES


def rank_candidates(scores: np.ndarray, rmst: np.ndarray, assessments: list, why_not: list,
          has_model: list, support: np.ndarray | None = None) -> list[tuple[list, list, set]]:
    """Per row: (objective scores, candidate modality indices best first, unsupported indices).

    Candidates are not forbidden, not declined, affordable and have a model. When ``support``
    is given, candidates with enough data support rank before those without (whose predicted
    outcome is an extrapolation), so an unsupported modality is recommended only when no
    supported candidate remains. Then: objective (higher first; NaN last), RMST, contract order;
    vectorised over the rows.
    """
    n, M = scores.shape
    ok = np.array([not why and model for why, model in zip(why_not, has_model, strict=True)])
    cand = np.tile(ok, (n, 1))
    for i, a in enumerate(assessments):
        if a.forbidden:
            cand[i, [j for j, m in enumerate(MODALITIES) if m in a.forbidden]] = False
    unsupported = np.zeros((n, M), bool)
    if support is not None:
        has_supported = (cand & support).any(axis=1)
        unsupported = cand & ~support & has_supported[:, None]
    primary = np.where(np.isnan(scores), -np.inf, scores)
    secondary = np.where(np.isnan(rmst), -np.inf, rmst)
    order = np.lexsort((np.broadcast_to(np.arange(M), (n, M)), -secondary, -primary, unsupported),
                       axis=-1)
    ranked = np.take_along_axis(cand, order, axis=1)
    return [(row_scores, [j for j, keep in zip(row_order, row_keep, strict=True) if keep],
             set(np.flatnonzero(row_unsup).tolist()))
            for row_scores, row_order, row_keep, row_unsup in zip(
                scores.tolist(), order.tolist(), ranked.tolist(), unsupported, strict=True)]


@functools.lru_cache(maxsize=4096)
def hit_dict(hit) -> MappingProxyType:
    """A rule hit as a read-only mapping (cached: hits repeat across a cohort)."""
    d = hit.to_dict()
    d.pop("modalities", None)
    return MappingProxyType(d)


@functools.lru_cache(maxsize=64)
def describe_objective(objective: str, horizon: float) -> str:
    """The ranking objective in words, with the RMST horizon."""
    if objective == "rmst24":
        return f"restricted mean survival time to {horizon:g} months (RMST)"
    return OBJECTIVES[objective][0]


def summary_message(best, items, ranked, objective, scores, assessment, flags, horizon) -> str:
    if best is None:
        why = []
        for kind, test in (("forbidden", lambda a: a.eligibility == "forbidden"),
                           ("declined", lambda a: "declined" in a.excluded_because),
                           ("above the cost ceiling",
                            lambda a: "above_cost_ceiling" in a.excluded_because)):
            names = [a.modality for a in items if test(a)]
            if names:
                why.append(f"{kind}: {', '.join(names)}")
        return f"{REFER_MDT} ({'; '.join(why)})"
    desc, unit = describe_objective(objective, horizon), OBJECTIVES[objective][1]
    j = ranked[0]
    value = scores[j]
    shown = ("not reached" if not np.isfinite(value) else
             f"{value:.1f} months" if unit == "months" else f"{value:.2f}")
    why = f"not forbidden by {assessment.ruleset}, affordable, not declined, supported by data"
    if len(ranked) == 1:
        text = (f"{MODALITY_LABELS[best]} is the only candidate modality ({why}); predicted "
                f"{desc}: {shown}.")
    else:
        text = (f"{MODALITY_LABELS[best]} has the best predicted {desc} ({shown}) among the "
                f"{len(ranked)} candidate modalities ({why}).")
    decided = [f for f in flags if not f.get("missing")]
    if decided:
        text += (" Flagged for the MDT: " + ", ".join(f["rule_id"] for f in decided)
                 + " (see flags).")
    return text + missing_inputs_sentence(assessment)


def missing_inputs_sentence(assessment) -> str:
    """`` Fill in these N fields to settle M reviews (...): ...`` for the reviews that missing
    data alone caused (one sentence instead of one flag per undecided rule), or ``""``."""
    message = assessment.missing_inputs["message"]
    return f" {message[0].upper()}{message[1:]}." if message else ""


def derived_records(derived: pd.DataFrame) -> list[dict]:
    """Rows of a derived frame as python dicts (values for the SHAP factor display)."""
    cols = {}
    for c in derived.columns:
        s = derived[c]
        if isinstance(s.dtype, (pd.CategoricalDtype, pd.BooleanDtype)) or s.dtype == object:
            cols[c] = [None if v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v
                       for v in s.astype(object).tolist()]
        else:
            cols[c] = s.tolist()
    n = len(derived)
    return [{c: v[k] for c, v in cols.items()} for k in range(n)]
