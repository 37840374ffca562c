"""The analysis of Python modules (issue 13): `analyze_python`, `analyze_function`, and the
dispatch `analyze_source` that `kinks check` uses for `.loss` and `.py` files alike.

Each recognised function of a module is translated by `language.python_source` into the syntax
tree of a `.loss` definition and analysed as one (`api._analyze_definition`), so verdicts, codes
and spans are those of `.loss` files. A function that cannot be translated is a record of class
`invalid` with one K903 finding; a file that is not valid Python is one E001 record.

`# noqa` in a Python file: on the `def` line it silences the function's findings (all of them for a
bare `# noqa`, else the codes listed), on another line the findings on that line. Only kinks's K
codes count: `# noqa: E501` and other tools' codes are theirs, and a bare `# noqa` is never reported
as unused (it may be there for another linter); a K code listed that silences nothing is K902. A
malformed one is K904, as in `.loss` files: `# noqa:` with no code and `# noqa K201` without the
colon silence nothing, and a K code that is not a kinks code is named (the other codes still apply).
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Container, Sequence
from pathlib import Path
from typing import Any

from ..atoms import table as atoms
from ..language import syntax as ast
from ..language.python_source import DATA_NAMES, PythonModule, is_python_path, translate_module
from .report import INVALID, UNKNOWN, Finding, Report
from .report_list import ReportList
from .rules import INVALID_NOQA, RULES, UNTRANSLATABLE, UNUSED_NOQA

__all__ = ["analyze_function", "analyze_python", "analyze_python_text", "analyze_source"]


def _is_function(name: str, method: bool = False) -> bool:
    return atoms.lookup(name, method=method) is not None


def analyze_source(
    text: str,
    path: str = "<string>",
    *,
    budget: float | None = None,
    python_functions: Sequence[str] = (),
    data_names: Sequence[str] | None = None,
    only: Container[int] | None = None,
    on_report: Callable[[], None] | None = None,
) -> list[Report]:
    """A `.py` text as Python, anything else as the loss language. `data_names`: the parameters that
    are data without `wrt` (None: the default list, LANGUAGE.md section 1). `only` and `on_report`:
    the positions of the reports wanted, and a call as each is done (`api.analyze_text`)."""
    if is_python_path(path):
        return analyze_python_text(
            text,
            path,
            budget=budget,
            python_functions=python_functions,
            data_names=DATA_NAMES if data_names is None else tuple(data_names),
            only=only,
            on_report=on_report,
        )
    from .api import analyze_text

    return analyze_text(text, path, budget=budget, data_names=data_names, only=only, on_report=on_report)


def analyze_file(
    path: str | Path, *, budget: float | None = None, data_names: Sequence[str] | None = None
) -> ReportList:
    """Read a `.loss` file (UTF-8) and analyze it; a `.py` file is read as Python (its loss functions,
    as `analyze_python`). A file that cannot be read, or is not UTF-8 text, gives one E006 report,
    as in `kinks check`."""
    from ..lint.files import load

    loaded = load(str(path))
    if loaded.unreadable is not None:
        return ReportList([loaded.unreadable])
    assert loaded.text is not None
    return ReportList(analyze_source(loaded.text, str(path), budget=budget, data_names=data_names))


def analyze_python(
    source_or_path: str | Path,
    *,
    budget: float | None = None,
    python_functions: Sequence[str] = (),
    data_names: Sequence[str] = DATA_NAMES,
) -> list[Report]:
    """The reports of the loss functions of a Python module, given as a path (a `Path`, or a string
    naming an existing `.py` file) or as its source text. `data_names`: as for `analyze_source`."""
    if (
        isinstance(source_or_path, Path)
        or is_python_path(str(source_or_path))
        and "\n" not in str(source_or_path)
    ):
        from ..lint.files import load

        path = str(source_or_path)
        loaded = load(path)
        if loaded.unreadable is not None:
            return [loaded.unreadable]
        assert loaded.text is not None
        return analyze_python_text(
            loaded.text, path, budget=budget, python_functions=python_functions, data_names=data_names
        )
    return analyze_python_text(
        str(source_or_path),
        "<string>",
        budget=budget,
        python_functions=python_functions,
        data_names=data_names,
    )


def analyze_function(function: Any, *, budget: float | None = None) -> Report:
    """The report of a live Python function (or method), read from its source with
    `inspect.getsource` (in a notebook too): the function is never called.

    When the function's module has readable source, the module is read (its imports, constants,
    helpers and `__init__` defaults count, and lines are the file's); else (a notebook cell) the
    function's own source is, with the modules its globals name as imports."""
    target = inspect.unwrap(function)
    if isinstance(target, (staticmethod, classmethod)):
        target = target.__func__
    target = getattr(target, "__func__", target)  # a bound method
    name = getattr(target, "__name__", None)
    if not name or not callable(target) or not hasattr(target, "__code__"):
        raise TypeError(f"analyze_function() needs a Python function, got {type(function).__name__}")
    qualname = getattr(target, "__qualname__", name)
    owner = qualname.rsplit(".", 1)[0] if "." in qualname and "<locals>" not in qualname else None
    wanted = f"{owner}.{name}" if owner else name
    module = inspect.getmodule(target)
    module_text = None
    if module is not None and "<locals>" not in qualname:
        try:
            module_text = inspect.getsource(module)
        except (OSError, TypeError):
            module_text = None
    if module_text is not None:
        path = inspect.getsourcefile(target) or target.__code__.co_filename
        found = [
            report
            for report in analyze_python_text(module_text, path, budget=budget, python_functions=(wanted,))
            if report.name == wanted
        ]
        if found:
            return found[0]
    try:
        lines, first_line = inspect.getsourcelines(target)
    except (OSError, TypeError) as error:
        raise ValueError(
            f"the source of {name} cannot be read ({error}); analyse its text with analyze_python instead"
        ) from None
    source = textwrap.dedent("".join(lines))
    header = _imports_from_globals(target)
    if owner and "." not in owner:
        header.append(f"class {owner}:")
        source = textwrap.indent(source, "    ")
    text = "\n".join(header) + ("\n" if header else "") + source
    reports = analyze_python_text(
        text, target.__code__.co_filename, budget=budget, python_functions=(wanted,)
    )
    chosen = [report for report in reports if report.name == wanted]
    if not chosen:
        raise ValueError(f"{wanted} was not found in its source")
    report = chosen[0]
    _shift_report(report, max(first_line, 1) - 1 - len(header))
    return report


def _imports_from_globals(function: Any) -> list[str]:
    """`import x as name` for the modules a function's globals name (a notebook's cells)."""
    import types

    lines = []
    for name, value in getattr(function, "__globals__", {}).items():
        if isinstance(value, types.ModuleType) and name.isidentifier():
            lines.append(f"import {value.__name__} as {name}" if value.__name__ != name else f"import {name}")
    return lines


def _shift_report(report: Report, lines: int) -> None:
    if lines == 0:
        return
    report.line += lines
    if report.span is not None:
        report.span = report.span.shifted(lines)
    report.findings = [
        _replace_span(finding, finding.span.shifted(lines) if finding.span is not None else None)
        for finding in report.findings
    ]


def _replace_span(finding: Finding, span: Any) -> Finding:
    import dataclasses

    return dataclasses.replace(finding, span=span)


def analyze_python_text(
    text: str,
    path: str = "<string>",
    *,
    budget: float | None = None,
    python_functions: Sequence[str] = (),
    data_names: Sequence[str] = DATA_NAMES,
    only: Container[int] | None = None,
    on_report: Callable[[], None] | None = None,
) -> list[Report]:
    """Every recognised function of a Python text, in file order. `only`: the positions of the
    reports wanted (a function's report is its position among them; the functions of a module are
    analysed apart from each other); `on_report()` is called as each is done."""
    from sympy.core.cache import clear_cache

    from .api import FileContext, _analyze_definition, internal_error_finding, invalid_report

    try:
        module = translate_module(
            text, path, is_function=_is_function, python_functions=python_functions, data_names=data_names
        )
    except Exception as error:  # noqa: BLE001 - a bug in the translator is a diagnostic, never a traceback
        return [invalid_report(None, 1, path, internal_error_finding(error, ast.Span(1, 1, 1, 2)))]
    if module.syntax_error is not None:
        problem = module.syntax_error
        if only is not None and 0 not in only:
            return []
        return [
            invalid_report(None, problem.span.line, path, Finding.of("E001", problem.message, problem.span))
        ]
    reports = []
    for position, function in enumerate(module.functions):
        if only is not None and position not in only:
            continue
        clear_cache()  # a verdict must not depend on what this process analysed before
        if function.definition is None:
            assert function.problem is not None
            finding = Finding.of(
                UNTRANSLATABLE,
                f"`{function.name}` is not analysed: it uses {function.problem.message}",
                function.problem.span,
                suggestion="write it in the loss language (a .loss file), or mark what is "
                "missing in the issue tracker",
            )
            report = invalid_report(function.name, function.line, path, finding)
            report.span = function.span
        else:
            try:
                report = _analyze_definition(function.definition, FileContext(), path, budget, data_names)
            except Exception as error:  # noqa: BLE001 - one function's failure must not cost the others
                report = invalid_report(
                    function.name, function.line, path, internal_error_finding(error, function.span)
                )
            report.name = function.name
            report.line = function.line
        _apply_python_noqa(report, module, function.line, function.end_line)
        reports.append(report)
        if on_report is not None:
            on_report()
    return reports


def _apply_python_noqa(report: Report, module: PythonModule, def_line: int, end_line: int) -> None:
    kept = []
    used: dict[int, set[str]] = {}
    for finding in report.findings:
        silenced_by = None
        for line in (def_line, finding.span.line if finding.span is not None else None):
            noqa = module.noqa.get(line) if line is not None else None
            if noqa is None or noqa.problem is not None:
                continue
            if (
                noqa.codes is None
                and not finding.code.startswith("E")
                or noqa.codes is not None
                and finding.code in noqa.codes
            ):
                silenced_by = line
                break
        if silenced_by is None:
            kept.append(finding)
        else:
            used.setdefault(silenced_by, set()).add(finding.code)
    report.findings = kept
    lines = sorted({def_line, *(line for line in module.noqa if def_line < line <= end_line)})
    for line in lines:
        noqa = module.noqa.get(line)
        if noqa is None:
            continue
        unknown = sorted(code for code in noqa.codes or () if code.startswith("K") and code not in RULES)
        if noqa.problem is not None or unknown:
            # malformed, whatever the analysis found: reported as in `.loss` files (K904)
            problem = noqa.problem or (
                f"{', '.join(unknown)} "
                f"{'is not a kinks code' if len(unknown) == 1 else 'are not kinks codes'}"
                " (`kinks rule --all` lists them)"
            )
            report.findings.append(
                Finding.of(
                    INVALID_NOQA,
                    f"malformed `# noqa`: {problem}",
                    noqa.span,
                    suggestion="write `# noqa: CODE, ...` with kinks codes",
                )
            )
    if report.classification in (INVALID, UNKNOWN):
        return
    for line in lines:
        noqa = module.noqa.get(line)
        if noqa is None or noqa.codes is None or UNUSED_NOQA in noqa.codes:
            continue
        stale = sorted(
            code
            for code in noqa.codes
            if code.startswith("K") and code in RULES and code not in used.get(line, set())
        )
        if not stale:
            continue
        suggestion = (
            "remove the `# noqa` comment"
            if len(stale) == len(noqa.codes)
            else f"remove {', '.join(stale)} from the `# noqa` list"
        )
        message = (
            f"unused `# noqa` code{'s' if len(stale) > 1 else ''}: {', '.join(stale)} "
            f"{'is' if len(stale) == 1 else 'are'} not reported "
            f"{'on this function' if line == def_line else 'on this line'}"
        )
        report.findings.append(Finding.of(UNUSED_NOQA, message, noqa.span, suggestion=suggestion))
