"""`kinks explain`: why an expression or a definition got its class, drawn as a tree.

    kinks explain "mean(argmax(p) == argmax(y))" --wrt p
    kinks explain "abs(y - p)" --wrt p --given "0 < p < 1 and y in {0, 1}"
    kinks explain examples/regression.loss:mae
    kinks explain examples/regression.loss          # every definition of the file

The text is `Report.explain()`, line for line: from the innermost cause outwards, each line says
what an enclosing expression does to what its child brings. Here the nesting is drawn with tree
branches instead of indentation.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence
from typing import Any

from ..analysis.report import INVALID, Report
from ..lint.files import load
from ..lint.reporters import render_diagnostic
from .common import EXIT_FINDINGS, EXIT_OK, UsageError, positive_seconds

_UNICODE_BRANCHES = ("├── ", "└── ", "│   ", "    ")
_ASCII_BRANCHES = ("|-- ", "`-- ", "|   ", "    ")


def register(commands: Any) -> None:
    explain = commands.add_parser(
        "explain",
        help="explain why an expression or a definition is smooth, piecewise or zero-gradient",
        description=(
            "Explain the class of an expression (every free name is a variable) or of a definition "
            "given as FILE:NAME (or every definition of FILE), from the innermost cause outwards."
        ),
    )
    explain.add_argument(
        "target",
        metavar="EXPR | FILE:NAME | FILE",
        help="an expression, FILE:NAME (a definition of a .loss file, or a function of a .py file, "
        "Class.method for a method), or a .loss or .py file",
    )
    explain.add_argument(
        "--wrt",
        action="append",
        metavar="NAMES",
        help="the variables to differentiate, comma-separated (default: every free name)",
    )
    explain.add_argument(
        "--given", metavar="CONDITION", help="assumptions on the inputs, such as '0 < p < 1'"
    )
    explain.add_argument(
        "--budget",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="time budget for the analysis (default: the analyzer's own)",
    )
    explain.set_defaults(run=run_explain)


def run_explain(arguments: argparse.Namespace) -> int:
    from ..analysis.api import expression_report as analyze
    from ..analysis.python_api import analyze_source
    from .check import use_color

    color = use_color(sys.stdout)
    file_target = _file_target(arguments.target)
    if file_target is None:
        wrt = [name.strip() for value in arguments.wrt or () for name in value.split(",") if name.strip()]
        report = analyze(arguments.target, wrt=wrt or None, given=arguments.given, budget=arguments.budget)
        if report.classification == INVALID:
            # The error is in --given when the expression alone parses; show it against that text.
            in_given = bool(arguments.given) and _parses(arguments.target)
            report.file = "--given" if in_given else "<expression>"
            source = arguments.given if in_given else arguments.target
            for finding in report.findings:
                print(render_diagnostic(report, finding, source, color=color))
            return EXIT_FINDINGS
        print(draw_tree(report, _branches()))
        return EXIT_OK

    path, name = file_target
    if arguments.wrt or arguments.given:
        raise UsageError(
            "--wrt and --given apply to an expression; a definition has its own `wrt` and `given`"
        )
    loaded = load(path)
    if loaded.text is None:
        assert loaded.unreadable is not None
        raise UsageError(f"{path}: {loaded.unreadable.findings[0].message}")
    # a named function is analysed even when it is not recognised as a loss (`kinks explain train.py:helper`)
    wanted = (name,) if name else ()
    reports = analyze_source(loaded.text, path, budget=arguments.budget, python_functions=wanted)
    chosen = _choose(reports, name, path)
    status = EXIT_OK
    for index, report in enumerate(chosen):
        if index:
            print()
        header = f"{path}:{report.line}: {report.name or 'statement'}"
        print(f"\x1b[1m{header}\x1b[0m" if color else header)
        if report.classification == INVALID:
            status = EXIT_FINDINGS
            for finding in report.findings:
                print(render_diagnostic(report, finding, loaded.text, color=color))
        else:
            print(draw_tree(report, _branches()))
    return status


def _file_target(target: str) -> tuple[str, str | None] | None:
    """(path, name) for FILE:NAME, (path, None) for FILE, None for an expression.

    The language has no `:` inside expressions, so a target whose part before the last `:` is a
    file is FILE:NAME.
    """
    if target == "-" or os.path.isfile(target):  # `-`: standard input, as `kinks check -`
        return target, None
    path, colon, name = target.rpartition(":")
    if colon and path and (path == "-" or os.path.isfile(path)):
        return path, name.strip()
    if colon and path.endswith((".loss", ".py")):
        raise UsageError(f"{path}: no such file")
    return None


def _parses(expression: str) -> bool:
    from ..language.parser import LossSyntaxError, parse_expression

    try:
        parse_expression(expression)
    except LossSyntaxError:
        return False
    return True


def _choose(reports: Sequence[Report], name: str | None, path: str) -> list[Report]:
    if name is None:
        if not reports:
            raise UsageError(f"{path}: the file has no definitions")
        return list(reports)
    chosen = [report for report in reports if report.name == name]
    if chosen:
        return chosen[:1]
    names = [report.name for report in reports if report.name]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    listing = f" (its definitions: {', '.join(names)})" if names else ""
    raise UsageError(f"{path}: no definition named `{name}`{hint}{listing}")


def _branches() -> tuple[str, str, str, str]:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "".join(_UNICODE_BRANCHES).encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return _ASCII_BRANCHES
    return _UNICODE_BRANCHES


def draw_tree(report: Report, branches: tuple[str, str, str, str] = _UNICODE_BRANCHES) -> str:
    """`report.explain()` with its indentation drawn as tree branches.

    Each explanation line at depth d > 0 hangs under the nearest line above it at depth d - 1; a
    line is the last child when no sibling follows before its parent's subtree ends.
    """
    lines = report.explain().splitlines()
    depths = [step.depth for step in report.steps]
    if len(depths) != len(lines):  # no steps: the explanation is a plain message
        return "\n".join(lines)
    tee, elbow, pipe, blank = branches
    drawn = []
    for index, (line, depth) in enumerate(zip(lines, depths)):
        text = line[2 * depth :]  # explain() indents two spaces a level
        if depth == 0:
            drawn.append(text)
            continue
        prefix = ""
        for level in range(1, depth):
            prefix += pipe if _has_later_sibling(depths, index, level) else blank
        drawn.append(prefix + (tee if _has_later_sibling(depths, index, depth) else elbow) + text)
    return "\n".join(drawn)


def _has_later_sibling(depths: Sequence[int], index: int, level: int) -> bool:
    """Whether a line at `level` follows line `index` before the tree falls below `level`."""
    for depth in depths[index + 1 :]:
        if depth < level:
            return False
        if depth == level:
            return True
    return False
