"""Issue 17: the texts of diagnostics and explanations speak in the user's own names.

A `where` text names the locals and constants the user wrote (`2 * tp + fp + fn == 0`, `smooth`),
not their expansions; a local that rebinds a parameter (`x = abs(x - 1)`, Keras's
`y_pred = K.clip(y_pred, ...)`) does not reprint its own line in terms of itself; K301 and the
explanations read as sentences of the argument the user wrote.
"""

from __future__ import annotations

import pytest

from analyzer.analysis.api import analyze_text

F1_BLOCK = """\
f1(y, p) wrt p:
    tp = sum(p * y)
    fp = sum(p * (1 - y))
    fn = sum((1 - p) * y)
    return 2 * tp / (2 * tp + fp + fn)
"""
F1_SMOOTHED = """\
smooth = 1
dice(y, p) wrt p = 1 - (2 * sum(p * y) + smooth) / (sum(p) + sum(y) + smooth)
"""
REBOUND = """\
g(x):
    x = abs(x - 1)
    return abs(x - 1)
"""
KERAS_CLIP = """\
bce(y_true, y_pred) wrt y_pred:
    y_pred = clip(y_pred, 1e-7, 1 - 1e-7)
    return -mean(y_true * log(y_pred))
"""

# (case, text, code, line, what the `where` must be, what no text of the report may contain)
WHERE_CASES = [
    ("locals of a block", F1_BLOCK, "K102", 5, "2 * tp + fp + fn == 0", "sum(p*y)"),
    ("a named constant", F1_SMOOTHED, "K102", 2, "sum(p) + sum(y) + smooth == 0", "+ 1 =="),
    ("a local that rebinds a parameter, its own line", REBOUND, "K201", 2, "x - 1 == 0", "abs(abs("),
    ("a local that rebinds a parameter, below it", REBOUND, "K201", 3, "x - 1 == 0", "abs(x - 1) - 1"),
    ("Keras's clip of y_pred", KERAS_CLIP, "K201", 2, "y_pred == 1e-7", "clip(clip("),
]


@pytest.mark.parametrize(
    ("text", "code", "line", "where", "never"),
    [case[1:] for case in WHERE_CASES],
    ids=[case[0] for case in WHERE_CASES],
)
def test_where_texts_use_the_users_names(text: str, code: str, line: int, where: str, never: str) -> None:
    (report,) = [report for report in analyze_text(text, "case.loss") if report.classification != "invalid"]
    found = [finding for finding in report.findings if finding.code == code and finding.span.line == line]
    assert found, [(f.code, f.span.line, f.message) for f in report.findings]
    assert where in {finding.where for finding in found}, [finding.where for finding in found]
    for finding in report.findings:
        for text_of_it in (finding.message, finding.where or "", finding.suggestion or ""):
            assert never not in text_of_it, text_of_it


def test_the_help_of_a_rebound_local_is_about_the_line_it_points_at() -> None:
    (report,) = analyze_text(REBOUND, "case.loss")
    helps = {finding.span.line: finding.suggestion for finding in report.findings}
    huber = "huber(x - 1, 1.0) (huber) if a smooth version is needed"
    assert helps == {2: huber, 3: huber}


@pytest.mark.parametrize("name", ["unused", "fit", "u"])
def test_unconnected_reads_as_a_sentence_whatever_the_definitions_name(name: str) -> None:
    (report,) = analyze_text(f"{name}(x, w) wrt x, w = mean(x^2)\n", "case.loss")
    (finding,) = [finding for finding in report.findings if finding.code == "K301"]
    assert finding.message == (
        f"`w` is in wrt, but `{name}` does not depend on it: its gradient is identically zero"
    )


# (atom as written, the text the explanation's first step must hold, what it must not say)
EXPLAIN_CASES = [
    ("relu(1 - y * s)", "a kink where 1 - y * s == 0; constant where 1 - y * s < 0", "x above"),
    ("relu(s)", "a kink where s == 0; constant where s < 0", "x above"),
    ("abs(s - y)", "piecewise linear, with a kink at 0", "x above"),  # says nothing of `x`: kept
]


@pytest.mark.parametrize(("atom", "says", "never"), EXPLAIN_CASES)
def test_explanations_speak_of_the_argument_as_written(atom: str, says: str, never: str) -> None:
    (report,) = analyze_text(f"loss(y, s) wrt s = mean({atom})\n", "case.loss")
    first = report.steps[0]
    assert first.expression == atom
    assert says in first.rule and never not in first.rule, first.rule
