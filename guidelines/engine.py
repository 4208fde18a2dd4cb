"""Evaluate a rule set over patients: one record or a whole cohort, with the same code.

Inputs become a mapping variable -> float64 array (NaN = missing; booleans 1/0; categories coded
by position, see :mod:`guidelines.vocabulary`). Every rule is evaluated once over all patients
with three-valued logic (:mod:`guidelines.conditions`) and the per-rule masks are turned into one
:class:`~guidelines.assessment.Assessment` per patient:

* a ``forbid`` rule known true forbids its modalities;
* a ``forbid`` rule left unknown by a missing input puts its modalities under ``review`` with a
  message naming the missing inputs that leave it undecided (``Hit.missing``, from
  :meth:`~guidelines.conditions.Combo.undecided`): missing data never makes a modality look safe;
* a ``not_indicated`` rule known true makes its modalities not indicated (on top of the stage's
  indication table, :mod:`guidelines.indication`); unknown, it flags them for review like a
  ``forbid``;
* a ``review`` rule known true or unknown flags its modalities for review;
* a ``require`` rule known true adds a required action (a co-treatment or prerequisite, never a
  veto); unknown, the action stays, naming the missing input to check;
* a ``warn`` rule known true adds a message; an unknown ``warn`` is dropped.

Patient values are read with the contract's rules (:mod:`features.contract.parsing`): the same
missing values, true/false words and category matching as validation.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features import derivation
from features.contract.parsing import category_key, is_missing, parse_boolean, parse_number
from guidelines.assessment import Assessment, Hit
from guidelines.conditions import Env
from guidelines.indication import SUPPORTIVE, StageIndication
from guidelines.ruleset import RuleSet, load_ruleset
from guidelines.vocabulary import Variable, modalities, variables

_RANK = {"forbid": 0, "not_indicated": 1, "review": 2, "require": 3, "warn": 4}
_VETO = ("forbid", "not_indicated")
"""Effects whose undecided hit becomes a review (missing data never makes a modality look
safe or indicated)."""


class GuidelineInputError(ValueError):
    """A patient value cannot be read (text in a number, an unknown category)."""


# --- inputs -> float arrays -------------------------------------------------------------------

def _scalar(v, var: Variable) -> float:
    """One python value -> evaluation code (NaN = missing)."""
    if is_missing(v):
        return math.nan
    try:
        if var.kind == "category":
            return float(var.codes[category_key(v)])
        if var.kind == "boolean":
            return float(parse_boolean(v))
        return parse_number(v)
    except (KeyError, TypeError, ValueError):
        expected = ("one of " + ", ".join(var.categories or ())) if var.kind == "category" \
            else ("true or false" if var.kind == "boolean" else f"a {var.kind}")
        raise GuidelineInputError(
            f"{var.name}: expected {expected}, got {v!r}; hint: validate the patient with "
            f"features.contract.validate_record / validate_cohort first") from None


def _column(series: pd.Series, var: Variable) -> np.ndarray:
    """One frame column -> float64 evaluation codes (NaN = missing)."""
    dtype = series.dtype
    if var.kind == "category" or isinstance(dtype, pd.CategoricalDtype) or dtype.kind == "O" \
            or pd.api.types.is_string_dtype(dtype):
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        table = np.array([_scalar(u, var) for u in uniques] + [math.nan], dtype=float)
        return table[codes]  # sentinel -1 picks the trailing NaN
    if pd.api.types.is_extension_array_dtype(dtype):
        out = series.to_numpy(dtype=float, na_value=np.nan)
    else:
        out = series.to_numpy(dtype=float)
    if var.kind == "boolean":
        bad = ~np.isnan(out) & (out != 0.0) & (out != 1.0)
        if bad.any():
            _scalar(out[np.flatnonzero(bad)[0]], var)  # raises with the message
    return out


def columns_from_frame(frame: pd.DataFrame, names) -> dict[str, np.ndarray]:
    """Evaluation arrays for ``names`` from a (canonical or plain) frame; absent = all missing."""
    vocab = variables()
    n = len(frame)
    out = {}
    for name in names:
        if name in frame.columns:
            out[name] = _column(frame[name], vocab[name])
        else:
            out[name] = np.full(n, np.nan)
    return out


def columns_from_record(record: Mapping, names) -> dict[str, np.ndarray]:
    """Evaluation arrays (length 1) for ``names`` from one record; absent = missing."""
    vocab = variables()
    return {name: np.array([_scalar(record.get(name), vocab[name])]) for name in names}


# --- derived features -------------------------------------------------------------------------

def _needs_derive(keys, ruleset: RuleSet) -> bool:
    vocab = variables()
    return any(vocab[v].derived and v not in keys for v in ruleset.needed)


# --- evaluation -------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Evaluation:
    """Per-rule outcome masks over ``n`` patients (rows of ``fired`` / ``unknown`` = rules).

    ``undecided[j]`` maps each input of rule ``j`` to the mask of the patients for whom its
    absence leaves the rule unknown (empty for a rule decided for everyone).
    """

    ruleset: RuleSet
    n: int
    fired: np.ndarray
    unknown: np.ndarray
    env: Env
    undecided: tuple = ()

    def outcome(self, rule_id: str) -> np.ndarray:
        """Per patient ``"fires"``, ``"silent"`` or ``"unknown"`` for one rule."""
        j = next(i for i, r in enumerate(self.ruleset.rules) if r.id == rule_id)
        return np.where(self.fired[j], "fires", np.where(self.unknown[j], "unknown", "silent"))


def evaluate(ruleset: RuleSet, columns: Mapping[str, np.ndarray], n: int) -> Evaluation:
    """Evaluate every rule over ``n`` patients given evaluation arrays (see module docstring)."""
    env = Env(columns, n)
    fired = np.empty((len(ruleset.rules), n), bool)
    unknown = np.empty((len(ruleset.rules), n), bool)
    undecided = []
    for j, rule in enumerate(ruleset.rules):
        t, k = rule.condition.evaluate(env)
        fired[j] = t
        unknown[j] = ~k
        undecided.append(rule.condition.undecided(env) if unknown[j].any() else {})
    return Evaluation(ruleset, n, fired, unknown, env, tuple(undecided))


class _Plan:
    """Per-rule-set constants for turning masks into assessments (built once, cached)."""

    def __init__(self, ruleset: RuleSet):
        mods = modalities()
        index = {m: i for i, m in enumerate(mods)}
        self.rules = ruleset.rules
        self.variables = tuple(r.variables for r in ruleset.rules)
        self.masks = np.array([sum(1 << index[m] for m in r.modalities) for r in ruleset.rules],
                              dtype=np.int64)
        effects = np.array([r.effect for r in ruleset.rules])
        self.forbid = effects == "forbid"
        self.not_indicated = effects == "not_indicated"
        self.warn = effects == "warn"
        self.require = effects == "require"
        self.flagging = np.isin(effects, (*_VETO, "review"))
        self.fired_hits = tuple(
            Hit(r.id, r.effect, r.modalities, r.title, r.reference, r.evidence, (), r.rationale)
            for r in ruleset.rules)
        self.rank_fired = np.array([_RANK[r.effect] for r in ruleset.rules]) * len(self.rules) \
            + np.arange(len(self.rules))
        self.rank_unknown = np.where(self.require, _RANK["require"], _RANK["review"]) \
            * len(self.rules) + np.arange(len(self.rules))
        self.sets: dict[int, frozenset] = {}
        self.unknown_hits: dict[tuple, Hit] = {}
        self.mods = mods
        stage_var = variables()[ruleset.stage_variable]
        self.stages = tuple(stage_var.categories or ())
        self.preferred = tuple(ruleset.preferred.get(s, ()) for s in self.stages)
        none = StageIndication((), tuple(mods))
        self.indication = tuple(ruleset.indication.get(s, none) for s in self.stages) + (none,)
        self.grades: dict[tuple, tuple] = {}

    def grade(self, stage: int, not_indicated_bits: int) -> tuple:
        """(indicated, acceptable, not_indicated) frozensets for a stage code (-1 = unknown)
        and the modalities of the ``not_indicated`` rules that fired."""
        key = (stage, not_indicated_bits)
        out = self.grades.get(key)
        if out is None:
            entry = self.indication[stage]
            situational = self.modality_set(not_indicated_bits)
            no = (frozenset(entry.not_indicated) | situational) - {SUPPORTIVE}
            out = self.grades[key] = (frozenset(entry.indicated) - no,
                                      frozenset(self.mods) - frozenset(entry.indicated) - no, no)
        return out

    def modality_set(self, bits: int) -> frozenset:
        out = self.sets.get(bits)
        if out is None:
            out = self.sets[bits] = frozenset(
                m for i, m in enumerate(self.mods) if bits >> i & 1)
        return out

    def unknown_hit(self, j: int, missing: tuple[str, ...]) -> Hit:
        key = (j, missing)
        hit = self.unknown_hits.get(key)
        if hit is None:
            r = self.rules[j]
            what = ", ".join(missing) or "an input"
            be = "are" if len(missing) > 1 else "is"
            if r.effect == "require":
                message = (f"{r.title}: cannot be ruled out because {what} {be} missing; check "
                           f"{what} before treatment")
                effect = "require"
            else:
                verb = "cannot be ruled out" if r.effect in _VETO else "cannot be checked"
                message = (f"{r.title}: {verb} because {what} {be} missing; flagged for review "
                           f"(missing data never makes a modality look safe)")
                effect = "review"
            hit = self.unknown_hits[key] = Hit(r.id, effect, r.modalities, message,
                                               r.reference, r.evidence, missing, r.rationale)
        return hit


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _plan(ruleset: RuleSet) -> _Plan:
    plan = _PLANS.get(ruleset)
    if plan is None:
        plan = _PLANS[ruleset] = _Plan(ruleset)
    return plan


def _verdict_bits(plan: _Plan, ev: Evaluation) -> tuple:
    """(forbidden, not indicated, review) modality bit masks per patient, and the rules listed
    as unknown (rules x patients)."""
    fired, unknown = ev.fired, ev.unknown
    # A forbid known true forbids; a not_indicated known true grades not indicated; a forbid,
    # not_indicated or review that is unknown (or a review that fired) flags review; a require
    # that fired or is unknown is a required action; an unknown warn is dropped.
    listed_unknown = unknown & ~plan.warn[:, None]
    forbid_bits = np.bitwise_or.reduce(
        np.where(fired & plan.forbid[:, None], plan.masks[:, None], 0), axis=0)
    not_indicated_bits = np.bitwise_or.reduce(
        np.where(fired & plan.not_indicated[:, None], plan.masks[:, None], 0), axis=0)
    review_src = (fired & (plan.flagging & ~plan.forbid & ~plan.not_indicated)[:, None]) | (
        unknown & plan.flagging[:, None])
    review_bits = np.bitwise_or.reduce(np.where(review_src, plan.masks[:, None], 0), axis=0)
    review_bits &= ~forbid_bits
    return forbid_bits, not_indicated_bits, review_bits, listed_unknown


def assessments(ruleset: RuleSet, ev: Evaluation) -> list[Assessment]:
    """Turn an :class:`Evaluation` into one :class:`Assessment` per patient."""
    plan = _plan(ruleset)
    fired = ev.fired
    forbid_bits, not_indicated_bits, review_bits, listed_unknown = _verdict_bits(plan, ev)
    rank = np.where(fired, plan.rank_fired[:, None],
                    np.where(listed_unknown, plan.rank_unknown[:, None], -1))
    rows, cols = np.nonzero((rank >= 0).T)
    bounds = np.searchsorted(rows, np.arange(ev.n + 1))
    stage_codes = ev.env.columns[ruleset.stage_variable]
    env = ev.env
    out = []
    for i in range(ev.n):
        js = cols[bounds[i]:bounds[i + 1]]
        hits = []
        if len(js):
            for j in sorted(js.tolist(), key=lambda j, r=rank[:, i]: r[j]):
                if fired[j, i]:
                    hits.append(plan.fired_hits[j])
                else:
                    open_ = ev.undecided[j]
                    missing = tuple(v for v in plan.variables[j] if v in open_ and open_[v][i]
                                    ) or tuple(v for v in plan.variables[j] if not env.known(v)[i])
                    hits.append(plan.unknown_hit(j, missing))
        code = stage_codes[i]
        if math.isnan(code):
            stage, preferred, s = None, (), -1
        else:
            s = int(code)
            stage, preferred = plan.stages[s], plan.preferred[s]
        indicated, acceptable, no = plan.grade(s, int(not_indicated_bits[i]))
        out.append(Assessment(plan.modality_set(int(forbid_bits[i])),
                              plan.modality_set(int(review_bits[i])), tuple(hits), preferred,
                              stage, ruleset.name, ruleset.version, indicated, acceptable, no,
                              plan.indication[s].reference))
    return out


@dataclass(frozen=True, eq=False)
class FrameVerdicts:
    """The verdicts of a rule set over a cohort as arrays: no object per patient.

    Row ``i`` says what ``assess_frame(frame)[i]`` says, modalities in vocabulary (contract)
    order: ``forbidden`` and ``review`` (n, modalities) bool; ``forbidden_by`` (n, modalities)
    the ids of the rules that forbid the modality, comma-separated in rule-file order ("" when
    none); ``preferred`` (n, modalities) bool, preferred for the patient's stage; ``stage``
    (n,) the stage label (None when the patient cannot be staged); ``indication`` (n,
    modalities) int8: 0 indicated, 1 acceptable, 2 not indicated (``Assessment.indication``).
    """

    forbidden: np.ndarray
    review: np.ndarray
    forbidden_by: np.ndarray
    preferred: np.ndarray
    stage: np.ndarray
    ruleset: str
    version: str
    indication: np.ndarray | None = None


def verdicts(ruleset: RuleSet, ev: Evaluation) -> FrameVerdicts:
    """Turn an :class:`Evaluation` into :class:`FrameVerdicts` (vectorised)."""
    plan = _plan(ruleset)
    forbid_bits, not_indicated_bits, review_bits, _ = _verdict_bits(plan, ev)
    M = len(plan.mods)
    shifts = np.arange(M, dtype=np.int64)
    forbidden = (forbid_bits[:, None] >> shifts) & 1 == 1
    review = (review_bits[:, None] >> shifts) & 1 == 1
    forbid_fired = ev.fired & plan.forbid[:, None]
    forbidden_by = np.full((ev.n, M), "", dtype=object)
    for j in range(M):
        rules = np.flatnonzero(plan.forbid & (plan.masks >> j & 1 == 1))
        if not len(rules):
            continue
        pattern = np.zeros(ev.n, np.int64)
        for k, r in enumerate(rules):
            pattern |= forbid_fired[r].astype(np.int64) << k
        values, inverse = np.unique(pattern, return_inverse=True)
        names = np.array([", ".join(plan.rules[r].id for k, r in enumerate(rules) if v >> k & 1)
                          for v in values.tolist()], dtype=object)
        forbidden_by[:, j] = names[inverse]
    codes = ev.env.columns[ruleset.stage_variable]
    known = ~np.isnan(codes)
    index = np.where(known, np.nan_to_num(codes, nan=0.0), len(plan.stages)).astype(int)
    stage = np.array(list(plan.stages) + [None], dtype=object)[index]
    table = np.array([[m in p for m in plan.mods] for p in plan.preferred] + [[False] * M],
                     dtype=bool).reshape(len(plan.stages) + 1, M)
    # the indication grade of each distinct (stage, fired not_indicated rules): plan.grade
    pairs = index.astype(np.int64) << 32 | not_indicated_bits.astype(np.int64)
    values, inverse = np.unique(pairs, return_inverse=True)
    grades = np.ones((len(values), M), np.int8)
    for k, v in enumerate(values.tolist()):
        s = v >> 32
        indicated, _, no = plan.grade(-1 if s == len(plan.stages) else s, v & 0xFFFFFFFF)
        grades[k] = [0 if m in indicated else 2 if m in no else 1 for m in plan.mods]
    return FrameVerdicts(forbidden, review, forbidden_by, table[index], stage, ruleset.name,
                         ruleset.version, grades[inverse.ravel()])


# --- public entry points ----------------------------------------------------------------------

def assess_arrays(frame: pd.DataFrame, ruleset=None) -> FrameVerdicts:
    """The verdicts of :func:`assess_frame` as arrays (:class:`FrameVerdicts`), for cohorts
    too large for one :class:`Assessment` per row (columnar bulk scoring)."""
    rs = load_ruleset(ruleset)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame: expected a pandas DataFrame, got {type(frame).__name__}")
    if _needs_derive(frame.columns, rs):
        frame = derivation.derive(frame)
    return verdicts(rs, evaluate(rs, columns_from_frame(frame, rs.needed), len(frame)))


def assess_frame(frame: pd.DataFrame, ruleset=None) -> list[Assessment]:
    """Assess every row of a cohort frame (vectorised; equal to :func:`assess` row by row).

    Parameters
    ----------
    frame : pandas.DataFrame
        Contract patient columns (canonical dtypes or plain); derived feature columns are
        computed with :func:`features.derive` when absent.
    ruleset : str, path, RuleSet or None
        Rule-set name (``"cnlc-2024"`` default, ``"bclc-2022"``), path to a YAML file or a
        loaded :class:`~guidelines.ruleset.RuleSet`.

    Returns
    -------
    list of Assessment
        One per row, in row order.
    """
    rs = load_ruleset(ruleset)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame: expected a pandas DataFrame, got {type(frame).__name__}")
    if _needs_derive(frame.columns, rs):
        frame = derivation.derive(frame)
    cols = columns_from_frame(frame, rs.needed)
    return assessments(rs, evaluate(rs, cols, len(frame)))


def assess(patient, ruleset=None) -> Assessment:
    """Apply a guideline rule set to one patient.

    Parameters
    ----------
    patient : dict or pandas.DataFrame
        One contract record (field -> value, None = missing) or a one-row frame. Derived
        features (Child-Pugh, stages, transplant criteria ...) are computed with
        :func:`features.derive` when absent.
    ruleset : str, path, RuleSet or None
        Rule-set name (``"cnlc-2024"`` default, ``"bclc-2022"``), path to a YAML file or a
        loaded :class:`~guidelines.ruleset.RuleSet`.

    Returns
    -------
    Assessment
        Forbidden modalities, modalities flagged for review, the rules that apply with their
        references, and the guideline-preferred modalities for the patient's stage.

    Examples
    --------
    >>> import json
    >>> import guidelines
    >>> patient = json.load(open("examples/patient_early.json"))    # one 2.8 cm nodule
    >>> a = guidelines.assess(patient, "bclc-2022")
    >>> a.stage, a.preferred[:3]
    ('A', ('resection', 'transplant', 'ablation'))
    >>> sorted(a.forbidden)
    []
    >>> terminal = guidelines.assess(json.load(open("examples/patient_terminal.json")))
    >>> sorted(terminal.forbidden - {"supportive_care"}) == sorted(terminal.forbidden)
    True
    >>> veto = terminal.hits[0]                       # each veto cites its rule
    >>> veto.rule_id, veto.effect, veto.reference.startswith("clinical-facts §1.2")
    ('all-anticancer-ecog-4', 'forbid', True)
    """
    if isinstance(patient, pd.DataFrame):
        if len(patient) != 1:
            raise ValueError(f"patient: expected a dict record or a 1-row DataFrame, got "
                             f"{len(patient)} rows; hint: use assess_frame for a cohort")
        return assess_frame(patient, ruleset)[0]
    if not isinstance(patient, Mapping):
        raise TypeError(f"patient: expected a dict record or a 1-row DataFrame, got "
                        f"{type(patient).__name__}")
    rs = load_ruleset(ruleset)
    if _needs_derive(patient.keys(), rs):
        patient = derivation.derive(dict(patient))
    cols = columns_from_record(patient, rs.needed)
    return assessments(rs, evaluate(rs, cols, 1))[0]
