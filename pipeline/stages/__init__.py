"""The DVC stages: one thin entry point per stage of ``dvc.yaml`` (``python -m pipeline.stages.<name>``).

Each stage reads its inputs (paths from ``dvc.yaml``, numbers from its ``params.yaml`` section),
calls the library code of the other rooms (:mod:`pipeline.simulation`, :mod:`features`,
:mod:`pipeline.recommender`, :mod:`pipeline.evaluation`, :mod:`pipeline.serving`) and writes its
outputs atomically, inside an MLflow child run (:mod:`pipeline.stages.entry`). Nothing outside
this folder imports a stage.
"""
