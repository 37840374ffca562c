"""What every input must give, checked one input at a time (shared by the tests and run_long.py).

- The analysis returns reports (or diagnostics), never another exception, and never an internal
  error (E999 is a bug in kinks: the fuzzer reports it as a failure).
- Every report is well formed: a known class, error findings on invalid statements, spans inside
  the text, a record that is strict JSON, text and JSON renderings that do not fail.
- It stays within its time budget: each definition's own time, and the whole text's.
- The same input gives the same output.
- The command line agrees: `kinks check` exits 0 or 1 (never 2, never a traceback) and prints JSON.
- `kinks tf`'s generator (`analyzer.to_tensorflow`) turns every input into Python that compiles,
  or refuses it with its own error; the generated code is compiled, never executed.

Each check raises `PropertyFailure` with what went wrong; the caller adds the input.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analyzer import analyze_text
from analyzer.analysis.api import hard_limit_for
from analyzer.analysis.report import CLASSES, INVALID, UNKNOWN, Report
from analyzer.analysis.rules import RULES

# Wall-clock allowance on top of the analysis budget: parsing, lowering, rendering, and a loaded CI
# machine. Generous on purpose; a hang takes far longer.
SLACK_SECONDS = 5.0
SECONDS_PER_MEGABYTE = 30.0
SMOOTHNESS = {-1, 0, 1, 2}
ERROR_CODES = {code for code, rule in RULES.items() if rule.kind == "error"}
# Generated code calls no evaluator and reaches no interpreter internals, whatever the names in
# the input were (user names become identifiers, checked by the generator).
FORBIDDEN_CALLS = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "__import__",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "breakpoint",
        "input",
        "system",
        "popen",
    }
)
ALLOWED_DUNDERS = frozenset({"__init__", "__name__", "__all__", "__future__", "__doc__", "__call__"})


class PropertyFailure(AssertionError):
    """An input broke a property; the message says which and how."""


def _fail(message: str) -> None:
    raise PropertyFailure(message)


# ---------------------------------------------------------------- the analysis


def analyse(text: str, budget: float = 1.0, path: str = "<fuzz>") -> list[Report]:
    """analyze_text, with every property of one run checked. The time is this process's CPU time:
    the budget's own limit is wall-clock, so CPU time can only be less, and a machine busy with
    other work (CI runners, the benchmarks) does not make an input look slow."""
    started = time.process_time()
    try:
        reports = analyze_text(text, path, budget=budget)
    except Exception as error:
        raise PropertyFailure(f"analyze_text raised {type(error).__name__}: {error}") from error
    elapsed = time.process_time() - started
    check_reports(text, reports, budget)
    # Every statement, an invalid one too, may spend up to the hard limit building its expression
    # before it is cut off (a definition calling one that timed out is invalid, and was slow).
    # Reading the text is linear in its size and outside any budget: Lark parses dense expressions
    # at about 50 KB a second (a 232 KB definition takes 4.6 s), and a 32 MB line is refused by
    # its bracket depth in 5 s.
    statements = len(reports)
    megabytes = len(text.encode("utf-8", "surrogatepass")) / 1e6
    allowed = hard_limit_for(budget) * max(statements, 1) + SECONDS_PER_MEGABYTE * megabytes + SLACK_SECONDS
    if elapsed > allowed:
        _fail(
            f"the analysis took {elapsed:.1f} s of CPU for {statements} statement(s) with a budget of "
            f"{budget:g} s each (a hard limit of {hard_limit_for(budget):g} s)"
        )
    return reports


def check_reports(text: str, reports: Sequence[Report], budget: float) -> None:
    if not isinstance(reports, list) or not all(isinstance(report, Report) for report in reports):
        _fail(f"analyze_text returned {type(reports).__name__}, not a list of reports")
    lines = text.split("\n")
    for report in reports:
        where = f"report {report.name!r} (line {report.line})"
        if report.classification not in CLASSES:
            _fail(f"{where}: unknown class {report.classification!r}")
        for finding in report.findings:
            if finding.code == "E999":
                _fail(f"{where}: internal error: {finding.message}")
            if finding.code not in RULES:
                _fail(f"{where}: unknown code {finding.code!r}")
            if not finding.message:
                _fail(f"{where}: a finding with an empty message")
            span = finding.span
            if span is not None:
                if not (1 <= span.line <= len(lines) + 1 and span.column >= 1):
                    _fail(f"{where}: span {span} outside a text of {len(lines)} lines")
                if (span.end_line, span.end_column) < (span.line, span.column):
                    _fail(f"{where}: span {span} ends before it starts")
        if report.classification == INVALID:
            if not report.findings or report.findings[0].code not in ERROR_CODES:
                _fail(f"{where}: invalid without an error finding: {report.findings}")
        elif report.classification == UNKNOWN:
            if not report.reason:
                _fail(f"{where}: unknown without a reason")
        else:
            if report.smoothness not in SMOOTHNESS:
                _fail(f"{where}: smoothness {report.smoothness!r}")
            if report.seconds > budget + SLACK_SECONDS:
                _fail(f"{where}: took {report.seconds:.1f} s with a budget of {budget:g} s")
        try:
            json.dumps(report.to_dict(), allow_nan=False)
        except (TypeError, ValueError) as error:
            _fail(f"{where}: the record is not strict JSON: {error}")
        try:
            report.explain()
        except Exception as error:  # noqa: BLE001
            _fail(f"{where}: explain() raised {type(error).__name__}: {error}")
    _check_rendering(text, reports)


def _check_rendering(text: str, reports: Sequence[Report]) -> None:
    from analyzer.lint.reporters import render_json, render_text

    try:
        json.loads(render_json(reports))
        render_text(list(reports), {"<fuzz>": text})
    except Exception as error:  # noqa: BLE001
        _fail(f"rendering raised {type(error).__name__}: {error}")


def comparable(reports: Sequence[Report]) -> list[dict[str, Any]]:
    """The records, without what may differ between two runs: timing, and verdicts cut off by it."""
    records = []
    for report in reports:
        record = report.to_dict()
        if report.classification == UNKNOWN and cut_by_time(report.reason or ""):
            record = {"name": record["name"], "line": record["line"], "class": "unknown (budget)"}
        records.append(record)
    return records


def cut_by_time(reason: str) -> bool:
    """A verdict the clock decided: the budget, or the hard limit while building or analysing."""
    return "budget" in reason or "took longer than" in reason


def check_deterministic(text: str, first: Sequence[Report], budget: float = 1.0) -> None:
    second = analyze_text(text, "<fuzz>", budget=budget)
    a, b = comparable(first), comparable(second)
    if len(a) != len(b):
        _fail(f"two runs gave {len(a)} and {len(b)} reports")
    for one, other in zip(a, b):
        if one.get("class") == "unknown (budget)" or other.get("class") == "unknown (budget)":
            continue
        if one != other:
            _fail(f"two runs differ:\n{json.dumps(one, indent=1)}\n{json.dumps(other, indent=1)}")


# ---------------------------------------------------------------- the command line


def check_command_line(data: bytes, directory: Path, budget: float = 1.0) -> list[dict[str, Any]]:
    """`kinks check --format json FILE` on raw bytes: exit 0 or 1, JSON out, no bug report."""
    from analyzer.cli.main import main

    path = directory / "fuzzed.loss"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(["check", "--format", "json", "--budget", str(budget), str(path)])
        except SystemExit as exit_request:  # argparse; main() should not let it through
            _fail(f"kinks check exited through SystemExit({exit_request.code})")
    if status not in (0, 1):
        _fail(f"kinks check exited {status}; stderr: {err.getvalue()[-500:]}")
    if "internal error" in err.getvalue() or "Traceback" in err.getvalue():
        _fail(f"kinks check reported a bug: {err.getvalue()[-500:]}")
    try:
        records = json.loads(out.getvalue())
    except ValueError as error:
        _fail(f"kinks check printed no JSON ({error}): {out.getvalue()[:300]!r}")
    for record in records:
        for finding in record.get("findings", []):
            if finding["code"] == "E999":
                _fail(f"internal error from the command line: {finding['message']}")
    return records


# ---------------------------------------------------------------- the code generator


def check_generated_code(text: str, modes: Sequence[str] = ("plain",)) -> int:
    """The generated module of every mode compiles (it is never run); returns how many compiled.

    A refusal by the generator's own error type (a clear message) is allowed; any other exception
    is a crash.
    """
    from analyzer import to_tensorflow as generator
    from analyzer.tensorflow.codegen import CodegenError

    compiled = 0
    for mode in modes:
        try:
            module = generator(text, "<fuzz>", mode=mode)
        except CodegenError:
            continue
        except Exception as error:  # noqa: BLE001
            _fail(f"to_tensorflow(mode={mode!r}) raised {type(error).__name__}: {error}")
        if not isinstance(module, str):
            _fail(f"to_tensorflow returned {type(module).__name__}")
        try:
            compile(module, "<generated>", "exec")
        except SyntaxError as error:
            _fail(f"the generated module (mode={mode!r}) does not compile: {error}\n{module}")
        problem = unsafe_code(module)
        if problem:
            _fail(f"the generated module (mode={mode!r}) {problem}:\n{module}")
        compiled += 1
    return compiled


def unsafe_code(module: str) -> str | None:
    """What makes generated Python unsafe, read from its syntax tree (comments and strings are
    text, not code): a call to an evaluator or to the system, or a dunder attribute or name."""
    import ast

    for node in ast.walk(ast.parse(module)):
        if isinstance(node, ast.Call):
            callee = node.func
            name = (
                callee.id
                if isinstance(callee, ast.Name)
                else callee.attr
                if isinstance(callee, ast.Attribute)
                else None
            )
            if name in FORBIDDEN_CALLS:
                return f"calls {name}()"
        identifier = None
        if isinstance(node, ast.Name):
            identifier = node.id
        elif isinstance(node, ast.Attribute):
            identifier = node.attr
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            identifier = node.name
        elif isinstance(node, ast.arg):
            identifier = node.arg
        if (
            identifier
            and identifier.startswith("__")
            and identifier.endswith("__")
            and identifier not in ALLOWED_DUNDERS
        ):
            return f"uses the dunder name {identifier}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            )
            for module_name in modules:
                if module_name.split(".")[0] not in (
                    "tensorflow",
                    "keras",
                    "math",
                    "numpy",
                    "__future__",
                    "typing",
                ):
                    return f"imports {module_name}"
    return None
