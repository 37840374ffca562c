"""From kinks's reports to the Language Server Protocol: diagnostics, hovers and quick fixes.

Everything here is a pure function of an `Analysis` (the text of one version of a document and
its reports, selected as `kinks check` selects them), so it is tested without a client. Spans are
kinks's (1-based lines and columns in code points, end exclusive); LSP positions are 0-based and
counted in the units the client negotiated (UTF-16 unless it asked otherwise): the conversion goes
through pygls's position codec.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition, ServerTextRange

from ..analysis.report import INVALID, Finding, Report
from ..analysis.rules import ERROR, INFO, RULES, UNUSED_NOQA, WARNING
from ..language.syntax import Noqa, Span

SOURCE = "kinks"

_SEVERITY = {
    ERROR: types.DiagnosticSeverity.Error,
    WARNING: types.DiagnosticSeverity.Warning,
    INFO: types.DiagnosticSeverity.Information,
}

# The two endings `classify` gives a surrogate suggestion: "<expression> (<name>) if a smooth
# version is needed" and "<expression> (<name>) keeps it finite". Only an <expression> that parses
# in the language becomes a "replace with" quick fix; prose ("softmax(z / 0.1) with z the scores
# that ...") stays a hint. tests/test_server_convert.py pins the endings against real findings.
_SURROGATE = re.compile(
    r"^(?P<expression>.+) \((?P<name>[^()]+)\) (?:if a smooth version is needed|keeps it finite)$"
)


@dataclass(frozen=True, slots=True)
class Analysis:
    """One version of one document, analysed: what diagnostics, hovers and quick fixes read."""

    uri: str
    version: int | None
    text: str
    reports: Sequence[Report]
    # The noqa comment of each statement that has one, by the statement's first line.
    noqa: dict[int, Noqa] = field(default_factory=dict)
    seconds: float = 0.0
    settings_problem: str | None = None

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def findings(self) -> Iterator[tuple[Report, Finding]]:
        for report in self.reports:
            for finding in report.findings:
                yield report, finding


# ---------------------------------------------------------------- positions


def lsp_range(span: Span | None, report: Report, lines: Sequence[str], codec: PositionCodec) -> types.Range:
    """The LSP range of a kinks span; a finding without a span covers its statement's first line."""
    if span is None:
        line = max(report.line, 1)
        span = Span(line, 1, line, len(_line(lines, line)) + 1)
    start = _server_position(span.line, span.column, lines)
    end = _server_position(span.end_line, span.end_column, lines)
    end = max(end, start)
    return codec.range_to_client_units(_with_newlines(lines), ServerTextRange(start, end))


def span_contains(span: Span, line: int, column: int) -> bool:
    """Whether the 1-based (line, column) lies in the span, its end included (the cursor may sit
    just after the last character of what it points at)."""
    if (line, column) < (span.line, span.column):
        return False
    return (line, column) <= (span.end_line, span.end_column)


def kinks_position(position: types.Position, lines: Sequence[str], codec: PositionCodec) -> tuple[int, int]:
    """An LSP position as kinks's 1-based (line, column in code points)."""
    server = codec.position_from_client_units(_with_newlines(lines), position)
    return server.line + 1, server.character + 1


def _server_position(line: int, column: int, lines: Sequence[str]) -> ServerTextPosition:
    index = min(max(line - 1, 0), max(len(lines) - 1, 0))
    character = min(max(column - 1, 0), len(_line(lines, index + 1)))
    return ServerTextPosition(index, character)


def _line(lines: Sequence[str], line: int) -> str:
    return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""


def _with_newlines(lines: Sequence[str]) -> list[str]:
    # pygls's codec reads lines as TextDocument.lines gives them, with their line breaks.
    return [line + "\n" for line in lines]


# ---------------------------------------------------------------- diagnostics


def diagnostics(analysis: Analysis, codec: PositionCodec) -> list[types.Diagnostic]:
    """One diagnostic per finding, with the code, span and severity `kinks check` reports."""
    lines = analysis.lines
    return [diagnostic(report, finding, lines, codec) for report, finding in analysis.findings()]


def diagnostic(
    report: Report, finding: Finding, lines: Sequence[str], codec: PositionCodec
) -> types.Diagnostic:
    message = finding.message
    if finding.suggestion:
        message += f"\nhelp: {finding.suggestion}"
    return types.Diagnostic(
        range=lsp_range(finding.span, report, lines, codec),
        message=message,
        severity=_SEVERITY.get(finding.severity, types.DiagnosticSeverity.Error),
        code=finding.code,
        source=SOURCE,
        tags=[types.DiagnosticTag.Unnecessary] if finding.code == UNUSED_NOQA else None,
    )


# ---------------------------------------------------------------- hover


def hover_markdown(analysis: Analysis, line: int, column: int) -> str | None:
    """What a hover at the 1-based (line, column) shows: each finding there, with the explanation
    of its definition (the tree of `kinks explain`) and the doc of its rule (`kinks rule`). Off a
    finding, the first line of a definition shows its class and explanation."""
    from ..cli.explain import draw_tree

    parts: list[str] = []
    explained: set[int] = set()
    for report, finding in analysis.findings():
        if finding.span is None or not span_contains(finding.span, line, column):
            continue
        rule = RULES.get(finding.code)
        title = f"**{finding.code}** {rule.name if rule else finding.kind} ({finding.severity})"
        section = [f"{title}: {finding.message}"]
        if finding.suggestion:
            section.append(f"help: {finding.suggestion}")
        if report.classification != INVALID and id(report) not in explained:
            explained.add(id(report))
            section.append(_explanation(report, draw_tree(report)))
        if rule is not None:
            section.append(_demoted(rule.doc()))
        parts.append("\n\n".join(section))
    if not parts:
        for report in analysis.reports:
            if report.line == line and report.classification != INVALID:
                parts.append(_explanation(report, draw_tree(report)))
                break
    return "\n\n---\n\n".join(parts) if parts else None


def _explanation(report: Report, tree: str) -> str:
    name = f"`{report.name}`" if report.name else "the statement"
    smoothness = f", smoothness {report.smoothness}" if report.smoothness is not None else ""
    return f"{name}: **{report.classification}**{smoothness}\n\n```text\n{tree}\n```"


def _demoted(markdown: str) -> str:
    """A rule doc with its headings two levels down (a hover is small), code blocks untouched."""
    out = []
    fenced = False
    for text in markdown.splitlines():
        if text.startswith("```"):
            fenced = not fenced
        elif not fenced and text.startswith("#"):
            text = "##" + text
        out.append(text)
    return "\n".join(out).strip()


# ---------------------------------------------------------------- code actions


@dataclass(frozen=True, slots=True)
class Fix:
    """A quick fix in kinks's coordinates: replace `span` with `text` (an empty span inserts)."""

    title: str
    span: Span
    text: str
    finding: Finding
    report: Report
    preferred: bool = False


def surrogate_expression(finding: Finding) -> tuple[str, str] | None:
    """(expression, name) of the finding's suggestion when it is a replacement expression that
    parses in the language, else None."""
    from ..language.parser import LossSyntaxError, parse_expression

    if not finding.suggestion:
        return None
    match = _SURROGATE.match(finding.suggestion)
    if match is None:
        return None
    expression = match.group("expression")
    try:
        parse_expression(expression)
    except LossSyntaxError:
        return None
    return expression, match.group("name")


def fixes(analysis: Analysis, start: tuple[int, int], end: tuple[int, int]) -> list[Fix]:
    """The quick fixes for the findings that touch the 1-based range [start, end]."""
    lines = analysis.lines
    found: list[Fix] = []
    seen: set[tuple[Span, str]] = set()

    def add(fix: Fix) -> None:
        if (fix.span, fix.text) not in seen:
            seen.add((fix.span, fix.text))
            found.append(fix)

    for report, finding in analysis.findings():
        span = finding.span
        if span is None or not _touches(span, start, end):
            continue
        replacement = _surrogate_fix(report, finding, lines)
        if replacement is not None:
            add(replacement)
        noqa = _noqa_fix(analysis, report, finding, lines)
        if noqa is not None:
            add(noqa)
    return found


def _touches(span: Span, start: tuple[int, int], end: tuple[int, int]) -> bool:
    return (span.line, span.column) <= end and start <= (span.end_line, span.end_column)


def _surrogate_fix(report: Report, finding: Finding, lines: Sequence[str]) -> Fix | None:
    surrogate = surrogate_expression(finding)
    span = finding.span
    if surrogate is None or span is None:
        return None
    # A finding of an atom inside a called definition points at the call (`layer(x, w, b)`); its
    # surrogate replaces the atom, not the call, so it is a fix only where the atom itself is written.
    if " (inside " in finding.message:
        return None
    if report.span is not None and not (
        report.span.line <= span.line and span.end_line <= report.span.end_line
    ):
        return None
    expression, name = surrogate
    text = expression if _stands_alone(expression) else f"({expression})"
    return Fix(
        f"Replace with the surrogate: {expression} ({name})", span, text, finding, report, preferred=True
    )


def _stands_alone(expression: str) -> bool:
    """Whether the text can replace a sub-expression without parentheses: a call or a name."""
    from ..language import syntax as ast
    from ..language.parser import parse_expression

    return isinstance(parse_expression(expression), (ast.Call, ast.Name, ast.Number))


def _noqa_fix(analysis: Analysis, report: Report, finding: Finding, lines: Sequence[str]) -> Fix | None:
    code = finding.code
    # Errors are to be fixed, not silenced; an unused noqa comment is removed, not silenced again.
    if code.startswith("E") or code == UNUSED_NOQA or code not in RULES:
        return None
    line = report.line
    existing = analysis.noqa.get(line)
    if existing is not None and existing.codes is None:
        return None  # a bare noqa comment silences it already
    if existing is not None:
        codes = ", ".join(sorted({*existing.codes, code}))  # type: ignore[misc]
        return Fix(f"Add {code} to the `# noqa` list", existing.span, f"# noqa: {codes}", finding, report)
    end = len(_line(lines, line)) + 1
    return Fix(f"Add `# noqa: {code}`", Span(line, end, line, end), f"  # noqa: {code}", finding, report)


def code_action(fix: Fix, analysis: Analysis, codec: PositionCodec) -> types.CodeAction:
    lines = analysis.lines
    edit = types.TextEdit(range=lsp_range(fix.span, fix.report, lines, codec), new_text=fix.text)
    return types.CodeAction(
        title=fix.title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic(fix.report, fix.finding, lines, codec)],
        is_preferred=fix.preferred or None,
        edit=types.WorkspaceEdit(changes={analysis.uri: [edit]}),
    )
