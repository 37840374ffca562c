"""Locate grammar/loss.lark and build the Lark parser for it, once.

The grammar is the language's specification, so it lives as a file of its own: in a wheel it is
package data (`analyzer/_grammar/loss.lark`), in a checkout or an editable install it is the
top-level `grammar/loss.lark`.

Building the LALR tables takes longer than the rest of a one-file `kinks check` after the imports,
so the built parser is kept in the user's cache directory (`$XDG_CACHE_HOME/kinks`, else
`~/.cache/kinks`) and loaded from there next time. Lark checks that a kept parser belongs to this
grammar, these options and this Lark and Python; the directory is used only when it belongs to the
user and nobody else can write to it, since Lark keeps the parser as a pickle. `KINKS_NO_PARSER_CACHE`
(any value) turns this off.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from lark import Lark, Token
from lark.indenter import DedentError, Indenter

GRAMMAR_FILE_NAME = "loss.lark"
START_SYMBOLS = ("file", "statement", "expression", "condition")


class GrammarNotFoundError(FileNotFoundError):
    """The grammar file is neither installed package data nor in a source checkout."""


def _candidate_paths() -> list[object]:
    packaged = importlib.resources.files("analyzer") / "_grammar" / GRAMMAR_FILE_NAME
    checkout = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_FILE_NAME
    return [packaged, checkout]


@functools.cache
def grammar_text() -> str:
    """The text of loss.lark, from the installed package or else from the checkout."""
    candidates = _candidate_paths()
    for candidate in candidates:
        if candidate.is_file():  # type: ignore[attr-defined]
            return candidate.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    tried = ", ".join(str(candidate) for candidate in candidates)
    raise GrammarNotFoundError(
        f"cannot find the grammar file {GRAMMAR_FILE_NAME} (tried {tried}); "
        "reinstall the package or run from a complete checkout"
    )


_LEADING_INDENTATION = re.compile(r"[ \t]*")


class LossIndenter(Indenter):
    """lark's Indenter, made safe to share between parses and threads.

    lark's own keeps its bracket and indentation state on the instance and asserts on an
    unmatched `)`; this one keeps the state in the generator, lets the parser report a stray
    `)`, and gives every _INDENT / _DEDENT a position so errors can point at them.
    """

    NL_type = "_NL"
    OPEN_PAREN_types = ("LPAR", "LBRACE", "LSQB")
    CLOSE_PAREN_types = ("RPAR", "RBRACE", "RSQB")
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        bracket_depth = 0
        indent_levels = [0]
        last_token: Token | None = None
        for token in stream:
            last_token = token
            if token.type == self.NL_type:
                if bracket_depth > 0:
                    continue  # inside brackets a newline is only whitespace
                yield token
                yield from self._indentation_tokens(token, indent_levels)
                continue
            yield token
            if token.type in self.OPEN_PAREN_types:
                bracket_depth += 1
            elif token.type in self.CLOSE_PAREN_types and bracket_depth > 0:
                bracket_depth -= 1
        while len(indent_levels) > 1:
            indent_levels.pop()
            yield self._positioned(self.DEDENT_type, last_token)

    def _indentation_tokens(self, newline: Token, indent_levels: list[int]) -> Iterator[Token]:
        last_line = newline.value.rsplit("\n", 1)[1]
        indentation = _LEADING_INDENTATION.match(last_line).group()  # type: ignore[union-attr]
        width = indentation.count(" ") + indentation.count("\t") * self.tab_len
        if width > indent_levels[-1]:
            indent_levels.append(width)
            yield self._positioned(self.INDENT_type, newline, indentation)
            return
        while width < indent_levels[-1]:
            indent_levels.pop()
            yield self._positioned(self.DEDENT_type, newline, indentation)
        if width != indent_levels[-1]:
            raise DedentError(
                f"inconsistent indentation: line {newline.end_line} is indented by {width} "
                f"columns, which matches no enclosing block (expected {indent_levels[-1]})"
            )

    @staticmethod
    def _positioned(kind: str, after: Token | None, value: str = "") -> Token:
        """A token placed where `after` ends: the first column of the line after a newline."""
        if after is None:
            return Token(kind, value, 0, 1, 1, 1, 1, 0)
        return Token(
            kind,
            value,
            after.end_pos,
            after.end_line,
            after.end_column,
            after.end_line,
            after.end_column,
            after.end_pos,
        )


@functools.cache
def get_parser() -> Lark:
    """The LALR parser for loss.lark, built on first use and shared afterwards."""
    cache = _parser_cache_file()
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="basic",
        propagate_positions=True,
        maybe_placeholders=False,
        postlex=LossIndenter(),
        start=list(START_SYMBOLS),
        cache=str(cache) if cache is not None else False,
    )


def _parser_cache_file() -> Path | None:
    """Where the built parser is kept, or None when there is no private place for it."""
    if os.environ.get("KINKS_NO_PARSER_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    directory = Path(base) / "kinks"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = directory.stat()
    except (OSError, RuntimeError):  # no home directory, a read-only file system, ...
        return None
    private = not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if not private or (hasattr(os, "getuid") and status.st_uid != os.getuid()):
        return None
    from lark import __version__ as lark_version

    return directory / f"parser-lark{lark_version}-py{sys.version_info[0]}.{sys.version_info[1]}.lark"
