"""Synthetic cohort with known counterfactual truth (the default data of the pipeline).

:func:`simulate_cohort` draws a Chinese, advanced-leaning HCC population
(:mod:`pipeline.simulation.population`), computes every patient's exact survival curve and response
probability under all ten modalities (:mod:`pipeline.simulation.potential_outcomes`), assigns a modality with
a noisy, indication-confounded physician policy (multinomial logit with overlap), samples the
factual outcomes under the assigned modality and censors them (staggered accrual, administrative
end of study, loss to follow-up).

Every number comes from :class:`SyntheticParams` (``synthetic:`` in params.yaml); the defaults
with their clinical-facts citations are in ``calibration.yaml`` (package data).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.contract import FIELDS, MODALITIES, PATIENT_FIELDS
from pipeline.simulation.population import (
    INDICATORS,
    PopulationParams,
    clinical_state,
    contract_frame,
    draw_population,
)
from pipeline.simulation.potential_outcomes import (
    BaselineParams,
    Components,
    ModalityEffect,
    baseline_parts,
    components,
    median,
    response_probability,
    rmst,
    sample_outcomes,
    survival,
)

CALIBRATION_FILE = Path(__file__).with_name("calibration.yaml")
"""The packaged calibration table (every number with its clinical-facts citation)."""

TRUTH_COLUMNS = ("patient_id", "modality", "rmst24_months", "rmst60_months", "surv12",
                 "median_os_months", "p_response", "risk_score")


class SyntheticParamsError(ValueError):
    """A synthetic-cohort parameter is inconsistent (missing modality, bad share ...)."""


@dataclass(frozen=True)
class CensoringParams:
    """Censoring of the factual outcomes (``synthetic.censoring``).

    Patients enter uniformly over ``accrual_months``; the study ends ``min_follow_up_months``
    after the last entry (administrative censoring between min_follow_up and
    accrual + min_follow_up months); independently, ``loss_to_follow_up_per_year`` of patients
    are lost per year (exponential).
    """

    accrual_months: float
    min_follow_up_months: float
    loss_to_follow_up_per_year: float


@dataclass(frozen=True)
class PolicyParams:
    """Physician treatment-choice policy (``synthetic.policy``): a multinomial logit.

    ``utility[m] = intercept[m] + sum(coefficients[m][indicator] * indicator)``, divided by
    ``temperature`` (higher = noisier, more overlap). Indicators are the names of
    :data:`pipeline.simulation.population.INDICATORS`; economic status enters for the costly
    options (transplant, immunotherapy, targeted).
    """

    temperature: float
    intercept: dict[str, float]
    coefficients: dict[str, dict[str, float]]


@dataclass(frozen=True)
class EffectParams:
    """Modality effects (``synthetic.effects``).

    ``modalities`` maps each of the ten modalities to its :class:`ModalityEffect`. "targeted" is
    parameterised as sorafenib; a share ``targeted_lenvatinib_share`` of targeted patients get
    lenvatinib (hazard ratio vs sorafenib ``lenvatinib_hr_vs_sorafenib``, REFLECT 0.92, and ORR
    odds ratio ``lenvatinib_orr_odds_ratio``, mRECIST 24.1% vs 9.2%: clinical-facts §3.1).
    ``response_survival_rho`` couples response and survival (Gaussian copula).
    """

    modalities: dict[str, ModalityEffect]
    targeted_lenvatinib_share: float
    lenvatinib_hr_vs_sorafenib: float
    lenvatinib_orr_odds_ratio: float
    response_survival_rho: float


@dataclass(frozen=True)
class SyntheticParams:
    """The data-generating process of the synthetic cohort (the calibration table).

    Read from the package data file ``calibration.yaml`` (:data:`CALIBRATION_FILE`) by
    :meth:`default`, or from another file of the same shape by :meth:`from_file`.
    ``median_horizon_months`` caps the true median OS of curves that never cross 0.5 within it.
    The cohort's size and seed are separate (:class:`CohortParams`, ``synthetic:`` in
    params.yaml).
    """

    median_horizon_months: float
    censoring: CensoringParams
    population: PopulationParams
    baseline: BaselineParams
    effects: EffectParams
    policy: PolicyParams

    def __post_init__(self) -> None:
        for name, mapping in (("effects.modalities", self.effects.modalities),
                              ("policy.intercept", self.policy.intercept),
                              ("policy.coefficients", self.policy.coefficients)):
            if set(mapping) != set(MODALITIES):
                raise SyntheticParamsError(
                    f"synthetic.{name}: expected one entry per modality {MODALITIES}, "
                    f"got {tuple(mapping)}")
        for m, coefs in self.policy.coefficients.items():
            unknown = sorted(set(coefs) - set(INDICATORS))
            if unknown:
                raise SyntheticParamsError(
                    f"synthetic.policy.coefficients.{m}: unknown indicator(s) {unknown}")
        if self.median_horizon_months <= 60:
            raise SyntheticParamsError(
                f"synthetic.median_horizon_months: expected a horizon > 60 months, "
                f"got {self.median_horizon_months}")
        if self.policy.temperature <= 0:
            raise SyntheticParamsError(
                f"synthetic.policy.temperature: expected > 0, got {self.policy.temperature}")

    @classmethod
    def default(cls) -> SyntheticParams:
        """The packaged calibration (``pipeline/simulation/calibration.yaml``)."""
        return cls.from_file(CALIBRATION_FILE)

    @classmethod
    def from_file(cls, path: str | Path) -> SyntheticParams:
        """A calibration YAML file of the same shape as the packaged one; unknown or missing
        keys fail, naming the key."""
        from pipeline.config import build, read_yaml

        return build(cls, read_yaml(path), Path(path).name)


@dataclass(frozen=True)
class CohortParams:
    """``synthetic:`` section of params.yaml: how many patients to simulate, with which seed
    (numpy's ``default_rng``)."""

    n: int
    seed: int

    def __post_init__(self) -> None:
        if self.n < 1:
            raise SyntheticParamsError(f"synthetic.n: expected at least 1 patient, got {self.n}")


def modality_components(pop: dict, state: dict, params: SyntheticParams,
                        region_multiplier=None, era_year: int | None = None,
                        agents: dict[str, float] | None = None) -> dict[str, Components]:
    """Survival-mixture parameters of every modality for every patient.

    ``region_multiplier`` (scalar or per patient) defaults to the cohort region's hazard
    multiplier; ``era_year`` to the cohort era. ``agents`` optionally overrides the lenvatinib
    share of "targeted" (0 = sorafenib only, 1 = lenvatinib only), used by the trial replication.
    """
    parts = baseline_parts(pop, state, params.baseline)
    if region_multiplier is None:
        region_multiplier = params.baseline.region_hazard[params.baseline.cohort_region]
    eff = params.effects
    share = eff.targeted_lenvatinib_share if agents is None else agents.get("lenvatinib", 0.0)
    out = {}
    for m in MODALITIES:
        mult = eff.lenvatinib_hr_vs_sorafenib ** share if m == "targeted" else 1.0
        out[m] = components(parts, state, eff.modalities[m], params.baseline, region_multiplier,
                            era_year, mult)
    return out


def modality_response(state: dict, params: SyntheticParams,
                      agents: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Probability of objective response (CR/PR, mRECIST) of every modality for every patient."""
    eff = params.effects
    out = {m: response_probability(state, eff.modalities[m]) for m in MODALITIES}
    share = eff.targeted_lenvatinib_share if agents is None else agents.get("lenvatinib", 0.0)
    p_sor = out["targeted"]
    odds = p_sor / (1.0 - p_sor) * eff.lenvatinib_orr_odds_ratio
    out["targeted"] = (1.0 - share) * p_sor + share * odds / (1.0 + odds)
    return out


def _utilities(state: dict, policy: PolicyParams) -> np.ndarray:
    x = state["x"]
    n = len(next(iter(x.values())))
    util = np.empty((n, len(MODALITIES)))
    for j, m in enumerate(MODALITIES):
        u = np.full(n, policy.intercept[m])
        for name, coef in policy.coefficients[m].items():
            u += coef * x[name]
        util[:, j] = u / policy.temperature
    return util


def assign_modality(state: dict, policy: PolicyParams, rng: np.random.Generator) -> np.ndarray:
    """Sample the received modality index (into ``MODALITIES``) from the physician policy."""
    util = _utilities(state, policy)
    return np.argmax(util + rng.gumbel(size=util.shape), axis=1)


def policy_probabilities(state: dict, policy: PolicyParams) -> np.ndarray:
    """Propensity of each modality (n x 10, rows sum to 1) under the physician policy."""
    util = _utilities(state, policy)
    util -= util.max(axis=1, keepdims=True)
    e = np.exp(util)
    return e / e.sum(axis=1, keepdims=True)


def _truth_frame(ids: np.ndarray, comps: dict[str, Components], p_resp: dict[str, np.ndarray],
                 horizon: float) -> pd.DataFrame:
    """Long truth frame, patient-major (the ten modalities of a patient are adjacent)."""
    cols = {"rmst24_months": [], "rmst60_months": [], "surv12": [], "median_os_months": [],
            "p_response": [], "risk_score": []}
    for m in MODALITIES:
        c = comps[m]
        cols["rmst24_months"].append(rmst(c, 24.0))
        cols["rmst60_months"].append(rmst(c, 60.0))
        cols["surv12"].append(survival(c, 12.0))
        cols["median_os_months"].append(median(c, horizon))
        cols["p_response"].append(p_resp[m])
        # true cumulative hazard to 24 months: higher = riskier
        cols["risk_score"].append(-np.log(np.clip(survival(c, 24.0), 1e-300, 1.0)))
    n, k = len(ids), len(MODALITIES)
    frame = {"patient_id": np.repeat(ids, k),
             "modality": np.tile(np.asarray(MODALITIES, dtype=object), n)}
    for name, blocks in cols.items():
        frame[name] = np.column_stack(blocks).ravel()
    return pd.DataFrame(frame, columns=list(TRUTH_COLUMNS))


def potential_outcomes(pop: dict, params: SyntheticParams, ids=None) -> pd.DataFrame:
    """Counterfactual truth (the ``truth`` frame) for an explicit population.

    ``pop`` is a dict of complete arrays as returned by
    :func:`pipeline.simulation.population.draw_population` (a test may edit a field, e.g. set
    ``pvtt`` to "vp4", and compare: all else equal). ``ids`` default to "SYN-000001", ...
    """
    n = len(pop["age_years"])
    if ids is None:
        ids = np.array([f"SYN-{i + 1:06d}" for i in range(n)], dtype=object)
    state = clinical_state(pop)
    comps = modality_components(pop, state, params)
    return _truth_frame(np.asarray(ids, dtype=object), comps, modality_response(state, params),
                        params.median_horizon_months)


def _censor(n: int, c: CensoringParams, rng: np.random.Generator) -> np.ndarray:
    admin = c.min_follow_up_months + rng.uniform(0.0, c.accrual_months, n)
    if c.loss_to_follow_up_per_year <= 0:
        return admin
    rate = -np.log1p(-c.loss_to_follow_up_per_year) / 12.0
    return np.minimum(admin, rng.exponential(1.0 / rate, n))


def simulate_cohort(n: int, seed: int, params: SyntheticParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate ``n`` patients with factual outcomes and the counterfactual truth.

    Parameters
    ----------
    n : number of patients.
    seed : seed of ``numpy.random.default_rng`` (same seed and params = same cohort).
    params : :class:`SyntheticParams` (``params.n`` and ``params.seed`` are not used here).

    Returns
    -------
    cohort : one row per patient, patient-contract columns plus modality, os_months (months,
        > 0), death (True = died), response (cr/pr/sd/pd by mRECIST, None = not assessed),
        pfs_months (<= os_months), progression (True = progressed or died).
    truth : one row per (patient_id, modality) for all ten modalities with rmst24_months,
        rmst60_months (restricted mean survival, months), surv12 (S(12 months)),
        median_os_months (capped at ``params.median_horizon_months``), p_response (probability
        of CR/PR) and risk_score (true cumulative hazard to 24 months, higher = riskier).
    """
    if n < 1:
        raise SyntheticParamsError(f"n: expected a positive number of patients, got {n}")
    rng = np.random.default_rng(seed)
    pop = draw_population(n, rng, params.population)
    state = clinical_state(pop)
    comps = modality_components(pop, state, params)
    p_resp = modality_response(state, params)
    ids = np.array([f"SYN-{i + 1:06d}" for i in range(n)], dtype=object)
    truth = _truth_frame(ids, comps, p_resp, params.median_horizon_months)

    assigned = assign_modality(state, params.policy, rng)
    # Factual latent outcomes: sample under each modality for its own patients.
    t_lat = np.empty(n)
    p_lat = np.empty(n)
    resp = np.empty(n, dtype=object)
    early = np.zeros(n, dtype=bool)
    assessed = np.zeros(n, dtype=bool)
    rho = params.effects.response_survival_rho
    for j, m in enumerate(MODALITIES):
        idx = np.flatnonzero(assigned == j)
        if len(idx) == 0:
            continue
        eff = params.effects.modalities[m]
        c = comps[m]
        sub = Components(c.early[idx], c.cure[idx], c.mu[idx], c.rate[idx], c.shape, c.early_mean)
        k = len(idx)
        draw = sample_outcomes(sub, p_resp[m][idx], np.full(k, eff.cr_share),
                               np.full(k, eff.sd_share), np.full(k, eff.pfs_fraction), rho, rng)
        t_lat[idx], p_lat[idx], resp[idx] = draw["time"], draw["pfs"], draw["response"]
        early[idx] = draw["early"]
        assessed[idx] = rng.random(k) < eff.assessed
    # No imaging before the first assessment (about 6 weeks) for patients who died earlier.
    assessed &= ~(early | (t_lat < 1.0))
    cens = _censor(n, params.censoring, rng)
    assessed &= cens > 1.0
    os_months = np.minimum(t_lat, cens)
    pfs_months = np.minimum(p_lat, cens)

    cohort = contract_frame(pop, rng, params.population, PATIENT_FIELDS)
    cohort["modality"] = np.asarray(MODALITIES, dtype=object)[assigned]
    cohort["os_months"] = np.round(os_months, 3)
    cohort["death"] = t_lat <= cens
    cohort["response"] = np.where(assessed, resp, None).astype(object)
    cohort["pfs_months"] = np.minimum(np.round(pfs_months, 3), cohort["os_months"].to_numpy())
    cohort["progression"] = pd.array(p_lat <= cens, dtype="boolean")
    cohort["os_months"] = np.maximum(cohort["os_months"], 0.001)
    cohort["pfs_months"] = np.maximum(cohort["pfs_months"], 0.001)
    return cohort[[c for c in FIELDS if c in cohort.columns]], truth
