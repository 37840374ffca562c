"""SARIF 2.1.0 (OASIS), the format code-scanning services read: `kinks check --output-format sarif`.

One run; the driver lists every rule of the table with its doc, and each diagnostic is a result
pointing at its span. Columns count Unicode code points (as kinks's spans do) and the end column
is exclusive, as SARIF's is. The test suite validates the output against the official schema.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..analysis.report import Finding, Report
from ..analysis.rules import ERROR, INFO, RULES, WARNING, Rule
from .reporters import diagnostics, position

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {ERROR: "error", WARNING: "warning", INFO: "note"}


def render_sarif(reports: Sequence[Report], version: str = "") -> str:
    codes = list(RULES)
    driver: dict[str, Any] = {"name": "kinks"}
    if version:
        driver["version"] = version
    driver["rules"] = [_descriptor(RULES[code]) for code in codes]
    run = {
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",
        "results": [
            _result(report, finding, codes.index(finding.code) if finding.code in RULES else -1)
            for report, finding in diagnostics(reports)
        ],
    }
    log = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False)


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.what},
        "fullDescription": {"text": rule.why},
        "help": {"text": rule.doc(), "markdown": rule.doc()},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"kind": rule.kind, "severity": rule.severity},
    }


def _result(report: Report, finding: Finding, rule_index: int) -> dict[str, Any]:
    text = finding.message if not finding.suggestion else f"{finding.message}\nhelp: {finding.suggestion}"
    line, column = position(report, finding)
    region: dict[str, int] = {"startLine": line, "startColumn": column}
    if finding.span is not None:
        region["endLine"] = finding.span.end_line
        region["endColumn"] = finding.span.end_column
    result: dict[str, Any] = {"ruleId": finding.code}
    if rule_index >= 0:
        result["ruleIndex"] = rule_index
    result["level"] = _LEVEL.get(finding.severity, "warning")
    result["message"] = {"text": text}
    result["locations"] = [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(report.file or "-")},
                "region": region,
            }
        }
    ]
    properties: dict[str, Any] = {"kind": finding.kind, "severity": finding.severity}
    if report.name is not None:
        properties["definition"] = report.name
    if finding.where is not None:
        properties["where"] = finding.where
    result["properties"] = properties
    return result


def artifact_uri(path: str) -> str:
    """A URI reference for a path as given: relative stays relative (to the repository root, where
    code scanning resolves it), absolute becomes a file: URI; unsafe characters are escaped."""
    if os.path.isabs(path):
        return Path(path).as_uri()
    return quote(Path(path).as_posix(), safe="/-._~")
