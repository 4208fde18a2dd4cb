"""Ranking and wording of a recommendation: the candidates of each patient in order, the
one-paragraph message, rule hits and derived values as plain python for display.

Pure functions over the predictions and rule assessments: :func:`rank_matrix` is the one
ranking of ``recommend()``, ``recommend_batch()`` and the columnar ``recommend_table()``;
:class:`pipeline.recommender.runtime.Recommender` and :mod:`pipeline.recommender.bulk` compose
them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from features.contract import COST_TIERS, MODALITIES, MODALITY_LABELS
from pipeline.recommender.recommendation import REFER_MDT
from pipeline.recommender.request import OBJECTIVES


def indication_tiers(assessments: list, consider_not_indicated: bool = False) -> np.ndarray:
    """(n, M) tier of every modality: 0 indicated, 1 acceptable, 2 not indicated.

    With ``consider_not_indicated`` the not-indicated modalities join the acceptable tier (1).
    """
    tiers = np.ones((len(assessments), len(MODALITIES)), np.int8)
    index = {m: j for j, m in enumerate(MODALITIES)}
    for i, a in enumerate(assessments):
        if a.indicated:
            tiers[i, [index[m] for m in a.indicated]] = 0
        if a.not_indicated and not consider_not_indicated:
            tiers[i, [index[m] for m in a.not_indicated]] = 2
    return tiers


def exclusions(params, prefs, too_few_treated) -> list[tuple[str, ...]]:
    """Per modality (contract order) the reasons that exclude it for every patient of a
    request: ``declined`` (the preferences), ``above_cost_ceiling`` (``recommend.cost_tiers``
    above ``max_cost_tier``), ``too_few_treated`` (the bundle's training counts)."""
    ceiling = (COST_TIERS.index(prefs.max_cost_tier) if prefs.max_cost_tier
               else len(COST_TIERS))
    out = []
    for m in MODALITIES:
        why = []
        if m in prefs.excluded_modalities:
            why.append("declined")
        if COST_TIERS.index(params.cost_tiers[m]) > ceiling:
            why.append("above_cost_ceiling")
        if m in too_few_treated:
            why.append("too_few_treated")
        out.append(tuple(why))
    return out


def forbidden_matrix(assessments) -> np.ndarray:
    """(n, modalities) bool: modality forbidden by the rule assessment of each row."""
    out = np.zeros((len(assessments), len(MODALITIES)), bool)
    for i, a in enumerate(assessments):
        if a.forbidden:
            out[i, [j for j, m in enumerate(MODALITIES) if m in a.forbidden]] = True
    return out


@dataclass(frozen=True, eq=False)
class Ranking:
    """The ranking of a batch, as (n, modalities) arrays in contract order.

    ``order`` is a permutation of the modality indices per row and ``ranked`` says which of its
    positions hold a ranked modality: the candidates best first, then the ones set aside for low
    data support. ``codes`` is the bit mask of :data:`REASON_CODES` (bit k = ``REASON_CODES[k]``)
    saying why a modality is not a candidate: 0 for exactly the candidates.
    """

    scores: np.ndarray
    order: np.ndarray
    ranked: np.ndarray
    unsupported: np.ndarray
    aside: np.ndarray
    codes: np.ndarray

    @property
    def candidate(self) -> np.ndarray:
        return self.codes == 0

    def ranks(self) -> np.ndarray:
        """(n, modalities) int: 1 for the recommended modality, 2 for the runner-up ...; 0 for
        a modality that is not ranked (neither a candidate nor set aside)."""
        position = np.cumsum(self.ranked, axis=1) * self.ranked
        out = np.zeros_like(position)
        np.put_along_axis(out, self.order, position, axis=1)
        return out

    def at_rank(self, k: int) -> np.ndarray:
        """(n,) index of the modality ranked ``k`` (1: the recommended one, 2: the runner-up),
        -1 where fewer than ``k`` are ranked."""
        hit = self.ranks() == k
        return np.where(hit.any(axis=1), hit.argmax(axis=1), -1)

    def plans(self) -> list[tuple[list, list, set, set]]:
        """Per row (objective scores, ranked indices, unsupported indices, set-aside indices),
        as python containers (the per-patient Recommendation assembly)."""
        return [(row_scores, [j for j, keep in zip(row_order, row_keep, strict=True) if keep],
                 set(np.flatnonzero(row_unsup).tolist()), set(np.flatnonzero(row_aside).tolist()))
                for row_scores, row_order, row_keep, row_unsup, row_aside in zip(
                    self.scores.tolist(), self.order.tolist(), self.ranked.tolist(),
                    self.unsupported, self.aside, strict=True)]


def rank_matrix(scores: np.ndarray, rmst: np.ndarray, forbidden: np.ndarray,
                tiers: np.ndarray, why_not: list, has_model,
                support: np.ndarray | None = None) -> Ranking:
    """Rank the modalities of every row (the one implementation behind ``recommend()``,
    ``recommend_batch()`` and the columnar ``recommend_table()``).

    Candidates are not ``forbidden`` (n, modalities), not of indication tier 2 (``tiers``, see
    :func:`indication_tiers`: 0 indicated, 1 acceptable, 2 not indicated and not considered),
    not excluded by ``why_not`` (declined, above the cost ceiling, too few treated: per
    modality) and have a model. Indicated candidates rank before acceptable ones, whatever the
    predictions. When ``support`` is given, a modality whose propensity is below the threshold
    is ``unsupported`` (its predicted outcome is an extrapolation); while a supported candidate
    of the same indication tier remains, the unsupported ones of that tier are ``set aside``:
    not candidates, ordered after the tier's candidates (the fallback if they were declined).
    When none of a tier is supported, its unsupported ones are its candidates. ``order``: by
    tier (indicated, acceptable), then the candidates before the set-aside ones, then by
    objective (higher first; NaN last), RMST, contract order. Vectorised over the rows.
    """
    n, M = scores.shape
    has_model = np.asarray(has_model, bool)
    ok = np.array([not why for why in why_not]) & has_model
    cand = ok[None, :] & ~forbidden & (tiers < 2)
    unsupported = aside = np.zeros((n, M), bool)
    if support is not None:
        unsupported = cand & ~support
        covered = np.zeros((n, M), bool)
        for t in (0, 1):
            in_tier = tiers == t
            covered |= in_tier & (cand & support & in_tier).any(axis=1)[:, None]
        aside = unsupported & covered
    primary = np.where(np.isnan(scores), -np.inf, scores)
    secondary = np.where(np.isnan(rmst), -np.inf, rmst)
    order = np.lexsort((np.broadcast_to(np.arange(M), (n, M)), -secondary, -primary, aside,
                        tiers), axis=-1)
    ranked = np.take_along_axis(cand, order, axis=1)
    bit = {c: 1 << k for k, c in enumerate(REASON_CODES)}
    fixed = np.array([sum(bit[c] for c in why) | (0 if model else bit["no_model"])
                      for why, model in zip(why_not, has_model, strict=True)], np.int64)
    codes = (np.where(forbidden, bit["forbidden"], 0) | fixed[None, :]
             | np.where(tiers == 2, bit["not_indicated"], 0)
             | np.where(aside, bit["low_data_support"], 0))
    return Ranking(scores, order, ranked, unsupported, aside, codes)


REASON_CODES = ("forbidden", "not_indicated", "declined", "above_cost_ceiling", "no_model",
                "too_few_treated", "low_data_support")
"""Why a modality is not a candidate, in the order they are listed."""


@functools.lru_cache(maxsize=256)
def reason_codes(bits: int) -> tuple[str, ...]:
    """The :data:`REASON_CODES` of a bit mask of :attr:`Ranking.codes`, in their order."""
    return tuple(c for k, c in enumerate(REASON_CODES) if bits >> k & 1)


@functools.lru_cache(maxsize=4096)
def _reason(code: str, text: str) -> MappingProxyType:
    return MappingProxyType({"code": code, "reason": text})


def not_candidate_reasons(codes, *, ruleset: str = "", forbid_ids=(), cost_tier: str = "",
                          ceiling: str | None = None, propensity: float | None = None,
                          min_propensity: float | None = None, n_treated: int | None = None,
                          min_treated: int | None = None, not_indicated_because: str = ""
                          ) -> tuple:
    """One read-only ``{"code", "reason"}`` per code of :data:`REASON_CODES` in ``codes``:
    the machine code and a sentence for the reader."""
    out = []
    for code in REASON_CODES:
        if code not in codes:
            continue
        if code == "forbidden":
            text = f"forbidden by {ruleset}" + (f" ({', '.join(forbid_ids)})" if forbid_ids
                                                else "")
        elif code == "not_indicated":
            text = (f"not indicated by {ruleset}"
                    + (f" ({not_indicated_because})" if not_indicated_because else "")
                    + "; recommended only if the request asks to consider not-indicated options "
                    "(consider_not_indicated)")
        elif code == "declined":
            text = "declined by the patient (excluded_modalities)"
        elif code == "above_cost_ceiling":
            text = (f"cost tier {cost_tier} is above the patient's ceiling "
                    f"(max_cost_tier {ceiling})")
        elif code == "no_model":
            text = ("no patient of the training data received it: the model cannot predict "
                    "its outcomes")
        elif code == "too_few_treated":
            text = (f"only {n_treated} training patients received it (fewer than "
                    f"recommend.min_treated_patients, {min_treated}): its predicted outcomes "
                    "rest on too few patients")
        else:
            shown = "unknown" if propensity is None or propensity != propensity else \
                f"{propensity:.3f}"
            text = (f"estimated propensity {shown} is below "
                    f"recommend.min_propensity ({min_propensity:g}); few training patients "
                    "like this one received it, so its prediction extrapolates (set aside "
                    "while a supported candidate remains)")
        out.append(_reason(code, text))
    return tuple(out)


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


def summary_message(best, items, ranked, objective, scores, assessment, flags, horizon,
                    min_propensity: float | None = None, runner: str | None = None,
                    consider_not_indicated: bool = False) -> str:
    """The recommendation in one paragraph: what, why, and what was set aside.

    ``ranked``: the candidates (indices into ``items``), best first. ``min_propensity`` is the
    data-support threshold when the guard is on (None: off, and the message claims no data
    support). ``runner``: the runner-up, named when it was set aside.
    """
    if best is None:
        why = []
        for kind, test in (("forbidden", lambda a: a.eligibility == "forbidden"),
                           ("not indicated", lambda a: "not_indicated" in a.excluded_because),
                           ("declined", lambda a: "declined" in a.excluded_because),
                           ("above the cost ceiling",
                            lambda a: "above_cost_ceiling" in a.excluded_because),
                           ("no model", lambda a: "no_model" in a.excluded_because),
                           ("too few treated in the training data",
                            lambda a: "too_few_treated" in a.excluded_because)):
            names = [a.modality for a in items if test(a)]
            if names:
                why.append(f"{kind}: {', '.join(names)}")
        return f"{REFER_MDT} ({'; '.join(why)})"
    desc, unit = describe_objective(objective, horizon), OBJECTIVES[objective][1]
    j = ranked[0]
    value = scores[j]
    shown = ("not reached" if not np.isfinite(value) else
             f"{value:.1f} months" if unit == "months" else f"{value:.2f}")
    guarded = min_propensity is not None
    grade = items[j].indication
    pool = [k for k in ranked if items[k].indication == grade
            or (grade != "indicated" and items[k].indication != "indicated")]
    supported = guarded and all(items[k].data_support for k in pool)
    where = f"stage {assessment.stage} of {assessment.ruleset}"
    kind = {"indicated": f"indicated at {where}",
            "acceptable": f"acceptable alternatives at {where}"}.get(
        grade, f"acceptable or considered alternatives at {where}")
    why = "not forbidden, affordable, not declined"
    if supported:
        why += ", supported by data"
    lead = ""
    if grade != "indicated":
        lead = "No indicated modality is a candidate for this patient. "
    if len(pool) == 1:
        text = (f"{lead}{MODALITY_LABELS[best]} is the only candidate among the modalities "
                f"{kind} ({why}); predicted {desc}: {shown}.")
    else:
        text = (f"{lead}{MODALITY_LABELS[best]} has the best predicted {desc} ({shown}) among the "
                f"{len(pool)} candidate modalities {kind} ({why}).")
    if grade == "not_indicated":
        text += (f" {best} is not indicated for this patient "
                 f"({assessment.not_indicated_because(best)}): it is recommended only because "
                 "the request asked to consider not-indicated options (consider_not_indicated).")
    others = len(ranked) - len(pool)
    if others > 0:
        text += (f" {others} acceptable alternative{' ranks' if others == 1 else 's rank'} "
                 "after the indicated options.")
    skipped = [a.modality for a in items if "not_indicated" in a.excluded_because]
    if skipped:
        text += (f" Not indicated, so not considered: {', '.join(skipped)} "
                 "(consider_not_indicated to consider them).")
    considered = [a.modality for a in items if a.indication == "not_indicated"
                  and a.eligibility != "forbidden" and consider_not_indicated]
    if considered and grade != "not_indicated":
        text += (" Not-indicated options considered at the request's asking: "
                 f"{', '.join(considered)}.")
    aside = [a.modality for a in items if "low_data_support" in a.excluded_because]
    if aside:
        text += (f" Set aside for low data support (estimated propensity below "
                 f"{min_propensity:g}: the prediction would extrapolate): {len(aside)} "
                 f"modalit{'y' if len(aside) == 1 else 'ies'}, {', '.join(aside)}.")
        if runner in aside:
            text += (f" The runner-up, {runner}, is the best of them (the recommendation if "
                     f"{best} were declined).")
    few = [a.modality for a in items if "too_few_treated" in a.excluded_because]
    if few:
        text += (" Not considered: too few training patients received "
                 f"{', '.join(few)} (recommend.min_treated_patients).")
    if guarded and not supported:
        text += (f" No candidate is supported by data (estimated propensity below "
                 f"{min_propensity:g} for each): the predictions extrapolate beyond the "
                 "treated patients.")
    decided = [f for f in flags if not f.get("missing")]
    if decided:
        text += (" Flagged for the MDT: " + ", ".join(f["rule_id"] for f in decided)
                 + " (see flags).")
    required = items[j].required_actions
    if required:
        text += (" Required with it: " + "; ".join(
            r["message"] if not r.get("missing") else f"check {', '.join(r['missing'])}"
            for r in required) + " (see required_actions).")
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
