"""The synthetic cohort: population, potential outcomes under every modality, the physicians'
confounded choice, censoring, and the trial-replication table that checks the generator against
the published trials. The calibration (every effect number with its citation) is the package data
file ``calibration.yaml``.
"""
