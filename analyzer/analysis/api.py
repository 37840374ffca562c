"""The Python API: analyze an expression, a `.loss` text or a file, and get one Report per definition."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..language import syntax as ast
from ..language.parser import INTERNAL_ERROR, LossSyntaxError, parse_condition, parse_expression, parse_source
from ..language.syntax import Span
from .classify import Classifier
from .lowering import (
    FileContext,
    Lowered,
    Lowerer,
    LoweringError,
    constant_binding,
    default_wrt,
    free_names,
    lower_constant,
    reserved_names,
)
from .report import INVALID, UNKNOWN, Finding, KinksSyntaxError, Report
from .report_list import ReportList
from .rules import RULES
from .statements import StatementWalk

BUG_HINT = "this is a bug in kinks: please report it with the statement that triggers it"


def analyze(
    text: str, wrt: Sequence[str] | None = None, given: str | None = None, budget: float | None = None
) -> Report:
    """Analyze one expression; every free name is a variable, and without `wrt` all are differentiated.

    An expression (or `given`) that does not parse raises `KinksSyntaxError`, with its line, column
    and message; any other problem (an undefined function, a wrong call) is a report of class
    `invalid`, as in a file. `analyze_text` and `analyze_file` (python_api) never raise for their input.
    """
    report = expression_report(text, wrt, given, budget)
    if report.classification == INVALID and report.findings and report.findings[0].code == "E001":
        finding = report.findings[0]
        source = given if given and _parses(text) else text
        raise KinksSyntaxError(finding.message, finding.span or Span(1, 1, 1, 2), source or "")
    return report


def expression_report(
    text: str, wrt: Sequence[str] | None = None, given: str | None = None, budget: float | None = None
) -> Report:
    """`analyze`, with a syntax error as a report of class `invalid` (E001) instead of an exception:
    what the commands that print diagnostics need."""
    try:
        tree = parse_expression(text)
    except LossSyntaxError as error:
        problem = error.problem
        return invalid_report(
            None, problem.span.line, None, Finding.of("E001", problem.message, problem.span)
        )
    except Exception as error:  # noqa: BLE001 - a bug in the parser is a diagnostic, never a traceback
        return invalid_report(None, 1, None, internal_error_finding(error, Span(1, 1, 1, 2)))
    try:
        condition = parse_condition(given) if given else None
    except LossSyntaxError as error:
        problem = error.problem
        return invalid_report(
            None, problem.span.line, None, Finding.of("E001", problem.message, problem.span)
        )
    except Exception as error:  # noqa: BLE001
        return invalid_report(None, 1, None, internal_error_finding(error, Span(1, 1, 1, 2)))
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
    return _analyze_definition(definition, FileContext(), None, budget, ())


def _parses(text: str) -> bool:
    try:
        parse_expression(text)
    except Exception:  # noqa: BLE001
        return False
    return True


def analyze_text(
    text: str,
    path: str = "<string>",
    *,
    budget: float | None = None,
    data_names: Sequence[str] | None = None,
    only: Container[int] | None = None,
    on_report: Callable[[], None] | None = None,
) -> ReportList:
    """Every definition of a `.loss` text, and every statement that failed, in file order.

    `data_names`: the parameter names that are data when a definition has no `wrt` (LANGUAGE.md §1;
    None: `DATA_NAMES`, the linter setting `data-names`).

    `only` (the linter's work units): the positions, in the full list of reports, of the reports
    wanted; the others are neither classified nor returned. Every statement is still read and
    lowered, so a definition sees the same file above it whichever part of the file a process
    analyses, and the full list is the union of its parts in position order. SymPy's cache is
    emptied once, before the text: what a process analysed before does not enter. (Emptied before
    each statement it cost 25% of the analysis of the benchmark corpus, and the parts of a file
    analysed in any order in one process give the same reports as the whole file: 313 definitions
    compared, tests/test_linter_cache.py checks it for `-j 2`.)
    `on_report()` is called as each wanted report is done (the progress bar)."""
    from sympy.core.cache import clear_cache

    analysis = _FileAnalysis(text, path, budget, data_names, only, on_report)
    source = parse_source(text, path)
    clear_cache()
    analysis.run(source.statements)
    return analysis.reports


class _FileAnalysis(StatementWalk):
    """A report for every statement, in file order (`analyze_text`), or for the wanted ones."""

    def __init__(
        self,
        text: str,
        path: str,
        budget: float | None,
        data_names: Sequence[str] | None,
        only: Container[int] | None = None,
        on_report: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.path = path
        self.budget = budget
        self.data_names = data_names
        self.only = only
        self.on_report = on_report
        self.reports = ReportList()  # a list, shown as a table in Jupyter
        self.directives = noqa_directives(text)
        self.reserved = reserved_names()
        self.lines = text.split("\n") if only is not None else []
        self.position = -1  # of the report the statement gives, if it gives one

    def _wanted(self) -> bool:
        """The next report's position is one of `only`."""
        self.position += 1
        return self.only is None or self.position in self.only

    def _add(self, report: Report) -> None:
        self.reports.append(report)
        if self.on_report is not None:
            self.on_report()

    def syntax_problem(self, statement: ast.SyntaxProblem) -> None:
        if not self._wanted():
            return
        if statement.message.startswith(INTERNAL_ERROR):
            finding = Finding.of("E999", f"{statement.message}; {BUG_HINT}", statement.span)
        else:
            finding = Finding.of("E001", _syntax_message(statement), statement.span)
        line = statement.statement_line or statement.span.line
        self._add(invalid_report(statement.name, line, self.path, finding))

    def constant(self, statement: ast.Constant) -> str | None:
        clash = _name_clash(statement, self.context, self.reserved)
        try:
            if clash:
                raise LoweringError("E005", clash, statement.name_span)
            with deep_stack(), hard_limit(hard_limit_for(self.budget)):
                self.context.constants[statement.name] = constant_binding(
                    lower_constant(statement, self.context)
                )
        except LoweringError as error:
            finding = Finding.of(error.code, error.message, error.span or statement.span)
        except AnalysisTimeout as timeout:
            finding = Finding.of(
                "E005", f"the constant took longer than {timeout.seconds:g} s to build", statement.span
            )
        except Exception as error:  # noqa: BLE001 - one statement's failure must not cost the others
            finding = internal_error_finding(error, statement.span)
        else:
            return None
        if self._wanted():
            self._add(invalid_report(statement.name, statement.span.line, self.path, finding))
        return None if clash else _cause(finding)

    def definition(self, statement: ast.Definition) -> str | None:
        wanted = self._wanted()
        clash = _name_clash(statement, self.context, self.reserved)
        if not wanted and not clash and not _named_below(statement.name, self.lines, statement.span.end_line):
            return None  # analysed elsewhere and called by nothing below: whether it lowers matters to no one
        if clash:
            finding = Finding.of("E005", clash, statement.name_span)
            report = invalid_report(statement.name, statement.span.line, self.path, finding)
        else:
            report = _analyze_definition(
                statement, self.context, self.path, self.budget, self.data_names, classify=wanted
            )
        if wanted:
            _apply_noqa(report, _statement_noqas(statement, self.directives))
            self._add(report)
        if report.classification != INVALID:
            return None
        return _cause(report.findings[0]) if report.findings else "it is invalid"


def _named_below(name: str, lines: Sequence[str], end_line: int) -> bool:
    """Whether `name` appears as a word in the lines after `end_line` (1-based): a cheap, safe
    over-approximation of "a definition below may call it" (comments and strings count too)."""
    word = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    return any(word.search(line) for line in lines[end_line:])


# ------------------------------------------------------------------ internals


def _analyze_definition(
    definition: ast.Definition,
    context: FileContext,
    path: str | None,
    budget: float | None,
    data_names: Sequence[str] | None = None,
    classify: bool = True,
) -> Report:
    """The definition's report; with `classify` False, only lowered (its report says whether that
    failed, which the definitions below it need to know), for a part of a file analysed elsewhere."""
    report = Report(
        name=definition.name if path is not None or definition.name != "expression" else None,
        line=definition.span.line,
        file=path,
        span=definition.span,
    )
    report.params = tuple(p.name for p in definition.params)
    report.wrt = default_wrt(definition, data_names)
    # Probing evaluates bodies where they overflow or are undefined on purpose: NumPy's warnings
    # about it are expected, and are not for the user.
    limit = hard_limit_for(budget)
    with deep_stack(), np.errstate(all="ignore"):
        try:
            with hard_limit(limit):
                lowered: Lowered = Lowerer(context, definition.name, data_names=data_names).definition(
                    definition
                )
        except LoweringError as error:
            report.findings = [Finding.of(error.code, error.message, error.span or definition.span)]
            return report
        except RecursionError:
            report.findings = [
                Finding.of("E005", "the definition is nested too deeply to analyse", definition.span)
            ]
            return report
        except AnalysisTimeout as timeout:
            return _timed_out(report, f"building its expression took longer than {timeout.seconds:g} s")
        except Exception as error:  # noqa: BLE001 - one definition's failure must not cost the others their reports
            report.findings = [internal_error_finding(error, definition.span)]
            return report
        if not classify:
            report.classification = UNKNOWN  # lowered, not invalid: left undecided here
            return report
        try:
            # The probe checks its own budget between steps; the hard limit stands behind it where
            # it costs nothing (an alarm signal), not through the trace hook.
            with hard_limit(limit, tracing=False):
                return Classifier(lowered, budget).report(report)
        except AnalysisTimeout as timeout:
            return _timed_out(report, f"the analysis took longer than {timeout.seconds:g} s")
        except RecursionError:
            # locals that each wrap the one before nest deeper than the parser's count of brackets
            report.classification = INVALID
            report.findings = [
                Finding.of("E005", "the definition is nested too deeply to analyse", definition.span)
            ]
            return report
        except Exception as error:  # noqa: BLE001 - one definition's failure must not cost the others their reports
            report.classification = INVALID
            report.findings = [internal_error_finding(error, definition.span)]
            return report


def _timed_out(report: Report, reason: str) -> Report:
    report.classification = UNKNOWN
    report.smoothness = None
    report.reason = reason
    report.findings = [Finding.of("K901", f"could not decide: {reason}", report.span)]
    return report


# ------------------------------------------------------------------ a hard limit on time
#
# The time budget is checked by the probe between its steps. A single SymPy call can run far
# longer (solving a condition as a set, simplifying): this limit stops anything. In the main thread
# it is an alarm signal (SIGALRM; free while it does not ring), unless someone else uses the alarm.
# Elsewhere it is a trace hook that looks at the clock every few thousand Python calls, which
# slows the code under it: it is used for building the expression only, and stands aside for a
# debugger or a coverage tool that is tracing already. The limit is the definition's budget and
# some grace: the probe's own budget normally ends an analysis before.


class AnalysisTimeout(BaseException):
    """Raised into the analysis when it passes its hard limit. A BaseException, so that SymPy's
    own `except Exception` clauses do not swallow it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the analysis took longer than {seconds:g} s")
        self.seconds = seconds


HARD_LIMIT_GRACE = 1.0  # seconds beyond the budget, or half the budget if that is more
_CLOCK_EVERY = 4096  # calls
_RING_AGAIN = 0.05  # seconds between rings of the alarm once the limit has passed
_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def _alarm_is_free() -> bool:
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )


# The code the alarm may interrupt: the analysis and the libraries it runs. Anything else on top of
# the stack is someone else's callback (a garbage-collector hook, an unraisable-exception hook
# formatting a traceback), where an exception would be dropped or would break the hook.
_INTERRUPTIBLE_PACKAGES = frozenset({"analyzer", "sympy", "mpmath", "numpy", "lark"})


def _interruptible(frame: Any) -> bool:
    if frame is None:
        return False
    package = str(frame.f_globals.get("__name__", "")).partition(".")[0]
    return package in _INTERRUPTIBLE_PACKAGES


def hard_limit_for(budget: float | None) -> float:
    from .classify import DEFAULT_BUDGET

    seconds = DEFAULT_BUDGET if budget is None else budget
    return seconds + max(HARD_LIMIT_GRACE, 0.5 * seconds)


@contextlib.contextmanager
def hard_limit(seconds: float, tracing: bool = True) -> Iterator[None]:
    if _alarm_is_free():
        armed = True

        def ring(signum: int, frame: Any) -> None:
            if armed and _interruptible(frame):
                raise AnalysisTimeout(seconds)

        previous = signal.signal(signal.SIGALRM, ring)
        # The alarm rings again until it is disarmed: an exception raised while Python runs a
        # garbage-collector callback or a `__del__` is printed and dropped, not propagated; and a
        # ring that finds other code running (see _interruptible) waits for the next.
        signal.setitimer(signal.ITIMER_REAL, seconds, _RING_AGAIN)
        try:
            yield
        finally:
            try:
                armed = False  # a ring that comes between here and the reset below raises nothing
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        return
    if not tracing or sys.gettrace() is not None:
        yield
        return
    end = time.monotonic() + seconds
    calls = 0
    expired = False

    def watch(frame: Any, event: str, argument: Any) -> None:
        # Only calls are seen (nothing is returned, so no line events in the frame).
        nonlocal calls, expired
        calls += 1
        if not expired and calls % _CLOCK_EVERY == 0:
            expired = time.monotonic() > end
        # Not into a generator: one being closed by the garbage collector would only print
        # "Exception ignored"; the next ordinary call stops the analysis.
        if expired and not frame.f_code.co_flags & _GENERATOR_FLAGS:
            raise AnalysisTimeout(seconds)

    sys.settrace(watch)
    try:
        yield
    finally:
        sys.settrace(None)


def internal_error_finding(error: BaseException, span: Span) -> Finding:
    detail = "".join(traceback.format_exception_only(type(error), error)).strip().splitlines()[-1][:300]
    return Finding.of("E999", f"internal error ({detail}); {BUG_HINT}", span)


def _cause(finding: Finding) -> str:
    """Why a statement failed, for the statements that use it. A failure that is itself caused by
    another (`f` has an error: `g` has an error: ...) is not repeated down a chain of calls."""
    if finding.code == "E004" and finding.message.startswith("`") and "` has an error: " in finding.message:
        used = finding.message[1 : finding.message.index("` has an error: ")]
        return f"it uses `{used}`, which has an error"
    return finding.message


# Room on Python's stack for the recursive passes over a body (lowering, SymPy's printers and
# rewrites) on bodies as deep as lowering allows (MAX_EXPANDED_DEPTH), whatever the depth of the
# caller's own stack: the same text then gets the same report from any caller. Raised for the
# analysis only, and shared by threads analysing at the same time.
STACK_HEADROOM = 6000
_stack_lock = threading.Lock()
_stack_users = 0
_saved_limit = 0


@contextlib.contextmanager
def deep_stack() -> Iterator[None]:
    global _stack_users, _saved_limit
    with _stack_lock:
        if _stack_users == 0:
            _saved_limit = sys.getrecursionlimit()
        needed = _frame_depth() + STACK_HEADROOM
        if needed > sys.getrecursionlimit():
            sys.setrecursionlimit(needed)
        _stack_users += 1
    try:
        yield
    finally:
        with _stack_lock:
            _stack_users -= 1
            if _stack_users == 0:
                sys.setrecursionlimit(_saved_limit)


def _frame_depth() -> int:
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth


def invalid_report(name: str | None, line: int, path: str | None, finding: Finding) -> Report:
    return Report(
        name=name, line=line, file=path, classification=INVALID, findings=[finding], span=finding.span
    )


def _syntax_message(problem: ast.SyntaxProblem) -> str:
    if problem.expected and "expected" not in problem.message:
        return f"{problem.message}; expected {', '.join(problem.expected)}"
    return problem.message


def _name_clash(
    statement: ast.Constant | ast.Definition, context: FileContext, reserved: set[str]
) -> str | None:
    name = statement.name  # a name of the language may be shadowed (LANGUAGE.md §1)
    if name in context.definitions or name in context.constants or name in context.broken:
        return f"`{name}` is already defined above"
    return None


@dataclass(frozen=True, slots=True)
class NoqaDirective:
    """A `# noqa` comment as ruff reads it: bare (codes None), with codes, or malformed (`problem`,
    which then silences nothing and is reported as K904)."""

    codes: frozenset[str] | None
    span: Span
    problem: str | None = None
    first_line: bool = False  # on its statement's first line: it covers the whole statement


# The noqa directive, then what follows it up to the end of the comment.
_NOQA_DIRECTIVE = re.compile(r"#\s*noqa(?![\w-])(?P<rest>[^#]*)", re.IGNORECASE)
_CODE_TOKEN = re.compile(r"[A-Za-z]+[0-9]+")


def noqa_directives(text: str) -> dict[int, NoqaDirective]:
    """Every line's `# noqa` comment (`#` starts a comment anywhere in the loss language)."""
    found: dict[int, NoqaDirective] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        hash_at = line.find("#")
        if hash_at < 0:
            continue
        match = _NOQA_DIRECTIVE.search(line, hash_at)
        if match is None:
            continue
        rest = match.group("rest")
        stripped = rest.strip()
        codes: frozenset[str] | None = None
        problem = None
        end = match.end()
        if stripped.startswith(":"):
            items = [item for item in re.split(r"[\s,]+", stripped[1:].strip()) if item]
            tokens = []
            for item in items:
                if not _CODE_TOKEN.fullmatch(item):
                    break
                tokens.append(item.upper())
            if not tokens:
                problem = "expected a code after `# noqa:` (`# noqa: K201`)"
            else:
                codes = frozenset(tokens)
                unknown = sorted(code for code in codes if code not in RULES)
                if unknown:
                    problem = (
                        f"{', '.join(unknown)} "
                        f"{'is not a kinks code' if len(unknown) == 1 else 'are not kinks codes'}"
                        f" (`kinks rule --all` lists them)"
                    )
            # the span ends after the last code read
            last = rest.upper().rfind(tokens[-1]) + len(tokens[-1]) if tokens else len(rest.rstrip())
            end = match.start("rest") + last
        elif stripped and _CODE_TOKEN.match(stripped):
            problem = "missing `:` after `# noqa` (write `# noqa: CODE`); a malformed `noqa` silences nothing"
            token = _CODE_TOKEN.match(stripped)
            end = match.start("rest") + rest.index(stripped) + token.end()
        else:
            end = match.start("rest")
        span = Span(number, match.start() + 1, number, end + 1)
        found[number] = NoqaDirective(codes, span, problem)
    return found


def _statement_noqas(
    statement: ast.Definition | ast.Constant, directives: dict[int, NoqaDirective]
) -> list[NoqaDirective]:
    first = statement.span.line
    noqas = []
    for line in range(first, statement.span.end_line + 1):
        directive = directives.get(line)
        if directive is not None:
            noqas.append(dataclasses.replace(directive, first_line=line == first))
    return noqas


def _apply_noqa(report: Report, noqas: Sequence[NoqaDirective]) -> None:
    """Remove the findings the statement's `# noqa` comments silence; the class is unchanged.

    As in ruff, a `# noqa` silences the diagnostics that point at its line; on the statement's first
    line, it silences the whole statement. A bare `# noqa` silences everything but the errors (E
    codes); `# noqa: K201, K301` only those codes. A malformed one (`# noqa K201`, without the
    colon, or a code that is not a kinks code) silences nothing and is reported as K904. One that
    silences nothing, or codes in its list that silence nothing, become one K902 finding at the
    comment (ruff's unused-noqa, RUF100), unless the list names K902 itself. A statement whose
    analysis did not finish (invalid, unknown) cannot tell, so it is never flagged as K902.
    """
    from .report import UNKNOWN
    from .rules import INVALID_NOQA, UNUSED_NOQA

    if not noqas:
        return
    kept = []
    used: dict[int, set[str]] = {index: set() for index in range(len(noqas))}
    for finding in report.findings:
        line = finding.span.line if finding.span is not None else report.line
        silenced_by = None
        for index, noqa in enumerate(noqas):
            if noqa.problem is not None or not (noqa.first_line or noqa.span.line == line):
                continue
            if noqa.codes is None and finding.code.startswith("E"):
                continue
            if noqa.codes is None or finding.code in noqa.codes:
                silenced_by = index
                break
        if silenced_by is None:
            kept.append(finding)
        else:
            used[silenced_by].add(finding.code)
    report.findings = kept
    judged = report.classification not in (INVALID, UNKNOWN)
    for index, noqa in enumerate(noqas):
        if noqa.problem is not None:
            report.findings.append(
                Finding.of(
                    INVALID_NOQA,
                    f"malformed `# noqa`: {noqa.problem}",
                    noqa.span,
                    suggestion="write `# noqa: CODE, ...` with kinks codes",
                )
            )
            continue
        if not judged or noqa.codes is not None and UNUSED_NOQA in noqa.codes:
            continue
        where = "this statement" if noqa.first_line else "this line"
        if noqa.codes is None:
            if not used[index]:
                message = f"unused `# noqa`: {where} has no diagnostic to silence"
                report.findings.append(
                    Finding.of(
                        UNUSED_NOQA,
                        message,
                        noqa.span,
                        suggestion="remove the `# noqa` comment",
                    )
                )
            continue
        unmatched = sorted(code for code in noqa.codes if code not in used[index])
        if not unmatched:
            continue
        if len(unmatched) == len(noqa.codes):
            suggestion = "remove the `# noqa` comment"
        else:
            suggestion = f"remove {', '.join(unmatched)} from the `# noqa` list"
        verb = "is" if len(unmatched) == 1 else "are"
        noun = "codes" if len(unmatched) > 1 else "code"
        message = f"unused `# noqa` {noun}: {', '.join(unmatched)} {verb} not reported on {where}"
        report.findings.append(Finding.of(UNUSED_NOQA, message, noqa.span, suggestion=suggestion))


def _span_of(tree: ast.Expr) -> Span:
    return tree.span
