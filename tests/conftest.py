"""Shared fixtures: a tiny trained recommender bundle, built ONCE per test session.

~600 simulated patients and fast model parameters (few shallow boosting rounds, 4 bootstrap
members for the intervals): the same code paths as the pipeline's ``train`` stage
(:func:`pipeline.recommender.training.train_bundle`), in about two seconds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TINY_N = 600
TINY_SEED = 20261129
TINY_OUTCOME_MODEL = {
    "learner": "s",
    "n_bootstrap": 4,
    "survival_params": {"n_estimators": 60, "learning_rate": 0.1, "early_stopping_rounds": None},
    "response_params": {"n_estimators": 60, "learning_rate": 0.1},
}


def _recommend_section() -> dict:
    from pipeline.config import read_yaml

    return read_yaml(ROOT / "params.yaml")["recommend"]


@pytest.fixture(scope="session")
def tiny_cohort():
    """(cohort, truth) of the simulated training patients of the tiny bundle."""
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    return simulate_cohort(TINY_N, TINY_SEED, SyntheticParams.default())


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory, tiny_cohort) -> Path:
    """Path of a tiny trained recommender bundle (session scope: trained once)."""
    from pipeline.recommender.training import TrainParams, train_bundle

    out = tmp_path_factory.mktemp("bundle") / "recommender"
    params = TrainParams(outcome_model=TINY_OUTCOME_MODEL, background_size=10, seed=TINY_SEED)
    train_bundle(tiny_cohort[0], params, out, {"recommend": _recommend_section()})
    return out


@pytest.fixture(scope="session")
def recommender(tiny_bundle):
    """The tiny bundle loaded as a :class:`pipeline.recommender.api.Recommender`."""
    from pipeline.recommender.runtime import Recommender

    return Recommender.from_bundle(tiny_bundle)


@pytest.fixture(scope="session")
def examples() -> dict:
    """The example patients of examples/*.json by name (early, intermediate, advanced, ...)."""
    return {p.stem.removeprefix("patient_"): json.loads(p.read_text())
            for p in sorted(EXAMPLES.glob("patient_*.json"))}


@pytest.fixture(scope="session")
def patient_rows():
    """120 fresh simulated patients (contract patient fields only, with patient_id)."""
    from features.contract import PATIENT_FIELDS
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    cohort, _ = simulate_cohort(120, TINY_SEED + 1, SyntheticParams.default())
    return cohort[[c for c in PATIENT_FIELDS if c in cohort.columns]].reset_index(drop=True)


def _same(a, b, path="") -> None:
    """Recursive equality with a float tolerance (JSON-like structures)."""
    if isinstance(a, float) and isinstance(b, (int, float)):
        assert math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-7), f"{path}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: keys differ"
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.fixture(scope="session")
def same():
    """``same(a, b)``: assert two to_dict() results are equal up to float rounding."""
    return _same
