"""features.contract.parsing: the one copy of the coercion rules, and its three readers
(contract validation, derived-feature inputs, guideline engine) agreeing on it."""

from __future__ import annotations

import decimal
import math

import numpy as np
import pandas as pd
import pytest

from features import liver
from features._inputs import FeatureInputError, as_float, as_level
from features.contract import FIELDS, InvalidPatientError, validate_record
from features.contract.parsing import (
    FALSE_WORDS,
    TRUE_WORDS,
    category_key,
    is_missing,
    missing_mask,
    parse_boolean,
    parse_flag_or_number,
    parse_number,
)
from features.contract.validation import check_column
from guidelines.engine import GuidelineInputError, _scalar
from guidelines.vocabulary import variables

MISSING = [None, math.nan, np.nan, np.float32("nan"), pd.NA, pd.NaT, np.datetime64("NaT"),
           decimal.Decimal("NaN"), "", "   ", "\t\n"]
PRESENT = [0, 1, 0.0, -3.5, np.int64(7), np.float32(2.5), True, np.bool_(False), "x", " a ",
           "nan ", b"", [None], (), {}, np.array(np.nan), np.array([np.nan]), decimal.Decimal(1)]


@pytest.mark.parametrize("value", MISSING, ids=repr)
def test_missing_values_scalar_and_vectorised(value):
    cell = np.empty(1, dtype=object)
    cell[0] = value
    assert is_missing(value) and missing_mask(cell).tolist() == [True]


@pytest.mark.parametrize("value", PRESENT, ids=repr)
def test_present_values_scalar_and_vectorised(value):
    cell = np.empty(1, dtype=object)
    cell[0] = value
    assert not is_missing(value) and missing_mask(cell).tolist() == [False]


def test_true_false_words():
    assert TRUE_WORDS == {"true", "t", "yes", "y", "1", "1.0"}
    assert FALSE_WORDS == {"false", "f", "no", "n", "0", "0.0"}
    assert not TRUE_WORDS & FALSE_WORDS


def test_numbers_booleans_and_categories():
    assert parse_number(" 1e3 ") == 1000.0 and parse_number(complex(2, 0)) == 2.0
    for bad in (True, np.bool_(True), b"5", complex(1, 1), "five", [1], 10 ** 400):
        with pytest.raises(ValueError):
            parse_number(bad)
    assert [parse_boolean(v) for v in (" YES ", "n", 1, 0.0, np.bool_(True), "1.0")] == [
        True, False, True, False, True, True]
    for bad in ("2", "1.00", 0.5, None, b"1", "maybe"):
        with pytest.raises(ValueError):
            parse_boolean(bad)
    assert [parse_flag_or_number(v) for v in ("yes", " No ", True, "2.5", 3)] == [
        1.0, 0.0, 1.0, 2.5, 3.0]
    assert [category_key(v) for v in (" Mild ", 0, np.int64(2), True, 1.0, None)] == [
        "mild", "0", "2", None, None, None]


@pytest.mark.parametrize("word", sorted(TRUE_WORDS | FALSE_WORDS))
def test_the_three_readers_agree_on_booleans(word):
    expected = word in TRUE_WORDS
    spelt = f" {word.upper()} "
    parsed, missing, problems = check_column(FIELDS["cirrhosis"], [spelt])
    assert problems == [] and parsed.tolist() == [expected]
    assert as_float(np.array([spelt], dtype=object)).tolist() == [float(expected)]
    assert _scalar(spelt, variables()["cirrhosis"]) == float(expected)


@pytest.mark.parametrize("value", MISSING, ids=repr)
def test_the_three_readers_agree_on_missing(value):
    _, missing, problems = check_column(FIELDS["ascites"], [value])
    assert missing.tolist() == [True] and problems == []
    assert np.isnan(as_float(np.array([value, 1.0], dtype=object))[0])
    assert np.isnan(as_level(np.array([value], dtype=object), liver.ASCITES_POINTS, "ascites")[0])
    assert math.isnan(_scalar(value, variables()["ascites"]))
    assert math.isnan(_scalar(value, variables()["cirrhosis"]))
    assert math.isnan(_scalar(value, variables()["albumin_g_l"]))


def test_the_three_readers_reject_what_the_contract_rejects():
    for field, value in (("cirrhosis", "2"), ("cirrhosis", "0.5"), ("albumin_g_l", True),
                         ("albumin_g_l", b"40"), ("ascites", "severe")):
        record = {field: value}
        with pytest.raises(InvalidPatientError):
            validate_record(record)
        with pytest.raises(GuidelineInputError, match=field):
            _scalar(value, variables()[field])
    with pytest.raises(FeatureInputError, match="albumin_g_l"):
        as_float(np.array([b"40"], dtype=object), "albumin_g_l")
    with pytest.raises(FeatureInputError, match="ascites"):
        as_level(np.array(["severe"], dtype=object), liver.ASCITES_POINTS, "ascites")


def test_categories_match_ignoring_case_and_blanks_and_integers_name_stages():
    stage = variables()["bclc_stage"]
    assert _scalar(0, stage) == _scalar(" 0 ", stage) == 0.0
    assert _scalar(" a ", stage) == 1.0
    assert as_level(np.array([" MILD "], dtype=object), liver.ASCITES_POINTS, "a")[0] == \
        liver.ASCITES_POINTS["mild"]
