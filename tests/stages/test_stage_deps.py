"""Every DVC stage depends on what its command really imports.

A stage whose deps miss a file it imports keeps its cached outputs when that file changes (a
changed simulator leaving a stale trial table): a correctness bug. The test derives each stage's
import closure from the source (tests/import_graph.py: lazy imports included) and fails when a
project file in it is not covered by a dep (the file itself or a folder holding it).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest
import yaml
from import_graph import ROOT, closure

DVC_YAML = ROOT / "dvc.yaml"


def stage_module(cmd: str) -> str:
    match = re.search(r"python -m ([\w.]+)", cmd)
    if not match:
        raise ValueError(f"stage command {cmd!r}: expected 'python -m <module> ...'")
    return match.group(1)


def uncovered(dvc: dict, root: Path = ROOT) -> dict[str, list[str]]:
    """For each stage, the imported project files that none of its deps covers."""
    missing = {}
    for name, stage in dvc["stages"].items():
        deps = [PurePosixPath(d) for d in stage.get("deps", [])]
        files = closure(stage_module(stage["cmd"]), root)
        gaps = sorted(str(f) for f in files
                      if not any(PurePosixPath(f.as_posix()) == d
                                 or d in PurePosixPath(f.as_posix()).parents for d in deps))
        if gaps:
            missing[name] = gaps
    return missing


def test_every_stage_depends_on_its_imports():
    dvc = yaml.safe_load(DVC_YAML.read_text())
    assert uncovered(dvc) == {}, "add these files (or their folders) to the stages' deps"


def test_every_stage_runs_a_project_module():
    dvc = yaml.safe_load(DVC_YAML.read_text())
    for name, stage in dvc["stages"].items():
        assert closure(stage_module(stage["cmd"])), f"{name}: its module is not in the project"


def test_a_stage_that_lost_a_dep_fails():
    """The check itself can fail: a synthetic dvc.yaml whose stages miss imported files."""
    dvc = yaml.safe_load(DVC_YAML.read_text())
    train = dvc["stages"]["train"]
    train["deps"] = [d for d in train["deps"] if d != "models"]
    generate = dvc["stages"]["generate"]
    generate["deps"] = [d for d in generate["deps"] if d != "pipeline/simulation"]
    gaps = uncovered(dvc)
    assert set(gaps) == {"train", "generate"}
    assert "models/counterfactual.py" in gaps["train"]  # imported lazily through models.__init__
    assert "pipeline/simulation/potential_outcomes.py" in gaps["generate"]


@pytest.mark.parametrize("name", ["generate", "replicate_trials"])
def test_simulator_stages_track_the_calibration_table(name):
    dvc = yaml.safe_load(DVC_YAML.read_text())
    params = dvc["stages"][name]["params"]
    assert {"pipeline/simulation/calibration.yaml": None} in params
