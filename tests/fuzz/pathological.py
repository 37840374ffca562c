"""Pathological inputs: each must give a clear diagnostic or a correct report, without a traceback,
a hang or runaway memory.

Every case builds its input at a given size and checks what the analysis says about it. The test
suite (tests/test_robustness.py) runs each case at a small size that keeps the same shape; the
long run (run_long.py --part pathological) runs the full size in a child process with a time limit
and measures its peak resident memory.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer import analyze_file, analyze_text
from analyzer.analysis.api import expression_report
from analyzer.analysis.report import INVALID, PIECEWISE, SMOOTH, UNKNOWN, Report

ERRORS = ("E001", "E002", "E003", "E004", "E005", "E006")
MAX_MESSAGE = 1000  # characters: a diagnostic that grows with the input is not clear


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    check: Callable[[int], str]  # runs the case at a size; returns a one-line summary or raises
    full: int  # the size of the issue (10,000 brackets, 1 MB, 100,000 definitions, ...)
    fast: int  # a size for the test suite with the same shape
    timeout: float = 300.0  # seconds, at full size, in the long run
    max_rss_mb: float = 600.0  # peak resident memory allowed at full size


def _fail(message: str) -> None:
    raise AssertionError(message)


def _codes(report: Report) -> list[str]:
    return [finding.code for finding in report.findings]


def _check_clear(reports: list[Report]) -> None:
    """No internal error, and no message that grows with the input."""
    for report in reports:
        for finding in report.findings:
            if finding.code == "E999":
                _fail(f"internal error on {report.name}: {finding.message}")
            if len(finding.message) > MAX_MESSAGE:
                _fail(
                    f"a {len(finding.message)}-character message on {report.name}: {finding.message[:200]}..."
                )


def _one_error(reports: list[Report], code: str, words: str) -> str:
    _check_clear(reports)
    if len(reports) != 1 or reports[0].classification != INVALID:
        _fail(f"expected one invalid statement, got {[(r.name, r.classification) for r in reports][:5]}")
    finding = reports[0].findings[0]
    if finding.code != code or words not in finding.message:
        _fail(f"expected {code} saying {words!r}, got {finding.code}: {finding.message[:300]}")
    return f"{code}: {finding.message[:120]}"


def _classes(reports: list[Report]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.classification] = counts.get(report.classification, 0) + 1
    return counts


# ---------------------------------------------------------------- nesting


def nested_brackets(size: int) -> str:
    text = "f(x) = " + "(" * size + "x" + ")" * size
    return _one_error(analyze_text(text), "E001", "nested too deeply")


def nested_calls(size: int) -> str:
    text = "f(x) = " + "abs(" * size + "x" + ")" * size
    return _one_error(analyze_text(text), "E001", "nested too deeply")


def nested_brackets_expression(size: int) -> str:
    report = expression_report("(" * size + "x" + ")" * size)
    return _one_error([report], "E001", "nested too deeply")


def unbalanced_brackets(size: int) -> str:
    text = "f(x) = " + "(" * size + "x\ng(x) = abs(x)"
    reports = analyze_text(text)
    _check_clear(reports)
    if reports[-1].name != "g" or reports[-1].classification != PIECEWISE:
        _fail(f"the statement after the unbalanced one was not analysed: {reports}")
    return f"{_classes(reports)}"


# ---------------------------------------------------------------- long lines


def long_sum(size: int) -> str:
    """A sum of `size` terms on one line (1 MB at 250,000 terms)."""
    text = "f(x) = " + " + ".join(["x"] * size)
    return _one_error(analyze_text(text), "E001", "too")


def long_comment(size: int) -> str:
    reports = analyze_text("f(x) = abs(x)  # " + "a" * size)
    _check_clear(reports)
    if [r.classification for r in reports] != [PIECEWISE]:
        _fail(f"a comment changed the verdict: {reports}")
    return "piecewise-differentiable"


def long_junk(size: int) -> str:
    return _one_error(analyze_text("f(x) = x " + "@" * size), "E001", "unexpected character")


def long_number(size: int) -> str:
    return _one_error(analyze_text("f(x) = x + " + "9" * size), "E001", "number")


def long_name(size: int) -> str:
    return _one_error(analyze_text("f(x) = x + " + "a" * size), "E002", "undefined name")


def many_parameters(size: int) -> str:
    """A header with `size` parameters, only two used: analysed without drawing the unused ones
    (they once cost gigabytes), or, beyond the parser's 100,000 tokens, a clear error."""
    params = ", ".join(f"x{i}" for i in range(size))
    reports = analyze_text(f"f({params}) wrt x0 = abs(x0 - x1)")
    _check_clear(reports)
    too_long = reports[0].classification == INVALID and "statement too long" in reports[0].findings[0].message
    if len(reports) != 1 or not (reports[0].classification == PIECEWISE or too_long):
        _fail(f"unexpected {reports} {[f.message for r in reports for f in r.findings]}")
    return f"{reports[0].classification}: {[f.message[:80] for f in reports[0].findings][:1]}"


def many_arguments(size: int) -> str:
    """max() of `size` arguments on one line."""
    text = "f(x, y) = max(" + ", ".join(["x", "y"] * (size // 2)) + ")"
    reports = analyze_text(text)
    _check_clear(reports)
    if reports[0].classification not in (PIECEWISE, UNKNOWN, INVALID):
        _fail(f"max(x, y, ...) is {reports[0].classification}")
    return f"{reports[0].classification}"


# ---------------------------------------------------------------- many statements


def many_definitions(size: int) -> str:
    text = "\n".join(f"f{i}(x) = x * {i % 7 + 1} + {i}" for i in range(size))
    reports = analyze_text(text)
    _check_clear(reports)
    if len(reports) != size or any(report.classification != SMOOTH for report in reports):
        _fail(f"{len(reports)} reports for {size} definitions: {_classes(reports)}")
    return f"{size} definitions: {_classes(reports)}"


def _chain(size: int, body: str) -> list[Report]:
    lines = ["f0(x) = x"] + [f"f{i}(x) = " + body.format(previous=f"f{i - 1}(x)") for i in range(1, size)]
    return analyze_text("\n".join(lines))


def _check_chain(reports: list[Report], size: int, analysed_class: str) -> str:
    _check_clear(reports)
    if len(reports) != size:
        _fail(f"{len(reports)} reports for {size} definitions")
    seen_invalid = False
    for report in reports:
        if report.classification == INVALID:
            seen_invalid = True
            if report.findings[0].code not in ERRORS:
                _fail(f"{report.name}: {report.findings[0].code} {report.findings[0].message}")
        elif seen_invalid:
            _fail(f"{report.name} was analysed after a definition it calls failed")
        elif report.classification not in (analysed_class, UNKNOWN):
            _fail(f"{report.name} is {report.classification}, expected {analysed_class}")
    first_error = next((r for r in reports if r.classification == INVALID), None)
    detail = (
        f"; first error {first_error.name}: {first_error.findings[0].message[:100]}" if first_error else ""
    )
    return f"{_classes(reports)}{detail}"


def chain_of_sums(size: int) -> str:
    """Each definition calls the one before: f_i(x) = f_{i-1}(x) + 1."""
    return _check_chain(_chain(size, "{previous} + 1"), size, SMOOTH)


def chain_of_compositions(size: int) -> str:
    """f_i(x) = tanh(f_{i-1}(x)): the expanded body is `size` levels deep."""
    return _check_chain(_chain(size, "tanh({previous})"), size, SMOOTH)


def chain_of_doublings(size: int) -> str:
    """f_i(x) = f_{i-1}(x) + f_{i-1}(2 * x): the expansion doubles at each step."""
    lines = ["f0(x) = x"] + [f"f{i}(x) = f{i - 1}(x) + f{i - 1}(2 * x)" for i in range(1, size)]
    return _check_chain(analyze_text("\n".join(lines)), size, SMOOTH)


# ---------------------------------------------------------------- numbers


def _verdict(text: str) -> Report:
    reports = analyze_text(text)
    _check_clear(reports)
    return reports[-1]


def huge_exponents(size: int) -> str:
    """x^1e308 and friends: a correct class, a clear error, or `unknown` with the reason; never
    `zero-gradient` (the gradient of x^1e308 is not zero: it overflows)."""
    out = []
    for text in ("f(x) = x^1e308", "f(x) = x^-1e308", "f(x) = exp(x)^1e300", "f(x) = x^1e200^2"):
        report = _verdict(text)
        if report.classification not in (SMOOTH, UNKNOWN, INVALID):
            _fail(f"{text}: {report.classification} {[f.message for f in report.findings]}")
        out.append(f"{text}: {report.classification}")
    for text in (
        "f(x) = x^1e400",
        "f(x) = x + 1e309",
        "f(x) = 2^(2^(2^(2^(2^2)))) * x",
        "f(x) = 1e10 ^ 1e10 * x",
        "f(x) = x * 1e200 * 1e200",
    ):
        report = _verdict(text)
        if report.classification != INVALID or "too large" not in report.findings[0].message:
            _fail(
                f"{text}: expected a 'too large' error, "
                f"got {report.classification} {[f.message for f in report.findings]}"
            )
        out.append(f"{text}: {report.findings[0].message[:60]}")
    return "; ".join(out)


def undefined_constants(size: int) -> str:
    """0/0, inf - inf, 1/0 in constants and bodies: an error at the operation, not a verdict."""
    out = []
    for text in (
        "c = 0/0\nf(x) = x + c",
        "c = inf - inf\nf(x) = x * c",
        "c = 1/0\nf(x) = x * c",
        "f(x) = x + 0/0",
        "f(x) = x / 0",
        "f(x) = inf * 0 + x",
        "f(x) = x % 0",
        "f(x) = mod(x, 0)",
        "f(x) = (x - x)^-1",
    ):
        reports = analyze_text(text)
        _check_clear(reports)
        first = reports[0]
        if (
            first.classification != INVALID
            or first.findings[0].code not in ERRORS
            or "undefined" not in first.findings[0].message
        ):
            _fail(
                f"{text!r}: expected an 'undefined' error, "
                f"got {[(r.name, r.classification, _codes(r)) for r in reports]}"
            )
        out.append(first.findings[0].message[:50])
    report = _verdict("f(x) = x * inf")
    if report.classification not in (UNKNOWN, INVALID):
        _fail(f"x * inf is {report.classification}")
    return "; ".join(out)


# ---------------------------------------------------------------- bytes and scripts


def nul_bytes(size: int) -> str:
    text = "f(x) = x\x00 + 1\ng(x) = abs(x)\n\x00\n" + "h(x) = x" + "\x00" * size
    reports = analyze_text(text)
    _check_clear(reports)
    by_name = {r.name: r for r in reports}
    if by_name.get("g") is None or by_name["g"].classification != PIECEWISE:
        _fail(f"g was not analysed next to NUL bytes: {reports}")
    if (
        by_name.get("f") is None
        or by_name["f"].classification != INVALID
        or "U+0000" not in by_name["f"].findings[0].message
    ):
        _fail(f"the NUL byte is not named: {reports}")
    return f"{_classes(reports)}"


def _check_command(data: bytes) -> tuple[int, list[dict[str, Any]], str]:
    from analyzer.cli.main import main

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "input.loss"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["check", "--format", "json", str(path)])
    return status, json.loads(out.getvalue()), err.getvalue()


def invalid_utf8(size: int) -> str:
    data = b"f(x) = abs(x)\ng(x) = x \xff\xfe + 1\n" + b"\x80" * size
    status, records, err = _check_command(data)
    if status != 1 or len(records) != 1 or records[0]["findings"][0]["code"] != "E006":
        _fail(f"kinks check: status {status}, {records}, {err}")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "input.loss"
        path.write_bytes(data)
        reports = analyze_file(path)
    if (
        len(reports) != 1
        or reports[0].findings[0].code != "E006"
        or "line 2" not in reports[0].findings[0].message
    ):
        _fail(
            "analyze_file: "
            f"{[(r.classification, _codes(r), [f.message for f in r.findings]) for r in reports]}"
        )
    return records[0]["findings"][0]["message"]


def binary_file(size: int) -> str:
    data = bytes(range(256)) * max(1, size // 256)
    status, records, err = _check_command(data)
    if status != 1 or records[0]["findings"][0]["code"] != "E006":
        _fail(f"kinks check on binary data: status {status}, {records[:2]}, {err}")
    return records[0]["findings"][0]["message"]


SCRIPTS = {
    "greek": ("f(α, β) wrt β = abs(α - β)", PIECEWISE),
    "cyrillic": ("потеря(у, р) wrt р = mean((у - р)^2)", SMOOTH),
    "cjk": ("损失(预测, 标签) wrt 预测 = relu(预测 - 标签)", PIECEWISE),
    "arabic": ("خسارة(س) = abs(س)", PIECEWISE),
    "hebrew": ("f(\u05d0) = \u05d0^2", SMOOTH),
    "devanagari": ("कमल(क) = sigmoid(क)", SMOOTH),
    "mathematical": ("f(\U0001d465) = \U0001d465^2", SMOOTH),  # NFKC makes it `x`
}
SCRIPT_ERRORS = {
    "combining mark alone": "f(x) = x + \u0301",
    "zero-width space": "f(x) = x\u200b + 1",
    "bidi override": "f(x) = x \u202e+ 1",
    "emoji": "f(x) = x + \U0001f600",
    "confusable (Cyrillic a)": "f(a) = \u0430 + 1",
    # Python allows combining vowel signs inside names (`हानि`); the grammar's NAME does not yet
    "devanagari vowel sign": "हानि(क) = sigmoid(क)",
}


def other_scripts(size: int) -> str:
    for label, (text, expected) in SCRIPTS.items():
        report = _verdict(text)
        if report.classification != expected:
            _fail(
                f"{label}: {text!r} is {report.classification} {[f.message for f in report.findings]}, "
                f"expected {expected}"
            )
    for label, text in SCRIPT_ERRORS.items():
        report = _verdict(text)
        if report.classification != INVALID or report.findings[0].code not in ERRORS:
            _fail(f"{label}: {text!r} gave {report.classification}")
        message = report.findings[0].message
        if not message.isprintable():
            _fail(f"{label}: the message prints an invisible character: {message!r}")
    return f"{len(SCRIPTS)} scripts analysed, {len(SCRIPT_ERRORS)} invisible or foreign characters named"


CASES: tuple[Case, ...] = (
    Case("nested 10,000 brackets", nested_brackets, 10_000, 10_000, 60),
    Case("nested 10,000 calls", nested_calls, 10_000, 10_000, 60),
    Case("nested brackets in analyze()", nested_brackets_expression, 10_000, 10_000, 60),
    Case("unbalanced 10,000 brackets", unbalanced_brackets, 10_000, 2_000, 60),
    Case("1 MB line: a sum", long_sum, 250_000, 2_000, 300),
    Case("1 MB line: a comment", long_comment, 1_000_000, 100_000, 60),
    Case("1 MB line: junk", long_junk, 1_000_000, 100_000, 60),
    Case("1 MB line: a number", long_number, 1_000_000, 10_000, 60),
    Case("1 MB line: a name", long_name, 1_000_000, 100_000, 60),
    Case("1 MB line: parameters", many_parameters, 120_000, 2_000, 300),
    Case("40,000 parameters", many_parameters, 40_000, 2_000, 300),
    Case("1 MB line: max() arguments", many_arguments, 300_000, 200, 300),
    Case("100,000 definitions", many_definitions, 100_000, 1_000, 1800, 1500.0),
    Case("chain of 1,000 sums", chain_of_sums, 1_000, 150, 600),
    Case("chain of 1,000 compositions", chain_of_compositions, 1_000, 150, 600),
    Case("chain of 1,000 doublings", chain_of_doublings, 1_000, 40, 600),
    Case("x^1e308 and huge numbers", huge_exponents, 1, 1, 120),
    Case("0/0, inf - inf, 1/0", undefined_constants, 1, 1, 120),
    Case("NUL bytes", nul_bytes, 1_000_000, 1_000, 60),
    Case("invalid UTF-8", invalid_utf8, 1_000_000, 1_000, 60),
    Case("binary file", binary_file, 1_000_000, 1_000, 60),
    Case("names in other scripts", other_scripts, 1, 1, 60),
)
CASE_BY_NAME = {case.name: case for case in CASES}


def run_case(name: str, size: int | None = None) -> dict[str, Any]:
    """One case at full size (or `size`): {"status": "ok" | "wrong", "summary": ...}."""
    case = CASE_BY_NAME[name]
    try:
        summary = case.check(case.full if size is None else size)
    except AssertionError as error:
        return {"status": "wrong", "summary": str(error)[:2000]}
    return {"status": "ok", "summary": summary}
