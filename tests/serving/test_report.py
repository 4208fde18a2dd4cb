"""The HTML report: every modality, self-contained, with the caveat; and the terminal table."""

from __future__ import annotations

import re

import pytest

from features.contract import MODALITIES, MODALITY_LABELS
from pipeline.serving.report import format_table, render_html, write_report


@pytest.fixture(scope="module")
def advanced_html(recommender, examples):
    return render_html(recommender.recommend(examples["advanced"]))


def test_report_contains_every_modality_and_the_caveat(advanced_html):
    for m in MODALITIES:
        assert MODALITY_LABELS[m] in advanced_html
        assert f">{m}<" in advanced_html
    assert "does not replace" in advanced_html and "multidisciplinary team" in advanced_html
    # SHAP unit stated (stratified baselines: the contrast is in log cumulative hazard)
    assert "log hazard ratio" in advanced_html or "log cumulative hazard at 24" in advanced_html
    assert "forbidden" in advanced_html and "clinical-facts" in advanced_html  # references


def test_report_is_self_contained(advanced_html):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", advanced_html)
    assert "@import" not in advanced_html and "<script" not in advanced_html
    assert "<link" not in advanced_html
    assert advanced_html.count("data:image/png;base64,") == 3  # curves, response, waterfall


def test_report_for_terminal_patient_without_runner_up(recommender, examples, tmp_path):
    rec = recommender.recommend(examples["terminal"])
    path = write_report(rec, tmp_path / "sub" / "report.html")
    html = path.read_text()
    assert "Best supportive care" in html and "No SHAP contrast" in html
    assert html.count("data:image/png;base64,") == 2


def test_report_without_shap_and_without_recommendation(recommender, examples):
    html = render_html(recommender.recommend(examples["advanced"], explain=False))
    assert "explain=False" in html
    rec = recommender.recommend(examples["terminal"], {"excluded_modalities": ["supportive_care"]})
    html = render_html(rec)
    assert "No recommendation" in html and "multidisciplinary team" in html


def test_patient_id_not_in_report(recommender, examples):
    rec = recommender.recommend(dict(examples["early"], patient_id="SECRET-77"))
    html = render_html(rec)
    assert "SECRET-77" not in html and rec.patient_ref in html


def test_text_table(recommender, examples):
    rec = recommender.recommend(examples["advanced"])
    text = format_table(rec)
    for m in MODALITIES:
        assert m in text
    assert "RMST24" in text and "90% interval" in text and "P(resp)" in text
    assert f"*{rec.recommended}" in text and "does not replace" in text
