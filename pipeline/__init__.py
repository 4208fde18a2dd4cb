"""hcc-recommender pipeline: the DVC stages and the recommendation runtime, in rooms by job.

* :mod:`pipeline.stages`: one thin entry point per DVC stage (``python -m pipeline.stages.train``);
* :mod:`pipeline.simulation`: the synthetic cohort and the trial-replication table;
* :mod:`pipeline.evaluation`: factual, counterfactual and policy metrics, peers, plots;
* :mod:`pipeline.recommender`: ``recommend()``, ``recommend_table()`` (columnar, a whole
  cohort), the recommendation, ranking, the bundle;
* :mod:`pipeline.serving`: the MLflow pyfunc model, the REST guard, the ``hcc`` CLI, the report;
* shared plumbing: :mod:`pipeline.config` (params, the project directory), :mod:`pipeline.io`
  (atomic outputs, cohort files), :mod:`pipeline.tracking` (MLflow).

``from pipeline import recommend`` gives the recommendation function; the exports are lazy so a
light import stays light. Module paths of the earlier flat layout keep working
(:mod:`pipeline.moved`).
"""

import importlib

from pipeline import moved as _moved

_EXPORTS = {
    "recommend": "pipeline.recommender",
    "recommend_batch": "pipeline.recommender",
    "recommend_table": "pipeline.recommender",
    "RecommendationTable": "pipeline.recommender",
    "load_recommender": "pipeline.recommender",
    "Recommender": "pipeline.recommender",
    "Recommendation": "pipeline.recommender.recommendation",
    "Preferences": "pipeline.recommender.request",
}
__all__ = sorted(_EXPORTS)

_moved.install()


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
