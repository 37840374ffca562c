"""The cost of an analysis grows linearly with the work: a guard that counts, never times.

Work is measured as the number of Python-level calls made while analysing (cProfile's call count):
every SymPy operation, every visit of a node by the lowering, the symbolic pass and the compiler,
every run of the numeric program. Counts do not depend on the machine or its load, so the bound
can be tight enough to catch a quadratic pass (a doubling that costs four times as much) and loose
enough never to flake: each doubling may cost at most GROWTH times as much.

The inputs are the seeded generators of the benchmarks (benchmarks/corpus.py), where a larger size
extends a smaller one. The timed measurements are in docs/benchmarks.md; the numeric work of the
probe (NumPy, which these counts do not see) is guarded by tests/test_probe_budgets.py.
"""

from __future__ import annotations

import cProfile
import importlib.util
import itertools
import sys
from types import ModuleType
from typing import Any

import pytest
from conftest import BENCHMARKS
from sympy.core.cache import clear_cache

from analyzer.analysis import evaluate as evaluate_module
from analyzer.analysis.api import analyze_text
from analyzer.analysis.compose import compose
from analyzer.analysis.evaluate import Program
from analyzer.analysis.lowering import FileContext, Lowerer
from analyzer.language.parser import parse_source

GROWTH = 2.5  # the target is 2.2 in time; a quadratic pass would show 4
SHRINK_GUARD = 1.5  # a doubling of linear work shows about 2; far less means the input was not analysed
NO_DEADLINE = 1e6  # the budget is a time: with it out of the way, the counts are deterministic


def _load_generator() -> ModuleType:
    path = BENCHMARKS / "corpus.py"
    spec = importlib.util.spec_from_file_location("kinks_benchmark_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


def _calls(action: Any) -> int:
    """Python-level calls made by `action()`, starting from an empty SymPy cache (and an empty
    cache of the derivative programs the evaluator compiles per function class)."""
    clear_cache()
    evaluate_module._DERIVATIVES.clear()
    profile = cProfile.Profile()
    profile.enable()
    try:
        action()
    finally:
        profile.disable()
    profile.create_stats()
    return sum(entry[1] for entry in profile.stats.values())  # type: ignore[attr-defined]


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    # The parser is built once per process: keep that out of the first count.
    analyze_text("warm_up(y, p) wrt p = mean(abs(y - p))\n", "warm_up.loss")


def _assert_linear(counts: dict[int, int]) -> None:
    """Each size is twice the one before: each doubling may cost at most GROWTH times the work, and
    at least SHRINK_GUARD times (less would mean the larger input was not analysed at all)."""
    sizes = sorted(counts)
    assert len(sizes) >= 3, f"a growth needs at least three sizes: {counts}"
    for small, large in itertools.pairwise(sizes):
        assert large == 2 * small
        ratio = counts[large] / counts[small]
        assert ratio >= SHRINK_GUARD, (
            f"from {small} to {large} the work grew only {ratio:.2f} times: {counts}"
        )
        assert ratio <= GROWTH, (
            f"from {small} to {large} the work grew {ratio:.2f} times (at most {GROWTH}): {counts}"
        )


def _decided(reports: list[Any], expected: int) -> None:
    """Every definition was analysed to a verdict: an invalid or undecided one is cheap, and a
    series of cheap ones would pass the guard without measuring anything."""
    assert len(reports) == expected
    undecided = [
        (report.name, report.classification)
        for report in reports
        if report.classification in ("invalid", "unknown")
    ]
    assert not undecided, undecided


@pytest.mark.parametrize(
    "counts",
    [
        {100: 10_000, 200: 40_000, 400: 160_000},  # quadratic
        {100: 10_000, 200: 26_000, 400: 70_000},  # 2.6 and 2.7 per doubling: just past the bound
        {100: 10_000, 200: 10_500, 400: 11_000},  # the input did not grow the work: nothing measured
    ],
)
def test_the_guard_rejects_what_is_not_linear(counts: dict[int, int]) -> None:
    with pytest.raises(AssertionError):
        _assert_linear(counts)


def test_work_grows_linearly_with_the_file() -> None:
    """Copies of the same ten definitions under other names: only the size of the file changes."""
    counts = {}
    for copies in (2, 4, 8):
        text = generator.repeated_corpus(copies, block=10, seed=1000)
        reports: list[Any] = []
        counts[copies] = _calls(
            lambda text=text, reports=reports: reports.extend(
                analyze_text(text, "file.loss", budget=NO_DEADLINE)
            )
        )
        _decided(reports, 10 * copies)
    # The copies share their bodies, so some of the work is done once for all of them (SymPy's
    # cache keeps the derivatives that certify a flat piece): the work is linear with a constant
    # part, and what a doubling adds must double.
    added = counts[8] - counts[4], counts[4] - counts[2]
    assert SHRINK_GUARD <= added[0] / added[1] <= GROWTH, counts


def test_work_grows_linearly_with_a_sum_of_terms() -> None:
    counts = {}
    for nodes in (100, 200, 400):
        text = generator.sized_definition("sum", nodes)
        reports: list[Any] = []
        counts[nodes] = _calls(
            lambda text=text, reports=reports: reports.extend(
                analyze_text(text, "sum.loss", budget=NO_DEADLINE)
            )
        )
        _decided(reports, 1)
    _assert_linear(counts)


@pytest.mark.parametrize("family", ["composition", "where"])
def test_compiling_and_composing_a_deep_body_is_linear(family: str) -> None:
    """The passes over the SymPy body visit each node once, however deep it is (asking SymPy
    whether each node is a number walked its whole subtree: size times depth)."""
    counts = {}
    for nodes in (150, 300, 600) if family == "where" else (100, 200, 400):
        definition = parse_source(generator.sized_definition(family, nodes)).statements[0]
        body = Lowerer(FileContext(), definition.name).definition(definition).body
        counts[nodes] = _calls(lambda body=body: (Program(body), compose(body)))
    _assert_linear(counts)
