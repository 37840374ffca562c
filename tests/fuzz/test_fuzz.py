"""The short fuzz run of the test suite: the properties of properties.py on generated input.

A few dozen examples each, derandomised so that CI is reproducible; the long, random run is
`python tests/fuzz/run_long.py`. A failure prints the input: add it under tests/regressions/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from conftest import ROOT
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from analyzer.atoms import table as atoms

from . import properties, strategies

# No explain phase: it traces every line of a failing example, which makes a deep one take hours.
SHORT = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
BUDGET = 1.0


@SHORT
@given(strategies.sources())
def test_valid_files_give_reports_within_budget_and_the_same_twice(text: str) -> None:
    reports = properties.analyse(text, BUDGET)
    properties.check_deterministic(text, reports, BUDGET)


@settings(SHORT, max_examples=40)
@given(strategies.hostile_texts())
def test_broken_text_gives_diagnostics_never_an_exception(text: str) -> None:
    properties.analyse(text, BUDGET)


@settings(SHORT, max_examples=10)
@given(strategies.deep_sources())
def test_deep_nesting_gives_a_report_or_a_clear_error(text: str) -> None:
    reports = properties.analyse(text, BUDGET)
    for report in reports:
        if report.classification == "invalid":
            assert report.findings[0].code in ("E001", "E004", "E005"), report.findings


@settings(SHORT, max_examples=25)
@given(strategies.file_bytes())
def test_kinks_check_on_any_bytes_exits_0_or_1_with_json(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        properties.check_command_line(data, Path(directory), BUDGET)


@settings(SHORT, max_examples=25)
@given(strategies.sources())
def test_generated_tensorflow_code_compiles(text: str) -> None:
    properties.check_generated_code(text)


def _sources(count: int) -> list[str]:
    texts: list[str] = []

    @settings(SHORT, max_examples=count, phases=[Phase.generate])
    @given(strategies.sources())
    def collect(text: str) -> None:
        texts.append(text)

    collect()
    return texts


def _check_in_a_process(directory: Path, hash_seed: str) -> list[dict]:
    environment = dict(os.environ, PYTHONHASHSEED=hash_seed)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analyzer",
            "check",
            "--format",
            "json",
            "--no-cache",
            "-j",
            "1",
            "--budget",
            str(BUDGET),
            str(directory),
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return json.loads(done.stdout)


def test_the_same_input_gives_the_same_output_in_another_process(tmp_path: Path) -> None:
    """Determinism across processes: Python's hash seed changes the order of sets and dicts of
    strings, which once changed the atom a K001 finding named."""
    for index, text in enumerate(_sources(30)):
        (tmp_path / f"case{index:02}.loss").write_text(text, encoding="utf-8")
    first, second = (_check_in_a_process(tmp_path, seed) for seed in ("1", "4242"))
    assert len(first) == len(second)
    for one, other in zip(first, second):
        timed_out = [
            record
            for record in (one, other)
            if record.get("class") == "unknown"
            and any(properties.cut_by_time(finding["message"]) for finding in record.get("findings", []))
        ]
        if not timed_out:
            assert one == other, f"{one.get('file')}: {json.dumps(one)}\n{json.dumps(other)}"


# ---------------------------------------------------------------- the generators themselves


@settings(SHORT, max_examples=300)
@given(st.data())
def test_the_generator_writes_text_that_parses(data: st.DataObject) -> None:
    """A generated file has no syntax error: the valid generator really is valid, so the fuzz of
    the analysis is not spent on the parser's error path."""
    from analyzer.language.parser import parse_source
    from analyzer.language.syntax import SyntaxProblem

    text = data.draw(strategies.sources())
    problems = [s for s in parse_source(text).statements if isinstance(s, SyntaxProblem)]
    assert not problems, f"{problems[0].message} in\n{text}"


def test_the_generator_draws_every_function_of_the_atom_table() -> None:
    """Every row and every spelling is reachable: the vocabulary is the atom table itself."""
    vocabulary = strategies.Vocabulary(names=("x",))
    assert vocabulary.rows == atoms.ATOMS
    spellings = {spelling for row in vocabulary.rows for spelling in row.spellings}
    assert spellings == set(atoms.ATOM_BY_NAME)


def test_the_mutator_breaks_text() -> None:
    """The broken generator does reach the parser's error path (and the lowering's)."""
    from analyzer.language.parser import parse_source
    from analyzer.language.syntax import SyntaxProblem

    def has_syntax_error(text: str) -> bool:
        return any(isinstance(s, SyntaxProblem) for s in parse_source(text).statements)

    broken = find(strategies.broken_sources(), has_syntax_error, settings=settings(SHORT, max_examples=200))
    assert has_syntax_error(broken)
