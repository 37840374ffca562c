"""The Python API: budgets, determinism, per-variable verdicts, the explanation."""

from __future__ import annotations

import json

import pytest

from analyzer import analyze, analyze_text


def test_past_its_budget_a_definition_is_unknown_with_the_reason():
    report = analyze("mean(abs(y - p))", wrt=["p"], budget=1e-9)
    assert report.classification == "unknown"
    assert "budget" in report.reason
    assert [f.code for f in report.findings] == ["K901"]


def test_the_same_input_gives_the_same_report():
    text = (
        "fit(x, y, w, b) wrt w, b = mean((y - relu(w * x + b))^2)\n"
        "acc(y, p) wrt p = mean(argmax(p) == argmax(y))\n"
    )
    first = json.dumps([r.to_dict() for r in analyze_text(text, "a.loss")])
    second = json.dumps([r.to_dict() for r in analyze_text(text, "a.loss")])
    assert first == second


def test_each_wrt_parameter_gets_its_own_verdict():
    report = analyze("abs(p) + floor(q) + r^2", wrt=["p", "q", "r"])
    assert report.by_variable["p"].classification == "piecewise-differentiable"
    assert report.by_variable["q"].classification == "zero-gradient"
    assert report.by_variable["r"].classification == "smooth"
    assert report.classification == "piecewise-differentiable"


def test_a_jump_in_a_frozen_variable_still_makes_the_whole_piecewise():
    report = analyze("floor(q) + r^2", wrt=["q", "r"])
    assert report.by_variable["q"].classification == "zero-gradient"
    assert report.classification == "piecewise-differentiable"
    assert report.smoothness == -1


def test_the_explanation_starts_at_the_innermost_cause():
    report = analyze("mean(argmax(p) == argmax(y))", wrt=["p"])
    lines = report.explain().splitlines()
    assert lines[0].startswith("argmax(p)")
    assert any("mean(" in line for line in lines[1:])
    assert "zero gradient" in lines[-2]
    assert lines[-1].startswith("use instead:") and "softmax" in lines[-1]


def test_findings_of_an_expanded_call_point_at_the_call_site():
    text = "layer(x, w, b) = relu(w * x + b)\nfit(x, y, w, b) wrt w, b = mean((y - layer(x, w, b))^2)\n"
    fit = analyze_text(text, "net.loss")[1]
    kink = next(f for f in fit.findings if f.kind == "kink")
    assert (kink.span.line, kink.span.column, kink.span.end_column) == (2, 38, 52)
    assert kink.where == "w * x + b == 0" and "inside layer" in kink.message


def test_locals_of_a_block_are_printed_by_the_names_the_user_gave_them():
    text = "gate(y, p) wrt p:\n    margin = 1 - y * p\n    return mean(relu(margin))\n"
    (report,) = analyze_text(text, "block.loss")
    assert {f.where for f in report.findings} == {"margin == 0", "margin < 0"}


# ---------------------------------------------------------------- issue 17: syntax errors raise


def test_an_expression_that_does_not_parse_raises_with_where_and_why():
    import analyzer
    from analyzer import KinksSyntaxError

    with pytest.raises(KinksSyntaxError) as caught:
        analyzer.analyze("mean(abs(y - p)")
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.line, error.column) == (1, 5) and "(" in error.message  # the bracket never closed
    assert str(error) == f"line 1, column 5: {error.message}"
    with pytest.raises(KinksSyntaxError):
        analyzer.analyze("abs(x)", given="0 < < x")
    # Files keep their reports: a syntax error is a record of class invalid.
    (report,) = analyzer.analyze_text("f(x) = mean(abs(x)")
    assert report.classification == "invalid" and report.findings[0].code == "E001"
