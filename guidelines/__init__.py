"""Guideline rule layer: versioned, cited rule sets (YAML data) and a small engine.

Rules veto (``forbid``) or flag (``review``, ``warn``) treatment modalities for a patient; they
never promote a modality and never change a model score. Missing inputs never make a modality
look safe: a hard rule that cannot be decided becomes a review naming the missing input (rules
decide what the recorded findings rule out, clinical-facts §2.11), and
``Assessment.missing_inputs`` says which inputs would settle the reviews missing data causes.

Public API::

    assess(patient, ruleset=None) -> Assessment          # one dict record or 1-row frame
    assess_frame(frame, ruleset=None) -> list[Assessment]  # vectorised, equal to row-wise assess
    assess_arrays(frame, ruleset=None) -> FrameVerdicts   # the same verdicts as arrays (bulk)
    load_ruleset(name_or_path) -> RuleSet                # cached; checked at load (RuleSetError,
                                                         # UnknownGuidelineError for a bad name)
    available_rulesets() -> tuple[str, ...]              # ("cnlc-2024", "bclc-2022")
    preferred_allowed(assessment) -> str                 # guideline policy: first allowed preferred
"""

from guidelines.assessment import Assessment, Hit, preferred_allowed
from guidelines.engine import (
    FrameVerdicts,
    GuidelineInputError,
    assess,
    assess_arrays,
    assess_frame,
)
from guidelines.ruleset import (
    DEFAULT_RULESET,
    Rule,
    RuleSet,
    RuleSetError,
    UnknownGuidelineError,
    available_rulesets,
    load_ruleset,
)

__all__ = [
    "DEFAULT_RULESET",
    "Assessment",
    "FrameVerdicts",
    "GuidelineInputError",
    "Hit",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "UnknownGuidelineError",
    "assess",
    "assess_arrays",
    "assess_frame",
    "available_rulesets",
    "load_ruleset",
    "preferred_allowed",
]
