"""DVC stage ``split``: patient-level train/test split, stratified by modality.

Modalities too rare to stratify (fewer than two patients) are pooled for stratification only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline import io
from pipeline.config import build
from pipeline.stages import entry

log = logging.getLogger("pipeline.stages.split")


@dataclass(frozen=True)
class SplitParams:
    test_size: float
    seed: int


def split_frame(frame: pd.DataFrame, test_size: float, seed: int):
    """Return (train, test), stratified by ``modality``; deterministic for a seed."""
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1:
        raise ValueError(f"split.test_size must be in (0, 1), got {test_size}")
    strata = frame["modality"].astype("object")
    counts = strata.value_counts()
    strata = strata.where(~strata.isin(counts[counts < 2].index), "__rare__")
    if strata.value_counts().min() < 2:
        strata = None
    idx = np.arange(len(frame))
    train_idx, test_idx = train_test_split(idx, test_size=test_size, random_state=seed,
                                           stratify=strata)
    return (frame.iloc[np.sort(train_idx)].reset_index(drop=True),
            frame.iloc[np.sort(test_idx)].reset_index(drop=True))


def run(args, params: dict) -> dict:
    sp = build(SplitParams, params["split"], "split")
    frame = pd.read_parquet(args.features)
    train, test = split_frame(frame, sp.test_size, sp.seed)
    io.write_frame(args.train, train)
    io.write_frame(args.test, test)
    log.info("split %d patients: %d train, %d test", len(frame), len(train), len(test))
    return {"n_train": len(train), "n_test": len(test)}


def _args(parser):
    parser.add_argument("--features", default="data/features/cohort_features.parquet")
    parser.add_argument("--train", default="data/features/train.parquet")
    parser.add_argument("--test", default="data/features/test.parquet")


if __name__ == "__main__":
    entry.main("split", _args, run, section="split", description=__doc__)
