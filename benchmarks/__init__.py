"""Benchmarks of the hcc-recommender: latency, throughput, memory, scale and the REST endpoint.

``python -m benchmarks.run`` (``make bench``) runs them and writes ``data/reports/bench.json``;
see :mod:`benchmarks.run`. ``benchmarks/survival_datasets.py`` is a separate accuracy benchmark
of the survival model on public datasets.
"""
