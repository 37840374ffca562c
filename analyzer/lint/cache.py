"""The analysis cache: one JSON entry per file content, so an unchanged file is never analysed twice.

The key is a hash of the file's text, the analyzer's fingerprint (its version and the bytes of its
own source and grammar, so an edited kinks never reuses stale verdicts) and the settings that
change the analysis (the time budget). Selection (`--select`, `noqa` aside) is applied after the
cache, so changing it needs no new analysis. The path is not part of the key: a renamed file hits.

An entry holds the JSON records of LANGUAGE.md §5 without their `file` key; that is all the
reporters need besides the source text, which is read anyway to compute the key. No SymPy object
is ever stored. Entries are written atomically (a temporary file, then a rename), so concurrent
runs never see half an entry; an entry that cannot be read is a miss.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..analysis.report import INVALID, UNKNOWN, Finding, Report, VariableVerdict
from ..language.syntax import Span

# Bump when the layout of an entry changes.
CACHE_FORMAT = 1
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by kinks.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


@functools.cache
def analyzer_fingerprint() -> str:
    """A hash of kinks's version and of every source and grammar file of the installed analyzer."""
    from .._version import __version__
    from ..language.grammar import grammar_text

    digest = hashlib.sha256(f"kinks {__version__} cache {CACHE_FORMAT}\n".encode())
    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode() + b"\0")
        digest.update(source.read_bytes())
    digest.update(grammar_text().encode())
    return digest.hexdigest()


class Cache:
    """Entries under `directory/<fingerprint>/`, one JSON file per key."""

    def __init__(self, directory: Path, fingerprint: str | None = None) -> None:
        self.root = directory
        self.fingerprint = fingerprint or analyzer_fingerprint()
        self.directory = directory / f"v{CACHE_FORMAT}-{self.fingerprint[:16]}"

    def key(self, text: str, budget: float | None, options: Mapping[str, Any] | None = None) -> str:
        """`options`: what else changes the analysis of this file (for a Python file, that it is
        one, and the `python-functions` setting)."""
        settings = json.dumps({"budget": budget, **(options or {})}, sort_keys=True)
        digest = hashlib.sha256(f"{self.fingerprint}\n{settings}\n".encode())
        digest.update(text.encode("utf-8", errors="surrogatepass"))
        return digest.hexdigest()

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def load(self, key: str) -> list[dict[str, Any]] | None:
        try:
            data = json.loads(self._entry(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
            return None
        return records

    def store(self, key: str, records: Sequence[Mapping[str, Any]]) -> None:
        """Write an entry; a cache that cannot be written (read-only checkout) is silently skipped."""
        entry = self._entry(key)
        payload = json.dumps({"records": [_without_file(record) for record in records]}, ensure_ascii=False)
        try:
            self._prepare()
            entry.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    stream.write(payload)
                os.replace(temporary, entry)
            except BaseException:
                _remove_quietly(temporary)
                raise
        except OSError:
            return

    def _prepare(self) -> None:
        # Like .ruff_cache: ignored by git and by backup tools without anyone having to say so.
        if (self.root / "CACHEDIR.TAG").exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".gitignore").write_text("# Automatically created by kinks.\n*\n", encoding="utf-8")
        (self.root / "CACHEDIR.TAG").write_text(_CACHEDIR_TAG, encoding="utf-8")


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _without_file(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "file"}


def with_file(record: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A cached record with its `file` put back first, where `Report.to_dict()` puts it."""
    return {"file": path, **_without_file(record)}


def cacheable(records: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the verdicts may be reused: an undecided one may depend on the machine's load."""
    return all(record.get("class") != UNKNOWN for record in records)


# ---------------------------------------------------------------- records back into reports


def report_from_record(record: Mapping[str, Any]) -> Report:
    """The Report that `record` was made from, less what `to_dict()` leaves out (the SymPy body,
    the explanation steps, witnesses): `report_from_record(r.to_dict()).to_dict() == r.to_dict()`."""
    classification = record["class"]
    report = Report(
        name=record.get("name"),
        line=record["line"],
        file=record.get("file"),
        wrt=tuple(record.get("wrt", ())),
        classification=classification,
        findings=[finding_from_record(finding) for finding in record.get("findings", ())],
        reason=record.get("reason"),
    )
    if classification != INVALID:
        report.smoothness = record.get("smoothness")
        report.by_variable = {
            name: VariableVerdict(verdict["class"], verdict["smoothness"], tuple(verdict["kinds"]))
            for name, verdict in record.get("by_variable", {}).items()
        }
    return report


def finding_from_record(record: Mapping[str, Any]) -> Finding:
    span = record.get("span")
    return Finding(
        kind=record["kind"],
        code=record["code"],
        message=record["message"],
        span=Span(span["line"], span["column"], span["end_line"], span["end_column"]) if span else None,
        severity=record["severity"],
        atom=record.get("atom"),
        where=record.get("where"),
        suggestion=record.get("suggestion"),
        variables=tuple(record.get("variables", ())),
        on_edge=bool(record.get("on_edge", False)),
    )
