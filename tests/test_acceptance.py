"""The shared acceptance cases: every row of ../shared/cases/expected.json, checked as score.py does.

The cases live beside the repository (`<repo>/../shared/cases/`), not inside it. They are required:
when the folder is missing every test here fails with a message saying where it was looked for.
The real command (`python -m analyzer check --format json <files>`) runs once per session in a
subprocess; each row is then one test, with an id such as `composite.loss:smooth_l1` (or
`errors.loss:4` for a statement that fails to parse and is matched by its line).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_CASES = REPO_ROOT.parent / "shared" / "cases"
# The shared cases gate every submission when the folder is there; a clone without it runs the copy
# kept in tests/acceptance_cases/ (test_the_copy_matches_the_shared_cases says when it drifts).
LOCAL_CASES = Path(__file__).resolve().parent / "acceptance_cases"
CASES = SHARED_CASES if SHARED_CASES.is_dir() else LOCAL_CASES
EXPECTED = CASES / "expected.json"
SCORE = CASES / "score.py"

MISSING = (
    f"the shared acceptance cases are missing: expected {EXPECTED} (and the .loss files and score.py "
    f"beside it) in the shared/ folder next to the repository. They are required; this test does not skip."
)

CLASSES = {"smooth", "piecewise-differentiable", "zero-gradient", "unknown", "invalid"}
ANALYSED = {"smooth", "piecewise-differentiable", "zero-gradient"}


def _expected_rows() -> list[dict[str, Any]] | None:
    if not EXPECTED.is_file():
        return None
    rows = json.loads(EXPECTED.read_text(encoding="utf-8"))
    return [row for row in rows if not row.get("ambiguous")]  # score.py skips these too


def _row_id(row: dict[str, Any]) -> str:
    return f"{row['file']}:{row.get('name') or row.get('line')}"


def _params() -> list[Any]:
    rows = _expected_rows()
    if rows is None:
        return [pytest.param(None, id="shared-cases-missing")]
    return [pytest.param(row, id=_row_id(row)) for row in rows]


@dataclass
class Run:
    """One run of the command over the case files; `problem` says why there are no records."""

    command: list[str]
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    records: list[dict[str, Any]] | None = None
    problem: str | None = None

    def need_records(self) -> list[dict[str, Any]]:
        if self.records is None:
            pytest.fail(self.problem or "no records")
        return self.records


@pytest.fixture(scope="module")
def run() -> Run:
    """Run `python -m analyzer check --format json` once over every case file; never raises."""
    files = sorted(CASES.glob("*.loss")) if CASES.is_dir() else []
    command = [sys.executable, "-m", "analyzer", "check", "--format", "json", *map(str, files)]
    result = Run(command=command)
    if not EXPECTED.is_file() or not files:
        result.problem = MISSING
        return result
    try:
        proc = subprocess.run(
            command,
            check=False,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=1800,
        )
    except subprocess.TimeoutExpired:
        result.problem = f"`{' '.join(command)}` did not finish within 1800 s"
        return result
    result.returncode, result.stdout, result.stderr = proc.returncode, proc.stdout, proc.stderr
    try:
        records = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        result.problem = (
            f"the command's stdout is not JSON ({exc}); exit status {proc.returncode}\n"
            f"stdout starts: {proc.stdout[:600]!r}\nstderr ends: {proc.stderr[-1500:]}"
        )
        return result
    if not isinstance(records, list):
        result.problem = f"the command printed {type(records).__name__}, not the JSON array of LANGUAGE.md §5"
        return result
    result.records = records
    return result


def _index(records: list[dict[str, Any]]) -> tuple[dict, dict]:
    """Records by (file basename, name) and by (file basename, line), first one wins (as score.py)."""
    by_name: dict[tuple[str, str], dict[str, Any]] = {}
    by_line: dict[tuple[str, Any], dict[str, Any]] = {}
    for record in records:
        base = os.path.basename(str(record.get("file", "")))
        if record.get("name") is not None:
            by_name.setdefault((base, record["name"]), record)
        by_line.setdefault((base, record.get("line")), record)
    return by_name, by_line


def _summary(record: dict[str, Any]) -> str:
    findings = [
        f"{f.get('kind')}/{f.get('code')} where={f.get('where')!r} message={f.get('message')!r}"
        for f in record.get("findings", [])
    ]
    lines = [
        (
            f"record: class={record.get('class')!r} smoothness={record.get('smoothness')!r} "
            f"line={record.get('line')}"
        )
    ]
    if record.get("reason"):
        lines.append(f"reason: {record['reason']}")
    lines += [f"  finding: {text}" for text in findings] or ["  no findings"]
    return "\n".join(lines)


@pytest.mark.parametrize("row", _params())
def test_case(row: dict[str, Any] | None, run: Run) -> None:
    if row is None:
        pytest.fail(MISSING)
    by_name, by_line = _index(run.need_records())
    base = row["file"]
    record = by_name.get((base, row["name"])) if row.get("name") else None
    if record is None and row.get("line") is not None:
        record = by_line.get((base, row["line"]))
    assert record is not None, f"{_row_id(row)}: no record in the output of the command"

    kinds = {finding.get("kind") for finding in record.get("findings", [])}
    problems = []
    if record.get("class") != row["class"]:
        problems.append(f"class {record.get('class')!r}, expected {row['class']!r}")
    missing = set(row.get("kinds", [])) - kinds
    if missing:
        problems.append(f"missing kinds {sorted(missing)}")
    forbidden = set(row.get("forbid", [])) & kinds
    if forbidden:
        problems.append(f"forbidden kinds present {sorted(forbidden)}")
    assert not problems, f"{_row_id(row)}: " + "; ".join(problems) + "\n" + _summary(record)


def test_score_py_gives_full_marks(run: Run, tmp_path: Path) -> None:
    rows = _expected_rows()
    if rows is None or not SCORE.is_file():
        pytest.fail(MISSING)
    run.need_records()
    report = tmp_path / "report.json"
    report.write_text(run.stdout, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(SCORE), str(EXPECTED), str(report), "--show"],
        check=False,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    lines = proc.stdout.strip().splitlines()
    total = len(rows)
    assert lines and lines[-1] == f"score: {total}/{total} (100.0%)", proc.stdout + proc.stderr


def test_output_is_the_json_array_of_section_5(run: Run) -> None:
    """Shape of every record (§5) and exit status (errors.loss has syntax errors: status 1)."""
    records = run.need_records()
    if not records:
        pytest.fail("the command printed an empty array")
    rows = _expected_rows() or []
    if any(row["class"] == "invalid" for row in rows):
        assert run.returncode == 1, (
            f"exit status {run.returncode} with failing statements; stderr: {run.stderr[-800:]}"
        )
    else:
        assert run.returncode in (0, 1), f"exit status {run.returncode}; stderr: {run.stderr[-800:]}"

    order = [Path(arg).name for arg in run.command[6:]]
    last: tuple[int, int] = (-1, -1)
    for record in records:
        assert {"file", "name", "line", "wrt", "class", "findings"} <= record.keys(), record
        assert record["class"] in CLASSES, record
        assert isinstance(record["wrt"], list), record
        base = os.path.basename(str(record["file"]))
        assert base in order, f"record for a file that was not given: {record['file']!r}"
        position = (order.index(base), record["line"])
        assert position >= last, f"records are not in file order at {record['file']}:{record['line']}"
        last = position
        if record["class"] in ANALYSED:
            assert record.get("smoothness") in (-1, 0, 1, 2), record
        if record["class"] == "smooth":
            assert record["smoothness"] >= 1, f"smooth means C1: {record}"
        if record["class"] == "piecewise-differentiable":
            assert record["smoothness"] <= 0, f"piecewise-differentiable means not C1: {record}"
        for finding in record["findings"]:
            assert {"kind", "code", "severity", "message", "span"} <= finding.keys(), finding
            if finding["span"] is not None:
                assert set(finding["span"]) >= {"line", "column", "end_line", "end_column"}, finding


@pytest.mark.skipif(
    not SHARED_CASES.is_dir(), reason="no ../shared/cases beside the repository: the copy is the cases"
)
def test_the_copy_matches_the_shared_cases() -> None:
    shared = {path.name: path.read_bytes() for path in SHARED_CASES.iterdir() if path.is_file()}
    local = {path.name: path.read_bytes() for path in LOCAL_CASES.iterdir() if path.is_file()}
    assert local == shared, (
        "tests/acceptance_cases/ differs from ../shared/cases: copy the shared cases again"
    )
