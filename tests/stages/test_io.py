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


# --- read_cohort: CSV files as spreadsheets write them ------------------------------------------

COHORT_TEXT = ("patient_id,age_years,bilirubin_umol_l,inr,sex\n"
               "P1,61,18.5,1.05,male\n"
               "P2,70,30.2,1.2,female\n")
EXPECTED = {"age_years": [61, 70], "bilirubin_umol_l": [18.5, 30.2], "inr": [1.05, 1.2],
            "sex": ["male", "female"]}


def _write(tmp_path, text, name="cohort.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _same(frame):
    from pandas.api.types import is_float_dtype

    assert list(frame.columns) == ["patient_id", *EXPECTED]
    for col, values in EXPECTED.items():
        assert frame[col].tolist() == values, col
    assert is_float_dtype(frame["bilirubin_umol_l"]) and is_float_dtype(frame["inr"])


def test_comma_file_reads_as_before(tmp_path):
    from pipeline.io import read_cohort

    _same(read_cohort(_write(tmp_path, COHORT_TEXT)))


def test_semicolon_file_with_decimal_commas(tmp_path):
    """European and many Chinese Excel exports: ';' between fields, ',' in numbers."""
    from pipeline.io import read_cohort, sniff_csv

    text = COHORT_TEXT.replace(",", ";").replace("18.5", "18,5").replace("30.2", "30,2") \
        .replace("1.05", "1,05").replace("1.2;", "1,2;")
    assert sniff_csv(text) == (";", ",")
    _same(read_cohort(_write(tmp_path, text)))


def test_semicolon_file_mixing_decimal_commas_and_points(tmp_path):
    from pipeline.io import read_cohort

    text = COHORT_TEXT.replace(",", ";").replace("18.5", "18,5").replace("30.2", "30,2")
    _same(read_cohort(_write(tmp_path, text)))  # inr keeps its points, bilirubin has commas


def test_utf8_byte_order_mark_tab_and_pipe_files(tmp_path):
    from pipeline.io import read_cohort

    _same(read_cohort(_write(tmp_path, "\ufeff" + COHORT_TEXT, "bom.csv")))
    _same(read_cohort(_write(tmp_path, COHORT_TEXT.replace(",", "\t"), "tab.tsv")))
    _same(read_cohort(_write(tmp_path, COHORT_TEXT.replace(",", "|"), "pipe.txt")))
    tab_commas = COHORT_TEXT.replace(",", "\t").replace("18.5", "18,5").replace("30.2", "30,2")
    _same(read_cohort(_write(tmp_path, tab_commas, "tab_commas.csv")))


def test_gb18030_file_from_chinese_excel(tmp_path):
    from pipeline.io import read_cohort

    text = COHORT_TEXT.replace("P1", "患者1").replace("P2", "患者2")
    frame = read_cohort(_write(tmp_path, text, encoding="gb18030"))
    _same(frame)
    assert frame["patient_id"].tolist() == ["患者1", "患者2"]


def test_decimal_commas_in_a_comma_file_are_a_clear_error_not_a_tokenizer_error(tmp_path):
    from pipeline.io import read_cohort

    text = COHORT_TEXT.replace("30.2", "30,2")  # line 3 gets one field too many
    with pytest.raises(ValueError) as info:
        read_cohort(_write(tmp_path, text))
    message = str(info.value)
    assert "line 3 has 6 fields, the header line 5" in message
    assert "delimiter ',' (comma)" in message and "';'" in message and "decimal" in message
    assert "Error tokenizing" not in message and "C error" not in message


def test_every_line_with_a_surplus_field_is_an_error_not_a_shifted_frame(tmp_path):
    from pipeline.io import read_cohort

    text = COHORT_TEXT.replace("18.5", "18,5").replace("30.2", "30,2")
    with pytest.raises(ValueError, match="every data line has more fields than the header"):
        read_cohort(_write(tmp_path, text))


def test_empty_and_unknown_files(tmp_path):
    from pipeline.io import read_cohort

    with pytest.raises(ValueError, match="is empty"):
        read_cohort(_write(tmp_path, "\n\n"))
    with pytest.raises(ValueError, match="expected a .csv or .parquet file"):
        read_cohort(_write(tmp_path, COHORT_TEXT, "cohort.xlsx"))


def test_rows_stay_on_their_file_lines(tmp_path):
    """Row i is line i + 2: a blank line inside the data is an (empty) row, trailing empty
    lines (Excel's ';;;;') are dropped."""
    from features.contract import validate_cohort
    from pipeline.io import read_cohort

    text = COHORT_TEXT.replace(",", ";") + "\nP4;66;900000;1.1;male\n;;;;\n\n"
    frame = read_cohort(_write(tmp_path, text))
    assert len(frame) == 4 and frame["patient_id"].tolist()[3] == "P4"
    problems = validate_cohort(frame, require_outcomes=False, require_id=False).problems
    bad = {p.line for p in problems if p.field == "bilirubin_umol_l"}
    assert bad == {4, 5}  # the blank line 4 (missing value) and line 5 (out of range)
    assert text.splitlines()[4].startswith("P4")  # line 5 of the file
