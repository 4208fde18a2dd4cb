"""Training for a cohort that does not fit one machine: a stratified sample that does.

The outcome model (an xgboost S-learner with per-modality baselines, its bootstrap members, the
response and propensity models) trains on one machine (:mod:`pipeline.recommender.training`).
For a registry of millions, train it on a stratified sample drawn by Spark, then score the
whole registry on the cluster (:mod:`pipeline.serving.spark`)::

    python -m pipeline.serving.spark_training registry.parquet -o sample.parquet --n 200000
    dvc exp run -S data.source=sample.parquet           # train, evaluate, register
    hcc recommend-batch registry.parquet -o recs.parquet --engine spark --master spark://h:7077

The sample keeps the share of every (modality, death) stratum: each stratum is sampled with
the same fraction n / N (Bernoulli sampling, ``DataFrame.sampleBy``), so the modality mix, the
event rate within each modality and with them the propensity model are those of the registry.
``min_per_modality`` keeps at least that many patients of each modality (all of them when fewer
exist): rare modalities get enough patients for ``recommend.min_treated_patients``, at the
price of over-representing them; the outcome model, conditional on the modality, is unaffected,
but the propensities (the data-support guard) then over-state those modalities.

What is distributed: reading the registry, counting the strata, drawing the sample, scoring.
What is not: fitting the model (one machine, on the sample) and its evaluation.
"""

from __future__ import annotations

import argparse
import sys

STRATA = ("modality", "death")


def stratum_fractions(counts: dict, n: int, min_per_modality: int = 0) -> dict:
    """Sampling fraction of each stratum ``(modality, death)`` -> count, for about ``n`` rows.

    Every stratum gets ``n / N``; with ``min_per_modality``, the strata of a modality whose
    share would fall short get the fraction that keeps that many (capped at 1).
    """
    total = sum(counts.values())
    if total == 0 or n <= 0:
        raise ValueError(f"n: expected a positive sample size and a non-empty cohort, got "
                         f"n={n} for {total} rows")
    base = min(1.0, n / total)
    by_modality: dict = {}
    for (modality, _), c in counts.items():
        by_modality[modality] = by_modality.get(modality, 0) + c
    out = {}
    for key in counts:
        size = by_modality[key[0]]
        floor = min(1.0, min_per_modality / size) if size else 1.0
        out[key] = max(base, floor)
    return out


def stratified_sample(frame, n: int, min_per_modality: int = 0, seed: int = 0):
    """A stratified sample of about ``n`` rows of a Spark DataFrame of training records (with
    ``modality`` and ``death``), as a Spark DataFrame (lazy; see the module docstring)."""
    from pyspark.sql import functions as F

    missing = [c for c in STRATA if c not in frame.columns]
    if missing:
        raise ValueError(f"frame: expected the training columns {', '.join(STRATA)}, missing "
                         f"{', '.join(missing)}")
    key = F.concat_ws("|", F.coalesce(F.col("modality").cast("string"), F.lit("")),
                      F.coalesce(F.col("death").cast("string"), F.lit("")))
    keyed = frame.withColumn("__stratum", key)
    rows = keyed.groupBy("__stratum").count().collect()  # one row per stratum
    counts = {tuple(r["__stratum"].split("|", 1)): int(r["count"]) for r in rows}
    fractions = {"|".join(k): f for k, f in stratum_fractions(counts, n, min_per_modality
                                                               ).items()}
    return keyed.sampleBy("__stratum", fractions, seed).drop("__stratum")


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.serving.spark_training COHORT -o SAMPLE.parquet --n N``."""
    from pipeline.serving.spark import read_cohort, spark_session

    p = argparse.ArgumentParser(prog="python -m pipeline.serving.spark_training",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("cohort", help="training cohort (Parquet file or directory, or CSV)")
    p.add_argument("-o", "--output", required=True, help="the sample, one Parquet file")
    p.add_argument("--n", type=int, required=True, help="about this many rows")
    p.add_argument("--min-per-modality", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--master", help="Spark master URL (default local[2])")
    args = p.parse_args(argv)
    spark = spark_session(args.master)
    sample = stratified_sample(read_cohort(spark, args.cohort), args.n, args.min_per_modality,
                               args.seed)
    frame = sample.toPandas()  # the sample is meant to fit one machine
    from pipeline.io import write_frame

    write_frame(args.output, frame)
    print(f"{len(frame)} rows written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
