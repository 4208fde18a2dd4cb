"""pipeline.config.project_root: the one documented way the runtime finds the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import PROJECT_DIR_ENV, project_root

ROOT = Path(__file__).resolve().parents[2]


def test_the_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(PROJECT_DIR_ENV, str(tmp_path))
    assert project_root() == tmp_path.resolve()


def test_nearest_dvc_yaml_upwards_from_the_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv(PROJECT_DIR_ENV, raising=False)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert project_root() == tmp_path.resolve()


def test_outside_any_project_the_installed_checkout(tmp_path, monkeypatch):
    """From a folder with no dvc.yaml above it: the checkout the package runs from, so
    models:/ URIs and the default bundle resolve there (never a stray store in the cwd)."""
    monkeypatch.delenv(PROJECT_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    if any((p / "dvc.yaml").is_file() for p in (tmp_path, *tmp_path.parents)):
        pytest.skip("the temporary folder lies inside a DVC project")
    assert project_root() == ROOT
    from pipeline import tracking

    assert tracking.tracking_uri() in (f"sqlite:///{ROOT / 'mlflow.db'}",
                                       __import__("os").environ.get("MLFLOW_TRACKING_URI"))
