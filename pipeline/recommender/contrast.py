"""Why the recommendation over the runner-up, in months, and when the two are equivalent.

**Contrast in months** (:func:`contrast_block`). SHAP values live on the survival model's margin
(log hazard ratio for Cox). For modality ``a`` the margin is ``m_a = base_a + sum_g phi_a,g``
(groups ``g`` of model columns summed back to contract fields, the one-hot modality columns to
``modality``) and the predicted RMST is ``R_a(m_a)``, with ``R_a`` the map from margin to RMST
under ``a``'s own baseline hazard (:meth:`models.ModalityOutcomeModel.rmst_at_margin`).
The RMST is not linear in the margin, so each arm's margin contributions are scaled by the
secant slope of ``R_a`` between the base value and the patient's margin,
``s_a = (R_a(m_a) - R_a(base_a)) / (m_a - base_a)`` (the derivative when they coincide): factor
``g`` contributes ``c_g = s_a phi_a,g - s_b phi_b,g`` months to the contrast, and exactly

    RMST_a - RMST_b = [R_a(base_a) - R_b(base_b)] + c_modality + sum_{g != modality} c_g.

The approximation: within one arm every factor gets the same months-per-log-hazard rate (the
average over the patient's whole margin path), so a factor's months depend a little on the
others (on a steep part of the curve every factor counts more); the sum is exact.
The first two terms are the **main effect**: the difference the modality itself makes for the
average training patient plus the modality indicator's own contribution, stated once as "the
average difference between the two options for patients like this". The remaining ``c_g`` are
the patient-specific factors.

**Noise.** The same decomposition is computed with each bootstrap member's refit. A factor is
*within noise* when fewer than :data:`SIGN_AGREEMENT` of the members give it the sign of the
full fit, or when its size is below the members' standard deviation of it. Factors within
noise are not listed (their fields are named in ``noise_factors``); they stay in
``other_factors``, so the parts still add up.

**Equivalence** (:func:`equivalence`). The recommendation and the runner-up are called
equivalent when the predicted RMST difference is below :data:`EQUIVALENT_MONTHS`, or when the
bootstrap members do not agree which is better (the paired difference's interval at the
recommender's interval level contains 0). The paired difference is used rather than the overlap
of the two RMST intervals, whose shared noise (the same patient, the same refits) makes
overlapping marginal intervals common even when every refit ranks the two alike; the marginal
overlap is reported too (``interval_overlap``). When equivalent, the output names what separates
them: the guideline's preference order, then the cost tier (the model has no toxicity data).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import MODALITIES, MODALITY_LABELS
from pipeline.recommender.predictions import plain_value

MODALITY_GROUP = "modality"
MAIN_EFFECT_TEXT = "the average difference between the two options for patients like this"
SIGN_AGREEMENT = 0.8
"""Share of bootstrap members that must agree with the full fit's sign of a factor."""
EQUIVALENT_MONTHS = 0.5
"""RMST differences below this (months to the horizon) are clinically equivalent."""
METHOD = ("SHAP margin contributions converted to months of RMST with each option's secant "
          "slope (RMST per margin unit between the base value and the patient's margin); "
          "the parts add up to the predicted RMST difference")


def _months(model, modality, base, phi, horizon, member=None):
    """(R(base), R(margin), contributions in months (n, G)) of one arm."""
    margin = base + phi.sum(axis=1)
    r_base = model.rmst_at_margin(modality, base, horizon, member)
    r_full = model.rmst_at_margin(modality, margin, horizon, member)
    step = margin - base
    small = np.abs(step) < 1e-6
    slope = (r_full - r_base) / np.where(small, 1.0, step)
    if small.any():
        h = 1e-3
        deriv = (model.rmst_at_margin(modality, margin + h, horizon, member)
                 - model.rmst_at_margin(modality, margin - h, horizon, member)) / (2 * h)
        slope = np.where(small, deriv, slope)
    return r_base, r_full, slope[:, None] * phi


def _grouped(owner, explanation) -> tuple[np.ndarray, np.ndarray]:
    """A member's Explanation summed into the owner's contract-field groups: (n, G), base."""
    raw = explanation.values.to_numpy(dtype=float)
    index = {g: k for k, g in enumerate(owner.group_order)}
    cols = np.array([index[owner.groups.get(c, c)] for c in explanation.values.columns])
    out = np.zeros((raw.shape[0], len(owner.group_order)))
    np.add.at(out.T, cols, raw.T)
    return out, np.asarray(explanation.base_values, dtype=float)


def _member_shap(owner, Xa: np.ndarray, a: str, b: str, member: int):
    """A bootstrap member's grouped SHAP values and base values under ``a`` and ``b``:
    ((phi_a, base_a), (phi_b, base_b)). S-learners: one TreeSHAP call on the stacked designs
    (the model's input checks and frames of :meth:`explain` cost ten times the TreeSHAP of one
    patient); other learners go through ``explain``."""
    import xgboost as xgb

    model = owner.model
    arms = model.members_[member]
    if arms.kind != "s":
        X = pd.DataFrame(Xa, columns=model.model_columns_)
        return (_grouped(owner, model.explain(X, a, member=member)),
                _grouped(owner, model.explain(X, b, member=member)))
    js = [model._idx(a), model._idx(b)]
    n = Xa.shape[0]
    if arms.factored(n, "shap"):
        contribs = arms.factoring.contribs(arms.zero_design(Xa), js)
    else:
        D = np.vstack([arms.design(Xa, j) for j in js])
        dm = xgb.DMatrix(D, missing=np.nan, nthread=1 if D.shape[0] < 5000 else -1)
        contribs = arms.models[0].booster_.predict(dm, pred_contribs=True)
    index = _column_groups(owner, arms.models[0].feature_names_in_)
    G = len(owner.group_order)
    out = []
    for c in range(2):
        raw = contribs[c * n:(c + 1) * n]
        phi = np.zeros((n, G))
        np.add.at(phi.T, index, raw[:, :-1].T)
        out.append((phi, np.asarray(raw[:, -1], dtype=float)))
    return out[0], out[1]


def _column_groups(owner, columns) -> np.ndarray:
    """Group index (into ``owner.group_order``) of every model column of an S-learner."""
    key = tuple(columns)
    cache = owner.__dict__.setdefault("_contrast_column_groups", {})
    if key not in cache:
        index = {g: k for k, g in enumerate(owner.group_order)}
        names = [c.split("=")[0] if c.startswith(("modality=", "propensity=")) else
                 owner.groups.get(c, c) for c in columns]
        cache[key] = np.array([index[nm] for nm in names])
    return cache[key]


def decompose(owner, pred, rows: list[int], a: str, b: str, member=None, Xa=None):
    """(difference, average, contributions (n, G)) in months for ``rows``, from the full
    fit's SHAP values (``member`` None) or from a bootstrap member's (``Xa``: the rows' model
    input, ``ModalityOutcomeModel._X``)."""
    model, horizon = owner.model, owner.horizon
    if member is None:
        ca, cb = owner.column[a], owner.column[b]
        phi_a, base_a = pred._shap[rows, ca], pred._base[rows, ca]
        phi_b, base_b = pred._shap[rows, cb], pred._base[rows, cb]
    else:
        (phi_a, base_a), (phi_b, base_b) = _member_shap(owner, Xa, a, b, member)
    ra0, ra, ca_ = _months(model, a, base_a, phi_a, horizon, member)
    rb0, rb, cb_ = _months(model, b, base_b, phi_b, horizon, member)
    return ra - rb, ra0 - rb0, ca_ - cb_


def contrast_block(owner, pred, rows: list[int], a: str, b: str, derived_rows: list,
                   members: bool = True) -> list[dict]:
    """The contrast of ``a`` vs ``b`` for each of ``rows`` in months (JSON-ready dicts; see
    the module docstring). ``members``: assess each factor's noise with the bootstrap members
    (when the model has them)."""
    diff, average, contrib = decompose(owner, pred, rows, a, b)
    groups = list(owner.group_order)
    g_mod = groups.index(MODALITY_GROUP) if MODALITY_GROUP in groups else None
    n_members = len(getattr(owner.model, "members_", ())) if members else 0
    member_parts = []
    if n_members >= 2:
        Xa = owner.model._X(pred.X.iloc[rows])
        member_parts = [decompose(owner, pred, rows, a, b, k, Xa) for k in range(n_members)]
    margin_values, margin_base, margin_unit = owner.contrast_values(pred, rows, a, b)
    margin_values = margin_values.to_numpy(dtype=float)
    out = []
    for r in range(len(rows)):
        row = contrib[r]
        main = float(average[r] + (row[g_mod] if g_mod is not None else 0.0))
        main_members = None
        if member_parts:
            m_main = np.array([p[1][r] + (p[2][r, g_mod] if g_mod is not None else 0.0)
                               for p in member_parts])
            m_rows = np.stack([p[2][r] for p in member_parts])  # (members, G)
            agree = np.mean(np.sign(m_rows) == np.sign(row), axis=0)
            spread = m_rows.std(axis=0)
            noisy = (agree < SIGN_AGREEMENT) | (np.abs(row) < spread)
            main_members = (float(np.mean(np.sign(m_main) == np.sign(main))),
                            float(m_main.std()))
        else:
            agree = spread = None
            noisy = np.zeros(len(groups), dtype=bool)
        order = [g for g in np.argsort(-np.abs(row), kind="stable") if g != g_mod]
        top = order[: owner.top]
        shown = [g for g in top if not noisy[g]]
        factors = []
        for g in shown:
            name = groups[g]
            factors.append({
                "field": name, "label": owner.labels.get(name, name),
                "value": plain_value(derived_rows[r].get(name)),
                "months": round(float(row[g]), 4),
                "shap": round(float(margin_values[r, g]), 5),
                "within_noise": False if agree is not None else None,
                "sign_agreement": None if agree is None else round(float(agree[g]), 3),
                "spread_months": None if spread is None else round(float(spread[g]), 4),
            })
        rest = float(diff[r] - main - sum(row[g] for g in shown))
        out.append({
            "a": a, "b": b,
            "unit": f"months of RMST to {owner.horizon:g} months ({a} minus {b})",
            "direction": f"Positive values favour {a} (longer predicted survival under {a}); "
                         f"negative values favour {b}.",
            "method": METHOD,
            "difference": float(diff[r]),
            "main_effect": {
                "months": main, "text": MAIN_EFFECT_TEXT,
                "sign_agreement": None if main_members is None else main_members[0],
                "within_noise": (None if main_members is None else bool(
                    main_members[0] < SIGN_AGREEMENT or abs(main) < main_members[1])),
            },
            "base_value": main,
            "factors": factors,
            "other_factors": rest,
            "noise_factors": [groups[g] for g in top if noisy[g]],
            "noise_assessed": bool(member_parts),
            "margin_unit": margin_unit,
            "margin_difference": float(margin_base[r] + margin_values[r].sum()),
        })
    return out


def equivalence(pred, i: int, a: str, b: str | None, preferred, cost_tiers: dict,
                ruleset: str) -> dict | None:
    """Are ``a`` (recommended) and ``b`` (runner-up) equivalent for row ``i``, and what
    separates them (see the module docstring)? None without a runner-up or a model for both."""
    if b is None:
        return None
    ja, jb = MODALITIES.index(a), MODALITIES.index(b)
    if not (pred.has_model(ja) and pred.has_model(jb)):
        return None
    ca, cb = pred.owner.column[a], pred.owner.column[b]
    ra, rb = float(pred.rmst[i, ja]), float(pred.rmst[i, jb])
    diff = ra - rb
    lo_a, hi_a, lo_b, hi_b = (pred._lo[i][ca], pred._hi[i][ca], pred._lo[i][cb],
                              pred._hi[i][cb])
    overlap = None
    if lo_a == lo_a and lo_b == lo_b:
        inter = max(0.0, min(hi_a, hi_b) - max(lo_a, lo_b))
        narrow = min(hi_a - lo_a, hi_b - lo_b)
        overlap = 1.0 if narrow <= 0 else min(1.0, inter / narrow)
    paired = None
    members = getattr(pred, "rmst_members", None)
    if members is not None and len(members) >= 2:
        d = members[:, i, ca] - members[:, i, cb]
        q = (1.0 - pred.owner.level) / 2.0
        paired = [float(np.quantile(d, q)), float(np.quantile(d, 1.0 - q))]
    small = abs(diff) < EQUIVALENT_MONTHS
    undecided = paired is not None and paired[0] <= 0.0 <= paired[1]
    equivalent = bool(small or undecided)
    separated = []
    pref = list(preferred or ())
    if a in pref or b in pref:
        favours = a if b not in pref or (a in pref and pref.index(a) < pref.index(b)) else b
        other = b if favours == a else a
        how = ("earlier in its preference order" if a in pref and b in pref
               else f"preferred at this stage, {other} is not")
        separated.append({"criterion": "guideline_preference", "favours": favours,
                          "reason": f"{ruleset}: {favours} is {how}"})
    rank = {"low": 0, "middle": 1, "high": 2}
    ta, tb = cost_tiers.get(a), cost_tiers.get(b)
    if ta != tb and ta in rank and tb in rank:
        cheaper = a if rank[ta] < rank[tb] else b
        separated.append({"criterion": "cost_tier", "favours": cheaper,
                          "reason": f"cost tier {ta} for {a}, {tb} for {b}"})
    why = []
    if small:
        why.append(f"difference below {EQUIVALENT_MONTHS:g} months")
    if undecided:
        why.append(f"the {100 * pred.owner.level:.0f}% interval of the paired difference "
                   f"({paired[0]:+.1f} to {paired[1]:+.1f} months) contains 0")
    return {
        "equivalent": equivalent, "a": a, "b": b,
        "difference_months": diff,
        "paired_interval_months": paired,
        "interval_overlap": overlap,
        "because": why,
        "separated_by": separated,
        "toxicity": "not modelled: no toxicity data in the training set",
    }


def sentences(contrast: dict | None, equal: dict | None, horizon: float) -> str:
    """The contrast and the equivalence in words, appended to the recommendation message."""
    text = ""
    if equal and equal["equivalent"]:
        a, b = equal["a"], equal["b"]
        text += (f" {MODALITY_LABELS[a]} and {MODALITY_LABELS[b]} are equivalent for this "
                 f"patient ({'; '.join(equal['because'])}; predicted difference "
                 f"{equal['difference_months']:+.1f} months of RMST to {horizon:g}).")
        if equal["separated_by"]:
            text += " What separates them: " + "; ".join(
                f"{s['reason']} (favours {s['favours']})" for s in equal["separated_by"]) + "."
        else:
            text += (" Neither the guideline preference nor the cost tier separates them: "
                     "the MDT and the patient's preference decide.")
    if contrast and contrast.get("main_effect"):
        a, b = contrast["a"], contrast["b"]
        main = contrast["main_effect"]
        text += (f" Against {b}: {contrast['difference']:+.1f} months of RMST to {horizon:g} "
                 f"for {a}; {MAIN_EFFECT_TEXT}: {main['months']:+.1f} months"
                 + (" (within the bootstrap noise)" if main.get("within_noise") else ""))
        if contrast["factors"]:
            text += "; this patient's factors: " + ", ".join(
                f"{f['label']} = {_value(f['value'])} ({f['months']:+.1f})"
                for f in contrast["factors"][:3])
        text += "."
    return text


def _value(value) -> str:
    if value is None:
        return "missing"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
