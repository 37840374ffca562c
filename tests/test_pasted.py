"""Issue 12: losses pasted from real Keras, TensorFlow, PyTorch and JAX code parse and get the
verdicts of their math (tests/fixtures/pasted/: the file, its sources, and expected.json)."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES

from analyzer import analyze_file

FIXTURE = FIXTURES / "pasted"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))

# Verdicts the engine does not reach yet (not the language): each with why.
KNOWN_GAPS: dict[str, str] = {}


@pytest.fixture(scope="module")
def reports():
    return {report.name: report for report in analyze_file(FIXTURE / "pasted_losses.loss")}


def test_the_file_has_forty_or_more_definitions_and_all_parse(reports) -> None:
    assert len(EXPECTED) >= 40
    invalid = {name: r.findings[0].message for name, r in reports.items() if r.classification == "invalid"}
    assert not invalid


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(row, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[row["name"]]))
        if row["name"] in KNOWN_GAPS
        else row
        for row in EXPECTED
    ],
    ids=[row["name"] for row in EXPECTED],
)
def test_verdict(reports, row) -> None:
    report = reports[row["name"]]
    assert report.line == row["line"]
    kinds = sorted({f.kind for f in report.findings})
    assert (report.classification, kinds) == (row["class"], sorted(set(row["findings"]))), row["why"]
