"""The rule table: one fixture per code with its diagnostics marked in the file, the docs' examples
run through `kinks check`, and `kinks rule`.

Fixture markers (see tests/fixtures/rules/README.md): a comment line with carets under the span of
the line above, then the code, then words the message must contain.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from analyzer.analysis.api import analyze_text
from analyzer.analysis.classify import Classifier
from analyzer.analysis.report import PIECEWISE
from analyzer.analysis.rules import CODE_FOR_KIND, RULES, SEVERITY_ORDER, rule_for
from analyzer.cli import check as check_command
from analyzer.cli import main as cli

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rules"
MARKER = re.compile(r"^(?P<lead>#?[ \t]*)(?P<carets>\^+)[ \t]+(?P<code>[A-Z][0-9]{3})\b[ \t]*(?P<words>.*)$")
# How a fixture must be run when plain `kinks check` cannot show its code.
EXTRA_OPTIONS = {"K901": ["--budget", "1e-9"]}


@dataclass(frozen=True)
class Expected:
    code: str
    line: int
    column: int
    end_column: int
    words: str


def markers(text: str) -> list[Expected]:
    """The diagnostics a fixture announces, from its marker lines."""
    expected = []
    marked_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        match = MARKER.match(line) if line.startswith("#") else None
        if match is None:
            marked_line = number  # any other line, comments included, can be marked
            continue
        lead = match.group("lead")
        # `#^^^` marks from column 1: the `#` itself stands for the first caret.
        column = 1 if lead == "#" else len(lead) + 1
        end_column = len(lead) + len(match.group("carets")) + 1
        expected.append(
            Expected(match.group("code"), marked_line, column, end_column, match.group("words").strip())
        )
    return expected


def run_fixture(capsys: pytest.CaptureFixture[str], code: str) -> list[dict]:
    path = FIXTURES / f"{code}{RULES[code].example_suffix}"
    status = cli.main(
        [
            "check",
            "--isolated",
            "--no-cache",
            "--output-format",
            "json",
            "--select",
            code,
            *EXTRA_OPTIONS.get(code, []),
            str(path),
        ]
    )
    out = capsys.readouterr().out
    assert status in (0, 1)
    return json.loads(out)


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("FORCE_COLOR", "NO_COLOR", "KINKS_CACHE_DIR"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def failing_on_boom(monkeypatch: pytest.MonkeyPatch) -> None:
    """A classifier with a bug that only `boom` triggers: no real input should cause E999."""
    real_report = Classifier.report

    def report(self: Classifier, report):  # type: ignore[no-untyped-def]
        if report.name == "boom":
            raise ZeroDivisionError("injected for the E999 fixture")
        return real_report(self, report)

    monkeypatch.setattr(Classifier, "report", report)


def test_every_code_has_a_fixture_and_every_fixture_a_code() -> None:
    fixtures = [*FIXTURES.glob("*.loss"), *FIXTURES.glob("*.py")]
    assert sorted(path.stem for path in fixtures) == sorted(RULES)
    assert all(path.suffix == RULES[path.stem].example_suffix for path in fixtures)


@pytest.mark.parametrize("code", sorted(RULES))
def test_fixture_diagnostics_match_its_markers(
    capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest, code: str
) -> None:
    if code == "E999":
        request.getfixturevalue("failing_on_boom")
    text = (FIXTURES / f"{code}{RULES[code].example_suffix}").read_bytes().decode("latin-1")
    expected = markers(text)
    assert any(marker.code == code for marker in expected), f"{code}.loss marks no {code}"
    records = run_fixture(capsys, code)
    found = sorted(
        (
            finding["code"],
            finding["span"]["line"],
            finding["span"]["column"],
            finding["span"]["end_column"],
            finding["message"],
        )
        for record in records
        for finding in record["findings"]
    )
    wanted = sorted((m.code, m.line, m.column, m.end_column) for m in expected)
    assert [entry[:4] for entry in found] == wanted, "\n".join(map(str, found))
    # Each marker's words must be in the message of a diagnostic of its own (two diagnostics may
    # share a span, as the two flat sides of a clip do).
    unclaimed = list(found)
    for marker in sorted(expected, key=lambda m: -len(m.words)):
        position = (marker.code, marker.line, marker.column, marker.end_column)
        words = [part.strip() for part in marker.words.split(";") if part.strip()]
        match = next(
            (
                entry
                for entry in unclaimed
                if entry[:4] == position and all(word in entry[4] for word in words)
            ),
            None,
        )
        assert match is not None, f"{marker}: no diagnostic there says {words}: {found}"
        unclaimed.remove(match)


def test_marker_parser_reads_columns_and_the_hash_as_column_one() -> None:
    text = "abc(x) = x\n#^^ E005 name\nf(x) = relu(x)\n#      ^^^^^^^ K201\n#      ^^^^^^^ K202 flat\n"
    assert markers(text) == [
        Expected("E005", 1, 1, 4, "name"),
        Expected("K201", 3, 8, 15, ""),
        Expected("K202", 3, 8, 15, "flat"),
    ]


# ---------------------------------------------------------------- the table itself


def test_codes_kinds_and_severities_are_consistent() -> None:
    for code, rule in RULES.items():
        assert re.fullmatch(r"[KE][0-9]{3}", code) and rule.code == code
        assert rule.severity in SEVERITY_ORDER
        assert (rule.kind == "error") == code.startswith("E")
        assert rule.what and rule.why
        assert rule_for(code.lower()) is rule and rule_for(rule.name) is rule
    assert len({rule.name for rule in RULES.values()}) == len(RULES)
    assert {kind: CODE_FOR_KIND[kind] for kind in ("zero-gradient", "unused-noqa")} == {
        "zero-gradient": "K001",
        "unused-noqa": "K902",
    }


def test_default_severities_are_what_a_user_expects() -> None:
    # The contract: zero gradient cannot train (error); jumps and NaN risks are warnings;
    # kinks and flat pieces train fine (info); an unused noqa is a warning.
    severity = {rule.kind: rule.severity for rule in RULES.values() if rule.kind != "error"}
    assert severity == {
        "zero-gradient": "error",
        "discontinuity": "warning",
        "singularity": "warning",
        "kink": "info",
        "constant-piece": "info",
        "unconnected": "warning",
        "unknown": "warning",
        "unused-noqa": "warning",
        "invalid-noqa": "warning",
        # issue 13: a Python function kinks cannot translate is skipped; information, not a failure
        "untranslatable": "info",
    }


@pytest.mark.parametrize("code", sorted(RULES))
def test_doc_has_ruffs_sections(code: str) -> None:
    doc = RULES[code].doc()
    assert doc.startswith(f"# {RULES[code].name} ({code})\n")
    sections = re.findall(r"^## (.+)$", doc, re.MULTILINE)
    if code == "E999":  # a bug has no example: no input should trigger it
        assert sections == ["What it does", "Why is this bad?"]
    else:
        assert sections[:4] == ["What it does", "Why is this bad?", "Example", "Use instead"]


# ---------------------------------------------------------------- the docs' examples, executed


def check_example(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, rule, name: str) -> set[str]:
    path = tmp_path / f"{name}{rule.example_suffix}"
    path.write_bytes((text + "\n").encode(rule.example_encoding if name == "example" else "utf-8"))
    budget = ["--budget", str(rule.example_budget)] if name == "example" and rule.example_budget else []
    selected = [] if rule.enabled_by_default else ["--extend-select", rule.code]
    cli.main(["check", "--isolated", "--no-cache", "--output-format", "json", *budget, *selected, str(path)])
    return {
        finding["code"] for record in json.loads(capsys.readouterr().out) for finding in record["findings"]
    }


@pytest.mark.parametrize("code", sorted(code for code, rule in RULES.items() if rule.example is not None))
def test_doc_example_triggers_the_rule_and_use_instead_does_not(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, code: str
) -> None:
    rule = RULES[code]
    assert code in check_example(capsys, tmp_path, rule.example, rule, "example")
    assert rule.instead is not None
    assert code not in check_example(capsys, tmp_path, rule.instead, rule, "instead")


# ---------------------------------------------------------------- noqa through the API


def test_unused_noqa_leaves_the_class_alone() -> None:
    (report,) = analyze_text("f(x) = relu(x)  # noqa: K201, K301\n")
    assert report.classification == PIECEWISE
    assert [finding.code for finding in report.findings] == ["K202", "K902"]
    assert report.findings[-1].span is not None and report.findings[-1].span.column == 17


def test_noqa_on_an_undecided_definition_is_never_flagged() -> None:
    (report,) = analyze_text("f(x) = x^2  # noqa: K201\n", budget=1e-9)
    assert report.classification == "unknown"
    assert "K902" not in {finding.code for finding in report.findings}


# ---------------------------------------------------------------- kinks rule


def test_rule_prints_the_doc(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rule", "K201"]) == 0
    assert capsys.readouterr().out == RULES["K201"].doc().rstrip("\n") + "\n"
    assert cli.main(["rule", "unused-noqa"]) == 0
    assert capsys.readouterr().out.startswith("# unused-noqa (K902)\n")


def test_rule_all_prints_every_doc_in_table_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rule", "--all"]) == 0
    titles = re.findall(r"^# .+ \(([KE][0-9]{3})\)$", capsys.readouterr().out, re.MULTILINE)
    assert titles == list(RULES)


def test_rule_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rule", "--all", "--output-format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [record["code"] for record in records] == list(RULES)
    assert records[0]["explanation"] == RULES["K001"].doc()


@pytest.mark.parametrize(
    ("argument", "message"),
    [("K999", "unknown rule `K999`"), ("kinky", "did you mean kink?"), ("K2", "matches K201, K202")],
)
def test_rule_unknown_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argument: str, message: str
) -> None:
    assert cli.main(["rule", argument]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err


def test_rule_needs_a_code_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rule"]) == 2
    assert "usage: kinks rule" in capsys.readouterr().err


def test_check_command_module_is_the_one_registered() -> None:
    # The seam the stub tests replace must be the one `kinks check` calls.
    assert callable(check_command._analyzer)


# ---------------------------------------------------------------- issue 17: noqa as ruff does it


def test_a_noqa_on_the_line_a_block_diagnostic_points_at_applies() -> None:
    lines = ["f(x) wrt x:", "    a = x - 1", "    return abs(a) + 1 / x"]
    (plain,) = analyze_text("\n".join(lines) + "\n")
    pointed = {(finding.span.line, finding.code) for finding in plain.findings}
    assert pointed and all(line > 1 for line, _ in pointed)
    for line, code in sorted(pointed):
        marked = list(lines)
        marked[line - 1] += f"  # noqa: {code}"
        (report,) = analyze_text("\n".join(marked) + "\n")
        assert code not in [finding.code for finding in report.findings if finding.span.line == line]
        assert all(finding.code != "K902" for finding in report.findings)
    # on a line the diagnostic does not point at, it silences nothing (and is unused)
    marked = list(lines)
    some_code = min(pointed)[1]
    marked[1] += f"  # noqa: {some_code}"
    codes = [finding.code for finding in analyze_text("\n".join(marked) + "\n")[0].findings]
    assert some_code in codes and codes.count("K902") == 1
    # the first line still covers the whole statement
    marked = list(lines)
    marked[0] += f"  # noqa: {', '.join(sorted({code for _, code in pointed}))}"
    assert analyze_text("\n".join(marked) + "\n")[0].findings == []


def test_a_malformed_noqa_silences_nothing_and_is_reported() -> None:
    (report,) = analyze_text("f(x) = abs(x)  # noqa K201\n")
    assert [finding.code for finding in report.findings] == ["K201", "K904"]
    assert "missing `:`" in report.findings[1].message and report.findings[1].span.column == 16
    (report,) = analyze_text("f(x) = abs(x)  # noqa: K201, K299\n")
    assert [finding.code for finding in report.findings] == ["K201", "K904"]
    assert "K299 is not a kinks code" in report.findings[1].message
    # a bare noqa with a reason after it is still a bare noqa
    assert analyze_text("f(x) = abs(x)  # noqa - fine here\n")[0].findings == []


def test_k902_is_not_reported_by_default(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "a.loss"
    path.write_text("f(x) = x^2  # noqa: K201\n", encoding="utf-8")
    assert cli.main(["check", "--isolated", "--no-cache", "--output-format", "concise", str(path)]) == 0
    assert "K902" not in capsys.readouterr().out
    assert (
        cli.main(
            [
                "check",
                "--isolated",
                "--no-cache",
                "--output-format",
                "concise",
                "--extend-select",
                "K902",
                str(path),
            ]
        )
        == 1
    )
    assert "K902" in capsys.readouterr().out
