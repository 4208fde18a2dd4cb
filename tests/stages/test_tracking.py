"""MLflow tracking wiring (pipeline/tracking.py) on a temporary SQLite store: the experiment is a
classic machine-learning experiment, the parent run is named by data source and commit (a file
name, never its folders), each child run by its stage."""

from __future__ import annotations

import pytest

from pipeline import tracking


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """One scratch tracking store for the module; the process-wide MLflow state is restored."""
    import mlflow
    from mlflow.tracking import fluent
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.delenv(tracking.PARENT_ENV, raising=False)
        mp.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
        mp.setattr(fluent, "_active_experiment_id", None)
        with _use_tracking_uri(uri):
            yield mlflow.MlflowClient(uri)
            mlflow.end_run()


@pytest.fixture()
def store(client, monkeypatch, request):
    """The store, with an experiment name of this test's own."""
    monkeypatch.setenv(tracking.EXPERIMENT_ENV, f"hcc-test-{request.node.name}")
    return client


def test_experiment_is_created_in_the_machine_learning_view(store, tmp_path):
    exp_id = tracking.setup(tmp_path)
    tags = store.get_experiment(exp_id).tags
    assert tags[tracking.EXPERIMENT_KIND_TAG] == "custom_model_development"
    assert tracking.ui_url(exp_id).endswith(
        f"/#/experiments/{exp_id}?workflowType=machine_learning")


def test_existing_experiment_gets_the_kind_unless_a_person_chose_one(store, tmp_path):
    untagged = store.create_experiment(tracking.experiment_name())
    assert tracking.EXPERIMENT_KIND_TAG not in store.get_experiment(untagged).tags
    assert tracking.setup(tmp_path) == untagged
    assert store.get_experiment(untagged).tags[tracking.EXPERIMENT_KIND_TAG] == \
        "custom_model_development"
    store.set_experiment_tag(untagged, tracking.EXPERIMENT_KIND_TAG, "genai_development")
    tracking.setup(tmp_path)  # set in the UI by a person: kept
    assert store.get_experiment(untagged).tags[tracking.EXPERIMENT_KIND_TAG] == \
        "genai_development"


@pytest.mark.parametrize(("source", "label"), [
    ("synthetic", "synthetic"),
    ("/home/dr_wang/ward 3/my_cohort.csv", "my_cohort.csv"),
    ("data\\cohorts\\c.parquet", "c.parquet"),
    (None, "unknown"),
])
def test_parent_run_name_is_the_data_source_and_short_commit(source, label):
    params = {"data": {"source": source}} if source else {}
    sha = "52f86104c7e1a3b2d8e9f0a1b2c3d4e5f6a7b8c9"
    assert tracking.parent_run_name(params, sha) == f"{label}@52f8610"
    assert tracking.parent_run_name(params, sha + "-dirty") == f"{label}@52f8610-dirty"
    assert "dr_wang" not in tracking.parent_run_name(params, sha)


def test_stage_runs_are_children_named_by_stage(store, tmp_path):
    params = {"data": {"source": "/data/site/cohort_2024.csv"}, "train": {"seed": 1}}
    tracking.setup(tmp_path)  # the experiment's artifacts under tmp_path, not the checkout
    with tracking.stage_run("train", {"train": params["train"]}, all_params=params) as run:
        child_id = run.info.run_id
    child = store.get_run(child_id)
    assert child.info.run_name == "train" and child.data.tags["hcc.stage"] == "train"
    parent = store.get_run(child.data.tags["mlflow.parentRunId"])
    assert parent.info.run_name == tracking.parent_run_name(params)
    assert parent.info.run_name.startswith("cohort_2024.csv@")
    assert parent.data.tags["hcc.data_source"] == "cohort_2024.csv"
    assert parent.info.status == "FINISHED"
    assert "/data/site" not in parent.info.run_name + str(parent.data.tags)
