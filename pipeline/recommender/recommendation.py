"""What a recommendation is: frozen dataclasses with a JSON-safe ``to_dict()``.

* :class:`ModalityAssessment` is everything known about one modality for one patient: eligibility,
  indication and rule hits, required actions, exclusion by preference, cost tier, predicted
  outcomes, SHAP factors, curve.
* :class:`Recommendation` is the whole answer, one :class:`ModalityAssessment` per modality of
  the contract, in contract order.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from features.contract import MODALITIES
from pipeline.recommender.request import OBJECTIVES, Preferences

CAVEAT = (
    "Decision support only: this recommendation supports, and does not replace, the judgement "
    "of the multidisciplinary team (MDT) that knows the patient. Predictions come from models "
    "trained on observational (here: synthetic) data and guideline rules that may not cover "
    "every contraindication."
)
REFER_MDT = (
    "No modality is allowed for this patient, affordable and not declined: refer to the "
    "multidisciplinary team."
)

ELIGIBILITY = ("allowed", "review", "forbidden")
SHAP_UNITS = MappingProxyType({
    "cox": "log hazard ratio (Cox margin; positive = higher risk of death)",
    "aft": "log survival time (AFT margin; positive = longer survival)",
})


def patient_ref(patient_id) -> str | None:
    """A short, non-reversible reference for tracing a row (never the identifier itself)."""
    if patient_id is None or (isinstance(patient_id, float) and math.isnan(patient_id)):
        return None
    digest = hashlib.sha256(str(patient_id).encode("utf-8")).hexdigest()
    return "sha256:" + digest[:12]


def _num(value, digits: int = 4):
    """JSON-safe float: rounded, None for NaN/inf."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    return round(value, digits)


@dataclass(frozen=True)
class Factor:
    """One SHAP factor in contract terms.

    ``shap`` is the sum of the SHAP values of the model columns built from ``field`` (one-hot
    columns summed back), in the unit of the explanation (see ``Recommendation.shap_unit``).
    ``value`` is the patient's value of the field (None = missing).
    """

    field: str
    label: str
    value: object
    shap: float

    def to_dict(self) -> dict:
        value = self.value
        if isinstance(value, float):
            value = _num(value)
        return {"field": self.field, "label": self.label, "value": value,
                "shap": _num(self.shap, 5)}


@dataclass(frozen=True)
class ModalityAssessment:
    """Everything about one modality for one patient.

    Attributes
    ----------
    modality, label : str
    eligibility : str
        ``allowed``, ``review`` (possible, flagged for the MDT) or ``forbidden`` (never
        recommended) by the guideline rule set.
    hits : tuple of dict
        Rule hits on this modality (rule_id, effect, message, reference, evidence, missing).
    excluded_because : tuple of str
        Why the modality is not a candidate although not forbidden: ``not_indicated`` (graded
        not indicated by the rule set and not considered: ``consider_not_indicated``),
        ``declined``,
        ``above_cost_ceiling``, ``no_model`` (never seen in training), ``too_few_treated``
        (fewer training patients than ``recommend.min_treated_patients``),
        ``low_data_support`` (set aside by the data-support guard).
    cost_tier : str
    candidate : bool
        Not forbidden, not declined, affordable, has a model and (while another such modality
        is supported) supported by data: may be recommended.
    data_support : bool
        False when the modality would be a candidate but the patient's estimated propensity
        for it is below ``recommend.min_propensity``: its predicted outcome extrapolates beyond
        the treated patients. It is set aside (``low_data_support``) while another candidate
        is supported; when none is, the unsupported ones remain the candidates.
    not_candidate_because : tuple of mapping
        For every modality that is not a candidate, each reason as ``{"code", "reason"}``: the
        code (``forbidden`` or one of ``excluded_because``) and a sentence for the reader
        (the forbidding rules, the cost ceiling, the propensity ...). Empty for candidates.
    outcomes : dict
        ``survival`` {months: probability}, ``median_os_months`` (None = not reached within the
        model's follow-up), ``rmst_months`` with ``rmst_interval_months`` [low, high] at
        ``rmst_horizon_months``, ``p_response`` (objective response, mRECIST CR/PR; None with
        ``response_note`` when forbidden or not applicable, ``response_applicable``,
        ``response_basis``), ``extrapolated`` with ``extrapolated_because`` (the patient is
        outside the training data of the modality: :mod:`pipeline.recommender.envelope`).
    score : float
        Value of the ranking objective (higher is better).
    factors : tuple of Factor
        Top SHAP factors of this modality's survival prediction (empty when explain=False).
    curve : dict
        ``months`` and ``survival`` lists (about 25 points to 60 months) for plotting.
    indication : str
        ``indicated``, ``acceptable`` or ``not_indicated`` for this patient by the rule set
        (stage table and ``not_indicated`` rules); indicated candidates rank first.
    required_actions : tuple of dict
        The ``require`` hits on this modality: co-treatments and prerequisites to arrange before
        or with it (rule_id, effect, message = the action, reference, evidence, missing). Not
        vetoes.
    """

    modality: str
    label: str
    eligibility: str
    hits: tuple
    excluded_because: tuple[str, ...]
    cost_tier: str
    candidate: bool
    outcomes: Mapping
    score: float
    data_support: bool = True
    not_candidate_because: tuple = ()
    factors: tuple = ()
    factors_base_value: float | None = None
    curve: Mapping = field(default_factory=dict)
    indication: str = "acceptable"
    required_actions: tuple = ()

    @classmethod
    def assemble(cls, **values) -> ModalityAssessment:
        """The same object as ``cls(**fields)`` with every field given, built without the
        frozen dataclass ``__init__`` (one ``object.__setattr__`` per field): batch assembly
        builds ten per patient."""
        if values.keys() != _ASSESSMENT_FIELDS:
            raise TypeError(f"ModalityAssessment.assemble: expected the fields "
                            f"{sorted(_ASSESSMENT_FIELDS)}, got {sorted(values)}")
        obj = object.__new__(cls)
        obj.__dict__.update(values)
        return obj

    def to_dict(self) -> dict:
        return {
            "modality": self.modality,
            "label": self.label,
            "eligibility": self.eligibility,
            "indication": self.indication,
            "required_actions": [dict(h) for h in self.required_actions],
            "hits": [dict(h) for h in self.hits],
            "excluded_because": list(self.excluded_because),
            "cost_tier": self.cost_tier,
            "candidate": self.candidate,
            "data_support": self.data_support,
            "not_candidate_because": [dict(r) for r in self.not_candidate_because],
            "score": _num(self.score),
            "outcomes": _clean(self.outcomes),
            "factors": [f.to_dict() for f in self.factors],
            "factors_base_value": _num(self.factors_base_value, 5),
            "curve": _clean(self.curve),
        }


_ASSESSMENT_FIELDS = {f.name for f in fields(ModalityAssessment)}


def _clean(value):
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _clean(value.item())
    return value


@dataclass(frozen=True)
class Recommendation:
    """The recommendation for one patient (frozen; ``to_dict()`` is JSON-safe).

    Attributes
    ----------
    recommended : str or None
        The candidate modality (not forbidden, affordable, not declined) with the best predicted
        outcome by ``objective``; None when there is no candidate (see ``message``).
    runner_up : str or None
        The second-best candidate.
    message : str
        One sentence saying why (or that the patient should be referred to the MDT).
    objective : str
        Ranking objective (higher is better), see :data:`OBJECTIVES`.
    modalities : tuple of ModalityAssessment
        Every modality of the contract, in contract order.
    contrast : dict or None
        Explanation of recommended versus runner-up in months of RMST (see
        :mod:`pipeline.recommender.contrast`): ``difference``, the ``main_effect`` (the
        average difference between the two options for patients like this), the
        patient-specific ``factors`` (``months``, and ``shap`` on the margin), the
        ``noise_factors`` left out as within the bootstrap noise and ``other_factors``.
    guideline : dict
        Rule set name and version, the patient's stage, the stage's preferred modalities
        (indicated, then acceptable), the patient's ``indicated`` / ``acceptable`` /
        ``not_indicated`` modalities with the citation of the stage table, the recommendation's
        ``indication`` grade, ``consider_not_indicated`` (from the preferences), and whether
        the recommendation is concordant (indicated or acceptable, not forbidden).
    flags : tuple of dict
        Rule hits the MDT must see: every review hit on the recommended modality, then warnings.
    required_actions : tuple of dict
        Co-treatments and prerequisites the rule set requires for the recommended modality
        (antiviral therapy, band ligation before bevacizumab, anticoagulant management before a
        procedure ...): ``require`` hits, never vetoes. Each modality lists its own.
    preferences : Preferences
    shap_unit : str
        Unit of every SHAP value in this recommendation.
    versions : dict
        Model, rule set, contract and bundle versions.
    patient_ref : str or None
        Short sha256 reference of the patient_id when one was given (never the id itself).
    caveat : str
    objective_description : str or None
        The objective in words with its numbers (for example the RMST horizon).
    equivalence : dict or None
        Recommended versus runner-up: ``equivalent`` (difference below 0.5 months, or the
        bootstrap members disagree on their order), ``difference_months``,
        ``paired_interval_months``, ``interval_overlap``, ``because`` and, when equivalent,
        ``separated_by`` (guideline preference, cost tier: ``{criterion, favours, reason}``);
        see :mod:`pipeline.recommender.contrast`. None without a runner-up.
    """

    recommended: str | None
    runner_up: str | None
    message: str
    objective: str
    modalities: tuple
    contrast: Mapping | None
    guideline: Mapping
    flags: tuple
    preferences: Preferences
    shap_unit: str
    versions: Mapping
    patient_ref: str | None = None
    caveat: str = CAVEAT
    objective_description: str | None = None
    equivalence: Mapping | None = None
    required_actions: tuple = ()

    def modality(self, name: str) -> ModalityAssessment:
        """The assessment of one modality by name."""
        for m in self.modalities:
            if m.modality == name:
                return m
        raise KeyError(f"modality: expected one of {', '.join(MODALITIES)}, got {name!r}")

    @property
    def forbidden(self) -> tuple[str, ...]:
        return tuple(m.modality for m in self.modalities if m.eligibility == "forbidden")

    def to_dict(self) -> dict:
        """JSON-safe dict (plain lists, dicts, str, float, bool, None; NaN becomes None)."""
        name, unit = OBJECTIVES[self.objective]
        return {
            "recommended": self.recommended,
            "recommended_label": _label(self.recommended),
            "runner_up": self.runner_up,
            "runner_up_label": _label(self.runner_up),
            "message": self.message,
            "objective": {"name": self.objective,
                          "description": self.objective_description or name, "unit": unit,
                          "higher_is_better": True},
            "guideline": _clean(self.guideline),
            "flags": [dict(f) for f in self.flags],
            "required_actions": [dict(a) for a in self.required_actions],
            "contrast": _clean(self.contrast) if self.contrast is not None else None,
            "equivalence": _clean(self.equivalence) if self.equivalence is not None else None,
            "shap_unit": self.shap_unit,
            "modalities": [m.to_dict() for m in self.modalities],
            "preferences": self.preferences.to_dict(),
            "versions": _clean(self.versions),
            "patient_ref": self.patient_ref,
            "caveat": self.caveat,
        }


def _label(modality: str | None) -> str | None:
    from features.contract import MODALITY_LABELS

    return None if modality is None else MODALITY_LABELS[modality]
