"""The Python API: analyze an expression, a `.loss` text or a file, and get one Report per definition."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from pathlib import Path

from . import syntax as ast
from .classify import Classifier
from .lowering import (
    FileContext,
    Lowered,
    Lowerer,
    LoweringError,
    constant_binding,
    free_names,
    lower_constant,
    reserved_names,
)
from .parser import LossSyntaxError, parse_condition, parse_expression, parse_source
from .report import INVALID, Finding, Report
from .syntax import Span

BUG_HINT = "this is a bug in kinks: please report it with the statement that triggers it"


def analyze(text: str, wrt: Sequence[str] | None = None, given: str | None = None,
            budget: float | None = None) -> Report:
    """Analyze one expression; every free name is a variable, and without `wrt` all are differentiated."""
    try:
        tree = parse_expression(text)
        condition = parse_condition(given) if given else None
    except LossSyntaxError as error:
        problem = error.problem
        return _invalid(None, problem.span.line, None, Finding("error", "E001", problem.message, problem.span))
    names = free_names(tree)
    if condition is not None:
        names += [name for name in free_names(condition) if name not in names]
    for name in wrt or ():
        if name not in names:
            names.append(name)
    span = _span_of(tree)
    params = tuple(ast.Param(name, span) for name in names)
    wrt_params = tuple(ast.Param(name, span) for name in wrt) if wrt is not None else None
    definition = ast.Definition("expression", span, params, wrt_params, condition, (), tree, span)
    return _analyze_definition(definition, FileContext(), None, budget)


def analyze_text(text: str, path: str = "<string>", *, budget: float | None = None) -> list[Report]:
    """Every definition of a `.loss` text, and every statement that failed, in file order."""
    source = parse_source(text, path)
    context = FileContext()
    for statement in source.statements:
        if isinstance(statement, ast.Definition):
            context.later.setdefault(statement.name, statement.span.line)
    reports: list[Report] = []
    reserved = reserved_names()
    for statement in source.statements:
        if isinstance(statement, ast.SyntaxProblem):
            finding = Finding("error", "E001", _syntax_message(statement), statement.span)
            reports.append(_invalid(statement.name, statement.statement_line or statement.span.line, path, finding))
            continue
        name = statement.name
        if context.later.get(name) == statement.span.line:
            del context.later[name]
        clash = _name_clash(statement, context, reserved)
        if isinstance(statement, ast.Constant):
            try:
                if clash:
                    raise LoweringError("E005", clash, statement.name_span)
                context.constants[name] = constant_binding(lower_constant(statement, context))
            except LoweringError as error:
                reports.append(_invalid(name, statement.span.line, path, Finding("error", error.code, error.message, error.span or statement.span)))
            continue
        if clash:
            report = _invalid(name, statement.span.line, path, Finding("error", "E005", clash, statement.name_span))
        else:
            report = _analyze_definition(statement, context, path, budget)
        _apply_noqa(report, statement.noqa)
        reports.append(report)
        if report.classification == INVALID:
            context.broken[name] = report.findings[0].message if report.findings else "it is invalid"
        else:
            context.definitions[name] = statement
    return reports


def analyze_file(path: str | Path, *, budget: float | None = None) -> list[Report]:
    """Read a `.loss` file (UTF-8) and analyze it."""
    text = Path(path).read_text(encoding="utf-8")
    return analyze_text(text, str(path), budget=budget)


# ------------------------------------------------------------------ internals


def _analyze_definition(definition: ast.Definition, context: FileContext, path: str | None,
                        budget: float | None) -> Report:
    report = Report(name=definition.name if path is not None or definition.name != "expression" else None,
                    line=definition.span.line, file=path, span=definition.span)
    report.params = tuple(p.name for p in definition.params)
    report.wrt = tuple(p.name for p in definition.wrt) if definition.wrt is not None else report.params
    try:
        lowered: Lowered = Lowerer(context, definition.name).definition(definition)
    except LoweringError as error:
        report.findings = [Finding("error", error.code, error.message, error.span or definition.span)]
        return report
    except RecursionError:
        report.findings = [Finding("error", "E005", "the definition is nested too deeply to analyse", definition.span)]
        return report
    try:
        return Classifier(lowered, budget).report(report)
    except Exception:  # noqa: BLE001 - one definition's failure must not cost the others their reports
        report.classification = INVALID
        detail = traceback.format_exc(limit=-1).strip().splitlines()[-1]
        report.findings = [Finding("error", "E999", f"internal error ({detail}); {BUG_HINT}", definition.span)]
        return report


def _invalid(name: str | None, line: int, path: str | None, finding: Finding) -> Report:
    return Report(name=name, line=line, file=path, classification=INVALID, findings=[finding], span=finding.span)


def _syntax_message(problem: ast.SyntaxProblem) -> str:
    if problem.expected and "expected" not in problem.message:
        return f"{problem.message}; expected {', '.join(problem.expected)}"
    return problem.message


def _name_clash(statement: ast.Constant | ast.Definition, context: FileContext, reserved: set[str]) -> str | None:
    name = statement.name
    if name in reserved:
        return f"`{name}` is the name of a function or constant of the language: choose another name"
    if name in context.definitions or name in context.constants or name in context.broken:
        return f"`{name}` is already defined above"
    return None


def _apply_noqa(report: Report, noqa: ast.Noqa | None) -> None:
    if noqa is None:
        return
    kept = []
    for finding in report.findings:
        silenced = noqa.codes is None or finding.code in noqa.codes
        if not silenced or finding.kind == "error" and noqa.codes is None and finding.code.startswith("E"):
            kept.append(finding)
    report.findings = kept


def _span_of(tree: ast.Expr) -> Span:
    return tree.span
