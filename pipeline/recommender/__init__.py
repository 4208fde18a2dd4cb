"""The recommendation runtime: load a trained bundle, predict every modality, apply the rule set,
rank, explain.

* :mod:`pipeline.recommender.api`: :func:`recommend`, :func:`recommend_batch`,
  :func:`load_recommender`, :func:`default_source` (re-exported here and from :mod:`pipeline`);
* :mod:`pipeline.recommender.bulk`: :func:`recommend_table`, the columnar tables of a whole
  cohort (registry scale; re-exported here and from :mod:`pipeline`);
* :mod:`pipeline.recommender.runtime`: the :class:`Recommender` (a loaded bundle at run time);
* :mod:`pipeline.recommender.request`: the request (``recommend:`` settings, preferences,
  objectives);
* :mod:`pipeline.recommender.recommendation`: what a recommendation is (frozen dataclasses);
* :mod:`pipeline.recommender.predictions`: per-modality predictions from the outcome model;
* :mod:`pipeline.recommender.ranking`: ranking and wording;
* :mod:`pipeline.recommender.bundle`: the trained bundle on disk;
* :mod:`pipeline.recommender.training`: fitting a bundle from a training frame.

The runtime never imports a DVC stage and reads the checkout only through
:func:`pipeline.recommender.api.default_source`.
"""

from pipeline.recommender.api import (
    Recommender,
    load_recommender,
    recommend,
    recommend_batch,
)
from pipeline.recommender.bulk import RecommendationTable, recommend_table

__all__ = ["RecommendationTable", "Recommender", "load_recommender", "recommend",
           "recommend_batch", "recommend_table"]
