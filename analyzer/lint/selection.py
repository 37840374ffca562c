"""Which rule codes are reported, as ruff decides it: selectors, layers of settings, per-file ignores.

A selector is a code (`K201`), a prefix of codes (`K2`, `K`) or `ALL`. Settings come in layers,
lowest priority first: the defaults, the configuration file, the command line. A layer that has
`select` starts afresh from it (so `--select K201` on the command line means K201 and nothing
else, whatever the file says); `extend-select` and `ignore` adjust what the layers below left.
Within a layer the more specific selector wins (`ignore = ["K2"]` with `extend-select = ["K201"]`
keeps K201), and at equal specificity `ignore` wins.

Error codes (E...) are always reported: a statement that cannot be analysed must never pass
silently, so they can be neither ignored nor deselected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..analysis.rules import RULES, is_error_code

ALL = "ALL"
ALL_CODES = frozenset(RULES)
ERROR_CODES = frozenset(code for code in RULES if is_error_code(code))
SELECTABLE_CODES = ALL_CODES - ERROR_CODES
# What is reported when nothing is selected: every code but the few that are off by default (K902).
DEFAULT_CODES = frozenset(code for code in SELECTABLE_CODES if RULES[code].enabled_by_default)


class SelectionError(ValueError):
    """A selector that means nothing (names no code), or that tries to silence errors."""


@dataclass(frozen=True, slots=True)
class Selector:
    text: str
    codes: frozenset[str]

    @property
    def specificity(self) -> int:
        return 0 if self.text == ALL else len(self.text)


def parse_selector(text: str, origin: str) -> Selector:
    """`K2` -> the codes it matches; `origin` names where it was written, for the error message."""
    selector = text.strip().upper()
    if selector == ALL:
        return Selector(ALL, ALL_CODES)
    codes = frozenset(code for code in RULES if code.startswith(selector))
    if not selector or not codes:
        raise SelectionError(
            f"{origin}: `{text}` matches no rule code (codes look like K201; "
            f"prefixes like K2 and ALL are accepted; `kinks rule --all` lists them)"
        )
    return Selector(selector, codes)


def parse_ignore(text: str, origin: str) -> Selector:
    selector = parse_selector(text, origin)
    if selector.text != ALL and selector.codes <= ERROR_CODES:
        raise SelectionError(
            f"{origin}: `{text}` cannot be ignored: errors (E codes) are always reported, so that a "
            f"file that cannot be analysed never passes silently"
        )
    return selector


@dataclass(frozen=True, slots=True)
class Layer:
    """One source of settings: `select` is None when the source does not set it."""

    select: tuple[Selector, ...] | None = None
    extend_select: tuple[Selector, ...] = ()
    ignore: tuple[Selector, ...] = ()


def enabled_codes(layers: Iterable[Layer]) -> frozenset[str]:
    """The codes reported after applying the layers in order (lowest priority first)."""
    enabled = set(DEFAULT_CODES)
    for layer in layers:
        if layer.select is not None:
            enabled = set()
        # Least specific first, and at equal specificity selects before ignores, so that the most
        # specific selector has the last word and `ignore` wins ties.
        steps = [
            (selector.specificity, 0, selector) for selector in (*(layer.select or ()), *layer.extend_select)
        ]
        steps += [(selector.specificity, 1, selector) for selector in layer.ignore]
        for _, is_ignore, selector in sorted(steps, key=lambda step: (step[0], step[1])):
            if is_ignore:
                enabled -= selector.codes
            else:
                enabled |= selector.codes
    return frozenset(enabled | ERROR_CODES)


# ---------------------------------------------------------------- globs


@dataclass(frozen=True, slots=True)
class PathPattern:
    """A glob as in ruff and .gitignore: one without `/` matches a file or directory name at any
    depth; one with `/` matches the path relative to the project root. `**` crosses directories,
    `*` and `?` do not; `[abc]` and `{a,b}` work as in a shell. A leading `!` negates."""

    text: str

    @property
    def negated(self) -> bool:
        return self.text.startswith("!")

    def matches(self, relative_path: str) -> bool:
        """`relative_path` uses `/`; it may start with `../` when it lies outside the root."""
        pattern = self.text[1:] if self.negated else self.text
        hit = _pattern_hits(pattern, relative_path)
        return not hit if self.negated else hit


def _pattern_hits(pattern: str, relative_path: str) -> bool:
    pattern = pattern.rstrip("/")
    pattern = pattern.removeprefix("./")
    if "/" not in pattern:
        return bool(_compile(pattern).fullmatch(relative_path.rsplit("/", 1)[-1]))
    return bool(_compile(pattern.lstrip("/")).fullmatch(relative_path))


def any_part_matches(patterns: Sequence[PathPattern], relative_path: str) -> bool:
    """Whether the path or one of the directories it lies in is matched: excluding `build` excludes
    everything below it."""
    parts = relative_path.split("/")
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    return any(
        pattern.matches(prefix)
        for pattern in patterns
        for prefix in prefixes
        if prefix not in ("", ".", "..")
    )


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(_glob_to_regex(pattern))


def _glob_to_regex(pattern: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find(
                "]",
                index + 2
                if pattern.startswith("[!", index) or pattern.startswith("[]", index)
                else index + 1,
            )
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                index = end
        elif char == "{":
            end = pattern.find("}", index)
            if end == -1:
                out.append(re.escape(char))
            else:
                choices = pattern[index + 1 : end].split(",")
                out.append("(?:" + "|".join(_glob_to_regex(choice) for choice in choices) + ")")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)
