"""The analysis cache: one JSON entry per file content, so an unchanged file is never analysed twice.

The key is a hash of the file's text, the analyzer's fingerprint (its version and the bytes of its
own source and grammar, so an edited kinks never reuses stale verdicts) and the settings that
change the analysis (the time budget). Selection (`--select`, `noqa` aside) is applied after the
cache, so changing it needs no new analysis. The path is not part of the key: a renamed file hits.

An entry holds the JSON records of LANGUAGE.md §5 without their `file` key; that is all the
reporters need besides the source text, which is read anyway to compute the key. No SymPy object
is ever stored. Entries are written atomically (a temporary file, then a rename), so concurrent
runs never see half an entry.

An entry is trusted only if it is what this analyzer wrote for this key: it names its key (which
holds the analyzer's fingerprint and the settings), carries a checksum of its records, and every
record has the shape of LANGUAGE.md §5 (`valid_record`). Anything else (not JSON, `{}`, a record
without `class`, a span without `column`, an edited class) is a miss, and the file is analysed
again; the entry is then overwritten.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..analysis.report import CLASSES, INVALID, UNKNOWN, Finding, Report, VariableVerdict
from ..language.syntax import Span

# Bump when the layout of an entry changes.
CACHE_FORMAT = 2
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
        """The records stored for `key`, or None (a miss) unless the entry is intact and valid."""
        try:
            data = json.loads(self._entry(key).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        records = data.get("records")
        if not isinstance(records, list) or data.get("checksum") != _checksum(records):
            return None
        if not all(valid_record(record) for record in records):
            return None
        return records

    def store(self, key: str, records: Sequence[Mapping[str, Any]]) -> None:
        """Write an entry; a cache that cannot be written (read-only checkout) is silently skipped."""
        entry = self._entry(key)
        stored = [_without_file(record) for record in records]
        payload = json.dumps(
            {"key": key, "checksum": _checksum(stored), "records": stored}, ensure_ascii=False
        )
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


def _checksum(records: Any) -> str:
    text = json.dumps(records, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


# ---------------------------------------------------------------- the shape of a record
#
# The same shape as docs/report.schema.json (the tests check that the two agree), written out so
# that reading the cache needs no schema library.

_SPAN_KEYS = ("line", "column", "end_line", "end_column")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _optional(record: Mapping[str, Any], key: str, check: Callable[[Any], bool]) -> bool:
    return key not in record or check(record[key])


def valid_span(span: Any) -> bool:
    return (
        span is None
        or isinstance(span, dict)
        and all(_is_int(span.get(key)) and span[key] >= 1 for key in _SPAN_KEYS)
    )


def valid_finding(finding: Any) -> bool:
    from ..analysis.rules import RULES, SEVERITY_ORDER

    if not isinstance(finding, dict):
        return False
    return (
        isinstance(finding.get("kind"), str)
        and finding.get("code") in RULES
        and finding.get("severity") in SEVERITY_ORDER
        and isinstance(finding.get("message"), str)
        and "span" in finding
        and valid_span(finding["span"])
        and all(
            _optional(finding, key, lambda v: v is None or isinstance(v, str))
            for key in ("atom", "where", "suggestion")
        )
        and _optional(finding, "variables", _is_str_list)
        and _optional(finding, "on_edge", lambda v: isinstance(v, bool))
    )


def _valid_verdict(verdict: Any) -> bool:
    return (
        isinstance(verdict, dict)
        and verdict.get("class") in CLASSES
        and (verdict.get("smoothness") is None or verdict.get("smoothness") in (-1, 0, 1, 2))
        and "smoothness" in verdict
        and _is_str_list(verdict.get("kinds"))
    )


def valid_record(record: Any) -> bool:
    """Whether `record` has the shape of a record of LANGUAGE.md §5 (the `file` key may be missing)."""
    if not isinstance(record, dict):
        return False
    classification = record.get("class")
    if classification not in CLASSES:
        return False
    if not (
        (record.get("name") is None or isinstance(record.get("name"), str))
        and "name" in record
        and _is_int(record.get("line"))
        and record["line"] >= 1
        and _is_str_list(record.get("wrt"))
        and isinstance(record.get("findings"), list)
        and all(valid_finding(finding) for finding in record["findings"])
        and _optional(record, "file", lambda v: v is None or isinstance(v, str))
        and _optional(record, "reason", lambda v: v is None or isinstance(v, str))
    ):
        return False
    if classification == INVALID:
        return True
    smoothness = record.get("smoothness", None)
    by_variable = record.get("by_variable", {})
    return (
        (smoothness is None or smoothness in (-1, 0, 1, 2))
        and not isinstance(smoothness, bool)
        and isinstance(by_variable, dict)
        and all(isinstance(name, str) and _valid_verdict(verdict) for name, verdict in by_variable.items())
    )


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
