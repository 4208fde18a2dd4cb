"""Shared fixtures for the guidelines tests."""

from __future__ import annotations

import copy

import pytest
import yaml

from guidelines import load_ruleset

MINIMAL_RULE = {
    "id": "tace-ecog-3",
    "title": "ECOG > 2: no TACE",
    "effect": "forbid",
    "modalities": ["tace"],
    "condition": {"var": "ecog", "op": "ge", "value": 3},
    "rationale": "test",
    "reference": "clinical-facts §2.4 (test) [C]",
    "evidence": "C",
    "cases": [
        {"expect": "fires", "patient": {"ecog": 3}},
        {"expect": "silent", "patient": {"ecog": 2}},
    ],
}


@pytest.fixture
def raw_ruleset():
    """A small valid rule set as a plain dict (the YAML form), safe to mutate."""
    base = load_ruleset("cnlc-2024")
    return {
        "name": "test-set",
        "version": "0.1",
        "title": "test rule set",
        "source": "test source",
        "stage_variable": "cnlc_stage",
        "preferred": {k: list(v) for k, v in base.preferred.items()},
        "case_baseline": dict(base.case_baseline),
        "rules": [copy.deepcopy(MINIMAL_RULE)],
    }


@pytest.fixture
def write_rules(tmp_path):
    """Write a rule-set dict to a YAML file and return its path."""
    counter = iter(range(10_000))

    def write(data, text: str | None = None):
        path = tmp_path / f"rules-{next(counter)}.yaml"
        path.write_text(text if text is not None else yaml.safe_dump(data, sort_keys=False))
        return path

    return write


@pytest.fixture(scope="session")
def baseline():
    """The documented baseline patient of the worked cases (no rule fires on it)."""
    return dict(load_ruleset("cnlc-2024").case_baseline)
