"""Hypothesis strategies for the guidelines tests: valid contract patients and random rules.

Numbers are drawn either anywhere in the contract range or right at a rule threshold (and just
either side of it), so the properties exercise the boundaries the rule files encode.
"""

from __future__ import annotations

import functools

from hypothesis import strategies as st

from features.contract import FIELDS, MODALITIES
from guidelines import available_rulesets, load_ruleset
from guidelines.vocabulary import variables

PATIENT_FIELDS = tuple(
    name for name, spec in FIELDS.items() if spec.group == "patient" and name != "patient_id"
)
OPTIONAL_FIELDS = tuple(n for n in PATIENT_FIELDS if not FIELDS[n].required)
ANTICANCER = tuple(m for m in MODALITIES if m != "supportive_care")


def _leaves(node):
    if hasattr(node, "children"):
        for child in node.children:
            yield from _leaves(child)
    else:
        yield node


@functools.cache
def thresholds() -> dict[str, tuple[float, ...]]:
    """Numeric thresholds used by the shipped rule sets, per contract field, +/- a small step."""
    out: dict[str, set[float]] = {}
    for name in available_rulesets():
        for rule in load_ruleset(name).rules:
            for leaf in _leaves(rule.condition):
                spec = FIELDS.get(leaf.var)
                if spec is None or spec.kind != "number" or leaf.code is None:
                    continue
                codes = leaf.code if isinstance(leaf.code, tuple) else (leaf.code,)
                for c in codes:
                    for v in (c - 0.1, c, c + 0.1):
                        if spec.low <= v <= spec.high:
                            out.setdefault(leaf.var, set()).add(round(v, 4))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _number(name: str, high: float | None = None):
    spec = FIELDS[name]
    top = spec.high if high is None else high
    base = st.floats(spec.low, top, allow_nan=False, allow_infinity=False)
    marks = [v for v in thresholds().get(name, ()) if v <= top]
    return st.one_of(base, st.sampled_from(marks)) if marks else base


def _value(name: str):
    spec = FIELDS[name]
    if spec.kind == "category":
        return st.sampled_from(spec.categories)
    if spec.kind == "boolean":
        return st.booleans()
    if spec.kind == "integer":
        return st.integers(int(spec.low), int(spec.high))
    return _number(name)


@st.composite
def patients(draw, missing: bool = True):
    """A contract-valid patient record (dict). With ``missing``, optional fields may be None."""
    rec = {}
    for name in PATIENT_FIELDS:
        if name in ("tumor_count", "tumor_max_diameter_cm", "tumor_sum_diameter_cm"):
            continue
        value = draw(_value(name))
        if missing and not FIELDS[name].required and draw(st.booleans()):
            value = None
        rec[name] = value
    count = draw(st.integers(1, 6) | st.integers(1, 50))
    size = draw(_number("tumor_max_diameter_cm", high=15.0) | _number("tumor_max_diameter_cm"))
    rec["tumor_count"] = count
    rec["tumor_max_diameter_cm"] = size
    total = size if count == 1 else draw(st.floats(size, size * count))
    rec["tumor_sum_diameter_cm"] = None if (missing and draw(st.booleans())) else total
    return consistent(rec)


def consistent(rec: dict) -> dict:
    """The record with the findings that clinical-facts §2.11 rules out made absent.

    Recorded findings never contradict each other in these patients: no varices or variceal
    bleeding without portal hypertension, no IVC thrombus without a route to the IVC, no
    involvement of 50% or more for a Milan-sized burden. (A record that does contradict itself
    keeps its recorded values: the rule-file cases show it.)
    """
    if rec.get("portal_hypertension") is False:
        if rec.get("varices") is not None:
            rec["varices"] = "none"
        if rec.get("prior_variceal_bleeding") is not None:
            rec["prior_variceal_bleeding"] = False
    if rec.get("hepatic_vein_invasion") is False and rec.get("near_major_vessel_or_duct") is False \
            and rec.get("ivc_thrombus") is not None:
        rec["ivc_thrombus"] = False
    count, size = rec["tumor_count"], rec["tumor_max_diameter_cm"]
    milan = (count == 1 and size <= 5) or (count <= 3 and size <= 3)
    if milan and rec.get("liver_involvement_pct") is not None:
        rec["liver_involvement_pct"] = min(rec["liver_involvement_pct"], 49.9)
    return rec


@st.composite
def leaf_conditions(draw):
    """A random comparison over the rule vocabulary (valid by construction)."""
    vocab = variables()
    var = vocab[draw(st.sampled_from(sorted(vocab)))]
    if var.kind == "category":
        op = draw(st.sampled_from(["eq", "ne", "in", "not_in"]))
        pick = st.sampled_from(var.categories)
        value = draw(st.lists(pick, min_size=1, max_size=3, unique=True)) if "in" in op \
            else draw(pick)
    elif var.kind == "boolean":
        op, value = draw(st.sampled_from(["eq", "ne"])), draw(st.booleans())
    else:
        op = draw(st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge"]))
        low = var.low if var.low is not None else -10
        high = var.high if var.high is not None else 100
        if var.kind == "integer":
            value = draw(st.integers(int(low), int(high)))
        else:
            value = draw(st.floats(low, high, allow_nan=False))
    return {"var": var.name, "op": op, "value": value}


conditions = st.recursive(
    leaf_conditions(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=4,
)


@st.composite
def forbid_rules(draw):
    """A random, valid ``forbid`` rule in the YAML form (with the two mandatory cases)."""
    mods = draw(st.lists(st.sampled_from(ANTICANCER), min_size=1, max_size=4, unique=True))
    return {
        "id": "generated-forbid",
        "title": "generated rule",
        "effect": "forbid",
        "modalities": mods,
        "condition": draw(conditions),
        "rationale": "property test",
        "reference": "clinical-facts §6 (test) [U]",
        "evidence": "U",
        "cases": [{"expect": "fires", "patient": {}}, {"expect": "silent", "patient": {}}],
    }
