"""`kinks explain`: the API's explanation, drawn as a tree, for an expression or a definition."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer import analyze
from analyzer.analysis.report import Report, Step
from analyzer.cli import main as cli
from analyzer.cli.explain import _ASCII_BRANCHES, draw_tree

REPO = Path(__file__).resolve().parent.parent
REGRESSION = REPO / "examples" / "regression.loss"


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("FORCE_COLOR", "NO_COLOR"):
        monkeypatch.delenv(variable, raising=False)


def report_with(depths: list[int]) -> Report:
    steps = [Step(f"e{index}", f"rule {index}", depth) for index, depth in enumerate(depths)]
    return Report(name="f", line=1, classification="smooth", steps=steps)


def test_a_chain_hangs_each_line_under_the_one_above() -> None:
    assert draw_tree(report_with([0, 1, 2, 0])).splitlines() == [
        "e0: rule 0",
        "└── e1: rule 1",
        "    └── e2: rule 2",
        "e3: rule 3",
    ]


def test_siblings_get_tees_and_their_subtrees_a_pipe() -> None:
    assert draw_tree(report_with([0, 1, 2, 1, 2, 0])).splitlines() == [
        "e0: rule 0",
        "├── e1: rule 1",
        "│   └── e2: rule 2",
        "└── e3: rule 3",
        "    └── e4: rule 4",
        "e5: rule 5",
    ]
    assert draw_tree(report_with([0, 1, 1]), _ASCII_BRANCHES).splitlines() == [
        "e0: rule 0",
        "|-- e1: rule 1",
        "`-- e2: rule 2",
    ]


def test_the_tree_keeps_the_text_of_explain() -> None:
    report = analyze("mean(argmax(p) == argmax(y))", wrt=["p"])
    drawn, plain = draw_tree(report).splitlines(), report.explain().splitlines()
    assert len(drawn) == len(plain) >= 4
    for tree_line, explain_line in zip(drawn, plain):
        assert tree_line.endswith(explain_line.lstrip(" "))


def test_explain_an_expression(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "mean(argmax(p) == argmax(y))", "--wrt", "p"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == [
        "argmax(p): an index: piecewise constant, jumping where the largest entries tie",
        "└── argmax(p) == argmax(y): a comparison turns it into 0 or 1: zero gradient almost everywhere",
        "    └── mean(argmax(p) == argmax(y)): mean(...) averages the entries: it keeps that",
    ]
    assert "cannot be trained by gradient descent" in out


def test_given_changes_the_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["explain", "abs(y - p)", "--wrt", "p"])
    plain = capsys.readouterr().out
    cli.main(["explain", "abs(y - p)", "--wrt", "p", "--given", "0 < p < 1 and y in {0, 1}"])
    bounded = capsys.readouterr().out
    assert "piecewise-differentiable" in plain and "is smooth" in bounded


def test_explain_a_definition_and_a_whole_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", f"{REGRESSION}:mae"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{REGRESSION}:3: mae\nabs(y - p): ")
    assert "so mae is piecewise-differentiable with respect to p" in out
    assert cli.main(["explain", str(REGRESSION)]) == 0
    whole = capsys.readouterr().out
    assert whole.count(f"{REGRESSION}:") == len(analyze_names(REGRESSION))


def analyze_names(path: Path) -> list[str]:
    from analyzer import analyze_file

    return [report.name for report in analyze_file(path)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([f"{REGRESSION}:maee"], "no definition named `maee`; did you mean `mae`?"),
        ([f"{REGRESSION}:mae", "--wrt", "p"], "--wrt and --given apply to an expression"),
        (["missing.loss:mae"], "missing.loss: no such file"),
        (["x", "--budget", "0"], "--budget"),
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert cli.main(["explain", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err


def test_an_invalid_expression_is_shown_with_its_caret(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "relu(x"]) == 1
    assert capsys.readouterr().out.splitlines()[:3] == [
        "<expression>:1:5: E001 unbalanced '(': it is not closed before the end of the statement",
        "  1 | relu(x",
        "    |     ^",
    ]


def test_an_invalid_given_is_shown_against_the_given(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "relu(x)", "--given", "x >"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("--given:1:4: E001 ") and "  1 | x >\n    |    ^" in out


def test_an_invalid_definition_in_a_file_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "f.loss"
    path.write_text("ok(x) = x^2\nbad(x) = asb(x)\n", encoding="utf-8")
    assert cli.main(["explain", f"{path}:bad"]) == 1
    out = capsys.readouterr().out
    assert "E002 undefined function `asb`; did you mean `abs`?" in out and "  2 | bad(x) = asb(x)" in out
