"""What the subcommands share with `kinks` itself: the exit statuses, the error for a command that
cannot run as asked, the argument types, and the version. Kept apart from `main`, which loads the
subcommands, so that a subcommand never imports the module that imports it.
"""

from __future__ import annotations

import argparse
import math

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """The command cannot run as asked (exit 2); the message is for the user."""


def positive_seconds(text: str) -> float:
    """argparse type for a time budget."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return seconds


def positive_count(text: str) -> int:
    """argparse type for a count of at least 1 (processes, points)."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return count


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return distribution_version("kinks")
    except PackageNotFoundError:
        from .._version import __version__

        return __version__
