"""Numbers against every verdict on examples/: a symbolic claim that finite differences contradict is a bug.

For every definition in examples/:
- away from every switch (the states of all atoms agree at x and x +- h), SymPy's derivative of
  the body agrees with central finite differences of the value;
- a zero-gradient definition has a zero derivative at random points;
- at each reported kink, the left and right difference quotients along the witness direction differ;
- at each reported jump, the one-sided values differ.
The derivative check uses vectors of one entry, where the chain rule through reductions is exact.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from conftest import EXAMPLE_FILES

from analyzer import analyze_file
from analyzer.analysis.evaluate import Program
from analyzer.analysis.probe import Bound, region_from

REPORTS = [(path.name, report) for path in EXAMPLE_FILES for report in analyze_file(path)]


def _derivative(expr: sp.Expr, symbol: sp.Symbol) -> sp.Expr:
    # Zero-gradient atoms (floor, round, argmax, ...) have no derivative in SymPy's own terms.
    # DiracDelta is zero away from its point, which is where this check samples.
    derivative = sp.diff(expr, symbol)
    return derivative.replace(
        lambda node: isinstance(node, (sp.Derivative, sp.DiracDelta)), lambda node: sp.S.Zero
    )


def _sample(report, count: int, entries: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    condition = Program(sp.Piecewise((1, report.given), (0, True))) if report.given is not None else None
    region = region_from(report.given, report.params, condition)
    env = {}
    for name in report.params:
        if name in region.choices:
            env[name] = rng.choice(np.asarray(region.choices[name]), size=(count, entries))
            continue
        bound = region.bounds.get(name, Bound())
        lo = bound.lo if np.isfinite(bound.lo) else -3.0
        hi = bound.hi if np.isfinite(bound.hi) else 3.0
        env[name] = lo + (hi - lo) * (0.05 + 0.9 * rng.random((count, entries)))
    if condition is not None:
        holds, _ = condition.run(env, states=False)
        keep = np.all(np.broadcast_to(np.asarray(holds, dtype=float) > 0.5, (count, entries)), axis=1)
        env = {name: value[keep] for name, value in env.items()}
    return env


def _states_equal(states_a, states_b) -> np.ndarray:
    same = None
    for a, b in zip(states_a, states_b):
        a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
        here = np.all(a == b, axis=-1) if a.ndim > 1 else np.asarray(a == b).reshape(-1)
        same = here if same is None else same & here
    return same


def _as_rows(value, count: int) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    return (
        np.broadcast_to(array, (count,) + array.shape[1:])
        if array.ndim
        else np.full((count, 1), float(array))
    )


@pytest.mark.parametrize("file,report", REPORTS, ids=[f"{f}:{r.name}" for f, r in REPORTS])
def test_derivative_matches_finite_differences(file, report):
    assert report.classification not in ("invalid", "unknown"), report.findings
    body = report.expression
    program = Program(body)
    rng = np.random.default_rng(7)
    env = _sample(report, 400, 1, rng)
    count = len(next(iter(env.values())))
    assert count >= 20, "too few sample points inside the region"
    _value, states = program.run(env)
    # stop_gradient(...) is data: its contents stay at their value at the sample point.
    frozen = dict(zip(program.stop_slots, program.values_of(env, program.stop_slots)))
    checked = 0
    for name in report.wrt:
        symbol = sp.Symbol(name, real=True)
        derivative = Program(_derivative(body, symbol))
        exact, _ = derivative.run(env, states=False)
        h = 1e-6 * (1 + np.abs(env[name]))
        up = dict(env, **{name: env[name] + h})
        down = dict(env, **{name: env[name] - h})
        value_up, states_up = program.run(up, frozen)
        value_down, states_down = program.run(down, frozen)
        smooth_here = (
            _states_equal(states, states_up) & _states_equal(states, states_down)
            if states
            else np.ones(count, bool)
        )
        central = (_as_rows(value_up, count) - _as_rows(value_down, count)) / (2 * h)
        exact = _as_rows(exact, count)
        finite = np.all(np.isfinite(central), axis=1) & np.all(np.isfinite(exact), axis=1) & smooth_here
        difference = np.abs(central - exact)[finite]
        scale = 1 + np.abs(exact[finite])
        assert np.all(difference <= 1e-4 * scale), (
            f"{name}: SymPy's derivative and finite differences disagree by {difference.max():.3g}"
        )
        if report.classification == "zero-gradient":
            assert np.all(np.abs(exact[finite]) <= 1e-9), (
                f"{name}: nonzero derivative in a zero-gradient definition"
            )
        checked += int(np.sum(finite))
    assert checked > 0 or not report.wrt


KINKS_AND_JUMPS = [
    (file, report, finding)
    for file, report in REPORTS
    for finding in report.findings
    if finding.kind in ("kink", "discontinuity") and finding.witness is not None
]


def _along(program: Program, witness, steps: np.ndarray) -> np.ndarray:
    env = {
        name: np.asarray(point)[None, :] + steps[:, None] * np.asarray(witness.direction[name])[None, :]
        for name, point in witness.point.items()
    }
    value, _ = program.run(env)
    weights = 0.5 + np.arange(3) / 3
    array = _as_rows(value, len(steps))
    return array @ weights[: array.shape[1]] if array.shape[1] <= 3 else array.sum(axis=1)


@pytest.mark.parametrize(
    "file,report,finding",
    KINKS_AND_JUMPS,
    ids=[f"{f}:{r.name}:{x.kind}:{x.where}" for f, r, x in KINKS_AND_JUMPS],
)
def test_reported_kinks_and_jumps_are_real(file, report, finding):
    program = Program(report.expression)
    h = 1e-6
    values = _along(program, finding.witness, np.array([-2 * h, -h, h, 2 * h]))
    if finding.kind == "discontinuity":
        left = 2 * values[1] - values[0]
        right = 2 * values[2] - values[3]
        assert abs(right - left) > 1e-7 * (1 + abs(left)), f"no jump at the witness of {finding.where}"
    else:
        slope_left = (values[1] - values[0]) / h
        slope_right = (values[3] - values[2]) / h
        assert abs(slope_right - slope_left) > 1e-3 * (1 + abs(slope_left)), (
            f"no kink at the witness of {finding.where}"
        )


def test_every_example_kind_of_finding_is_checked():
    kinds = {finding.kind for _, _, finding in KINKS_AND_JUMPS}
    assert {"kink", "discontinuity"} <= kinds
