"""What keeps the probe's cost linear in the size of a body: cones and budgets.

A change of piece is located on the switches that change, computing only what they depend on (their
cone of the program), so it must give the states a run of the whole body gives. Judging a change
and checking a segment cost a run of the whole body each, so beyond fixed budgets they are sampled,
every kind of change first: the number of points at which the whole body is evaluated then stops
growing with the body. Counts, never times.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_scaling import generator

from analyzer import probe as probe_module
from analyzer.api import analyze_text
from analyzer.evaluate import Program
from analyzer.probe import _round_robin

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.loss"))


def _bodies() -> list[Any]:
    """The SymPy body of every example definition that has switches."""
    bodies = []
    for path in EXAMPLES:
        for report in analyze_text(path.read_text(encoding="utf-8"), str(path)):
            if report.expression is not None and Program(report.expression).switches:
                bodies.append(pytest.param(report.expression, id=f"{path.stem}:{report.name}"))
    return bodies


def _environment(program: Program, seed: int, count: int = 64, entries: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.normal(0.0, 1.5, (count, entries)) for name in program.symbols}


def _same(state: Any, other: Any, count: int) -> bool:
    """Equal states, whichever of them kept a broadcast axis of length one."""
    def rows(value: Any) -> np.ndarray:
        array = np.asarray(value)
        return array.reshape(count, -1) if array.ndim and array.shape[0] == count else array.reshape(1, -1)

    return bool(np.array_equal(*np.broadcast_arrays(rows(state), rows(other))))


@pytest.mark.parametrize("body", _bodies())
def test_states_from_a_cone_are_the_states_of_the_whole_body(body: Any) -> None:
    program = Program(body)
    env = _environment(program, seed=len(program.switches))
    _, everything = program.run(env)
    for index in range(len(program.switches)):
        (alone,) = program.states_of(env, [index])
        assert _same(alone, everything[index], 64), f"switch {index} ({program.switches[index].node})"
    backwards = list(range(len(program.switches)))[::-1]
    for index, state in zip(backwards, program.states_of(env, backwards)):
        assert _same(state, everything[index], 64), f"switch {index} ({program.switches[index].node})"


def test_a_piece_is_computed_without_its_branches() -> None:
    """Locating where a `where` changes must not compute the branches (the rest of the body)."""
    text = "f(x, y) wrt x = where(x > 1, exp(sin(y) * x) + cosh(x * y), log(1 + x^2) * tanh(y))\n"
    body = analyze_text(text)[0].expression
    program = Program(body)
    (where,) = [i for i, switch in enumerate(program.switches) if type(switch.node).__name__ == "Piecewise"]
    cone = program._cone_of_states((where,))
    assert len(cone) == 2, cone  # the comparison x > 1, and the piece chosen from it
    assert len(program._schedule) > 8


@pytest.mark.parametrize(("keys", "per_key", "total", "kept"), [
    (["a", "a", "a", "b"], 2, 10, [True, True, False, True]),  # at most two of each
    (["a", "a", "a", "b", "c"], 5, 3, [True, False, False, True, True]),  # every key once before any twice
    (["a", "b", "a", "b"], 1, 1, [True, False, False, False]),  # the budget binds first in order
    ([], 3, 3, []),
])
def test_round_robin_covers_every_key_before_any_twice(keys: list[str], per_key: int, total: int,
                                                       kept: list[bool]) -> None:
    assert _round_robin(keys, per_key, total) == kept


def _whole_body_points(text: str) -> int:
    """Points at which the whole body was evaluated while analysing `text`."""
    counted = 0
    original = Program._execute

    def counting(program: Program, env: Any, frozen: Any, schedule: Any) -> Any:
        nonlocal counted
        if schedule is program._schedule and env:
            counted += next(iter(env.values())).shape[0]
        return original(program, env, frozen, schedule)

    Program._execute = counting  # type: ignore[method-assign]
    try:
        (report,) = analyze_text(text, budget=1e6)
    finally:
        Program._execute = original  # type: ignore[method-assign]
    assert report.classification == "piecewise-differentiable"
    return counted


def test_whole_body_points_stop_growing_once_the_budgets_bind(monkeypatch: pytest.MonkeyPatch) -> None:
    """With small budgets, a sum of twice as many kinked terms is evaluated at about as many points
    (without them: twice as many changes to judge and segments to check, each on the whole body)."""
    monkeypatch.setattr(probe_module, "JUDGED_EVENTS", 16)
    monkeypatch.setattr(probe_module, "SEGMENTS_CHECKED", 32)
    counts = {nodes: _whole_body_points(generator.sized_definition("sum", nodes)) for nodes in (200, 400, 800)}
    assert counts[400] <= 1.15 * counts[200], counts
    assert counts[800] <= 1.15 * counts[400], counts


def test_without_budgets_binding_every_kind_of_change_is_judged() -> None:
    """The budgets are far above what a realistic definition needs: nothing of it is sampled."""
    seen: list[int] = []
    original = probe_module._round_robin

    def recording(keys: Any, per_key: int, total: int) -> list[bool]:
        kept = original(keys, per_key, total)
        untaken = [key for key, taken in zip(keys, kept) if not taken]
        # what is left out is only what the per-kind limit leaves out, never the total
        assert sum(kept) < total or not untaken
        seen.append(len(keys))
        return kept

    probe_module._round_robin = recording  # type: ignore[assignment]
    try:
        for path in EXAMPLES:
            analyze_text(path.read_text(encoding="utf-8"), str(path))
    finally:
        probe_module._round_robin = original  # type: ignore[assignment]
    assert seen and max(seen) < probe_module.JUDGED_EVENTS


@pytest.mark.parametrize("path", EXAMPLES[:3], ids=lambda path: path.stem)
def test_running_the_body_in_chunks_changes_nothing(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large body at many points is run in chunks of points (memory): the reports are the same
    as from whole runs, down to the findings and where they are."""
    def summary() -> list[Any]:
        return [(report.name, report.classification, [(f.code, f.where, f.message) for f in report.findings])
                for report in analyze_text(path.read_text(encoding="utf-8"), str(path))]

    whole = summary()
    monkeypatch.setattr(probe_module, "ELEMENTS_PER_RUN", 4096)
    assert summary() == whole
