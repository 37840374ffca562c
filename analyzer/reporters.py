"""Turn reports into output: the JSON array of LANGUAGE.md §5, or ruff-style text for people.

Reporters only format. Reading files, choosing colour and deciding the exit status belong to the CLI,
so the same reports can be rendered by tests, editors or other front ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from .report import Finding, Report
from .rules import ERROR, INFO, SEVERITY_ORDER, WARNING

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_SEVERITY_COLOR = {ERROR: "\x1b[31m", WARNING: "\x1b[33m", INFO: "\x1b[34m"}


def render_json(reports: Iterable[Report]) -> str:
    """One JSON array with a record per report, in the order given (file order)."""
    return json.dumps([report.to_dict() for report in reports], indent=2, ensure_ascii=False)


def render_text(reports: Sequence[Report], sources: Mapping[str, str], color: bool = False) -> str:
    """Every finding as `path:line:col: CODE message` with its source line underlined, then a summary.

    `sources` maps each checked path to its text; a path missing from it (an unreadable file) gets
    its diagnostics without a source excerpt. Definitions without findings print nothing.
    """
    style = _Style(color)
    blocks = [
        _render_finding(report, finding, sources.get(report.file or ""), style)
        for report in reports
        for finding in report.findings
    ]
    files = set(sources) | {report.file for report in reports if report.file is not None}
    summary = _summary(
        [finding for report in reports for finding in report.findings], len(reports), len(files)
    )
    return "\n\n".join([*blocks, style.bold(summary)])


class _Style:
    """ANSI styling that collapses to plain text when colour is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def bold(self, text: str) -> str:
        return f"{_BOLD}{text}{_RESET}" if self.enabled else text

    def severity(self, text: str, severity: str) -> str:
        if not self.enabled:
            return text
        return f"{_BOLD}{_SEVERITY_COLOR.get(severity, '')}{text}{_RESET}"


def _render_finding(report: Report, finding: Finding, source: str | None, style: _Style) -> str:
    path = report.file if report.file is not None else "-"
    if finding.span is not None:
        line, column = finding.span.line, finding.span.column
    else:
        line, column = report.line, 1
    header = (
        f"{style.bold(f'{path}:{line}:{column}:')} "
        f"{style.severity(finding.code, finding.severity)} {finding.message}"
    )
    lines = [header]
    source_line = _source_line(source, line)
    if source_line is not None:
        lines.extend(_excerpt(source_line, finding, line, style))
    if finding.suggestion:
        lines.append(f"  help: {finding.suggestion}")
    return "\n".join(lines)


def _source_line(source: str | None, line: int) -> str | None:
    if source is None:
        return None
    source_lines = source.splitlines()
    if not 0 < line <= len(source_lines):
        return None  # e.g. a syntax error at the end of the input: there is no line to show
    return source_lines[line - 1]


def _excerpt(source_line: str, finding: Finding, line: int, style: _Style) -> list[str]:
    """The source line behind a gutter with its line number, and carets under the span.

    A span over several lines is underlined to the end of its first line. The carets are indented
    with the line's own tabs so they stay aligned whatever the terminal's tab width.
    """
    gutter_width = len(str(line))
    if finding.span is None:
        return [f"  {line} | {source_line}"]
    start = finding.span.column - 1
    if finding.span.end_line == finding.span.line:
        end = finding.span.end_column - 1
    else:
        end = len(source_line)
    width = max(1, end - start)  # an empty span (or one past the end of the line) still gets a caret
    indent = "".join("\t" if character == "\t" else " " for character in source_line[:start])
    indent += " " * max(0, start - len(source_line))
    carets = style.severity("^" * width, finding.severity)
    return [f"  {line} | {source_line}".rstrip(), f"  {' ' * gutter_width} | {indent}{carets}"]


def _plural(count: int, word: str) -> str:
    if count == 1 or word == "info":
        return f"{count} {word}"
    return f"{count} {word}s"


def _summary(findings: list[Finding], definitions: int, files: int) -> str:
    checked = f"{_plural(definitions, 'definition')}, {_plural(files, 'file')}"
    if not findings:
        return f"All checks passed! ({checked})"
    by_severity = {severity: 0 for severity in SEVERITY_ORDER}
    for finding in findings:
        by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
    # Most severe first, and only the severities that occur.
    breakdown = ", ".join(
        _plural(count, severity)
        for severity, count in sorted(by_severity.items(), key=lambda item: -SEVERITY_ORDER.get(item[0], -1))
        if count
    )
    return (
        f"Found {_plural(len(findings), 'diagnostic')} ({breakdown}) in "
        f"{_plural(definitions, 'definition')} across {_plural(files, 'file')}."
    )
