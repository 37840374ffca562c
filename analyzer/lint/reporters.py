"""Turn reports into output, one function per format (`kinks check --output-format`):

- `text`: ruff's full form, `path:line:col: CODE message`, the source line with a caret underline,
  the suggestion, and a closing summary line;
- `concise`: one line a diagnostic, then the summary;
- `json`: the array of records of LANGUAGE.md §5;
- `sarif`: SARIF 2.1.0, for code-scanning tools (in `analyzer.lint.sarif`);
- `github`: GitHub Actions workflow commands, which become annotations on the pull request;
- `junit`: JUnit XML, a test case per definition, for CI test reports.

`analyzer.lint.formats.render` dispatches on the format's name. Reporters only format. Reading files, choosing colour, selecting rules and deciding the exit status
belong to the CLI, so the same reports can be rendered by tests, editors or other front ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence

from ..analysis.report import Finding, Report
from ..analysis.rules import ERROR, INFO, SEVERITY_ORDER, WARNING

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_SEVERITY_COLOR = {ERROR: "\x1b[31m", WARNING: "\x1b[33m", INFO: "\x1b[34m"}


def diagnostics(reports: Iterable[Report]) -> list[tuple[Report, Finding]]:
    return [(report, finding) for report in reports for finding in report.findings]


def position(report: Report, finding: Finding) -> tuple[int, int]:
    """Where a diagnostic is reported: its span's start, or the statement's line."""
    if finding.span is not None:
        return finding.span.line, finding.span.column
    return report.line, 1


# ---------------------------------------------------------------- json


def render_json(reports: Iterable[Report]) -> str:
    """One JSON array with a record per report, in the order given (file order)."""
    return json.dumps([report.to_dict() for report in reports], indent=2, ensure_ascii=False)


# ---------------------------------------------------------------- text and concise


def render_text(
    reports: Sequence[Report], sources: Mapping[str, str], color: bool = False, summary: bool = True
) -> str:
    """Every finding as `path:line:col: CODE message` with its source line underlined, then a summary.

    `sources` maps each checked path to its text; a path missing from it (an unreadable file) gets
    its diagnostics without a source excerpt. Definitions without findings print nothing.
    """
    style = _Style(color)
    blocks = [
        render_diagnostic(report, finding, sources.get(report.file or ""), color=color)
        for report, finding in diagnostics(reports)
    ]
    if summary:
        blocks.append(style.bold(summary_line(reports, sources)))
    return "\n\n".join(blocks)


def render_concise(
    reports: Sequence[Report], sources: Mapping[str, str], color: bool = False, summary: bool = True
) -> str:
    """One line a diagnostic, `path:line:col: CODE message`, then the summary."""
    style = _Style(color)
    lines = [_header(report, finding, style) for report, finding in diagnostics(reports)]
    if summary:
        lines.append(style.bold(summary_line(reports, sources)))
    return "\n".join(lines)


def render_diagnostic(report: Report, finding: Finding, source: str | None, color: bool = False) -> str:
    """One diagnostic in the text format: its header, the source excerpt and the suggestion."""
    style = _Style(color)
    lines = [_header(report, finding, style)]
    line, _ = position(report, finding)
    source_line = _source_line(source, line)
    if source_line is not None:
        lines.extend(_excerpt(source_line, finding, line, style))
    if finding.suggestion:
        lines.append(
            f"  {style.bold('help:')} {finding.suggestion}" if color else f"  help: {finding.suggestion}"
        )
    return "\n".join(lines)


def summary_line(reports: Sequence[Report], sources: Mapping[str, str]) -> str:
    files = set(sources) | {report.file for report in reports if report.file is not None}
    return _summary([finding for report in reports for finding in report.findings], len(reports), len(files))


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


def _header(report: Report, finding: Finding, style: _Style) -> str:
    path = report.file if report.file is not None else "-"
    line, column = position(report, finding)
    return (
        f"{style.bold(f'{path}:{line}:{column}:')} "
        f"{style.severity(finding.code, finding.severity)} {finding.message}"
    )


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


# ---------------------------------------------------------------- github


# GitHub's annotation levels: there is no "info", its closest is "notice".
_GITHUB_LEVEL = {ERROR: "error", WARNING: "warning", INFO: "notice"}


def render_github(reports: Sequence[Report]) -> str:
    """A workflow command per diagnostic; GitHub shows each as an annotation on its line.

    As ruff does, the title names the tool and the code, and the message repeats the location so
    the raw log stays readable. Empty when there is nothing to say.
    """
    lines = []
    for report, finding in diagnostics(reports):
        path = report.file if report.file is not None else "-"
        line, column = position(report, finding)
        properties = {"title": f"kinks ({finding.code})", "file": path, "line": str(line), "col": str(column)}
        if finding.span is not None:
            properties["endLine"] = str(finding.span.end_line)
            if finding.span.end_line == finding.span.line:
                properties["endColumn"] = str(finding.span.end_column)
        message = f"{path}:{line}:{column}: {finding.code} {finding.message}"
        if finding.suggestion:
            message += f"\nhelp: {finding.suggestion}"
        level = _GITHUB_LEVEL.get(finding.severity, "warning")
        rendered = ",".join(f"{key}={_github_property(value)}" for key, value in properties.items())
        lines.append(f"::{level} {rendered}::{_github_data(message)}")
    return "\n".join(lines)


def _github_data(text: str) -> str:
    # The escapes of GitHub's runner (actions/toolkit, command.ts): %, CR and LF in the message.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


# ---------------------------------------------------------------- junit


# Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render_junit(reports: Sequence[Report], fail_on: str = WARNING) -> str:
    """JUnit XML: a test suite per file, a test case per definition (or failed statement).

    A test case fails when one of its diagnostics reaches `fail_on`, as the exit status does; the
    diagnostics below it are kept in the case's output so a CI report still shows them.
    """
    from xml.etree import ElementTree  # only this format needs it

    threshold = SEVERITY_ORDER[fail_on]
    suites: dict[str, list[Report]] = {}
    for report in reports:
        suites.setdefault(report.file if report.file is not None else "-", []).append(report)
    root = ElementTree.Element("testsuites", name="kinks")
    total_tests = total_failures = 0
    for path, suite_reports in suites.items():
        suite = ElementTree.SubElement(root, "testsuite", name=path)
        failures = 0
        for report in suite_reports:
            case = ElementTree.SubElement(
                suite, "testcase", classname=path, name=_case_name(report), file=path, line=str(report.line)
            )
            failing = [f for f in report.findings if SEVERITY_ORDER.get(f.severity, 2) >= threshold]
            passing = [f for f in report.findings if SEVERITY_ORDER.get(f.severity, 2) < threshold]
            if failing:
                failures += 1
                failure = ElementTree.SubElement(
                    case,
                    "failure",
                    type=",".join(dict.fromkeys(finding.code for finding in failing)),
                    message=_xml_text(
                        f"{len(failing)} diagnostic{'s' if len(failing) > 1 else ''}: "
                        + "; ".join(f"{f.code} {f.message}" for f in failing)
                    ),
                )
                failure.text = _xml_text("\n".join(_junit_line(report, finding) for finding in failing))
            if passing:
                output = ElementTree.SubElement(case, "system-out")
                output.text = _xml_text("\n".join(_junit_line(report, finding) for finding in passing))
        suite.set("tests", str(len(suite_reports)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        total_tests += len(suite_reports)
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    ElementTree.indent(root)
    body = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}'


def _case_name(report: Report) -> str:
    return report.name if report.name is not None else f"line {report.line}"


def _junit_line(report: Report, finding: Finding) -> str:
    line, column = position(report, finding)
    text = f"{report.file or '-'}:{line}:{column}: {finding.code} [{finding.severity}] {finding.message}"
    if finding.suggestion:
        text += f"\n  help: {finding.suggestion}"
    return text


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


# ---------------------------------------------------------------- formats for other consumers (issue 17)


def _path(report: Report) -> str:
    return report.file if report.file is not None else "-"


def _end(report: Report, finding: Finding) -> tuple[int, int]:
    if finding.span is not None:
        return finding.span.end_line, finding.span.end_column
    return report.line, 2


def render_json_lines(reports: Iterable[Report]) -> str:
    """The records of `json`, one compact JSON object a line (JSON Lines), for streaming tools."""
    return "\n".join(json.dumps(report.to_dict(), ensure_ascii=False) for report in reports)


def render_pylint(reports: Sequence[Report]) -> str:
    """Pylint's parseable form, `path:line: [CODE] message`, as ruff's `pylint` format."""
    return "\n".join(
        f"{_path(report)}:{position(report, finding)[0]}: [{finding.code}] {finding.message}"
        for report, finding in diagnostics(reports)
    )


def render_grouped(
    reports: Sequence[Report], sources: Mapping[str, str], color: bool = False, summary: bool = True
) -> str:
    """ruff's `grouped`: a header line per file, then its diagnostics indented as `line:col CODE message`."""
    style = _Style(color)
    by_file: dict[str, list[tuple[Report, Finding]]] = {}
    for report, finding in diagnostics(reports):
        by_file.setdefault(_path(report), []).append((report, finding))
    blocks = []
    for path, entries in by_file.items():
        lines = [style.bold(f"{path}:")]
        width = max(len(str(position(report, finding)[0])) for report, finding in entries)
        for report, finding in entries:
            line, column = position(report, finding)
            lines.append(
                f"  {str(line).rjust(width)}:{column:<3} {style.severity(finding.code, finding.severity)} "
                f"{finding.message}"
            )
        blocks.append("\n".join(lines))
    if summary:
        blocks.append(style.bold(summary_line(reports, sources)))
    return "\n\n".join(blocks)


def render_azure(reports: Sequence[Report]) -> str:
    """Azure Pipelines logging commands (`##vso[task.logissue ...]`), one per diagnostic; info is a warning
    (Azure has only `error` and `warning`)."""
    lines = []
    for report, finding in diagnostics(reports):
        line, column = position(report, finding)
        kind = "error" if finding.severity == ERROR else "warning"
        properties = f"type={kind};sourcepath={_azure(_path(report))};linenumber={line};columnnumber={column};code={finding.code};"
        lines.append(f"##vso[task.logissue {properties}]{_azure_data(finding.message)}")
    return "\n".join(lines)


def _azure_data(text: str) -> str:
    # The escapes of the Azure Pipelines agent's logging commands: %, CR and LF in the message...
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def _azure(text: str) -> str:
    # ...and also ; and ] in a property's value.
    return _azure_data(text).replace(";", "%3B").replace("]", "%5D")


# GitLab code quality severities: info, minor, major, critical, blocker.
_GITLAB_SEVERITY = {INFO: "info", WARNING: "major", ERROR: "critical"}


def render_gitlab(reports: Sequence[Report]) -> str:
    """GitLab's code quality report (a JSON array of Code Climate issues), for merge-request widgets.

    Each issue's `fingerprint` is stable across runs and line moves: a hash of the path, the code,
    the message and how many identical diagnostics came before it in the file.
    """
    import hashlib

    issues = []
    seen: dict[tuple[str, str, str], int] = {}
    for report, finding in diagnostics(reports):
        path = _path(report)
        line, column = position(report, finding)
        end_line, end_column = _end(report, finding)
        identity = (path, finding.code, finding.message)
        seen[identity] = seen.get(identity, 0) + 1
        fingerprint = hashlib.sha256("\0".join((*identity, str(seen[identity]))).encode()).hexdigest()
        issues.append(
            {
                "type": "issue",
                "check_name": finding.code,
                "description": f"{finding.code} {finding.message}",
                "categories": ["Bug Risk"] if finding.severity != INFO else ["Style"],
                "severity": _GITLAB_SEVERITY.get(finding.severity, "major"),
                "fingerprint": fingerprint,
                "location": {
                    "path": path,
                    "positions": {
                        "begin": {"line": line, "column": column},
                        "end": {"line": end_line, "column": end_column},
                    },
                },
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False)


_RDJSON_SEVERITY = {INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR"}


def render_rdjson(reports: Sequence[Report]) -> str:
    """reviewdog's Diagnostic Format (rdjson): one `DiagnosticResult` with every diagnostic."""
    result_diagnostics = []
    for report, finding in diagnostics(reports):
        line, column = position(report, finding)
        end_line, end_column = _end(report, finding)
        diagnostic: dict = {
            "message": finding.message,
            "location": {
                "path": _path(report),
                "range": {
                    "start": {"line": line, "column": column},
                    "end": {"line": end_line, "column": end_column},
                },
            },
            "severity": _RDJSON_SEVERITY.get(finding.severity, "WARNING"),
            "code": {"value": finding.code},
        }
        result_diagnostics.append(diagnostic)
    return json.dumps(
        {"source": {"name": "kinks"}, "severity": "WARNING", "diagnostics": result_diagnostics},
        indent=2,
        ensure_ascii=False,
    )
