"""The request: the ``recommend:`` settings, the patient's preferences and the ranking objectives.

* :class:`RecommendParams` is the ``recommend:`` section of params.yaml (the trained bundle
  carries a copy in ``settings.json``, so a served model needs no params file).
* :class:`Preferences` is the patient's request: declined modalities, cost ceiling, objective,
  and whether options the guideline does not indicate are considered.
* :data:`OBJECTIVES`: the objectives that rank modalities (higher is better for every one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from features.contract import COST_TIERS, MODALITIES, Problem, RequestError


class InvalidPreferencesError(RequestError):
    """The patient's preferences (declined modalities, cost ceiling, objective) are invalid;
    ``problems`` lists every one (reason ``invalid_preference``)."""

    error = "invalid_preferences"

    def __init__(self, problems):
        problems = tuple(problems)
        super().__init__(problems, f"invalid preferences: {len(problems)} problem(s)")

OBJECTIVES = MappingProxyType({
    "rmst24": ("restricted mean survival time to the horizon (rmst_horizon_months)", "months"),
    "surv12": ("probability of survival at 12 months", "probability"),
    "surv24": ("probability of survival at 24 months", "probability"),
    "median_os": ("median overall survival", "months"),
})
"""Objectives that rank modalities (higher is better for every one)."""


@dataclass(frozen=True)
class RecommendParams:
    """``recommend:`` section of params.yaml.

    Attributes
    ----------
    objective : str
        Default ranking objective, one of :data:`OBJECTIVES` (higher is better).
    survival_times_months : tuple of float
        Times (months) at which survival probabilities are reported.
    rmst_horizon_months : float
        Horizon (months) of the restricted mean survival time.
    interval_level : float
        Coverage of the reported RMST interval (0.9 = 5th to 95th percentile).
    top_factors : int
        SHAP factors (contract fields) listed per modality and for the contrast.
    default_guideline : str
        Rule set used when the request names none.
    cost_tiers : mapping modality -> low / middle / high
    min_propensity : float
        Data-support guard: a modality whose estimated propensity for the patient is below this
        is not recommended (its predicted outcome is an extrapolation beyond the treated
        patients the model learned from), unless no supported candidate remains. 0 disables it;
        learners without a propensity model ignore it.
    min_treated_patients : int
        Data-support guard by count: a modality that fewer than this many training patients
        received is never a candidate (reason ``too_few_treated``): its predicted outcomes rest
        on a handful of patients. 0 disables it; bundles without per-modality counts ignore it.
    """

    objective: str
    survival_times_months: tuple[float, ...]
    rmst_horizon_months: float
    interval_level: float
    top_factors: int
    default_guideline: str
    cost_tiers: dict[str, str]
    min_propensity: float = 0.0
    min_treated_patients: int = 0

    def __post_init__(self):
        problems = []
        if self.min_treated_patients < 0:
            problems.append(f"recommend.min_treated_patients: expected a count >= 0, got "
                            f"{self.min_treated_patients}")
        if not 0 <= self.min_propensity < 1:
            problems.append(f"recommend.min_propensity: expected a probability in [0, 1), got "
                            f"{self.min_propensity}")
        if self.objective not in OBJECTIVES:
            problems.append(f"recommend.objective: expected one of {', '.join(OBJECTIVES)}, "
                            f"got {self.objective!r}")
        if sorted(self.cost_tiers) != sorted(MODALITIES) or any(
                t not in COST_TIERS for t in self.cost_tiers.values()):
            problems.append("recommend.cost_tiers: expected a tier (low, middle, high) for every "
                            f"modality ({', '.join(MODALITIES)}), got {dict(self.cost_tiers)}")
        if not 0 < self.interval_level < 1:
            problems.append(f"recommend.interval_level: expected a level in (0, 1), got "
                            f"{self.interval_level}")
        if problems:
            from pipeline.config import ParamsError

            raise ParamsError("; ".join(problems))


def _problem(field_name, expected, received, hint="") -> Problem:
    return Problem(field_name, "invalid_preference", expected, received, hint)


@dataclass(frozen=True)
class Preferences:
    """The patient's preferences.

    Attributes
    ----------
    excluded_modalities : tuple of str
        Modalities the patient declines (never recommended, still shown).
    max_cost_tier : str or None
        Highest cost tier the patient can afford (low < middle < high); None = no limit.
    objective : str or None
        Ranking objective (None = the default of params.yaml ``recommend.objective``).
    consider_not_indicated : bool
        False (default): a modality the rule set grades "not indicated" for the patient (stage
        indication table or a ``not_indicated`` rule) is never recommended, whatever the model
        predicts (reason ``not_indicated``). True: such modalities are considered as acceptable
        alternatives (ranked after the indicated ones, with the acceptable ones) and the output
        says so. Forbidden modalities are never considered.
    """

    excluded_modalities: tuple[str, ...] = ()
    max_cost_tier: str | None = None
    objective: str | None = None
    consider_not_indicated: bool = False

    @classmethod
    def parse(cls, value) -> Preferences:
        """Build from a mapping (or None / a Preferences), raising :class:`InvalidPreferencesError`."""
        if value is None:
            return cls()
        if isinstance(value, Preferences):
            return value
        if not isinstance(value, Mapping):
            raise InvalidPreferencesError([_problem(
                "preferences", "a mapping with " + ", ".join(_KEYS), type(value).__name__)])
        problems = []
        unknown = sorted(map(str, set(value) - set(_KEYS)))
        for key in unknown:
            problems.append(_problem(f"preferences.{key}", ", ".join(_KEYS[:-1]) + " or "
                                     + _KEYS[-1], "an unknown key"))
        excluded = value.get("excluded_modalities") or ()
        if isinstance(excluded, str):
            excluded = (excluded,)
        if not isinstance(excluded, (list, tuple, set, frozenset)):
            problems.append(_problem("preferences.excluded_modalities", "a list of modalities",
                                     type(excluded).__name__))
            excluded = ()
        clean = []
        for m in excluded:
            key = m.strip().lower() if isinstance(m, str) else m
            if key not in MODALITIES:
                problems.append(_problem("preferences.excluded_modalities",
                                         "modalities of " + ", ".join(MODALITIES), repr(m)))
            elif key not in clean:
                clean.append(key)
        tier = value.get("max_cost_tier")
        if tier is not None and (not isinstance(tier, str) or tier.strip().lower() not in
                                 COST_TIERS):
            problems.append(_problem("preferences.max_cost_tier", "one of low, middle, high",
                                     repr(tier)))
            tier = None
        objective = value.get("objective")
        if objective is not None and (not isinstance(objective, str)
                                      or objective not in OBJECTIVES):
            problems.append(_problem("preferences.objective", "one of " + ", ".join(OBJECTIVES),
                                     repr(objective)))
        consider = value.get("consider_not_indicated", False)
        if consider is None:
            consider = False
        if not isinstance(consider, bool):
            problems.append(_problem("preferences.consider_not_indicated", "true or false",
                                     repr(consider)))
        if problems:
            raise InvalidPreferencesError(problems)
        order = {m: i for i, m in enumerate(MODALITIES)}
        return cls(tuple(sorted(clean, key=order.get)),
                   tier.strip().lower() if tier else None, objective, consider)

    def to_dict(self) -> dict:
        return {"excluded_modalities": list(self.excluded_modalities),
                "max_cost_tier": self.max_cost_tier, "objective": self.objective,
                "consider_not_indicated": self.consider_not_indicated}


_KEYS = ("excluded_modalities", "max_cost_tier", "objective", "consider_not_indicated")
