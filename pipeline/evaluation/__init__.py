"""Evaluation as pure functions (no file I/O): factual metrics, counterfactual metrics and policy
values against the truth, the peers' comparison, SHAP importance, and the plots' figures.

The ``evaluate`` stage (:mod:`pipeline.stages.evaluate`) reads the files and writes the reports.
"""
