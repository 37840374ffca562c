"""The `kinks` command: parse the command line, run a subcommand, turn failures into exit statuses.

Each subcommand lives in a module of its own with `register(commands)`; this module only builds the
parser, dispatches, and makes sure no user ever sees a bare traceback. Exit status (LANGUAGE.md §5):
0 when no diagnostic reaches `--fail-on`, 1 when one does (syntax errors included), 2 when the
command itself could not run (bad options, a path that does not exist, a bug in kinks).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from .common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, positive_seconds, version

__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_USAGE", "UsageError", "main", "positive_seconds", "version"]

# The commands kinks is built with: the linter, the rule docs, the explanations.
BUILTIN_COMMAND_MODULES: tuple[str, ...] = (
    "analyzer.cli.check",
    "analyzer.cli.rule",
    "analyzer.cli.explain",
)

# Subcommands that live in modules of their own. Each module has `register(commands)`, which adds
# its parser with `set_defaults(run=...)`; it must import nothing heavy (TensorFlow, Matplotlib) at
# module level, so `kinks check` stays fast.
COMMAND_MODULES: tuple[str, ...] = ("analyzer.cli.plot", "analyzer.cli.tf", "analyzer.server.command")


def main(argv: Sequence[str] | None = None) -> int:
    """Run `kinks` with `argv` (default: the process arguments) and return the exit status."""
    parser = _build_parser()
    commands = parser._kinks_commands  # type: ignore[attr-defined]
    try:
        arguments, unknown = parser.parse_known_args(argv)
        if arguments.command is None:  # bare `kinks`: the help, on standard error with status 2, as ruff
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        if unknown:
            # An option the subcommand does not know: its own usage, not the top-level one.
            commands.choices[arguments.command].error(f"unrecognized arguments: {' '.join(unknown)}")
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
    parser.add_argument(
        "--version", action=_VersionAction, nargs=0, help="show the version of kinks and exit"
    )
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for module_name in (*BUILTIN_COMMAND_MODULES, *COMMAND_MODULES):
        importlib.import_module(module_name).register(commands)
    parser._kinks_commands = commands  # type: ignore[attr-defined] - for a subcommand's own usage
    return parser


class _VersionAction(argparse.Action):
    """`--version`, looked up only when asked for: reading the installed distribution's metadata
    costs tens of milliseconds that every other command would pay at start."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(f"kinks {version()}")
        parser.exit()


# ---------------------------------------------------------------- failures


def _report_bug(error: BaseException) -> int:
    debug = os.environ.get("KINKS_DEBUG") == "1"
    if debug:
        traceback.print_exc()
    hint = "" if debug else "; run with KINKS_DEBUG=1 to see the traceback"
    # A failure inside the analysis of one file names the file; the cause is what went wrong.
    cause = error.__cause__ if error.__cause__ is not None and getattr(error, "path", None) else None
    where = f" ({error})" if cause is not None else ""
    shown = cause if cause is not None else error
    print(
        f"kinks: internal error: {type(shown).__name__}: {shown}{where}\n"
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
