"""Columnar bulk scoring: the recommendations of a whole cohort as tables, not objects.

::

    from pipeline import recommend_table
    table = recommend_table(cohort_frame)              # intervals=False, explain=False
    table.patients      # one row per input row: ok, errors, recommended, runner_up, stage ...
    table.modalities    # one row per valid patient and modality: verdicts, outcomes, rank
    table.wide()        # the patients with one column per modality and measure (tace__rank)

The same recommendations as :meth:`~pipeline.recommender.runtime.Recommender.recommend_batch`
(tests/recommender/test_bulk.py checks every patient of a few thousand): the same contract
validation of the whole frame (:func:`features.contract.validate_cohort`), the same derivation
(:func:`features.derive`) and rule evaluation (:func:`guidelines.assess_arrays`, the arrays of
``assess_frame``), the same call to the outcome model (:meth:`OutcomePredictor.arrays`) and the
same ranking (:func:`pipeline.recommender.ranking.rank_matrix`). What it leaves out is what
needs one Python object per patient: the message, the rule hits with their citations, the
required actions, the reason sentences (the codes are here), the extrapolation sentences and
the SHAP contrast. SHAP values, when asked, are the full grouped values of every modality
(``shap__<field>``), not the top factors.

Invalid rows come back as rows of ``patients`` with ``ok`` False and their ``errors``; the call
fails only for a request-level problem (not a frame, an unknown guideline, invalid preferences).
Valid rows are scored in chunks of ``chunk_size`` (memory bounded by the chunk, not the cohort,
apart from the result itself). Every patient identifier stays out: ``patient_ref`` is a short
sha256 reference, as in ``Recommendation.patient_ref``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.contract import (
    COST_TIERS,
    MODALITIES,
    InvalidPatientError,
    Problem,
    validate_cohort,
)
from pipeline.recommender.predictions import objective_matrix
from pipeline.recommender.ranking import REASON_CODES, exclusions, rank_matrix, reason_codes
from pipeline.recommender.recommendation import ELIGIBILITY, patient_ref
from pipeline.recommender.request import Preferences

INDICATION = ("indicated", "acceptable", "not_indicated")
"""Indication grades of ``guidelines.FrameVerdicts.indication`` (codes 0, 1, 2)."""

DEFAULT_CHUNK = 50_000
"""Valid rows scored at a time."""

PATIENT_COLUMNS = (("row", "bigint"), ("ok", "boolean"), ("errors", "string"),
                   ("patient_ref", "string"), ("recommended", "string"),
                   ("runner_up", "string"), ("n_candidates", "int"), ("stage", "string"),
                   ("concordant", "boolean"))
"""Columns of :attr:`RecommendationTable.patients` with their Spark SQL types."""


def modality_measures(recommender, explain: bool = False, intervals: bool = False) -> list:
    """(name, Spark SQL type) of every per-modality measure of the tables, in column order."""
    out = [("eligibility", "string"), ("indication", "string"), ("forbidden_by", "string"),
           ("candidate", "boolean"),
           ("not_candidate_because", "string"), ("rank", "int"), ("is_recommended", "boolean"),
           ("score", "double"), ("data_support", "boolean"), ("propensity", "double"),
           ("cost_tier", "string"), ("rmst_months", "double")]
    if intervals:
        out += [("rmst_lower", "double"), ("rmst_upper", "double")]
    p = recommender.predictor
    out += [(f"survival_{t:g}", "double") for t in p.times]
    out += [("median_os_months", "double"), ("median_reached", "boolean"),
            ("p_response", "double")]
    if explain:
        out += [("shap_base", "double")] + [(f"shap__{g}", "double")
                                            for g in shap_groups(recommender)]
    return out


def shap_groups(recommender) -> list[str]:
    """The contract-field groups of the SHAP values, in the explainer's order."""
    p = recommender.predictor
    if not hasattr(p, "group_order"):  # explain one row of the SHAP background (a matrix row)
        p._explain(recommender.bundle.background.iloc[:1])
    return list(p.group_order)


def wide_columns(recommender, explain: bool = False, intervals: bool = False) -> list:
    """(name, Spark SQL type) of :meth:`RecommendationTable.wide`: the patient columns, then
    ``<modality>__<measure>`` for every modality (contract order) and measure."""
    measures = modality_measures(recommender, explain, intervals)
    return list(PATIENT_COLUMNS) + [(f"{m}__{name}", kind) for m in MODALITIES
                                    for name, kind in measures]


@dataclass(frozen=True, eq=False)
class RecommendationTable:
    """The recommendations of a cohort as two tables (see the module docstring).

    ``patients``: one row per input row, in input order (``row`` = position). ``modalities``:
    one row per valid patient and modality, patient-major, modalities in contract order.
    ``attrs``: what applies to every row (rule set, objective, preferences, SHAP unit,
    versions).
    """

    patients: pd.DataFrame
    modalities: pd.DataFrame
    attrs: dict = field(default_factory=dict)

    def wide(self) -> pd.DataFrame:
        """``patients`` with one column per modality and measure (``tace__rmst_months``);
        invalid rows have missing values there. Plain dtypes (strings as object, nullable
        booleans and integers), as the Spark scoring writes them."""
        n, M = len(self.patients), len(MODALITIES)
        out = dict(self.patients.items())
        long = self.modalities
        position = long["row"].to_numpy()[::M]
        measures = [c for c in long.columns if c not in ("row", "modality")]
        for j, m in enumerate(MODALITIES):
            part = long.iloc[j::M]
            for name in measures:
                out[f"{m}__{name}"] = _spread(part[name], position, n)
        return pd.DataFrame(out)


def _spread(values: pd.Series, position: np.ndarray, n: int):
    """``values`` at ``position`` of a column of ``n`` rows, missing elsewhere (plain dtype)."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype):
        col = np.full(n, None, dtype=object)
        col[position] = values.to_numpy(dtype=object)
        return col
    mask = np.ones(n, bool)
    mask[position] = values.isna().to_numpy()
    if pd.api.types.is_bool_dtype(dtype):
        data = np.zeros(n, bool)
        data[position] = values.to_numpy(dtype=bool, na_value=False)
        return pd.arrays.BooleanArray(data, mask)
    if pd.api.types.is_integer_dtype(dtype):
        data = np.zeros(n, np.int32)
        data[position] = values.to_numpy(dtype=np.int32, na_value=0)
        return pd.arrays.IntegerArray(data, mask)
    col = np.full(n, np.nan)
    col[position] = values.to_numpy(dtype=float)
    return col


def recommend_table(cohort: pd.DataFrame, preferences=None, guideline=None, *, recommender=None,
                    explain: bool = False, intervals: bool = False,
                    chunk_size: int = DEFAULT_CHUNK) -> RecommendationTable:
    """The recommendations of every row of ``cohort`` as tables (see the module docstring).

    Parameters
    ----------
    cohort : DataFrame
        One contract record per row (patient_id optional, never in the output).
    preferences, guideline
        As in :func:`pipeline.recommend`, applied to every row.
    recommender : Recommender, path or MLflow URI, optional
        Default :func:`pipeline.recommender.api.default_source`.
    explain : bool, default False
        Grouped SHAP values of every modality (``shap_base``, ``shap__<field>``).
    intervals : bool, default False
        The bootstrap RMST interval (``rmst_lower``, ``rmst_upper``).
    chunk_size : int
        Valid rows scored at a time.

    Raises
    ------
    InvalidPatientError
        ``cohort`` is not a DataFrame. InvalidPreferencesError / UnknownGuidelineError for the
        request. Invalid rows never raise: they are rows with ``ok`` False and ``errors``.

    Examples
    --------
    >>> import json
    >>> import pandas as pd
    >>> from pipeline import recommend, recommend_table
    >>> names = ["early", "intermediate", "advanced"]
    >>> cohort = pd.DataFrame([json.load(open(f"examples/patient_{n}.json")) for n in names])
    >>> table = recommend_table(cohort, recommender=bundle_dir)
    >>> len(table.patients), len(table.modalities)      # 3 patients x 10 modalities
    (3, 30)
    >>> one = recommend(cohort.iloc[2].to_dict(), recommender=bundle_dir, explain=False)
    >>> table.patients["recommended"][2] == one.recommended
    True
    """
    from pipeline.recommender.api import load_recommender

    rec = load_recommender(recommender)
    if not isinstance(cohort, pd.DataFrame):
        raise InvalidPatientError([Problem("<cohort>", "not_a_frame", "a pandas DataFrame "
                                           "of contract records", type(cohort).__name__)],
                                  context="cohort")
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size: expected a number of rows >= 1, got {chunk_size!r}")
    prefs = Preferences.parse(preferences)
    ruleset = rec.ruleset(guideline)
    n = len(cohort)
    result = validate_cohort(cohort.reset_index(drop=True), require_outcomes=False,
                             require_id=False)
    valid = result.valid
    refs = np.full(len(valid), None, dtype=object)
    if "patient_id" in valid:
        refs = np.array([patient_ref(v) for v in valid["patient_id"].tolist()], dtype=object)
        valid = valid.drop(columns=["patient_id"])
    positions = valid.index.to_numpy()
    parts = [_score(rec, valid.iloc[s:s + chunk_size], ruleset, prefs, explain, intervals)
             for s in range(0, len(valid), int(chunk_size))]
    long = (pd.concat([p[1] for p in parts], ignore_index=True) if parts
            else _empty_long(rec, explain, intervals))
    long.insert(0, "row", np.repeat(positions.astype(np.int64), len(MODALITIES)))
    patients = _patients(n, positions, refs, [p[0] for p in parts], result.problems)
    attrs = {"ruleset": f"{ruleset.name} {ruleset.version}",
             "objective": prefs.objective or rec.params.objective,
             "preferences": prefs.to_dict(), "shap_unit": rec.predictor.shap_unit,
             "versions": dict(rec.versions), "explain": explain, "intervals": intervals,
             "extra_columns": list(result.extra_columns)}
    return RecommendationTable(patients, long, attrs)


def _patients(n, positions, refs, parts, problems) -> pd.DataFrame:
    """The per-patient table: valid rows from the scored chunks, invalid rows with errors."""
    errors = np.full(n, None, dtype=object)
    by_row: dict[int, list] = {}
    whole = [p.message for p in problems if p.row is None]
    for p in problems:
        if p.row is not None:
            by_row.setdefault(p.row, []).append(p.message)
    for r, messages in by_row.items():
        errors[r] = "; ".join(whole + messages)
    if whole:
        errors[errors == None] = "; ".join(whole)  # noqa: E711 (elementwise)
    ok = np.zeros(n, bool)
    ok[positions] = True
    out = {"row": np.arange(n, dtype=np.int64), "ok": ok, "errors": errors,
           "patient_ref": np.full(n, None, dtype=object)}
    out["patient_ref"][positions] = refs
    for name in ("recommended", "runner_up", "n_candidates", "stage", "concordant"):
        text = name in ("recommended", "runner_up", "stage")
        values = (np.concatenate([p[name] for p in parts]) if parts
                  else np.array([], dtype=object if text else
                                bool if name == "concordant" else np.int32))
        out[name] = _spread(pd.Series(values, dtype=object if text else None), positions, n)
    return pd.DataFrame(out)


def _score(rec, part: pd.DataFrame, ruleset, prefs, explain: bool, intervals: bool):
    """Score one chunk of valid rows: (per-patient arrays, long frame without ``row``)."""
    from features import derive
    from guidelines import assess_arrays

    p = rec.predictor
    derived = derive(part)
    X = rec.bundle.matrix.transform(derived)
    verdicts = assess_arrays(derived, ruleset)
    times = sorted(set(p.times) | {12.0, 24.0})
    a = p.arrays(X, times, explain=explain, intervals=intervals)
    objective = prefs.objective or rec.params.objective
    rmst = p.contract_order(a["rmst"])
    surv = p.contract_order(a["surv"])
    median = p.contract_order(a["median"])
    scores = objective_matrix(objective, rmst, surv, times, median)
    has_model = [m in p.column for m in MODALITIES]
    tiers = verdicts.indication.copy()
    if prefs.consider_not_indicated:  # as ranking.indication_tiers: with the acceptable ones
        tiers[tiers == 2] = 1
    ranking = rank_matrix(scores, rmst, verdicts.forbidden, tiers,
                          exclusions(rec.params, prefs, rec.too_few_treated), has_model,
                          a["support"])
    n, M = scores.shape
    ranks = ranking.ranks()
    first, second = ranking.at_rank(1), ranking.at_rank(2)
    names = np.array(list(MODALITIES) + [None], dtype=object)
    rows = np.arange(n)
    patient = {"recommended": names[first], "runner_up": names[second],
               "n_candidates": ranking.candidate.sum(axis=1).astype(np.int32),
               "stage": verdicts.stage,
               "concordant": np.where(first >= 0, verdicts.preferred[rows, first]
                                      & (verdicts.indication[rows, first] != 2), False)}
    eligibility = np.where(verdicts.forbidden, 2, np.where(verdicts.review, 1, 0))
    propensity = (a["propensity"] if a["propensity"] is not None
                  else np.full((n, M), np.nan))
    support = a["support"]
    unsupported = ranking.unsupported if support is not None else np.zeros((n, M), bool)
    finite = np.isfinite(median)
    tiers = np.array([COST_TIERS.index(rec.params.cost_tiers[m]) for m in MODALITIES])
    long = {
        "modality": pd.Categorical.from_codes(np.tile(np.arange(M), n), MODALITIES),
        "eligibility": pd.Categorical.from_codes(eligibility.ravel(), ELIGIBILITY),
        "indication": pd.Categorical.from_codes(verdicts.indication.ravel(), INDICATION),
        "forbidden_by": verdicts.forbidden_by.ravel(),
        "candidate": ranking.candidate.ravel(),
        "not_candidate_because": _code_text(ranking.codes.ravel()),
        "rank": pd.array(np.where(ranks > 0, ranks, 0).ravel(), dtype="Int8"),
        "is_recommended": (np.arange(M)[None, :] == first[:, None]).ravel(),
        "score": scores.ravel(),
        "data_support": ~unsupported.ravel(),
        "propensity": propensity.ravel(),
        "cost_tier": pd.Categorical.from_codes(np.tile(tiers, n), COST_TIERS),
        "rmst_months": rmst.ravel(),
    }
    long["rank"][ranks.ravel() == 0] = pd.NA
    if intervals:
        long["rmst_lower"] = p.contract_order(a["lo"]).ravel()
        long["rmst_upper"] = p.contract_order(a["hi"]).ravel()
    for t in p.times:
        long[f"survival_{t:g}"] = surv[:, :, times.index(t)].ravel()
    long["median_os_months"] = np.where(finite, median, np.nan).ravel()
    reached = pd.array(finite.ravel(), dtype="boolean")
    reached[np.isnan(median).ravel()] = pd.NA  # no model: unknown
    long["median_reached"] = reached
    # as Recommendation: no response probability shown for a forbidden modality
    long["p_response"] = np.where(verdicts.forbidden, np.nan,
                                  p.contract_order(a["p_response"])).ravel()
    if explain:
        long["shap_base"] = p.contract_order(a["base"]).ravel()
        shap = p.contract_order(a["shap"])
        for g, name in enumerate(p.group_order):
            long[f"shap__{name}"] = shap[:, :, g].ravel()
    return patient, pd.DataFrame(long)


def _code_text(bits: np.ndarray) -> np.ndarray:
    """The reason codes of each bit mask, comma-separated in :data:`REASON_CODES` order."""
    values, inverse = np.unique(bits, return_inverse=True)
    text = np.array([",".join(reason_codes(int(v))) for v in values.tolist()], dtype=object)
    return text[inverse.ravel()]


def _empty_long(rec, explain: bool, intervals: bool) -> pd.DataFrame:
    """The long table of a cohort without a valid row: the columns, no rows."""
    kinds = {"string": object, "boolean": bool, "int": "Int8", "double": "float64"}
    cols = {"modality": pd.Categorical([], categories=MODALITIES)}
    for name, kind in modality_measures(rec, explain, intervals):
        cols[name] = pd.Series([], dtype=kinds[kind])
    cols["eligibility"] = pd.Categorical([], categories=ELIGIBILITY)
    cols["indication"] = pd.Categorical([], categories=INDICATION)
    return pd.DataFrame(cols)


__all__ = ["DEFAULT_CHUNK", "PATIENT_COLUMNS", "REASON_CODES", "RecommendationTable",
           "modality_measures", "recommend_table", "wide_columns"]
