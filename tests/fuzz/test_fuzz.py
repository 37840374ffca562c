"""The short fuzz run of the test suite: the properties of properties.py on generated input.

A few dozen examples each, derandomised so that CI is reproducible; the long, random run is
`python tests/fuzz/run_long.py`. A failure prints the input: add it under tests/regressions/.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from analyzer import atoms

from . import properties, strategies

SHORT = settings(
    max_examples=40, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
BUDGET = 1.0


@SHORT
@given(strategies.sources())
def test_valid_files_give_reports_within_budget_and_the_same_twice(text: str) -> None:
    reports = properties.analyse(text, BUDGET)
    properties.check_deterministic(text, reports, BUDGET)


@settings(SHORT, max_examples=80)
@given(strategies.hostile_texts())
def test_broken_text_gives_diagnostics_never_an_exception(text: str) -> None:
    properties.analyse(text, BUDGET)


@settings(SHORT, max_examples=15)
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


@pytest.mark.skipif(properties.tensorflow_generator() is None, reason="kinks tf is not in this tree")
@settings(SHORT, max_examples=25)
@given(strategies.sources())
def test_generated_tensorflow_code_compiles(text: str) -> None:
    properties.check_generated_code(text)


# ---------------------------------------------------------------- the generators themselves


@settings(SHORT, max_examples=300)
@given(st.data())
def test_the_generator_writes_text_that_parses(data: st.DataObject) -> None:
    """A generated file has no syntax error: the valid generator really is valid, so the fuzz of
    the analysis is not spent on the parser's error path."""
    from analyzer.parser import parse_source
    from analyzer.syntax import SyntaxProblem

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
    from analyzer.parser import parse_source
    from analyzer.syntax import SyntaxProblem

    def has_syntax_error(text: str) -> bool:
        return any(isinstance(s, SyntaxProblem) for s in parse_source(text).statements)

    broken = find(strategies.broken_sources(), has_syntax_error, settings=settings(SHORT, max_examples=200))
    assert has_syntax_error(broken)
