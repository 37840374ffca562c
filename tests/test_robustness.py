"""Hostile and broken input: clear diagnostics, no traceback, no hang, no runaway memory.

- Pathological inputs (tests/fuzz/pathological.py) at a size that keeps their shape; the full
  sizes (10,000 brackets, 1 MB lines, 100,000 definitions, a chain of 1,000 calls) run in a child
  process with their peak memory measured by `python tests/fuzz/run_long.py --part pathological`,
  or here with KINKS_SLOW=1.
- Isolation: an internal error in one statement (parser, lowering, classifier) becomes an E999
  diagnostic on that statement, saying it is a bug in kinks and how to report it; the other
  statements are still analysed, by the API and by `kinks check`.
- The analysis does not depend on the caller: the same report from a deep stack, from threads, and
  Python's recursion limit is left as it was.
- Every spelling of every function of the language, called once, is analysed without an internal
  error.
- A short soak: many definitions through `analyze` in one process; memory levels off (the long
  soak is run_long.py --part soak: 10,000 definitions).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import sys
import threading
from pathlib import Path

import pytest
from fuzz import pathological, strategies
from fuzz.run_long import run_in_child
from hypothesis import HealthCheck, Phase, given, settings

from analyzer import analyze, analyze_text
from analyzer.analysis import api
from analyzer.analysis.classify import Classifier
from analyzer.analysis.lowering import Lowerer
from analyzer.analysis.report import INVALID
from analyzer.atoms import table as atoms
from analyzer.cli.main import main

SLOW = os.environ.get("KINKS_SLOW") == "1"

# ---------------------------------------------------------------- pathological inputs


@pytest.mark.parametrize("case", pathological.CASES, ids=[case.name for case in pathological.CASES])
def test_pathological_input_at_a_small_size(case):
    outcome = pathological.run_case(case.name, case.fast)
    assert outcome["status"] == "ok", outcome["summary"]


@pytest.mark.skipif(
    not SLOW, reason="full size: KINKS_SLOW=1, or run tests/fuzz/run_long.py --part pathological"
)
@pytest.mark.parametrize("case", pathological.CASES, ids=[case.name for case in pathological.CASES])
def test_pathological_input_at_full_size(case):
    outcome = run_in_child(case.name, case.timeout)
    assert outcome["status"] == "ok", outcome["summary"]
    assert outcome["peak_rss_mb"] <= case.max_rss_mb, f"peak RSS {outcome['peak_rss_mb']:.0f} MB"


def test_unused_parameters_are_not_sampled():
    """A header with 120,000 parameters took gigabytes: the probe drew every parameter on every
    line. Only the parameters the body and `given` use are sampled now."""
    params = ", ".join(f"unused{i}" for i in range(300))
    (report,) = analyze_text(f"f(a, b, {params}) wrt a given b > 0 = abs(a - b)")
    assert report.classification == "piecewise-differentiable"
    (kink,) = [finding for finding in report.findings if finding.kind == "kink"]
    assert kink.witness is not None and set(kink.witness.point) == {"a", "b"}


# ---------------------------------------------------------------- isolation

THREE = "a(x) = abs(x)\nb(x) = x^2\nc(x) = relu(x)\n"


def _assert_isolated(reports, broken: str = "b") -> None:
    by_name = {report.name: report for report in reports}
    assert by_name["a"].classification == "piecewise-differentiable"
    assert by_name["c"].classification == "piecewise-differentiable"
    failed = by_name[broken]
    assert failed.classification == INVALID
    (finding,) = failed.findings
    assert finding.code == "E999"
    assert "internal error" in finding.message and api.BUG_HINT in finding.message
    assert finding.span is not None and finding.span.line == 2


def test_an_internal_error_in_the_classifier_costs_only_its_definition(monkeypatch):
    original = Classifier._classify

    def failing(self, report, deadline):
        if self.lowered.definition.name == "b":
            raise RuntimeError("a planted bug")
        return original(self, report, deadline)

    monkeypatch.setattr(Classifier, "_classify", failing)
    reports = analyze_text(THREE)
    _assert_isolated(reports)
    assert "RuntimeError: a planted bug" in reports[1].findings[0].message


def test_an_internal_error_in_the_lowering_costs_only_its_definition(monkeypatch):
    original = Lowerer.definition

    def failing(self, definition):
        if definition.name == "b":
            raise KeyError("planted")
        return original(self, definition)

    monkeypatch.setattr(Lowerer, "definition", failing)
    _assert_isolated(analyze_text(THREE))


def test_an_internal_error_in_the_parser_costs_only_its_statement(monkeypatch):
    from analyzer.language import parser

    original = parser._parse_text

    def failing(text, start, line_offset, context):
        if text.startswith("b("):
            raise IndexError("planted")
        return original(text, start, line_offset, context)

    monkeypatch.setattr(parser, "_parse_text", failing)
    _assert_isolated(analyze_text(THREE))


def test_an_internal_error_in_a_constant_costs_only_that_constant(monkeypatch):
    import analyzer.analysis.api as api_module

    def failing(statement, context):
        raise ValueError("planted")

    monkeypatch.setattr(api_module, "lower_constant", failing)
    reports = analyze_text("k = 2\nf(x) = abs(x)")
    assert [r.findings[0].code for r in reports] == ["E999", "K201"]


def test_an_internal_error_in_analyze_is_a_report(monkeypatch):
    def failing(self, report, deadline):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(Classifier, "_classify", failing)
    report = analyze("abs(x)")
    assert report.classification == INVALID and report.findings[0].code == "E999"


def test_kinks_check_reports_the_internal_error_and_the_other_definitions(monkeypatch, tmp_path):
    original = Classifier._classify

    def failing(self, report, deadline):
        if self.lowered.definition.name == "b":
            raise RuntimeError("a planted bug")
        return original(self, report, deadline)

    monkeypatch.setattr(Classifier, "_classify", failing)
    path = tmp_path / "three.loss"
    path.write_text(THREE, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["check", "--no-cache", "--format", "json", str(path)])
    assert status == 1, err.getvalue()
    records = json.loads(out.getvalue())
    assert [record["class"] for record in records] == [
        "piecewise-differentiable",
        INVALID,
        "piecewise-differentiable",
    ]
    assert records[1]["findings"][0]["code"] == "E999"
    assert "Traceback" not in err.getvalue()


# ---------------------------------------------------------------- the caller does not matter


def _deep(depth: int, function):
    return function() if depth == 0 else _deep(depth - 1, function)


DEEP_BODY = "f(x) = " + "tanh(" * 190 + "x" + ")" * 190


def test_the_same_report_from_a_deep_stack_and_the_recursion_limit_is_restored():
    limit = sys.getrecursionlimit()
    shallow = analyze_text(DEEP_BODY)[0]
    deep = _deep(limit - 150, lambda: analyze_text(DEEP_BODY)[0])
    assert shallow.classification == deep.classification == "smooth"
    assert sys.getrecursionlimit() == limit


def test_expanded_calls_too_deep_are_a_clear_error_not_a_recursion_error():
    lines = ["f0(x) = x"] + [f"f{i}(x) = tanh(f{i - 1}(x))" for i in range(1, 420)]
    reports = analyze_text("\n".join(lines))
    first = next(report for report in reports if report.classification == INVALID)
    assert first.findings[0].code == "E005"
    assert "more than 400 levels" in first.findings[0].message
    later = reports[-1].findings[0].message
    assert len(later) < 200 and "which has an error" in later


def test_threads_get_the_same_reports():
    texts = ["abs(x - y)", "x^2 + relu(y)", "floor(x)", "tanh(" * 150 + "x" + ")" * 150]
    limit = sys.getrecursionlimit()
    expected = [analyze(text).to_dict() for text in texts]
    results: dict[int, list] = {}

    def work(index: int) -> None:
        results[index] = [analyze(text).to_dict() for text in texts]

    threads = [threading.Thread(target=work, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results[index] == expected for index in range(4))
    assert sys.getrecursionlimit() == limit and api._stack_users == 0


# ---------------------------------------------------------------- every function


SPELLINGS = sorted(atoms.ATOM_BY_NAME)


def _call(spelling: str) -> str:
    row = atoms.ATOM_BY_NAME[spelling]
    if row.variadic:
        return f"{spelling}(x, y, 0.5)"
    values = {
        "expr": "x",
        "condition": "x > y",
        "int": "2",
        "flag": "true",
        "dtype": "tf.float32",
        "axis": "-1",
    }
    arguments = [
        values[param.kind] if param.kind != "expr" or index == 0 else "y"
        for index, param in enumerate(row.params)
        if param.default is atoms.NO_DEFAULT
    ]
    return f"{spelling}({', '.join(arguments)})"


def test_every_spelling_of_every_function_is_analysed():
    failures = []
    for spelling in SPELLINGS:
        text = _call(spelling)
        for prefix in ("", "tf.math."):
            report = analyze(prefix + text)
            if report.classification not in (
                "smooth",
                "piecewise-differentiable",
                "zero-gradient",
                "unknown",
            ):
                failures.append((prefix + text, report.classification, [f.message for f in report.findings]))
    assert not failures, failures


# ---------------------------------------------------------------- soak


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="resident memory is read from /proc")
def test_a_short_soak_levels_off():
    bodies: list[tuple[str, tuple[str, ...]]] = []

    @settings(
        max_examples=260,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategies.soak_expressions())
    def collect(example):
        bodies.append(example)

    collect()
    for text, wrt in bodies[:60]:  # warm-up: imports, caches, the parser's tables
        analyze(text, wrt=list(wrt), budget=0.5)
    gc.collect()
    before = _resident_mb()
    for text, wrt in bodies[60:]:
        report = analyze(text, wrt=list(wrt), budget=0.5)
        assert all(finding.code != "E999" for finding in report.findings), (text, report.findings)
    gc.collect()
    grown = _resident_mb() - before
    assert grown < 25, f"resident memory grew {grown:.1f} MB over {len(bodies) - 60} definitions"


def test_locals_too_deep_for_the_analysis_are_a_clear_error_not_an_internal_error():
    """Each local wraps the one before: the depth limit counts the brackets of one line, so the
    body got through lowering and then ran Python's stack out in the classifier (once E999)."""
    layers = [f"    h{i} = softplus(sigmoid(relu(tanh(h{i - 1} + {i % 7}))))" for i in range(1, 700)]
    text = "\n".join(["f(x):", "    h0 = x", *layers, "    return h699"])
    (report,) = analyze_text(text)
    assert report.classification in (INVALID, "unknown", "smooth", "piecewise-differentiable"), report
    codes = [finding.code for finding in report.findings]
    assert "E999" not in codes, report.findings
    if report.classification == INVALID:
        assert codes == ["E005"] and "nested too deeply" in report.findings[0].message
