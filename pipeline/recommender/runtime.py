"""The :class:`Recommender`: a trained bundle and its rule sets at run time.

For every modality of the contract the recommender predicts survival (at the report times, RMST
to the horizon with an interval, median) and the probability of objective response with the
trained per-modality outcome model, explains the predictions with SHAP in contract terms, and
applies the guideline rule set as a safety layer. The recommended modality is the candidate (not
forbidden by the rules, affordable, not declined) of the best indication grade (indicated, then
acceptable) with the best predicted outcome by the objective; a forbidden modality is never
recommended, whatever the preferences, and a modality the rule set grades not indicated only
when the request asks to consider such options (``consider_not_indicated``). The co-treatments
and prerequisites the rules require are listed as required actions.

The patient_id, when given, is never in the output or the logs (a short sha256 reference is).
The module-level functions users call are in :mod:`pipeline.recommender.api`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import threading
from pathlib import Path

import pandas as pd

from features.contract import (
    CONTRACT_VERSION,
    MODALITIES,
    MODALITY_LABELS,
    InvalidPatientError,
    Problem,
    validate_cohort,
    validate_record,
)
from pipeline.recommender.contrast import contrast_block, equivalence, sentences
from pipeline.recommender.predictions import OutcomePredictor
from pipeline.recommender.ranking import (
    REASON_CODES,
    derived_records,
    describe_objective,
    exclusions,
    forbidden_matrix,
    hit_dict,
    indication_tiers,
    not_candidate_reasons,
    rank_matrix,
    reason_codes,
    summary_message,
)
from pipeline.recommender.recommendation import ModalityAssessment, Recommendation, patient_ref
from pipeline.recommender.request import Preferences, RecommendParams

log = logging.getLogger("pipeline.recommender")

_FORBIDDEN_BIT = 1 << REASON_CODES.index("forbidden")
_BATCH_CHUNK = 2048
_BATCH_WORKERS = min(2, os.cpu_count() or 1)
"""Chunks scored at a time by recommend_batch (threads; see Recommender._batch_chunks)."""


class Recommender:
    """A trained recommender: bundle (matrix, outcome model, SHAP background) + rule sets.

    Build with :meth:`from_bundle` or :func:`load_recommender`; then :meth:`recommend` and
    :meth:`recommend_batch`.
    """

    def __init__(self, bundle, params: RecommendParams | None = None):
        from pipeline.config import build

        self.bundle = bundle
        settings = dict(bundle.settings)
        if params is None:
            section = settings.get("recommend")
            if not section:
                from pipeline.recommender.bundle import BundleError

                raise BundleError("the bundle's settings.json has no 'recommend' section: "
                                  "retrain it (dvc repro) or pass params=RecommendParams(...)")
            params = build(RecommendParams, section, "bundle settings.json recommend")
        self.params = params
        self.predictor = OutcomePredictor(bundle, params)
        self._rulesets = {Path(p).stem: p for p in bundle.rules}
        counts = settings.get("n_train_by_modality")
        self.n_treated = dict(counts or {})
        self.too_few_treated = frozenset(
            m for m in MODALITIES if counts is not None
            and 0 < counts.get(m, 0) < params.min_treated_patients)
        """Modalities trained on too few patients to be candidates (recommend.min_treated_patients)."""
        self.versions = {
            "model": settings.get("model_version", "unknown"),
            "learner": settings.get("learner"),
            "git_commit": settings.get("git_commit"),
            "data_sha256": settings.get("data_sha256"),
            "bundle_format": settings.get("bundle_format"),
            "contract": CONTRACT_VERSION,
        }

    @classmethod
    def from_bundle(cls, path: str | Path, params: RecommendParams | None = None) -> Recommender:
        """Load the bundle directory written by the ``train`` stage."""
        from pipeline.recommender.bundle import load_bundle

        return cls(load_bundle(path), params)

    # --- request pieces ---------------------------------------------------------------------

    def ruleset(self, name: str | None):
        """The rule set ``name`` (default ``recommend.default_guideline``), from the bundle first.

        Raises :class:`guidelines.UnknownGuidelineError` (a ``RequestError``) naming the
        available rule sets when ``name`` is unknown.
        """
        from guidelines.ruleset import UnknownGuidelineError, available_rulesets, load_ruleset

        name = name or self.params.default_guideline
        names = sorted(set(self._rulesets) | set(available_rulesets()))
        if not isinstance(name, str):
            raise UnknownGuidelineError(name, names, "a rule set name", paths=False)
        key = name.strip().lower()
        source = self._rulesets.get(key)
        if source is None and key in available_rulesets():
            source = key
        if source is None:
            raise UnknownGuidelineError(name, names, paths=False)
        return _load_ruleset_cached(str(source), load_ruleset)

    # --- single patient ----------------------------------------------------------------------

    def recommend(self, patient, preferences=None, guideline=None, *,
                  explain: bool = True, intervals: bool = True) -> Recommendation:
        """Recommend a modality for one patient.

        Parameters
        ----------
        patient : mapping
            A contract record (field -> value; None = missing). ``patient_id`` is optional and
            never appears in the output (a short sha256 reference does).
        preferences : mapping or Preferences, optional
            ``excluded_modalities`` (list), ``max_cost_tier`` (low / middle / high),
            ``objective`` (rmst24, surv12, surv24, median_os; default params.yaml),
            ``consider_not_indicated`` (bool, default False: a not-indicated modality is never
            recommended).
        guideline : str, optional
            Rule set name (cnlc-2024, bclc-2022); default ``recommend.default_guideline``.
        explain : bool, default True
            Compute SHAP factors (per modality and for the contrast).
        intervals : bool, default True
            Compute the bootstrap interval of the RMST (every ensemble member scores the
            patient: the largest cost of a batch without SHAP). False: interval None.

        Raises
        ------
        InvalidPatientError
            When the record, the preferences or the guideline name are invalid (every problem
            listed).
        """
        from features import derive
        from guidelines import assess

        record = validate_record(patient)
        prefs = Preferences.parse(preferences)
        ruleset = self.ruleset(guideline)
        ref = patient_ref(record.pop("patient_id", None))
        derived = derive(record)
        X = self.bundle.matrix.transform(derived)
        assessment = assess(derived, ruleset)
        pred = self.predictor.predict(X, explain=explain, intervals=intervals,
                                      derived=pd.DataFrame([derived]))
        return self._assemble(pred, X, [derived], [assessment], prefs, [ref])[0]

    # --- batch -------------------------------------------------------------------------------

    def recommend_batch(self, cohort: pd.DataFrame, preferences=None, guideline=None, *,
                        explain: bool = True, intervals: bool = True, errors: str = "raise",
                        progress: bool | None = None) -> list:
        """Recommend for every row of a frame of contract patient records.

        Parameters
        ----------
        cohort : DataFrame
            One contract record per row (patient_id optional; unknown columns are ignored and
            named in a warning; outcome columns, if present, are checked but not used).
        preferences, guideline, explain, intervals
            As in :meth:`recommend`, applied to every row.
        errors : {"raise", "report"}
            ``raise``: any invalid row raises one InvalidPatientError listing every problem with
            its row position. ``report``: the invalid rows' entries are InvalidPatientError
            objects (problems of that row only) and the others Recommendations.
        progress : bool, optional
            tqdm progress bar (default: on for more than 5000 rows).

        Returns
        -------
        list
            One entry per row, in row order: Recommendation (or InvalidPatientError with
            ``errors="report"``). Each Recommendation equals ``recommend()`` on that row.
        """
        if errors not in ("raise", "report"):
            raise ValueError(f"errors: expected 'raise' or 'report', got {errors!r}")
        if not isinstance(cohort, pd.DataFrame):
            raise InvalidPatientError([Problem("<cohort>", "not_a_frame", "a pandas DataFrame "
                                               "of contract records", type(cohort).__name__)],
                                      context="cohort")
        prefs = Preferences.parse(preferences)
        ruleset = self.ruleset(guideline)
        n = len(cohort)
        frame = cohort.reset_index(drop=True)
        result = validate_cohort(frame, require_outcomes=False, require_id=False)
        if result.extra_columns:
            log.warning("unknown columns ignored: %s", ", ".join(result.extra_columns))
        whole = [p for p in result.problems if p.row is None]
        if whole and (errors == "raise" or n == 0):
            raise InvalidPatientError(result.problems, context="cohort")
        if result.problems and errors == "raise":
            raise InvalidPatientError(result.problems, context="cohort")
        by_row: dict[int, list] = {}
        for p in result.problems:
            rows = range(n) if p.row is None else (p.row,)
            for r in rows:
                by_row.setdefault(r, []).append(p if p.row is not None else Problem(
                    p.field, p.reason, p.expected, p.received, p.hint, r))
        out: list = [None] * n
        for r, probs in by_row.items():
            out[r] = InvalidPatientError(probs)
        valid = result.valid
        if "patient_id" in valid:
            refs = [patient_ref(v) for v in valid["patient_id"].tolist()]
            valid = valid.drop(columns=["patient_id"])
        else:
            refs = [None] * len(valid)
        positions = valid.index.to_numpy()
        show = (len(valid) > 5000) if progress is None else progress
        bar = _progress(len(valid), show, explain)
        with _gc_paused():
            self._batch_chunks(valid, positions, refs, ruleset, prefs, explain, intervals,
                               out, bar)
        bar.close()
        return out

    def _batch_chunks(self, valid, positions, refs, ruleset, prefs, explain, intervals, out,
                      bar) -> None:
        """Score ``valid`` in chunks of ``_BATCH_CHUNK`` rows into ``out`` (by position).

        With more than one chunk and more than one core (and SHAP or intervals asked), two
        chunks are scored at a time in threads, the models on one thread each: one chunk's xgboost scoring (which releases
        the GIL) overlaps the other's Python assembly. Chunks are independent and land by
        position, so the results are the same as one after the other.
        """
        starts = list(range(0, len(valid), _BATCH_CHUNK))

        def one(start):
            part = valid.iloc[start:start + _BATCH_CHUNK]
            return start, self._score_chunk(part, ruleset, prefs, explain, intervals,
                                            refs[start:start + _BATCH_CHUNK])

        def place(start, recs):
            for pos, rec in zip(positions[start:start + _BATCH_CHUNK], recs, strict=True):
                out[pos] = rec
            bar.update(len(recs))

        # the threads pay off when model work (bootstrap members, SHAP) is a large share;
        # point estimates alone leave Python assembly (one GIL) as the cost
        workers = min(_BATCH_WORKERS, len(starts)) if (explain or intervals) else 1
        if workers < 2:
            for start in starts:
                place(*one(start))
            return
        from concurrent.futures import ThreadPoolExecutor

        with self.predictor.single_threaded(), ThreadPoolExecutor(workers) as pool:
            for start, recs in pool.map(one, starts):
                place(start, recs)

    def _score_chunk(self, part, ruleset, prefs, explain, intervals, refs) -> list:
        """Recommendations for the rows of ``part`` (valid contract records)."""
        from features import derive
        from guidelines import assess_frame

        derived = derive(part)
        X = self.bundle.matrix.transform(derived)
        assessments = assess_frame(derived, ruleset)
        pred = self.predictor.predict(X, explain=explain, intervals=intervals, derived=derived)
        rows = derived_records(derived) if explain else [{}] * len(part)  # factor values only
        return self._assemble(pred, X, rows, assessments, prefs, refs)

    # --- assembly ----------------------------------------------------------------------------

    def _assemble(self, pred, X, derived: list, assessments: list, prefs: Preferences,
                  refs: list) -> list[Recommendation]:
        """Rank the candidates of every row, explain best vs runner-up, build the results."""
        objective = prefs.objective or self.params.objective
        why_not = exclusions(self.params, prefs, self.too_few_treated)
        ranking = rank_matrix(pred.score_matrix(objective), pred.rmst,
                              forbidden_matrix(assessments),
                              indication_tiers(assessments, prefs.consider_not_indicated),
                              why_not, [pred.has_model(j) for j in range(len(MODALITIES))],
                              pred.support)
        plans = ranking.plans()
        codes = ranking.codes.tolist()
        contrasts: dict[int, dict] = {}
        if pred.explained:
            pairs: dict[tuple, list] = {}
            for i, (_, ranked, _, _) in enumerate(plans):
                if len(ranked) > 1:
                    pairs.setdefault((MODALITIES[ranked[0]], MODALITIES[ranked[1]]), []).append(i)
            for (a, b), rows in pairs.items():
                blocks = contrast_block(self.predictor, pred, rows, a, b,
                                        [derived[i] for i in rows],
                                        members=pred.rmst_members is not None)
                contrasts.update(zip(rows, blocks, strict=True))
        return [self._build(i, pred, derived[i], assessments[i], prefs, refs[i], objective,
                            codes[i], plans[i], contrasts.get(i))
                for i in range(len(assessments))]

    def _build(self, i, pred, derived, assessment, prefs, ref, objective, codes, plan,
               contrast) -> Recommendation:
        """Assemble row ``i`` into a Recommendation."""
        scores, order, unsupported, aside = plan
        ranked = [j for j in order if j not in aside]  # the candidates, best first
        hits_by_modality: dict[str, list] = {m: [] for m in MODALITIES}
        for h in assessment.hits:
            hd = hit_dict(h)
            for m in h.modalities:
                if m in hits_by_modality:
                    hits_by_modality[m].append(hd)
        items = []
        for j, m in enumerate(MODALITIES):
            # the reasons of rank_matrix, one order everywhere (REASON_CODES)
            why = reason_codes(codes[j] & ~_FORBIDDEN_BIT)
            indication = assessment.indication(m)
            eligibility = ("forbidden" if m in assessment.forbidden else
                           "review" if m in assessment.review else "allowed")
            candidate = not codes[j]
            reasons = () if candidate else self._reasons(
                j, why, eligibility, hits_by_modality[m], assessment, prefs, pred, i)
            factors, base = pred.factors(i, j, derived)
            items.append(ModalityAssessment.assemble(
                modality=m, label=MODALITY_LABELS[m], eligibility=eligibility,
                hits=tuple(hits_by_modality[m]), excluded_because=why,
                cost_tier=self.params.cost_tiers[m], candidate=candidate,
                outcomes=pred.outcomes(i, j, eligibility == "forbidden"), score=scores[j],
                data_support=j not in unsupported,
                not_candidate_because=reasons, factors=factors, factors_base_value=base,
                curve=pred.curve(i, j), indication=indication,
                required_actions=tuple(h for h in hits_by_modality[m]
                                       if h["effect"] == "require")))
        best = MODALITIES[order[0]] if order else None
        # the runner-up: what would be recommended if the patient declined the recommendation
        # (a modality set aside for low data support when it is the only supported candidate)
        runner = MODALITIES[order[1]] if len(order) > 1 else None
        flags = tuple(h for h in hits_by_modality[best] if h["effect"] in ("review", "warn")
                      ) if best else ()
        guideline = {
            "ruleset": assessment.ruleset, "version": assessment.version,
            "stage": assessment.stage, "preferred": list(assessment.preferred),
            "indicated": _ordered(assessment.indicated, assessment.preferred),
            "acceptable": _ordered(assessment.acceptable, assessment.preferred),
            "not_indicated": _ordered(assessment.not_indicated),
            "indication_reference": assessment.indication_reference,
            "indication": assessment.indication(best) if best else None,
            "consider_not_indicated": prefs.consider_not_indicated,
            "concordant": bool(best and assessment.concordant(best)),
            "missing_inputs": assessment.missing_inputs,
        }
        horizon = self.params.rmst_horizon_months
        message = summary_message(best, items, ranked, objective, scores, assessment, flags,
                                  horizon, pred.min_propensity, runner,
                                  prefs.consider_not_indicated)
        required = items[MODALITIES.index(best)].required_actions if best else ()
        equal = equivalence(pred, i, best, runner, assessment.preferred,
                            self.params.cost_tiers, assessment.ruleset) if best else None
        message += sentences(contrast, equal, horizon)
        return Recommendation(
            recommended=best, runner_up=runner, message=message, objective=objective,
            modalities=tuple(items), contrast=contrast, guideline=guideline, flags=flags,
            preferences=prefs, shap_unit=pred.shap_unit,
            versions=dict(self.versions, ruleset=f"{assessment.ruleset} {assessment.version}"),
            patient_ref=ref, objective_description=describe_objective(objective, horizon),
            equivalence=equal, required_actions=required)

    def _reasons(self, j, why, eligibility, hits, assessment, prefs, pred, i) -> tuple:
        """Why modality ``j`` is not a candidate for row ``i``: (code, sentence) mappings."""
        codes = (("forbidden",) if eligibility == "forbidden" else ()) + tuple(why)
        propensity = None
        if "low_data_support" in why and pred.propensity is not None:
            propensity = float(pred.propensity[i][j])
        return not_candidate_reasons(
            codes, ruleset=f"{assessment.ruleset} {assessment.version}",
            forbid_ids=tuple(h["rule_id"] for h in hits if h["effect"] == "forbid"),
            cost_tier=self.params.cost_tiers[MODALITIES[j]], ceiling=prefs.max_cost_tier,
            propensity=propensity, min_propensity=pred.min_propensity,
            n_treated=self.n_treated.get(MODALITIES[j]), min_treated=self.params.min_treated_patients,
            not_indicated_because=(assessment.not_indicated_because(MODALITIES[j])
                                   if "not_indicated" in codes else ""))


def _ordered(names, first=()) -> list[str]:
    """``names`` in the order of ``first`` (the guideline's), then in contract order."""
    return [m for m in first if m in names] + [m for m in MODALITIES
                                                if m in names and m not in first]


_GC_LOCK = threading.Lock()
_GC_PAUSES = [0, False]  # [batches running, was the collector enabled before the first]


@contextlib.contextmanager
def _gc_paused():
    """No cyclic garbage collection while a batch builds its results.

    A batch allocates millions of small containers (the Recommendations' dicts and lists), all
    alive until it returns: every automatic collection re-traverses them, for nothing (they
    form no garbage cycles; reference counting frees temporaries as usual). Measured: 45% of
    the wall time of a 10k batch without SHAP. Reentrant and thread-safe (concurrent batches in
    a server): the collector's previous state comes back when the last batch ends.
    """
    with _GC_LOCK:
        if _GC_PAUSES[0] == 0:
            _GC_PAUSES[1] = gc.isenabled()
            gc.disable()
        _GC_PAUSES[0] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES[0] -= 1
            if _GC_PAUSES[0] == 0 and _GC_PAUSES[1]:
                gc.enable()


def _progress(total: int, show: bool, explain: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not show, unit="patient",
                desc="recommend" + (" + SHAP" if explain else ""), leave=False)


@functools.lru_cache(maxsize=16)
def _load_ruleset_cached(source: str, loader):
    return loader(source)
