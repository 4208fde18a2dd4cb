"""``recommend()``: the individualised treatment recommendation for one patient or a cohort.

Public API (also ``from pipeline import recommend, ...``)::

    from pipeline.recommender import recommend, recommend_batch, load_recommender
    rec = recommend(patient, preferences={"max_cost_tier": "middle"}, guideline="bclc-2022")
    rec.recommended, rec.to_dict()
    recs = recommend_batch(cohort_frame, explain=False)      # rows equal recommend() per row

The recommender is a trained bundle directory or an MLflow model URI, loaded once per source
(:func:`load_recommender`); by default the bundle of the last local ``dvc repro``
(:func:`default_source`). The work is done by :class:`pipeline.recommender.runtime.Recommender`.

The package is named ``recommender`` rather than ``recommend`` on purpose: a subpackage
``pipeline.recommend`` would shadow the function ``pipeline.recommend`` once imported.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pandas as pd

from pipeline.recommender.recommendation import Recommendation
from pipeline.recommender.runtime import Recommender

DEFAULT_BUNDLE = Path("data/artifacts/recommender")
_URI_SCHEMES = ("models:/", "runs:/", "mlflow-artifacts:/", "s3://", "gs://", "http://",
                "https://", "dbfs:/")

__all__ = ["Recommender", "default_source", "describe_loaded", "load_recommender", "recommend",
           "recommend_batch", "resolve_source"]


def default_source() -> Path:
    """The recommender used when none is named: the bundle of the last local ``dvc repro``.

    That is ``data/artifacts/recommender`` under the project directory
    (:func:`pipeline.config.project_root`: ``$HCC_PROJECT_DIR``, else the checkout found from the
    cwd or from the installed package). Name a bundle directory or an MLflow model URI
    (``models:/hcc-recommender@champion``) to use another.
    """
    from pipeline.config import project_root

    return (project_root() / DEFAULT_BUNDLE).resolve()


def resolve_source(source) -> str:
    """The source :func:`load_recommender` loads: an MLflow URI as given, a path made
    absolute, None as :func:`default_source`."""
    if source is None:
        return str(default_source())
    text = str(source)
    if text.startswith(_URI_SCHEMES):
        return text
    return str(Path(text).expanduser().resolve())


def load_recommender(source=None) -> Recommender:
    """The trained recommender, cached per source.

    Parameters
    ----------
    source : str, Path or None
        None: the bundle the last local ``dvc repro`` produced (``data/artifacts/recommender``
        under the repository root). Otherwise a bundle directory or an MLflow model URI
        (``models:/hcc-recommender@champion``, ``runs:/<id>/recommender``).

    Examples
    --------
    ``bundle_dir`` is a trained bundle directory (``data/artifacts/recommender`` after
    ``dvc repro``); an MLflow URI such as ``"models:/hcc-recommender@champion"`` works the same.

    >>> from pipeline import load_recommender
    >>> rec = load_recommender(bundle_dir)
    >>> load_recommender(bundle_dir) is rec          # cached per source
    True
    >>> rec.params.objective
    'rmst24'
    """
    if isinstance(source, Recommender):
        return source
    return _load_cached(resolve_source(source))


@functools.lru_cache(maxsize=8)
def _load_cached(source: str) -> Recommender:
    if source.startswith(_URI_SCHEMES):
        import mlflow

        from pipeline import tracking

        if not os.environ.get("MLFLOW_TRACKING_URI"):
            mlflow.set_tracking_uri(tracking.tracking_uri())
        model = mlflow.pyfunc.load_model(source)
        return model.unwrap_python_model()._recommender
    return Recommender.from_bundle(source)


load_recommender.cache_clear = _load_cached.cache_clear


def describe_loaded(source=None) -> str:
    """One line naming the recommender ``source`` resolves to: where it was loaded from, its
    model id (learner, training-data hash, settings hash) and its training data."""
    recommender = load_recommender(source)
    settings = recommender.bundle.settings
    where = source if isinstance(source, Recommender) else resolve_source(source)
    trained = (f"trained on {settings.get('n_train')} patients of "
               f"{settings.get('data_source') or 'an unnamed cohort'}")
    return f"model {recommender.versions['model']} from {where} ({trained})"


def recommend(patient, preferences=None, guideline=None, *, recommender=None,
              explain: bool = True, intervals: bool = True) -> Recommendation:
    """Recommend a treatment for one patient (see :meth:`Recommender.recommend`).

    ``recommender`` is a :class:`Recommender`, a bundle path or an MLflow model URI (default:
    :func:`default_source`, the bundle of the last local ``dvc repro``).

    Examples
    --------
    >>> import json
    >>> from pipeline import recommend
    >>> patient = json.load(open("examples/patient_advanced.json"))   # BCLC C, Vp3 thrombus
    >>> rec = recommend(patient, {"max_cost_tier": "middle"}, guideline="cnlc-2024",
    ...                 recommender=bundle_dir, explain=False)
    >>> rec.recommended in {m.modality for m in rec.modalities if m.candidate}
    True
    >>> rec.recommended in rec.forbidden      # a forbidden modality is never recommended
    False
    >>> {"recommended", "modalities", "guideline", "caveat"} <= set(rec.to_dict())  # JSON-safe
    True
    """
    return load_recommender(recommender).recommend(patient, preferences, guideline,
                                                   explain=explain, intervals=intervals)


def recommend_batch(cohort: pd.DataFrame, preferences=None, guideline=None, *,
                    recommender=None, explain: bool = True, intervals: bool = True,
                    errors: str = "raise", progress: bool | None = None) -> list:
    """Recommend for every row of a cohort frame (see :meth:`Recommender.recommend_batch`).

    Examples
    --------
    >>> import json
    >>> import pandas as pd
    >>> from pipeline import recommend, recommend_batch
    >>> names = ["early", "intermediate", "advanced"]
    >>> cohort = pd.DataFrame([json.load(open(f"examples/patient_{n}.json")) for n in names])
    >>> recs = recommend_batch(cohort, recommender=bundle_dir, explain=False, progress=False)
    >>> len(recs)
    3
    >>> one = recommend(cohort.iloc[2].to_dict(), recommender=bundle_dir, explain=False)
    >>> recs[2].recommended == one.recommended   # a row equals the single-patient call
    True
    """
    return load_recommender(recommender).recommend_batch(
        cohort, preferences, guideline, explain=explain, intervals=intervals, errors=errors,
        progress=progress)
