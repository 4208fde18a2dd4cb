"""`features`, `models`, `guidelines` and `pipeline` are generic names that also exist on PyPI:
each must resolve to this repository."""

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["features", "models", "guidelines", "pipeline"])
def test_package_resolves_inside_the_repo(name):
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().is_relative_to(ROOT)
