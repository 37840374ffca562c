"""The table test of issue 13: real loss and metric functions of Python modules
(tests/fixtures/python_losses, sources named in the files), checked through `kinks check` with the
fixture's own kinks.toml, against the verdicts of tests/fixtures/python_losses/expected.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

from analyzer.cli import main as cli

PYTHON_FIXTURES = FIXTURES / "python_losses"
EXPECTED = json.loads((PYTHON_FIXTURES / "expected.json").read_text(encoding="utf-8"))

# Rows the language cannot express yet. F.binary_cross_entropy_with_logits has its PyTorch row
# (issue 12), but FocalLoss passes `reduction='none'`: the language has no strings, and PyTorch's
# reduction="mean" is its only one (docs/language.md), so the translator refuses it (K903).
NEEDS_STRINGS = {
    (
        "torch_losses.py",
        "FocalLoss.forward",
    ): "needs reduction='none' of F.binary_cross_entropy_with_logits: the language has no strings",
}


@pytest.fixture(scope="module")
def records() -> dict[tuple[str, str], dict]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(
            ["check", "--no-cache", "--jobs", "1", "--output-format", "json", str(PYTHON_FIXTURES)]
        )
    assert status in (0, 1)
    found = {}
    for record in json.loads(out.getvalue()):
        key = (Path(record["file"]).name, record["name"])
        assert key not in found, f"two records for {key}"
        found[key] = record
    return found


def test_every_function_has_a_record_and_nothing_else_does(records: dict) -> None:
    assert set(records) == {(row["file"], row["name"]) for row in EXPECTED}
    assert len(EXPECTED) >= 30


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            row,
            id=f"{row['file']}:{row['name']}",
            marks=[pytest.mark.xfail(reason=NEEDS_STRINGS[key], strict=True)]
            if (key := (row["file"], row["name"])) in NEEDS_STRINGS
            else [],
        )
        for row in EXPECTED
    ],
)
def test_function_verdict(records: dict, row: dict) -> None:
    record = records[(row["file"], row["name"])]
    got = {
        "line": record["line"],
        "wrt": record["wrt"],
        "class": record["class"],
        "findings": sorted({finding["kind"] for finding in record["findings"]}),
    }
    wanted = {key: row[key] for key in ("line", "wrt", "class", "findings")}
    assert got == wanted, f"{row['why']}\n" + "\n".join(f["message"] for f in record["findings"])


def test_untranslatable_functions_name_the_construct_and_where(records: dict) -> None:
    for row in EXPECTED:
        if row["class"] != "invalid":
            continue
        (finding,) = records[(row["file"], row["name"])]["findings"]
        assert finding["code"] == "K903" and finding["severity"] == "info"
        assert " at line " in finding["message"] and ", column " in finding["message"]
        assert finding["span"]["line"] > row["line"]
