"""What the rule layer says about one patient: forbidden and flagged modalities, with reasons."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from guidelines.vocabulary import modalities, variables

SUPPORTIVE = "supportive_care"


@dataclass(frozen=True)
class Hit:
    """One rule that applies to the patient.

    Attributes
    ----------
    rule_id : str
        Id of the rule in its rule set.
    effect : str
        ``forbid`` (the modalities are never recommended), ``not_indicated`` (the guideline does
        not indicate them in this situation), ``review`` (possible, flagged for the
        multidisciplinary team), ``require`` (a co-treatment or prerequisite to arrange: a
        required action, not a veto) or ``warn`` (message only). A ``forbid`` or
        ``not_indicated`` rule that cannot be decided because an input is missing is reported as
        ``review``; an undecided ``require`` stays a required action naming the missing input.
    modalities : tuple of str
        Modalities the rule is about.
    message : str
        Plain-language statement (the rule title, plus the missing inputs when undecided).
    reference : str
        Citation (clinical-facts section, original source, evidence tag).
    evidence : str
        ``C`` confirmed in a primary source, ``S`` secondary only, ``U`` unconfirmed.
    missing : tuple of str
        Inputs whose absence left the rule undecided (empty when the rule fired on known data).
    rationale : str
        Why the rule exists, in plain language.
    """

    rule_id: str
    effect: str
    modalities: tuple[str, ...]
    message: str
    reference: str
    evidence: str
    missing: tuple[str, ...] = ()
    rationale: str = ""

    def to_dict(self) -> dict:
        """JSON-safe form."""
        return {
            "rule_id": self.rule_id,
            "effect": self.effect,
            "modalities": list(self.modalities),
            "message": self.message,
            "reference": self.reference,
            "evidence": self.evidence,
            "missing": list(self.missing),
            "rationale": self.rationale,
        }


@functools.cache
def _order() -> dict:
    return {m: i for i, m in enumerate(modalities())}


def _ordered(names) -> list[str]:
    order = _order()
    return sorted(names, key=lambda m: order.get(m, len(order)))


@functools.lru_cache(maxsize=512)
def _stage_reason(stage, indicated: frozenset, acceptable: frozenset, reference: str) -> str:
    shown = ", ".join(_ordered(indicated)) or "none"
    alternatives = ", ".join(m for m in _ordered(acceptable) if m != SUPPORTIVE) or "none"
    return f"stage {stage}: indicated {shown}; acceptable {alternatives} ({reference})"


@dataclass(frozen=True)
class Assessment:
    """The guideline verdict for one patient under one rule set.

    Rules veto, grade (indication), flag or require; they never change a model score.

    Attributes
    ----------
    forbidden : frozenset of str
        Modalities with a hard contraindication: never recommend. Never contains
        ``supportive_care``.
    review : frozenset of str
        Allowed modalities flagged for the MDT (relative contraindication or missing input).
        Disjoint from ``forbidden``.
    hits : tuple of Hit
        Rules that apply, forbid first, then review, then warn (rule-file order within each).
    preferred : tuple of str
        Guideline-preferred modalities for the patient's stage, in guideline order (forbidden
        ones included: see :func:`guidelines.preferred_allowed`).
    stage : str or None
        The patient's stage in the rule set's staging system (None if it cannot be staged).
    ruleset, version : str
        Rule set that produced the verdict.
    indicated, acceptable, not_indicated : frozenset of str
        The indication of every modality of the vocabulary (a partition): indicated for the
        stage (the guideline's first choices), acceptable alternatives, or not indicated (by the
        stage table or a ``not_indicated`` rule). Forbidden modalities keep their grade.
        ``supportive_care`` is never not indicated. When the stage is unknown every modality
        is acceptable, unless a ``not_indicated`` rule fired.
    indication_reference : str
        Citation of the stage's indication table.
    """

    forbidden: frozenset
    review: frozenset
    hits: tuple
    preferred: tuple
    stage: str | None
    ruleset: str
    version: str
    indicated: frozenset = frozenset()
    acceptable: frozenset = frozenset()
    not_indicated: frozenset = frozenset()
    indication_reference: str = ""

    @property
    def allowed(self) -> frozenset:
        """Modalities of the contract vocabulary that are not forbidden (review included)."""
        return frozenset(modalities()) - self.forbidden

    def concordant(self, modality: str) -> bool:
        """True when ``modality`` is indicated or acceptable (guideline-supported) for the
        patient and not forbidden."""
        return (modality not in self.not_indicated and modality in self.preferred
                and modality not in self.forbidden)

    def indication(self, modality: str) -> str:
        """``indicated``, ``acceptable`` or ``not_indicated``."""
        if modality in self.indicated:
            return "indicated"
        return "not_indicated" if modality in self.not_indicated else "acceptable"

    def required_for(self, modality: str) -> tuple:
        """The ``require`` hits (required actions) that concern ``modality``, in file order."""
        return tuple(h for h in self.hits if h.effect == "require" and modality in h.modalities)

    def not_indicated_because(self, modality: str) -> str:
        """Why ``modality`` is not indicated (the rule or the stage table), or ``""``."""
        if modality not in self.not_indicated:
            return ""
        rules = [h for h in self.hits if h.effect == "not_indicated" and modality in h.modalities]
        if rules:
            return "; ".join(f"{h.rule_id}: {h.message} ({h.reference})" for h in rules)
        return _stage_reason(self.stage, self.indicated, self.acceptable,
                             self.indication_reference)

    @property
    def missing_inputs(self) -> dict:
        """The reviews that missing data alone caused, and the inputs that would settle them.

        A modality is under review *only because of missing data* when every review hit on it
        is undecided (``Hit.missing`` non-empty). Filling in ``fields`` decides every such hit:
        each of these ``reviews`` is then cleared, forbidden or kept for a known reason. The
        hits stay in :attr:`hits` in full.

        Returns
        -------
        dict
            ``fields`` (the missing inputs, those settling the most reviews first, then in
            contract order), ``reviews`` (the modalities, contract order), ``hits`` (the number
            of undecided hits on them) and ``message``: "fill in these N fields to settle M
            reviews: ..." ("" when no review is caused by missing data alone).
        """
        decided = {m for h in self.hits if h.effect == "review" and not h.missing
                   for m in h.modalities}
        undecided = [h for h in self.hits if h.missing and h.effect == "review"]
        reviews = [m for m in _ordered(self.review) if m not in decided
                   and any(m in h.modalities for h in undecided)]
        settles: dict[str, set] = {}
        n_hits = 0
        for h in undecided:
            touched = set(h.modalities) & set(reviews)
            if touched:
                n_hits += 1
                for field in h.missing:
                    settles.setdefault(field, set()).update(touched)
        order = {v: i for i, v in enumerate(variables())}
        fields = sorted(settles, key=lambda f: (-len(settles[f]), order.get(f, len(order))))
        return {"fields": fields, "reviews": reviews, "hits": n_hits,
                "message": missing_inputs_message(fields, reviews)}

    def to_dict(self) -> dict:
        """JSON-safe form (lists in contract modality order)."""
        return {
            "ruleset": self.ruleset,
            "version": self.version,
            "stage": self.stage,
            "preferred": list(self.preferred),
            "preferred_allowed": preferred_allowed(self),
            "forbidden": _ordered(self.forbidden),
            "review": _ordered(self.review),
            "allowed": _ordered(self.allowed),
            "indicated": _ordered(self.indicated),
            "acceptable": _ordered(self.acceptable),
            "not_indicated": _ordered(self.not_indicated),
            "indication_reference": self.indication_reference,
            "required_actions": [h.to_dict() for h in self.hits if h.effect == "require"],
            "hits": [h.to_dict() for h in self.hits],
            "missing_inputs": self.missing_inputs,
        }


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def missing_inputs_message(fields, reviews) -> str:
    """``"fill in these 2 fields to settle 3 reviews (tace, ...): a, b"`` or ``""``."""
    if not reviews:
        return ""
    these = "this field" if len(fields) == 1 else f"these {len(fields)} fields"
    return (f"fill in {these} to settle {_count(len(reviews), 'review')} "
            f"({', '.join(reviews)}): {', '.join(fields)}")


def preferred_allowed(assessment: Assessment, avoid_review: bool = False) -> str:
    """The guideline policy: the stage's first preferred modality that is allowed.

    Parameters
    ----------
    assessment : Assessment
        Output of :func:`guidelines.assess`.
    avoid_review : bool, default False
        Also skip modalities flagged for review.

    Returns
    -------
    str
        A modality; ``supportive_care`` when no preferred modality is allowed (it is never
        forbidden).
    """
    for m in assessment.preferred:
        if m in assessment.forbidden or (avoid_review and m in assessment.review):
            continue
        return m
    return SUPPORTIVE
