"""The output formats for other consumers (issue 17): every format in the FORMATS registry, each
checked against its consumer's documented shape (GitLab code quality, reviewdog's rdjson, Azure
Pipelines logging commands, pylint's parseable form, ruff's grouped form), and the JSON report
against its published schema, docs/report.schema.json.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from analyzer.analysis.report import Finding, Report
from analyzer.cli import main as cli
from analyzer.language.syntax import Span
from analyzer.lint import cache as cache_module
from analyzer.lint.config import OUTPUT_FORMATS
from analyzer.lint.formats import FORMATS

TESTS = Path(__file__).resolve().parent
REPORT_SCHEMA = json.loads((TESTS.parent / "docs" / "report.schema.json").read_text(encoding="utf-8"))

# GitLab's code quality report (docs.gitlab.com, "Code Quality report format"): an array of issues
# with description, check_name, fingerprint, severity and location.path plus location.lines.begin
# or location.positions.begin.line.
GITLAB_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string"},
            "check_name": {"type": "string"},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path"],
                "properties": {"path": {"type": "string"}},
                "anyOf": [
                    {
                        "required": ["lines"],
                        "properties": {
                            "lines": {
                                "required": ["begin"],
                                "properties": {"begin": {"type": "integer", "minimum": 1}},
                            }
                        },
                    },
                    {
                        "required": ["positions"],
                        "properties": {
                            "positions": {
                                "required": ["begin"],
                                "properties": {
                                    "begin": {
                                        "required": ["line"],
                                        "properties": {"line": {"type": "integer", "minimum": 1}},
                                    }
                                },
                            }
                        },
                    },
                ],
            },
        },
    },
}

# reviewdog's Diagnostic Format, DiagnosticResult (proto/rdf/jsonschema in reviewdog/reviewdog).
_POSITION = {
    "type": "object",
    "properties": {"line": {"type": "integer", "minimum": 1}, "column": {"type": "integer", "minimum": 1}},
    "additionalProperties": False,
}
_SEVERITY = {"enum": ["UNKNOWN_SEVERITY", "ERROR", "WARNING", "INFO"]}
RDJSON_SCHEMA = {
    "type": "object",
    "properties": {
        "source": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "url": {"type": "string"}},
        },
        "severity": _SEVERITY,
        "diagnostics": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["message", "location"],
                "additionalProperties": False,
                "properties": {
                    "message": {"type": "string"},
                    "location": {
                        "type": "object",
                        "required": ["path"],
                        "additionalProperties": False,
                        "properties": {
                            "path": {"type": "string"},
                            "range": {
                                "type": "object",
                                "required": ["start"],
                                "additionalProperties": False,
                                "properties": {"start": _POSITION, "end": _POSITION},
                            },
                        },
                    },
                    "severity": _SEVERITY,
                    "source": {"type": "object"},
                    "code": {
                        "type": "object",
                        "required": ["value"],
                        "additionalProperties": False,
                        "properties": {"value": {"type": "string"}, "url": {"type": "string"}},
                    },
                    "suggestions": {"type": "array"},
                    "original_output": {"type": "string"},
                },
            },
        },
    },
    "required": ["diagnostics"],
}

AZURE_LINE = re.compile(
    r"^##vso\[task\.logissue type=(error|warning);sourcepath=[^;\]]+;linenumber=\d+;columnnumber=\d+;"
    r"code=[EK]\d{3};\][^\r\n]*$"
)
PYLINT_LINE = re.compile(r"^[^:\n]+:\d+: \[[EK]\d{3}\] .+$")


def run_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, output_format: str
) -> str:
    for variable in ("FORCE_COLOR", "NO_COLOR", "KINKS_CACHE_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(TESTS / "fixtures")
    status = cli.main(
        [
            "check",
            "--isolated",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--extend-select",
            "K902",
            "--output-format",
            output_format,
            "golden_tree",
        ]
    )
    assert status == 1
    return capsys.readouterr().out


def test_the_registry_is_what_the_configuration_accepts() -> None:
    assert tuple(FORMATS) == OUTPUT_FORMATS
    for name in ("json-lines", "gitlab", "rdjson", "pylint", "grouped", "azure"):
        assert name in FORMATS


def test_the_schema_is_a_valid_schema_and_agrees_with_the_cache_validator() -> None:
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)
    validator = jsonschema.Draft202012Validator(REPORT_SCHEMA)
    good = {
        "file": "a.loss",
        "name": "f",
        "line": 1,
        "wrt": ["x"],
        "class": "smooth",
        "smoothness": 2,
        "by_variable": {},
        "findings": [
            {
                "kind": "kink",
                "code": "K201",
                "severity": "info",
                "message": "m",
                "span": {"line": 1, "column": 1, "end_line": 1, "end_column": 2},
            }
        ],
    }
    bad = [
        {},
        {**good, "findings": "nope"},
        {**good, "class": "lovely"},
        {**good, "findings": [{**good["findings"][0], "span": {"line": 1, "end_line": 1, "end_column": 2}}]},
    ]
    assert validator.is_valid([good]) and cache_module.valid_record(good)
    for record in bad:
        assert not validator.is_valid([record]) and not cache_module.valid_record(record)


@pytest.mark.parametrize("output_format", ["json", "json-lines"])
def test_json_reports_follow_the_published_schema(monkeypatch, capsys, tmp_path, output_format) -> None:
    out = run_check(monkeypatch, capsys, tmp_path, output_format)
    records = json.loads(out) if output_format == "json" else [json.loads(line) for line in out.splitlines()]
    assert records
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(records)
    assert all(cache_module.valid_record(record) for record in records)


def test_gitlab_is_a_code_quality_report(monkeypatch, capsys, tmp_path) -> None:
    issues = json.loads(run_check(monkeypatch, capsys, tmp_path, "gitlab"))
    jsonschema.validate(issues, GITLAB_SCHEMA)
    assert len({issue["fingerprint"] for issue in issues}) == len(issues)  # GitLab dedupes by fingerprint
    assert {"K201", "E001"} <= {issue["check_name"] for issue in issues}


def test_rdjson_is_a_reviewdog_diagnostic_result(monkeypatch, capsys, tmp_path) -> None:
    result = json.loads(run_check(monkeypatch, capsys, tmp_path, "rdjson"))
    jsonschema.validate(result, RDJSON_SCHEMA)
    assert result["source"]["name"] == "kinks" and result["diagnostics"]


def test_azure_pylint_and_grouped_lines(monkeypatch, capsys, tmp_path) -> None:
    azure = run_check(monkeypatch, capsys, tmp_path, "azure").splitlines()
    assert azure and all(AZURE_LINE.match(line) for line in azure), azure
    pylint = run_check(monkeypatch, capsys, tmp_path, "pylint").splitlines()
    assert pylint and all(PYLINT_LINE.match(line) for line in pylint), pylint
    grouped = run_check(monkeypatch, capsys, tmp_path, "grouped")
    blocks = grouped.split("\n\n")
    assert blocks[-1].startswith("Found ")
    for block in blocks[:-1]:
        header, *lines = block.splitlines()
        assert header.endswith(".loss:") and lines
        assert all(re.match(r"^  +\d+:\d+ +[EK]\d{3} ", line) for line in lines), block
    assert len(azure) == len(pylint) == sum(len(block.splitlines()) - 1 for block in blocks[:-1])


def test_azure_escapes_what_would_end_a_command() -> None:
    finding = Finding("kink", "K201", "a; b] 100%\nnext", Span(1, 1, 1, 2))
    (line,) = FORMATS["azure"](
        [Report(name="f", line=1, file="we;ird].loss", findings=[finding])], None
    ).splitlines()
    assert "sourcepath=we%3Bird%5D.loss;" in line and line.endswith("]a; b] 100%AZP25%0Anext")
