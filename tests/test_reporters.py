"""The reporters on hand-built reports: golden text without colour, and the JSON records of §5."""

from __future__ import annotations

import json

import pytest

from analyzer.analysis.report import Finding, Report, VariableVerdict
from analyzer.language.syntax import Span
from analyzer.lint.formats import RenderOptions, render
from analyzer.lint.reporters import render_concise, render_json, render_text

SOURCE = """\
eps = 1e-7

mae(y, p) wrt p = mean(abs(y - p))
unbalanced(x) = relu(x
"""

# The record keys of LANGUAGE.md §5, in the order of its example.
DEFINITION_KEYS = ["file", "name", "line", "wrt", "class", "smoothness", "findings"]
INVALID_KEYS = ["file", "name", "line", "wrt", "class", "findings"]
# Keys report.py adds beside them (§5: "more keys may be added").
ADDED_KEYS = {"by_variable", "reason"}
FINDING_KEYS = {"kind", "code", "severity", "message", "span"}
OPTIONAL_FINDING_KEYS = {"atom", "where", "suggestion", "variables", "on_edge"}


def kink_report(file: str = "losses.loss") -> Report:
    return Report(
        name="mae",
        line=3,
        file=file,
        wrt=("p",),
        params=("y", "p"),
        classification="piecewise-differentiable",
        smoothness=0,
        findings=[
            Finding(
                kind="kink",
                code="K201",
                atom="abs",
                where="y - p == 0",
                message="abs(y - p) has a kink where y - p == 0; the gradient exists everywhere else",
                suggestion="huber(y - p, delta) or sqrt((y - p)^2 + eps) if a smooth loss is needed",
                span=Span(3, 24, 3, 34),
            )
        ],
        by_variable={"p": VariableVerdict("piecewise-differentiable", 0, ("kink",))},
    )


def syntax_error_report(file: str = "losses.loss") -> Report:
    finding = Finding(kind="error", code="E001", message="expected ')'", span=Span(4, 23, 4, 24))
    return Report(name=None, line=4, file=file, findings=[finding])


def smooth_report(name: str = "mse", line: int = 5, file: str = "losses.loss") -> Report:
    return Report(
        name=name,
        line=line,
        file=file,
        wrt=("p",),
        params=("y", "p"),
        classification="smooth",
        smoothness=2,
        by_variable={"p": VariableVerdict("smooth", 2, ())},
    )


# ---------------------------------------------------------------- text


def test_text_golden_with_help_and_syntax_error() -> None:
    reports = [kink_report(), syntax_error_report(), smooth_report()]
    assert render_text(reports, {"losses.loss": SOURCE}, color=False) == (
        "losses.loss:3:24: K201 abs(y - p) has a kink where y - p == 0; the gradient exists everywhere else\n"
        "  3 | mae(y, p) wrt p = mean(abs(y - p))\n"
        "    |                        ^^^^^^^^^^\n"
        "  help: huber(y - p, delta) or sqrt((y - p)^2 + eps) if a smooth loss is needed\n"
        "\n"
        "losses.loss:4:23: E001 expected ')'\n"
        "  4 | unbalanced(x) = relu(x\n"
        "    |                       ^\n"
        "\n"
        "Found 2 diagnostics (1 error, 1 info) in 3 definitions across 1 file."
    )


def test_text_all_checks_passed_prints_nothing_per_definition() -> None:
    reports = [smooth_report(), smooth_report("mse2", 6), smooth_report("other", 1, "other.loss")]
    sources = {"losses.loss": SOURCE, "other.loss": "other(y, p) wrt p = mean((y - p)^2)\n"}
    assert render_text(reports, sources, color=False) == "All checks passed! (3 definitions, 2 files)"


def test_text_counts_files_that_have_no_definitions() -> None:
    sources = {"a.loss": "f(x) = x\n", "empty.loss": ""}
    assert render_text([smooth_report("f", 1, "a.loss")], sources, color=False) == (
        "All checks passed! (1 definition, 2 files)"
    )


def test_text_multiline_span_is_underlined_to_the_end_of_its_first_line() -> None:
    source = "f(x) = mean(abs(x +\n    1))\n"
    finding = Finding(kind="kink", code="K201", message="kink", span=Span(1, 13, 2, 7))
    report = Report(
        name="f", line=1, file="f.loss", classification="piecewise-differentiable", findings=[finding]
    )
    assert render_text([report], {"f.loss": source}, color=False).splitlines()[:3] == [
        "f.loss:1:13: K201 kink",
        "  1 | f(x) = mean(abs(x +",
        "    |             ^^^^^^^",
    ]


def test_text_finding_without_span_uses_the_report_line() -> None:
    source = "a = 1\nbig(x) = relu(x)\n"
    finding = Finding(kind="unknown", code="K901", message="could not decide within 1s", span=None)
    report = Report(name="big", line=2, file="big.loss", classification="unknown", findings=[finding])
    assert render_text([report], {"big.loss": source}, color=False) == (
        "big.loss:2:1: K901 could not decide within 1s\n"
        "  2 | big(x) = relu(x)\n"
        "\n"
        "Found 1 diagnostic (1 warning) in 1 definition across 1 file."
    )


def test_text_carets_follow_tabs_in_the_source_line() -> None:
    source = "f(x):\n\treturn abs(x)\n"
    finding = Finding(kind="kink", code="K201", message="kink", span=Span(2, 9, 2, 15))
    report = Report(
        name="f", line=1, file="t.loss", classification="piecewise-differentiable", findings=[finding]
    )
    lines = render_text([report], {"t.loss": source}, color=False).splitlines()
    assert lines[1] == "  2 | \treturn abs(x)"
    assert lines[2] == "    | \t       ^^^^^^"


def test_text_wide_line_numbers_keep_the_gutter_aligned() -> None:
    source = "\n" * 11 + "f(x) = abs(x)\n"
    finding = Finding(kind="kink", code="K201", message="kink", span=Span(12, 8, 12, 14))
    report = Report(
        name="f", line=12, file="w.loss", classification="piecewise-differentiable", findings=[finding]
    )
    lines = render_text([report], {"w.loss": source}, color=False).splitlines()
    assert lines[1:3] == ["  12 | f(x) = abs(x)", "     |        ^^^^^^"]


def test_text_error_past_the_last_line_has_no_excerpt() -> None:
    finding = Finding(kind="error", code="E001", message="unexpected end of input", span=Span(3, 1, 3, 2))
    report = Report(name=None, line=3, file="eof.loss", findings=[finding])
    assert render_text([report], {"eof.loss": "f(x) = (\n  x\n"}, color=False).splitlines()[:2] == [
        "eof.loss:3:1: E001 unexpected end of input",
        "",
    ]


def test_text_unreadable_file_has_no_source_excerpt() -> None:
    finding = Finding(kind="error", code="E006", message="the file is not UTF-8 text", span=Span(1, 1, 1, 2))
    report = Report(name=None, line=1, file="bad.loss", findings=[finding])
    assert render_text([report], {}, color=False) == (
        "bad.loss:1:1: E006 the file is not UTF-8 text\n"
        "\n"
        "Found 1 diagnostic (1 error) in 1 definition across 1 file."
    )


def test_text_summary_pluralizes_and_orders_by_severity() -> None:
    warning = Finding(kind="singularity", code="K102", message="log(p) at p == 0", span=None)
    reports = [
        Report(name="a", line=1, file="x.loss", classification="smooth", findings=[warning, warning]),
        Report(name="b", line=2, file="y.loss", classification="smooth", findings=[warning]),
        syntax_error_report("x.loss"),
        syntax_error_report("y.loss"),
    ]
    summary = render_text(reports, {}, color=False).splitlines()[-1]
    assert summary == "Found 5 diagnostics (2 errors, 3 warnings) in 4 definitions across 2 files."


def test_text_without_color_has_no_escape_codes() -> None:
    assert "\x1b[" not in render_text([kink_report(), syntax_error_report()], {"losses.loss": SOURCE}, False)


def test_text_with_color_paints_code_by_severity_and_bolds_the_path() -> None:
    warning = Finding(kind="singularity", code="K102", message="singular", span=Span(3, 24, 3, 34))
    reports = [
        kink_report(),
        Report(name="w", line=3, file="losses.loss", classification="smooth", findings=[warning]),
        syntax_error_report(),
    ]
    text = render_text(reports, {"losses.loss": SOURCE}, color=True)
    assert "\x1b[1mlosses.loss:3:24:\x1b[0m" in text
    assert "\x1b[34mK201\x1b[0m" in text  # info: blue
    assert "\x1b[33mK102\x1b[0m" in text  # warning: yellow
    assert "\x1b[31mE001\x1b[0m" in text  # error: red


# ---------------------------------------------------------------- json


def test_json_is_one_array_in_the_order_given() -> None:
    reports = [kink_report("a.loss"), syntax_error_report("a.loss"), smooth_report(file="b.loss")]
    records = json.loads(render_json(reports))
    assert isinstance(records, list)
    assert [(record["file"], record["name"], record["line"]) for record in records] == [
        ("a.loss", "mae", 3),
        ("a.loss", None, 4),
        ("b.loss", "mse", 5),
    ]


def test_json_of_nothing_is_an_empty_array() -> None:
    assert json.loads(render_json([])) == []


def assert_section_5_keys(record: dict, expected: list[str]) -> None:
    keys = list(record)
    assert set(expected) <= set(keys), f"missing §5 keys: {set(expected) - set(keys)}"
    assert set(keys) - set(expected) <= ADDED_KEYS, (
        f"unexpected keys: {set(keys) - set(expected) - ADDED_KEYS}"
    )
    assert [key for key in keys if key in expected] == expected, "§5 keys out of order"


def test_json_definition_record_has_the_section_5_keys() -> None:
    (record,) = json.loads(render_json([kink_report()]))
    assert_section_5_keys(record, DEFINITION_KEYS)
    assert record["class"] == "piecewise-differentiable"
    assert record["smoothness"] == 0
    assert record["wrt"] == ["p"]
    (finding,) = record["findings"]
    assert FINDING_KEYS <= set(finding) <= FINDING_KEYS | OPTIONAL_FINDING_KEYS
    assert finding == {
        "kind": "kink",
        "code": "K201",
        "severity": "info",
        "atom": "abs",
        "where": "y - p == 0",
        "message": "abs(y - p) has a kink where y - p == 0; the gradient exists everywhere else",
        "suggestion": "huber(y - p, delta) or sqrt((y - p)^2 + eps) if a smooth loss is needed",
        "span": {"line": 3, "column": 24, "end_line": 3, "end_column": 34},
    }


def test_json_invalid_record_has_the_section_5_keys_and_no_verdict() -> None:
    (record,) = json.loads(render_json([syntax_error_report()]))
    assert_section_5_keys(record, INVALID_KEYS)
    assert "smoothness" not in record and "by_variable" not in record
    assert record == {
        "file": "losses.loss",
        "name": None,
        "line": 4,
        "wrt": [],
        "class": "invalid",
        "findings": [
            {
                "kind": "error",
                "code": "E001",
                "severity": "error",
                "message": "expected ')'",
                "span": {"line": 4, "column": 23, "end_line": 4, "end_column": 24},
            }
        ],
    }


def test_json_keeps_non_ascii_text_readable() -> None:
    finding = Finding(kind="kink", code="K201", message="kink at p == 0 (C¹ elsewhere)", span=None)
    report = Report(
        name="f", line=1, file="é.loss", classification="piecewise-differentiable", findings=[finding]
    )
    text = render_json([report])
    assert "C¹" in text and "é.loss" in text
    assert json.loads(text)[0]["findings"][0]["span"] is None


# ---------------------------------------------------------------- concise, quiet, dispatch


def test_concise_is_one_line_a_diagnostic_then_the_summary() -> None:
    reports = [kink_report(), syntax_error_report(), smooth_report()]
    assert render_concise(reports, {"losses.loss": SOURCE}) == (
        "losses.loss:3:24: K201 abs(y - p) has a kink where y - p == 0; the gradient exists everywhere else\n"
        "losses.loss:4:23: E001 expected ')'\n"
        "Found 2 diagnostics (1 error, 1 info) in 3 definitions across 1 file."
    )


def test_quiet_drops_the_summary_and_prints_nothing_when_all_is_well() -> None:
    options = RenderOptions(sources={"losses.loss": SOURCE}, summary=False)
    assert render("text", [smooth_report()], options) == ""
    assert render("concise", [kink_report()], options) == (
        "losses.loss:3:24: K201 abs(y - p) has a kink where y - p == 0; the gradient exists everywhere else"
    )


def test_render_dispatches_every_format() -> None:
    for output_format in ("text", "concise", "json", "sarif", "github", "junit"):
        assert isinstance(render(output_format, [kink_report()], RenderOptions()), str)
    with pytest.raises(ValueError, match="xml"):
        render("xml", [], RenderOptions())
