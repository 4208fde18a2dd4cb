"""Atomic outputs: a stage that dies midway never leaves a file or bundle taken for complete."""

import pytest

from pipeline.io import atomic_dir, atomic_path, write_json


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"a": 2, "half')
        raise RuntimeError("killed")
    assert target.read_text().strip().endswith("}") and '"a": 1' in target.read_text()
    assert not list(tmp_path.glob(".metrics.json.*"))


def test_failed_directory_write_keeps_the_previous_bundle(tmp_path):
    target = tmp_path / "bundle"
    with atomic_dir(target) as tmp:
        (tmp / "model.json").write_text("complete")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "model.json").write_text("half")
        raise RuntimeError("killed")
    assert (target / "model.json").read_text() == "complete"


def test_leftovers_of_a_killed_run_are_cleared_by_the_next(tmp_path):
    target = tmp_path / "bundle"
    stale = tmp_path / ".bundle.abc123.tmp"
    stale.mkdir()
    (stale / "model.json").write_text("half")
    with atomic_dir(target) as tmp:
        (tmp / "model.json").write_text("complete")
    assert not stale.exists() and (target / "model.json").read_text() == "complete"


def test_json_turns_non_finite_numbers_into_null(tmp_path):
    target = tmp_path / "m.json"
    write_json(target, {"x": float("nan"), "y": [float("inf"), 1.0]})
    assert target.read_text().replace(" ", "").replace("\n", "") == '{"x":null,"y":[null,1.0]}'


def test_outputs_get_normal_permissions_not_the_temporary_0600(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        target = tmp_path / "m.json"
        write_json(target, {"a": 1})
        with atomic_dir(tmp_path / "bundle") as tmp:
            (tmp / "x").write_text("y")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        assert stat.S_IMODE((tmp_path / "bundle").stat().st_mode) == 0o755
    finally:
        os.umask(mask)
