"""hcc-recommender pipeline: DVC stages, MLflow tracking and packaging, recommend(), CLI, serving.

``from pipeline import recommend`` gives the recommendation function; the exports are lazy so a
light import stays light.
"""

import importlib

_EXPORTS = {"recommend": "pipeline.recommender", "recommend_batch": "pipeline.recommender",
            "load_recommender": "pipeline.recommender", "Recommender": "pipeline.recommender",
            "Recommendation": "pipeline.recommendation", "Preferences": "pipeline.recommendation"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
