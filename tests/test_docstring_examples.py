"""The Examples sections of the public API's docstrings run as doctests.

``bundle_dir`` is the tiny session bundle (tests/conftest.py); the examples read the example
patients from ``examples/`` relative to the repository root, as a user in the checkout would.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PUBLIC = [
    "pipeline.recommender.api.recommend",
    "pipeline.recommender.api.recommend_batch",
    "pipeline.recommender.api.load_recommender",
    "pipeline.recommender.bulk.recommend_table",
    "features.derivation.derive",
    "guidelines.engine.assess",
    "models.survival.SurvivalModel",
    "models.counterfactual.ModalityOutcomeModel",
]


def _object(path: str):
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("path", PUBLIC)
def test_public_docstring_has_examples(path):
    assert "Examples\n" in (_object(path).__doc__ or ""), f"{path}: no Examples section"


@pytest.mark.parametrize("path", PUBLIC)
def test_docstring_examples_run(path, tiny_bundle, monkeypatch):
    monkeypatch.chdir(ROOT)
    obj = _object(path)
    finder = doctest.DocTestFinder(recurse=False)
    tests = finder.find(obj, path, globs={"bundle_dir": str(tiny_bundle)})
    assert tests and tests[0].examples, f"{path}: no doctest examples found"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{path}: {result.failed} of {result.attempted} examples failed"
