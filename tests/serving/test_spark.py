"""Spark batch scoring of the registered model (local[2]) gives the pandas table, row for row.

The champion of the session's tracking store (the tiny bundle) scores a few thousand patients
through :func:`pipeline.serving.spark.recommend_files` (several partitions and Arrow batches,
Parquet written by the executors); the result equals ``recommend_table(...).wide()`` of the
same cohort, invalid rows included. Also: the stratified training sample of the "beyond one
machine" path (:func:`pipeline.serving.spark_training.stratified_sample`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from serving_support import NAME, pinned_tracking_uri

from pipeline import recommend_table

N_PATIENTS = 3000


@pytest.fixture(scope="module")
def spark():
    from pipeline.serving.spark import spark_session

    session = spark_session("local[2]", **{
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.files.maxPartitionBytes": str(96 * 1024),  # several partitions
        "spark.sql.execution.arrow.maxRecordsPerBatch": "400",  # several batches each
        "spark.driver.memory": "1g"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """(frame, parquet path): fresh simulated patients with three invalid rows."""
    from features.contract import PATIENT_FIELDS
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    frame, _ = simulate_cohort(N_PATIENTS, 91, SyntheticParams.default())
    frame = frame[[c for c in PATIENT_FIELDS if c in frame.columns]].reset_index(drop=True)
    frame.loc[5, "ecog"] = 9
    frame.loc[6, "albumin_g_l"] = 500.0
    frame.loc[7, "pvtt"] = "vp7"
    frame["pvtt"] = frame["pvtt"].astype(object)
    frame["study_key"] = np.arange(len(frame)) * 7
    path = tmp_path_factory.mktemp("spark") / "cohort.parquet"
    frame.to_parquet(path, row_group_size=250)
    return frame, path


def test_spark_scoring_equals_the_pandas_table(spark, cohort, mlflow_store, recommender,
                                               tmp_path):
    from pipeline.serving.spark import recommend_files, score_frame

    frame, path = cohort
    out = tmp_path / "recs.parquet"
    prefs = {"excluded_modalities": ["transplant"], "max_cost_tier": "high"}
    with pinned_tracking_uri(mlflow_store["uri"]):
        counts = recommend_files(str(path), str(out), f"models:/{NAME}@champion", spark=spark,
                                 preferences=prefs, intervals=True)
        assert spark.read.parquet(str(path)).rdd.getNumPartitions() > 1
        keyed = score_frame(spark.read.parquet(str(path)), f"models:/{NAME}@champion",
                            keep=["study_key"]).select("study_key", "patient_ref").toPandas()
    assert counts == {"valid": N_PATIENTS - 3, "invalid": 3}
    got = pd.read_parquet(out)
    want = recommend_table(frame, prefs, recommender=recommender, intervals=True).wide()
    assert list(got.columns) == list(want.columns)
    # rows: the input order (one file); patient_ref ties them to the input as well
    got = got.sort_values("row").reset_index(drop=True)
    assert list(got["row"]) == list(range(N_PATIENTS))
    assert list(got["patient_ref"]) == list(want["patient_ref"])
    for c in want.columns:
        a, b = got[c], want[c]
        if pd.api.types.is_float_dtype(b) or pd.api.types.is_integer_dtype(b):
            # the bootstrap members score batches of 256 rows and more in factored form
            # (models/factored.py: float32 rounding of tree sums), smaller ones stacked
            rtol = 1e-5 if c.endswith(("rmst_lower", "rmst_upper")) else 1e-9
            assert np.allclose(a.to_numpy(float, na_value=np.nan),
                               b.to_numpy(float, na_value=np.nan), rtol=rtol, atol=1e-12,
                               equal_nan=True), c
        else:
            assert a.isna().tolist() == b.isna().tolist(), c
            assert [str(x) for x in a[a.notna()]] == [str(x) for x in b[b.notna()]], c
    bad = got[~got["ok"]]
    assert list(bad["row"]) == [5, 6, 7]
    assert bad["errors"].str.contains("ecog|albumin_g_l|pvtt").all()
    assert bad["tace__rmst_months"].isna().all()
    # a pass-through key, and never the identifier
    joined = keyed.merge(frame.assign(ref=want["patient_ref"]), left_on="study_key",
                         right_on="study_key")
    assert (joined["patient_ref"].fillna("-") == joined["ref"].fillna("-")).all()
    assert len(joined) == N_PATIENTS and joined["ref"].notna().sum() == N_PATIENTS - 3
    ids = set(frame["patient_id"].astype(str))
    assert not ids & set(got.astype(str).to_numpy().ravel())
    assert "patient_id" not in got.columns


def test_request_problems_fail_on_the_driver(spark, cohort, mlflow_store):
    from features.contract import RequestError
    from pipeline.serving.spark import score_frame

    frame, path = cohort
    with pinned_tracking_uri(mlflow_store["uri"]), pytest.raises((RequestError, Exception),
                                                                 match="guideline"):
        score_frame(spark.read.parquet(str(path)), f"models:/{NAME}@champion",
                    guideline="no-such-guideline")


def test_cli_engine_spark(spark, cohort, mlflow_store, tmp_path, capsys):
    from pipeline.serving.cli import main

    frame, path = cohort
    small = tmp_path / "small.parquet"
    frame.iloc[:300].to_parquet(small)
    out = tmp_path / "recs.parquet"
    with pinned_tracking_uri(mlflow_store["uri"]):
        code = main(["recommend-batch", str(small), "-o", str(out), "--engine", "spark",
                     "--model", f"models:/{NAME}@champion", "--no-intervals"])
    assert code == 2  # three invalid rows, reported as rows
    assert "297 recommendations and 3 invalid rows" in capsys.readouterr().out
    table = pd.read_parquet(out)
    assert len(table) == 300 and (~table["ok"]).sum() == 3
    shap = [c for c in table.columns if c.startswith("tace__shap__")]  # SHAP on request
    assert shap and table.loc[table["ok"], shap].notna().all().all()


def test_stratum_fractions_keep_every_share_and_the_floor():
    from pipeline.serving.spark_training import stratum_fractions

    counts = {("tace", "1"): 6000, ("tace", "0"): 2000, ("transplant", "1"): 30,
              ("transplant", "0"): 70}
    plain = stratum_fractions(counts, 1000)
    assert set(plain.values()) == {1000 / 8100}
    floored = stratum_fractions(counts, 1000, min_per_modality=50)
    assert floored[("transplant", "1")] == floored[("transplant", "0")] == 0.5
    assert floored[("tace", "1")] == 1000 / 8100
    assert stratum_fractions(counts, 10**6)[("tace", "0")] == 1.0
    with pytest.raises(ValueError, match="sample size"):
        stratum_fractions(counts, 0)


def test_train_on_a_stratified_sample_then_score(spark, tmp_path):
    """The documented path for a registry too large for one machine, on small data: Spark
    draws the stratified sample, one machine trains on it, the table scores the rest."""
    from pipeline.recommender.training import TrainParams, train_bundle
    from pipeline.serving.spark_training import stratified_sample
    from pipeline.simulation.cohort import SyntheticParams, simulate_cohort

    registry, _ = simulate_cohort(4000, 5, SyntheticParams.default())
    frame = spark.createDataFrame(registry.astype({c: str for c in registry.columns if
                                                   registry[c].dtype.name == "category"}))
    sample = stratified_sample(frame, 1200, min_per_modality=40, seed=3).toPandas()
    assert 1000 < len(sample) < 1500
    share = registry["modality"].value_counts(normalize=True)
    got = sample["modality"].value_counts(normalize=True)
    counts = registry["modality"].value_counts()
    for m in share.index:
        if counts[m] * 1200 / 4000 >= 40:  # common modalities: the registry's share
            assert abs(got[m] - share[m]) < 4 * (share[m] * (1 - share[m]) / 1200) ** 0.5, m
        else:  # rare ones: at least about the floor (or all of them)
            assert (sample["modality"] == m).sum() >= min(counts[m], 40) * 0.6, m
    assert abs(sample["death"].astype(float).mean() - registry["death"].astype(float).mean()) < 0.05
    from tests.conftest import TINY_OUTCOME_MODEL, _recommend_section

    out = tmp_path / "bundle"
    train_bundle(sample, TrainParams(outcome_model=TINY_OUTCOME_MODEL, background_size=10,
                                     seed=1), out, {"recommend": _recommend_section()})
    table = recommend_table(registry.drop(columns=["modality", "os_months", "death"]).iloc[:500],
                            recommender=str(out))
    assert table.patients["ok"].all() and table.patients["recommended"].notna().mean() > 0.9
