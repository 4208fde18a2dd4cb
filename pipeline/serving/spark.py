"""Spark batch scoring of the registered model: a cohort that does not fit one machine.

::

    from pipeline.serving.spark import spark_session, score_frame, recommend_files
    spark = spark_session()                              # local[2]; or a master URL
    cohort = spark.read.parquet("registry/cohort.parquet")
    recs = score_frame(cohort, "models:/hcc-recommender@champion", intervals=True)
    recs.write.parquet("registry/recs.parquet")          # written by the executors

    # or from the command line
    hcc recommend-batch cohort.parquet -o recs.parquet --engine spark [--master spark://h:7077]

Each Arrow batch of rows (``spark.sql.execution.arrow.maxRecordsPerBatch``, 10,000 by default)
goes through the registered pyfunc model's columnar output (``params={"output": "table"}``,
:mod:`pipeline.serving.model`): the typed columns of
:meth:`pipeline.recommender.bulk.RecommendationTable.wide` (no JSON strings), one output row per
input row, ``row`` the input row's position in the input (partition offsets, no shuffle).
Invalid rows come back as rows with ``ok`` false and their ``errors``; the job fails only for a
request-level problem (an unknown guideline or invalid preferences), which is checked on the
driver before any task runs. Nothing is collected to the driver but one count per partition.

Why not ``mlflow.pyfunc.spark_udf``: its struct conversion casts every column with numpy
(``None`` becomes the text ``"None"`` in a string field and ``False`` in a boolean one) and
checks every value in Python; the model is shipped the same way here (MLflow's
``SparkModelCache``: the model directory distributed once, loaded once per Python worker) and
the table goes to Spark through Arrow as it is.

A batch is validated on its own: the column-wide unit check of the contract (``wrong_unit``,
:func:`features.contract.validate_cohort`) judges each batch's values, not the whole column.
Run ``hcc validate`` on the file first for the whole-column verdict.
"""

from __future__ import annotations

import os
import sys

DEFAULT_MASTER = "local[2]"
MODEL_THREADS = 1
"""xgboost threads per task: Spark already runs one task per core."""


def spark_session(master: str | None = None, app_name: str = "hcc-recommender", **conf):
    """A Spark session: ``master`` (default :data:`DEFAULT_MASTER`, a local session on two
    cores; a cluster's master URL otherwise), Arrow on, the UI off unless configured.

    The Python workers run this interpreter (``PYSPARK_PYTHON``), so the project and its
    dependencies must be installed the same way on every executor of a cluster.
    """
    import shutil

    from pyspark.sql import SparkSession

    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise RuntimeError("Spark needs Java 17 or newer: no `java` on PATH and no JAVA_HOME "
                           "(Debian: apt-get install openjdk-17-jre-headless)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (SparkSession.builder.appName(app_name).master(master or DEFAULT_MASTER)
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC"))
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def with_row_numbers(frame, name: str = "row"):
    """``frame`` with a column ``name``: each row's 0-based position in the input, from one
    count per partition (no shuffle, nothing but the counts on the driver)."""
    from pyspark.sql import functions as F

    counts = dict(frame.groupBy(F.spark_partition_id().alias("p")).count().collect())
    offsets, total = [], 0
    for p in range(max(counts, default=-1) + 1):
        offsets.append(total)
        total += counts.get(p, 0)
    pid = F.spark_partition_id()
    within = F.monotonically_increasing_id() - F.shiftleft(pid.cast("long"), 33)
    offset = F.element_at(F.array(*[F.lit(o) for o in offsets] or [F.lit(0)]), pid + 1)
    return frame.withColumn(name, (offset + within).cast("long"))


def _load_driver_model(model_uri: str):
    """(local model directory, loaded pyfunc model) on the driver."""
    import mlflow

    from pipeline import tracking

    if not os.environ.get("MLFLOW_TRACKING_URI") and model_uri.startswith("models:/"):
        mlflow.set_tracking_uri(tracking.tracking_uri())
    local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri)
    return local, mlflow.pyfunc.load_model(local)


def request_params(guideline=None, preferences=None, *, explain: bool = False,
                   intervals: bool = False) -> dict:
    """The pyfunc request params of a columnar scoring (see :mod:`pipeline.serving.model`)."""
    prefs = dict(preferences or {})
    return {"guideline": guideline or "", "max_cost_tier": prefs.get("max_cost_tier") or "",
            "excluded_modalities": list(prefs.get("excluded_modalities") or []),
            "objective": prefs.get("objective") or "",
            "consider_not_indicated": bool(prefs.get("consider_not_indicated")),
            "explain": bool(explain),
            "intervals": bool(intervals), "errors": "report", "output": "table",
            "threads": MODEL_THREADS}


def score_frame(frame, model_uri: str, guideline=None, preferences=None, *,
                explain: bool = False, intervals: bool = False, keep=()):
    """The columnar recommendations of a Spark DataFrame of contract records (lazy).

    Returns a Spark DataFrame with the columns ``keep`` (non-contract columns of ``frame``
    passed through, a study key for joins: never ``patient_id``), then those of
    ``RecommendationTable.wide()``; ``row`` is the position in the order Spark reads the input
    (the file order for one file read as one partition), ``patient_ref`` the short sha256 of the
    patient_id (:func:`pipeline.recommender.recommendation.patient_ref`). The contract columns of
    ``frame`` are scored; other columns are ignored.
    """
    from mlflow.pyfunc.spark_model_cache import SparkModelCache

    from features.contract import PATIENT_FIELDS
    from pipeline.recommender.bulk import wide_columns
    from pipeline.serving.packaging import input_example

    local, model = _load_driver_model(model_uri)
    params = request_params(guideline, preferences, explain=explain, intervals=intervals)
    model.predict(input_example(), params=params)  # request-level problems fail here
    recommender = model.unwrap_python_model()._recommender
    columns = wide_columns(recommender, explain, intervals)
    schema = ", ".join(f"`{name}` {kind}" for name, kind in columns)
    names = [name for name, _ in columns]
    keep = list(keep)
    bad = [c for c in keep if c in PATIENT_FIELDS or c not in frame.columns]
    if bad:
        raise ValueError(f"keep: expected columns of the input that are not contract fields "
                         f"(never patient_id), got {bad}")
    schema = ", ".join([f"`{c}` {frame.schema[c].dataType.simpleString()}" for c in keep]
                       + [schema])
    archive = SparkModelCache.add_local_model(frame.sparkSession, local)
    fields = [c for c in frame.columns if c in PATIENT_FIELDS]

    def score(batches):
        # the registered model's own predict (model.py), without the pyfunc wrapper's schema
        # enforcement: every column is typed Any, so it checks nothing, value by value (one
        # second per 10,000 rows, more than the scoring); the contract validation inside the
        # model checks every value
        pyfunc, _ = SparkModelCache.get_or_load(archive)
        python_model = pyfunc.unwrap_python_model()
        for batch in batches:
            rows = batch.pop("__row").to_numpy()
            kept = {c: batch.pop(f"__keep_{c}") for c in keep}
            out = python_model.predict(None, batch, params=params)
            out["row"] = rows
            yield out[names].assign(**kept)[keep + names]

    numbered = with_row_numbers(frame, "__row")
    return numbered.select("__row", *[numbered[c].alias(f"__keep_{c}") for c in keep],
                           *fields).mapInPandas(score, schema)


def read_cohort(spark, path: str):
    """A cohort file as a Spark DataFrame: Parquet (a file or a directory), else CSV with a
    header (every value read as text: the contract parses it).

    A local input smaller than 128 MB per core is split into about four partitions per core
    (``spark.sql.files.maxPartitionBytes``, unless the session sets it): one file would else
    be one task, on one core.
    """
    key = "spark.sql.files.maxPartitionBytes"
    if os.path.exists(path) and not spark.sparkContext.getConf().contains(key):
        files = ([os.path.join(d, f) for d, _, names in os.walk(path) for f in names]
                 if os.path.isdir(path) else [path])
        size = sum(os.path.getsize(f) for f in files)
        cores = spark.sparkContext.defaultParallelism
        split = max(256 << 10, size // (4 * cores))
        if split < 128 << 20:
            spark.conf.set(key, str(split))
    if str(path).endswith(".parquet") or os.path.isdir(path):
        return spark.read.parquet(str(path))
    return spark.read.option("header", True).option("inferSchema", False).csv(str(path))


def recommend_files(cohort_path: str, output: str, model_uri: str, master: str | None = None,
                    guideline=None, preferences=None, *, explain: bool = False,
                    intervals: bool = False, spark=None) -> dict:
    """Score a cohort file with Spark and write the table as Parquet (a directory of part
    files, written by the executors). Returns the counts of valid and invalid rows."""
    spark = spark or spark_session(master)
    table = score_frame(read_cohort(spark, cohort_path), model_uri, guideline, preferences,
                        explain=explain, intervals=intervals)
    table.write.mode("overwrite").parquet(str(output))
    written = spark.read.parquet(str(output))
    counts = written.groupBy("ok").count().collect()
    by = {bool(r["ok"]): int(r["count"]) for r in counts}
    return {"valid": by.get(True, 0), "invalid": by.get(False, 0)}
