"""The `kinks` command: read `.loss` files, analyze them, print the reports, exit with a status.

Exit status (LANGUAGE.md §5): 0 when no diagnostic reaches `--fail-on`, 1 when one does (syntax
errors included), 2 when the command itself could not run (bad options, a path that does not exist,
a bug in kinks).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .report import INVALID, Finding, Report
from .reporters import render_json, render_text
from .rules import SEVERITY_ORDER
from .syntax import Span

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

STDIN_PATH = "-"
LOSS_SUFFIX = ".loss"


class UsageError(Exception):
    """The command cannot run as asked (exit 2); the message is for the user."""


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """A file to analyze: its text, or the report that says why it has none."""

    path: str
    text: str | None
    unreadable: Report | None = None


# Subcommands that live in modules of their own. Each module has `register(commands)`, which adds
# its parser with `set_defaults(run=...)`; it must import nothing heavy (TensorFlow, Matplotlib) at
# module level, so `kinks check` stays fast.
COMMAND_MODULES: tuple[str, ...] = ()


def main(argv: Sequence[str] | None = None) -> int:
    """Run `kinks` with `argv` (default: the process arguments) and return the exit status."""
    parser = _build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_request:
        # argparse exits by itself on --help, --version (0) and bad options (2); return the status so
        # that main() is usable from tests and from the console script alike.
        return exit_request.code if isinstance(exit_request.code, int) else EXIT_USAGE
    try:
        return arguments.run(arguments)
    except UsageError as error:
        for line in str(error).splitlines():
            print(f"kinks: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`kinks check … | head`): stop quietly, with Python's own status for a
        # broken pipe, and keep the interpreter from failing again when it flushes stdout at exit.
        _silence_stdout()
        return EXIT_FINDINGS
    except Exception as error:  # noqa: BLE001 - the last resort: never show users a bare traceback
        return _report_bug(error)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kinks",
        description="Find where loss functions are not differentiable: kinks, jumps, zero gradients, NaN risks.",
    )
    parser.add_argument("--version", action="version", version=f"kinks {_version()}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    commands.required = True

    check = commands.add_parser(
        "check",
        help="analyze .loss files and report their findings",
        description="Analyze .loss files and report the differentiability of every definition.",
    )
    check.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a .loss file, a directory (searched recursively for *.loss), or - for standard input",
    )
    check.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for tools: one array of records as in LANGUAGE.md §5",
    )
    check.add_argument(
        "--fail-on",
        choices=tuple(SEVERITY_ORDER),
        default="warning",
        help="exit with status 1 when a diagnostic of this severity or worse is found (default: warning)",
    )
    check.add_argument(
        "--budget",
        type=_positive_seconds,
        default=None,
        metavar="SECONDS",
        help="time budget for the analysis of each definition (default: the analyzer's own)",
    )
    check.set_defaults(run=_run_check)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(commands)
    return parser


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return seconds


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kinks")
    except PackageNotFoundError:
        return "unknown (not installed)"


# ---------------------------------------------------------------- check


def _run_check(arguments: argparse.Namespace) -> int:
    paths = _expand_paths(arguments.paths)
    if not paths:
        print("kinks: warning: no .loss files found", file=sys.stderr)

    analyze_text = _analyzer()
    reports: list[Report] = []
    sources: dict[str, str] = {}
    for loaded in (_load(path) for path in paths):
        if loaded.unreadable is not None:
            reports.append(loaded.unreadable)
            continue
        assert loaded.text is not None
        sources[loaded.path] = loaded.text
        for report in analyze_text(loaded.text, loaded.path, budget=arguments.budget):
            if report.file is None:
                report.file = loaded.path
            reports.append(report)

    if arguments.format == "json":
        output = render_json(reports)
    else:
        output = render_text(reports, sources, color=_use_color(sys.stdout))
    sys.stdout.write(output + "\n")
    sys.stdout.flush()
    return EXIT_FINDINGS if _fails(reports, arguments.fail_on) else EXIT_OK


def _analyzer() -> Callable[..., list[Report]]:
    """`analyzer.api.analyze_text`, imported only when there is something to analyze.

    So `--version` and usage errors (exit 2) still work when the analysis machinery cannot be
    imported; that failure is then reported as a bug in kinks. Tests replace this seam with a stub
    to check the command's own logic apart from the analysis.
    """
    from .api import analyze_text

    return analyze_text


def _expand_paths(arguments: Sequence[str]) -> list[str]:
    """The files to check, in a deterministic order: arguments as given, directories walked sorted.

    Every missing path is named before giving up, so one run shows all the typos.
    """
    missing = [argument for argument in arguments if argument != STDIN_PATH and not os.path.exists(argument)]
    if missing:
        raise UsageError("\n".join(f"{path}: no such file or directory" for path in missing))
    files: list[str] = []
    for argument in arguments:
        if argument != STDIN_PATH and os.path.isdir(argument):
            found = (path for path in Path(argument).rglob(f"*{LOSS_SUFFIX}") if path.is_file())
            files.extend(str(path) for path in sorted(found, key=lambda path: path.parts))
        else:
            files.append(argument)
    # A file named twice (`kinks check a.loss .`) is checked once, where it first appears.
    return list(dict.fromkeys(files))


def _load(path: str) -> LoadedFile:
    try:
        data = _read_bytes(path)
    except OSError as error:
        return LoadedFile(path, None, _unreadable(path, f"cannot read the file: {error.strerror or error}"))
    try:
        # utf-8-sig: a byte-order mark is not part of the text (Python reads its own sources the same way).
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start : error.start + 1].hex()
        message = f"the file is not UTF-8 text: byte 0x{byte} on line {line} cannot be decoded"
        return LoadedFile(path, None, _unreadable(path, message))
    # Universal newlines, as Python's text mode: spans and excerpts then agree on what a line is.
    return LoadedFile(path, text.replace("\r\n", "\n").replace("\r", "\n"))


def _read_bytes(path: str) -> bytes:
    if path != STDIN_PATH:
        return Path(path).read_bytes()
    if sys.stdin is None:  # started with standard input closed
        raise OSError("standard input is closed")
    return sys.stdin.buffer.read()


def _unreadable(path: str, message: str) -> Report:
    finding = Finding(kind="error", code="E006", message=message, span=Span(1, 1, 1, 2))
    return Report(name=None, line=1, file=path, classification=INVALID, findings=[finding])


def _fails(reports: Sequence[Report], fail_on: str) -> bool:
    threshold = SEVERITY_ORDER[fail_on]
    return any(
        SEVERITY_ORDER.get(finding.severity, SEVERITY_ORDER["error"]) >= threshold
        for report in reports
        for finding in report.findings
    )


def _use_color(stream: TextIO) -> bool:
    """Colour for a terminal; NO_COLOR (no-color.org) turns it off, FORCE_COLOR turns it on anywhere."""
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


# ---------------------------------------------------------------- failures


def _report_bug(error: BaseException) -> int:
    debug = os.environ.get("KINKS_DEBUG") == "1"
    if debug:
        traceback.print_exc()
    hint = "" if debug else "; run with KINKS_DEBUG=1 to see the traceback"
    print(
        f"kinks: internal error: {type(error).__name__}: {error}\n"
        f"This is a bug in kinks. Please report it{hint}.",
        file=sys.stderr,
    )
    return EXIT_USAGE


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a real file (e.g. captured by a test); nothing to silence
    finally:
        os.close(devnull)
