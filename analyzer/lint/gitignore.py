"""Which paths git ignores, so that a directory walk skips them as ruff's does (`respect-gitignore`).

Inside a git repository, the rules are those of `.git/info/exclude` and of every `.gitignore` from
the repository's root down to the path, each relative to its own directory, a deeper file
overriding a shallower one and a later line an earlier one (`!keep.loss` re-includes). Outside a
repository nothing is ignored, as in git and ruff. Only the walk asks: a file named on the
command line is checked whatever git thinks of it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a .gitignore is read: a run that meets none never pays for it
    import pathspec


class GitIgnore:
    """The ignore rules met while walking one tree; each directory's file is read once."""

    def __init__(self) -> None:
        self._specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}

    def ignored(self, path: str, is_directory: bool) -> bool:
        absolute = Path(os.path.abspath(path))
        root = repository_root(absolute.parent)
        if root is None:
            return False
        verdict: bool | None = None
        for base, spec in self._rules_above(absolute, root):
            relative = absolute.relative_to(base).as_posix() + ("/" if is_directory else "")
            decision = spec.check_file(relative).include
            if decision is not None:
                verdict = decision
        return bool(verdict)

    def _rules_above(self, absolute: Path, root: Path) -> list[tuple[Path, pathspec.GitIgnoreSpec]]:
        rules: list[tuple[Path, pathspec.GitIgnoreSpec]] = []
        exclude = self._spec(root / ".git" / "info" / "exclude")
        if exclude is not None:
            rules.append((root, exclude))
        directories = [absolute.parent, *absolute.parent.parents]
        for directory in reversed(directories[: directories.index(root) + 1]):
            spec = self._spec(directory / ".gitignore")
            if spec is not None:
                rules.append((directory, spec))
        return rules

    def _spec(self, file: Path) -> pathspec.GitIgnoreSpec | None:
        if file not in self._specs:
            try:
                lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:  # absent (the usual case) or unreadable: no rules from it
                self._specs[file] = None
            else:
                import pathspec

                self._specs[file] = pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
        return self._specs[file]


@functools.lru_cache(maxsize=256)
def repository_root(directory: Path) -> Path | None:
    """The nearest directory at or above `directory` that holds `.git` (a directory, or a file for a worktree)."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None
