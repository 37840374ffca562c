"""Every suggestion, substituted, removes its finding (issue 17): over the rule fixtures, each
suggestion that is an expression is put in place of what it replaces (the finding's span, or the
text it names with `in place of ...`), and the definition is analysed again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FIXTURES

from analyzer import analyze_text
from analyzer.language.parser import LossSyntaxError, parse_expression

RULE_FIXTURES = FIXTURES / "rules"
SUGGESTION = re.compile(
    r"^(?P<expression>.*?) \([^()]*\)"
    r"(?: (?:if a smooth version is needed|keeps it finite)| in place of (?P<replaced>.+))$"
)
# The binary accuracies of the K001 fixture, as written and as pasted from Keras: each must get the
# soft accuracy in place of its comparison (a smooth threshold still compared with the label
# would not train).
BINARY_ACCURACIES = ("(p > 0.5) == y", "round(p) == y", "equal(y_true, round(y_pred))")


def _substitutions() -> list[tuple[str, int, str, str, str, str]]:
    cases = []
    for path in sorted(RULE_FIXTURES.glob("K*.loss")):
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        for report in analyze_text(text, path.name):
            for finding in report.findings:
                if (
                    not finding.suggestion
                    or finding.span is None
                    or finding.span.line != finding.span.end_line
                ):
                    continue
                match = SUGGESTION.match(finding.suggestion)
                if match is None:
                    continue  # advice in words ("clip it, or add a small epsilon")
                expression = match.group("expression")
                try:
                    parse_expression(expression)
                except LossSyntaxError:
                    continue  # a template in words (`s * x + (1 - s) * y with s = ...`)
                line = lines[finding.span.line - 1]
                start, end = finding.span.column - 1, finding.span.end_column - 1
                original = line[start:end]
                if match.group("replaced"):
                    original = match.group("replaced")
                    assert original in line, (path.name, finding.suggestion)
                    changed = line.replace(original, expression, 1)
                else:
                    changed = line[:start] + expression + line[end:]
                new_text = "\n".join([*lines[: finding.span.line - 1], changed, *lines[finding.span.line :]])
                cases.append((path.name, report.line, finding.code, original, new_text, finding.suggestion))
    return cases


CASES = _substitutions()


def test_there_are_suggestions_to_substitute() -> None:
    assert len(CASES) >= 10
    assert any("in place of" in case[5] for case in CASES)  # accuracy's comparison of argmaxes
    replaced = {case[3] for case in CASES if case[0] == "K001.loss" and case[2] == "K001"}
    assert set(BINARY_ACCURACIES) <= replaced, replaced


@pytest.mark.parametrize(
    ("fixture", "line", "code", "original", "new_text", "suggestion"),
    CASES,
    ids=[f"{case[0]}:{case[1]}:{case[2]}:{case[3]}" for case in CASES],
)
def test_a_substituted_suggestion_removes_its_finding(
    fixture, line, code, original, new_text, suggestion
) -> None:
    before = next(
        report
        for report in analyze_text(Path(RULE_FIXTURES / fixture).read_text(encoding="utf-8"), fixture)
        if report.line == line
    )
    after = next(report for report in analyze_text(new_text, fixture) if report.line == line)
    assert after.classification != "invalid", (suggestion, [finding.message for finding in after.findings])
    count = sum(finding.code == code for finding in before.findings)
    assert sum(finding.code == code for finding in after.findings) < count, (
        suggestion,
        [finding.message for finding in after.findings],
    )
    if code == "K001":
        assert after.classification != "zero-gradient"


def test_sqrt_of_a_square_gets_the_surrogate_of_its_kink() -> None:
    (finding,) = analyze_text("f(x) = sqrt(x^2)\n")[0].findings
    assert finding.suggestion.startswith("huber(x, ")
