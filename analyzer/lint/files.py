"""The files `kinks check` reads: paths expanded into `.loss` files, and each file read as text.

Directories are walked recursively in a deterministic order, skipping excluded directories without
entering them, and what git ignores (`respect-gitignore`, on by default, as in ruff); a file named on the command line is checked whatever its name, unless
`force-exclude` is on (what pre-commit needs, since it passes every staged file by name). Reading
never raises: a file that cannot be read or is not UTF-8 becomes an E006 report at the first byte
that cannot be decoded.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..analysis.report import INVALID, Finding, Report
from ..language.syntax import Span
from .config import Settings
from .gitignore import GitIgnore
from .selection import any_part_matches

STDIN_PATH = "-"


class MissingPathsError(ValueError):
    """Paths on the command line that do not exist; all of them, so one run shows every typo."""

    def __init__(self, paths: Sequence[str]) -> None:
        super().__init__("\n".join(f"{path}: {_why_missing(path)}" for path in paths))
        self.paths = tuple(paths)


def _why_missing(path: str) -> str:
    """What is wrong with a path that does not exist: a symbolic link loop, a dangling link, or nothing there."""
    if not os.path.islink(path):
        return "no such file or directory"
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop (the link resolves to itself)"
    return f"broken symbolic link (to {os.readlink(path)}, which does not exist)"


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """A file to analyze: its text, or the report that says why it has none."""

    path: str
    text: str | None
    unreadable: Report | None = None


def expand_paths(arguments: Sequence[str], settings: Settings) -> list[str]:
    """The files to check: arguments in the order given, each directory walked in sorted order.

    A file named twice (`kinks check a.loss .`) is checked once, where it first appears.
    """
    missing = [argument for argument in arguments if argument != STDIN_PATH and not os.path.exists(argument)]
    if missing:
        raise MissingPathsError(missing)
    files: list[str] = []
    for argument in arguments:
        if argument == STDIN_PATH:
            files.append(argument)
        elif settings.force_exclude and _excluded(argument, settings):
            continue
        elif os.path.isdir(argument):
            files.extend(_walk(argument, settings))
        else:
            files.append(argument)
    return list(dict.fromkeys(files))


def _excluded(path: str, settings: Settings) -> bool:
    return any_part_matches(settings.exclude, settings.relative(path))


def _walk(top: str, settings: Settings) -> list[str]:
    found: list[str] = []
    git = GitIgnore() if settings.respect_gitignore else None
    for directory, subdirectories, names in os.walk(top):
        # Pruning in place keeps os.walk out of excluded trees (.venv, node_modules) altogether.
        subdirectories[:] = [
            name
            for name in subdirectories
            if not _matches(settings.exclude, os.path.join(directory, name), settings)
            and not (git and git.ignored(os.path.join(directory, name), is_directory=True))
        ]
        for name in names:
            path = os.path.join(directory, name)
            if (
                _matches(settings.include, path, settings)
                and not _matches(settings.exclude, path, settings)
                and (os.path.isfile(path) or _is_link_loop(path))
                and not (git and git.ignored(path, is_directory=False))
            ):
                found.append(os.path.normpath(path))  # `a.loss`, not `./a.loss`, as Path and ruff print it
    return sorted(found, key=lambda path: Path(path).parts)


def _is_link_loop(path: str) -> bool:
    """A symbolic link that resolves to itself: walked, so that it is reported (E006), not skipped."""
    if not os.path.islink(path):
        return False
    try:
        os.stat(path)
    except OSError as error:
        return error.errno == errno.ELOOP
    return False


def _matches(patterns: Sequence, path: str, settings: Settings) -> bool:
    relative = settings.relative(path)
    return any(pattern.matches(relative) for pattern in patterns)


def load(path: str) -> LoadedFile:
    """Read one file (or standard input for `-`) as text with universal newlines, without a BOM."""
    try:
        data = _read_bytes(path)
    except OSError as error:
        reason = "it is a symbolic link loop" if error.errno == errno.ELOOP else error.strerror or error
        return LoadedFile(path, None, unreadable(path, f"cannot read the file: {reason}", Span(1, 1, 1, 2)))
    try:
        # utf-8-sig: a byte-order mark is not part of the text (Python reads its own sources the same way).
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return LoadedFile(path, None, _not_utf8(path, data, error))
    # Universal newlines, as Python's text mode: spans and excerpts then agree on what a line is.
    return LoadedFile(path, text.replace("\r\n", "\n").replace("\r", "\n"))


def _read_bytes(path: str) -> bytes:
    if path != STDIN_PATH:
        return Path(path).read_bytes()
    if sys.stdin is None:  # started with standard input closed
        raise OSError("standard input is closed")
    return sys.stdin.buffer.read()


def _not_utf8(path: str, data: bytes, error: UnicodeDecodeError) -> Report:
    line_start = data.rfind(b"\n", 0, error.start) + 1
    line = data.count(b"\n", 0, error.start) + 1
    column = len(data[line_start : error.start].decode("utf-8", errors="replace").lstrip("\ufeff")) + 1
    byte = data[error.start : error.start + 1].hex()
    message = f"the file is not UTF-8 text: byte 0x{byte} on line {line} cannot be decoded"
    return unreadable(path, message, Span(line, column, line, column + 1))


def unreadable(path: str, message: str, span: Span) -> Report:
    """The record of a file that has no text: its line is the file's first, its span the bad byte."""
    finding = Finding(kind="error", code="E006", message=message, span=span)
    return Report(name=None, line=1, file=path, classification=INVALID, findings=[finding])
