"""A numeric oracle for the classifier: does a verdict agree with the numbers?

It shares no judgement or numerics with the engine: it evaluates bodies with its own evaluator
(tests/fuzz/evaluator.py) and reads the bounds written in `given` itself; everything it concludes
comes from its own samples, step sizes and tolerances:

- `smooth`: SymPy's derivative of the body (custom classes define `fdiff`; `Derivative` of a
  zero-gradient atom and `DiracDelta` are 0 away from their points) agrees with central finite
  differences at random points where no atom changes piece between x - h and x + h (vectors of one
  entry, where the chain rule through reductions is exact). And along random lines through the
  region (vectors of three entries), at every point where an atom changes piece, the one-sided
  values and slopes of the body agree (C1: no jump, no kink).
- `zero-gradient`: finite differences of the body in every entry of every `wrt` parameter are zero
  at random points.
- every reported kink (jump): at the finding's witness, along its direction, the one-sided slopes
  (values) differ, at step sizes the probe does not use, and stably as the step shrinks.

A disagreement is returned, not raised: the caller decides (the tests fail, the long run records).

High precision: bodies are evaluated by tests/fuzz/evaluator.py (its own float64 and mpmath code,
nothing of the engine's). Every change of piece float64 doubts or calls a jump or kink, one of
each switch it calls agreeing (at most MP_JUDGEMENTS per definition), and every finding float64
denies are located and judged again in mpmath at 60 digits (one-sided steps 1e-13 to 1e-25 of
the point's size); a disagreement stands only if mpmath confirms it. The long campaign:

    python tests/fuzz/run_long.py --part oracle --cases 5000 --seed 41
    python tests/fuzz/run_long.py --part scaled --cases 5000 --seed 41
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from analyzer.analysis.report import PIECEWISE, SMOOTH, ZERO_GRADIENT, Finding, Report
from analyzer.atoms.table import is_flat_atom, row_for

from .evaluator import Body as Program
from .evaluator import MultiPrecision
from .evaluator import Unsupported as EvaluationError

ENTRIES = 3  # vector size for the line checks, as the analysis uses
POINTS = 300  # random points for the derivative checks
LINES = 24
GRID = 97
FAR_GRID = 121
WIDE = 3e4  # lines reach this far: the shifts of the metamorphic tests go to 1e4
BISECTIONS = 64  # to adjacent floats on any line the checks draw
# One-sided step sizes: none is a power of ten, so none is a step the probe uses.
# One-sided step sizes, relative to the size of the point (1 + |t|): none is a power of ten or
# of two, so none is a step the probe uses; the finest are below what float64 resolves far from
# the origin, and the judge drops the levels that rounding drowns.
SIDE_STEPS = (3.1e-3, 4.3e-4, 5.7e-5, 7.9e-6, 1.1e-6, 1.3e-7, 1.7e-8, 2.3e-9, 3.1e-10)
WITNESS_STEPS = (2.3e-4, 3.1e-5, 4.7e-6, 6.1e-7, 8.3e-8, 1.1e-8, 1.3e-9, 1.9e-10, 2.9e-11)
DERIVATIVE_TOLERANCE = 1e-4  # relative to the derivative's own size
ROUNDING = 256  # units in the last place a value may carry from a body's arithmetic


@dataclass(frozen=True, slots=True)
class Disagreement:
    kind: str  # "derivative", "zero-gradient", "smooth-but-kink", "smooth-but-jump", "kink", "discontinuity"
    message: str
    point: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        where = f" at {dict(self.point)}" if self.point else ""
        return f"{self.kind}: {self.message}{where}"


@dataclass(slots=True)
class Verdict:
    """What the oracle checked for one report, and what disagreed."""

    checked: int = 0  # points, change points and witnesses compared
    disagreements: list[Disagreement] = field(default_factory=list)
    skipped: str | None = None  # why nothing could be checked


def check(report: Report, seed: int = 0) -> Verdict:
    """Compare one analysed report with the numbers."""
    verdict = Verdict()
    if report.classification not in (SMOOTH, PIECEWISE, ZERO_GRADIENT) or not isinstance(
        report.expression, sp.Basic
    ):
        verdict.skipped = f"class {report.classification}"
        return verdict
    try:
        program = Program(report.expression)
    except EvaluationError as error:
        verdict.skipped = f"cannot evaluate the body: {error}"
        return verdict
    rng = np.random.default_rng(seed)
    sampler = _Sampler(report, rng)
    wrt = [name for name in report.wrt if name in report.params]
    if report.classification == SMOOTH:
        for name in wrt:
            _check_derivative(report, program, sampler, name, verdict)
        _check_lines_are_c1(program, sampler, wrt, verdict)
    elif report.classification == ZERO_GRADIENT:
        _check_zero_gradient(program, sampler, wrt, verdict)
    for finding in report.findings:
        if finding.kind in ("kink", "discontinuity") and finding.witness is not None:
            _check_witness(program, finding, verdict)
    return verdict


# ---------------------------------------------------------------- sampling the region


@dataclass(frozen=True, slots=True)
class Bound:
    lo: float = -math.inf
    hi: float = math.inf


@dataclass(slots=True)
class Region:
    """Bounds and finite sets read off the simple parts of `given`; the whole condition is also
    checked at every point, so these only steer the sampling."""

    bounds: dict[str, Bound] = field(default_factory=dict)
    choices: dict[str, tuple[float, ...]] = field(default_factory=dict)


def region_of(given: Any) -> Region:
    region = Region()
    if given is None:
        return region
    for part in given.args if isinstance(given, sp.And) else (given,):
        if isinstance(part, sp.Or) and all(isinstance(a, sp.Eq) for a in part.args):
            names = {a.lhs.name for a in part.args if isinstance(a.lhs, sp.Symbol)}
            if len(names) == 1 and all(a.rhs.is_number for a in part.args):
                region.choices[names.pop()] = tuple(float(a.rhs) for a in part.args)
        elif isinstance(part, sp.Eq) and isinstance(part.lhs, sp.Symbol) and part.rhs.is_number:
            region.choices[part.lhs.name] = (float(part.rhs),)
        elif isinstance(part, (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)):
            small, large = (
                (part.lhs, part.rhs)
                if isinstance(part, (sp.StrictLessThan, sp.LessThan))
                else (
                    part.rhs,
                    part.lhs,
                )
            )
            if isinstance(large, sp.Symbol) and small.is_number and small.is_finite is not False:
                bound = region.bounds.get(large.name, Bound())
                region.bounds[large.name] = Bound(max(bound.lo, float(small)), bound.hi)
            elif isinstance(small, sp.Symbol) and large.is_number and large.is_finite is not False:
                bound = region.bounds.get(small.name, Bound())
                region.bounds[small.name] = Bound(bound.lo, min(bound.hi, float(large)))
    return region


class _Sampler:
    def __init__(self, report: Report, rng: np.random.Generator):
        self.params = list(report.params)
        self.rng = rng
        self.condition = (
            Program(sp.Piecewise((1, report.given), (0, True))) if report.given is not None else None
        )
        self.region = region_of(report.given)

    def bound(self, name: str) -> Bound:
        return self.region.bounds.get(name, Bound())

    def points(self, count: int, entries: int) -> dict[str, np.ndarray]:
        """Random points of the region (the simple bounds drawn, the rest of `given` filtered)."""
        env = {}
        for name in self.params:
            if name in self.region.choices:
                env[name] = self.rng.choice(
                    np.asarray(self.region.choices[name], dtype=float), size=(count, entries)
                )
                continue
            bound = self.bound(name)
            lo = (
                bound.lo if math.isfinite(bound.lo) else (bound.hi - 6.0 if math.isfinite(bound.hi) else -3.0)
            )
            hi = bound.hi if math.isfinite(bound.hi) else max(lo + 6.0, 3.0)
            env[name] = lo + (hi - lo) * (0.03 + 0.94 * self.rng.random((count, entries)))
        keep = self.inside(env, count)
        return {name: value[keep] for name, value in env.items()}

    def inside(self, env: Mapping[str, np.ndarray], count: int, backend: Any = None) -> np.ndarray:
        if self.condition is None:
            return np.ones(count, dtype=bool)
        if backend is None:
            holds, _ = self.condition.run(env, states=False)
        else:
            holds, _ = self.condition.run(env, backend=backend, states=False)
            holds = backend.to_float(holds)
        return np.all(_rows(holds, count) > 0.5, axis=1)


def _rows(value: Any, count: int) -> np.ndarray:
    """Any evaluated value as an array of shape (count, k)."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return np.full((count, 1), float(array))
    if array.ndim == 1 and array.shape[0] != count:
        array = array[None, :]  # one row of entries for every point (a one-hot of a number)
    if array.shape[0] != count:
        array = np.broadcast_to(array, (count,) + array.shape[1:])
    return array.reshape(count, -1)


def _signature(states: Sequence[Any], count: int) -> np.ndarray:
    """Every switch's state at every point, side by side: equal rows mean the same pieces."""
    if not states:
        return np.zeros((count, 1), dtype=np.int64)
    return np.concatenate([np.asarray(_rows(state, count), dtype=np.int64) for state in states], axis=1)


def _frozen(program: Program, env: Mapping[str, np.ndarray]) -> dict[int, Any]:
    """stop_gradient contents held at their value at `env` (data for the gradient)."""
    if not program.stop_slots:
        return {}
    return dict(zip(program.stop_slots, program.values_of(env, program.stop_slots)))


# ---------------------------------------------------------------- smooth: derivative


def symbolic_derivative(expr: Any, symbol: sp.Symbol) -> Any:
    """SymPy's derivative, with the parts that are zero away from switch points set to zero.

    `Mod(a, m)` is differentiated as `a - m * floor(a / m)` (SymPy leaves it unevaluated). The
    derivative of a zero-gradient atom (floor, sign, argmax, ...) is 0 almost everywhere, and so is
    `DiracDelta`; any other unevaluated `Derivative` stays, and the caller cannot evaluate it.
    """
    expr = expr.replace(
        lambda node: isinstance(node, sp.Mod),
        lambda node: node.args[0] - node.args[1] * sp.floor(node.args[0] / node.args[1]),
    )
    derivative = sp.diff(expr, symbol)

    def vanishes(node: Any) -> bool:
        if isinstance(node, sp.DiracDelta):
            return True
        if isinstance(node, sp.Derivative):
            row = row_for(node.expr)
            return row is not None and is_flat_atom(row)
        return False

    derivative = derivative.replace(vanishes, lambda node: sp.S.Zero)
    return derivative.replace(lambda node: isinstance(node, sp.Subs), lambda node: node.doit())


def _check_derivative(
    report: Report, program: Program, sampler: _Sampler, name: str, verdict: Verdict
) -> None:
    try:
        derivative = Program(symbolic_derivative(report.expression, sp.Symbol(name, real=True)))
    except (EvaluationError, TypeError, ValueError, NotImplementedError, ArithmeticError) as error:
        verdict.skipped = f"no derivative to compare with: {error}"
        return
    env = sampler.points(POINTS, 1)
    count = len(env[name]) if name in env else 0
    if count == 0:
        return
    frozen = _frozen(program, env)
    value, states = program.run(env, frozen)
    center = _signature(states, count)
    exact = _rows(derivative.run(env, states=False)[0], count)
    estimates = []
    stable = np.ones(count, dtype=bool)
    for scale in (1e-6, 1.25e-7):
        h = scale * (1 + np.abs(env[name]))
        up = dict(env, **{name: env[name] + h})
        down = dict(env, **{name: env[name] - h})
        value_up, states_up = program.run(up, frozen)
        value_down, states_down = program.run(down, frozen)
        stable &= np.all(_signature(states_up, count) == center, axis=1)
        stable &= np.all(_signature(states_down, count) == center, axis=1)
        estimates.append((_rows(value_up, count) - _rows(value_down, count)) / (2 * h))
    size = np.abs(_rows(value, count))
    coarse, fine = estimates
    usable = stable[:, None] & np.isfinite(coarse) & np.isfinite(fine) & np.isfinite(exact)
    # a value that does not move in float64 over the step (sigmoid(1e4 * y) far out, computed
    # with absolute rounding) tells nothing about the derivative
    usable &= (coarse != 0) & (fine != 0)
    # Relative to the derivative itself and to the slopes this body has at all (a hundred-thousandth
    # of their median), plus what rounding of the values does to a difference quotient: no
    # absolute floor, so scaling the body or its variables changes nothing.
    exact = (
        np.broadcast_to(exact, coarse.shape) if exact.shape != coarse.shape and exact.shape[1] == 1 else exact
    )
    if exact.shape != coarse.shape:
        return  # a derivative of another shape than the body (an output made longer by one_hot)
    usable = usable & np.isfinite(exact)
    # a body that moves by more than a hundredth of its size over the step is not resolved by it
    # (cos(exp(exp(exp(exp(p))))) turns many times within one step): no difference quotient there
    h_coarse = 1e-6 * (1 + np.abs(env[name]))
    usable &= np.abs(exact) * h_coarse <= 1e-2 * np.abs(_rows(value, count))
    typical = float(np.median(np.abs(exact[usable]))) if np.any(usable) else 0.0
    h_fine = 1.25e-7 * (1 + np.abs(env[name]))
    tolerance = (
        DERIVATIVE_TOLERANCE * np.abs(exact) + 1e-5 * typical + ROUNDING * np.finfo(float).eps * size / h_fine
    )
    # A disagreement must survive a smaller step: both estimates off, and agreeing with each other.
    converged = np.abs(coarse - fine) <= tolerance
    wrong = usable & converged & (np.abs(coarse - exact) > tolerance) & (np.abs(fine - exact) > tolerance)
    verdict.checked += int(np.sum(np.any(usable, axis=1)))
    if np.any(wrong):
        row = int(np.nonzero(np.any(wrong, axis=1))[0][0])
        column = int(np.nonzero(wrong[row])[0][0])
        verdict.disagreements.append(
            Disagreement(
                "derivative",
                f"d/d{name}: SymPy says {exact[row, column]:.6g}, finite differences {fine[row, column]:.6g}",
                {key: float(value[row, 0]) for key, value in env.items()},
            )
        )


# ---------------------------------------------------------------- zero gradient


def _check_zero_gradient(program: Program, sampler: _Sampler, wrt: Sequence[str], verdict: Verdict) -> None:
    env = sampler.points(POINTS // 3, ENTRIES)
    if not env or not wrt or len(next(iter(env.values()))) == 0:
        return
    count = len(next(iter(env.values())))
    frozen = _frozen(program, env)
    value, states = program.run(env, frozen)
    center = _signature(states, count)
    size = np.abs(_rows(value, count))
    for name in wrt:
        for entry in range(ENTRIES):
            h = 1e-5 * (1 + np.abs(env[name][:, entry]))
            sides = []
            stable = np.ones(count, dtype=bool)
            for sign in (1.0, -1.0):
                moved = env[name].copy()
                moved[:, entry] += sign * h
                shifted_value, shifted_states = program.run(dict(env, **{name: moved}), frozen)
                stable &= np.all(_signature(shifted_states, count) == center, axis=1)
                sides.append(_rows(shifted_value, count))
            gradient = (sides[0] - sides[1]) / (2 * h[:, None])
            usable = stable[:, None] & np.isfinite(gradient) & np.isfinite(size)
            # a piecewise-constant body's difference quotient is exactly zero up to rounding
            rounding = (
                ROUNDING * np.finfo(float).eps * np.maximum(np.abs(sides[0]), np.abs(sides[1])) / h[:, None]
            )
            nonzero = usable & (np.abs(gradient) > rounding)
            verdict.checked += int(np.sum(np.any(usable, axis=1)))
            if np.any(nonzero):
                row = int(np.nonzero(np.any(nonzero, axis=1))[0][0])
                verdict.disagreements.append(
                    Disagreement(
                        "zero-gradient",
                        f"the gradient in {name}[{entry}] is {gradient[row][nonzero[row]][0]:.6g}, not zero",
                        {key: [float(v) for v in value_[row]] for key, value_ in env.items()},
                    )
                )
                return


# ---------------------------------------------------------------- smooth: C1 along lines


@dataclass(slots=True)
class _Lines:
    base: dict[str, np.ndarray]
    direction: dict[str, np.ndarray]
    lo: np.ndarray
    hi: np.ndarray
    far_lo: np.ndarray  # the same lines out to WIDE on each side (inside the region)
    far_hi: np.ndarray

    def env(self, ids: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        return {name: self.base[name][ids] + t[:, None] * self.direction[name][ids] for name in self.base}

    def point(self, line: int, t: float) -> dict[str, list[float]]:
        return {
            name: [float(v) for v in self.base[name][line] + t * self.direction[name][line]]
            for name in self.base
        }


def _lines(sampler: _Sampler, wrt: Sequence[str]) -> _Lines | None:
    base = sampler.points(LINES * 4, ENTRIES)
    count = len(next(iter(base.values()))) if base else 0
    if count == 0:
        return None
    count = min(count, LINES)
    base = {name: value[:count] for name, value in base.items()}
    direction = {}
    for name in base:
        moves = name in wrt and name not in sampler.region.choices
        direction[name] = sampler.rng.normal(size=(count, ENTRIES)) if moves else np.zeros((count, ENTRIES))
    norm = np.sqrt(sum(np.sum(d * d, axis=1) for d in direction.values()))
    norm = np.where(norm > 0, norm, 1.0)
    direction = {name: d / norm[:, None] for name, d in direction.items()}
    lo, hi = np.full(count, -6.0), np.full(count, 6.0)
    far_lo, far_hi = np.full(count, -WIDE), np.full(count, WIDE)
    for name in wrt:
        bound = sampler.bound(name)
        d, b = direction[name], base[name]
        with np.errstate(divide="ignore", invalid="ignore"):
            for edge in (bound.lo, bound.hi):
                if math.isfinite(edge):
                    cut = (edge - b) / d
                    below = np.max(np.where(cut < 0, cut, -np.inf), axis=1)
                    above = np.min(np.where(cut > 0, cut, np.inf), axis=1)
                    lo, far_lo = np.maximum(lo, below), np.maximum(far_lo, below)
                    hi, far_hi = np.minimum(hi, above), np.minimum(far_hi, above)
    return _Lines(base, direction, lo, hi, far_lo, far_hi)


class _LineView:
    """The body along lines: values per output entry, switch signature, inside-the-region flag."""

    def __init__(self, program: Program, sampler: _Sampler, lines: _Lines):
        self.program, self.sampler, self.lines = program, sampler, lines
        zero = np.zeros(len(lines.lo))
        self.frozen = _frozen(program, lines.env(np.arange(len(lines.lo)), zero))

    def __call__(
        self, ids: np.ndarray, t: np.ndarray, backend: Any = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        env = self.lines.env(ids, t)
        frozen = {slot: _take(value, ids) for slot, value in self.frozen.items()}
        count = len(t)
        if backend is None:
            value, states = self.program.run(env, frozen)
            values = _rows(value, count)
            inside = np.all(np.isfinite(values), axis=1) & self.sampler.inside(env, count)
            return values, _signature(states, count), inside
        value, states = self.program.run(env, frozen, backend=backend)
        values = _object_rows(value, count)
        finite = np.all(np.isfinite(backend.to_float(values)), axis=1)
        return values, _signature(states, count), finite & self.sampler.inside(env, count, backend)


def _take(value: Any, ids: np.ndarray) -> Any:
    array = np.asarray(value)
    if array.ndim and array.shape[0] > int(np.max(ids, initial=0)):
        return array[ids]
    return array


def _check_lines_are_c1(program: Program, sampler: _Sampler, wrt: Sequence[str], verdict: Verdict) -> None:
    if not program.switches or not wrt:
        return
    lines = _lines(sampler, wrt)
    if lines is None:
        return
    view = _LineView(program, sampler, lines)
    count = len(lines.lo)
    fractions = np.linspace(0.0, 1.0, GRID) + 0.2360679 / GRID  # off the special points t == 0
    near = lines.lo[:, None] + (lines.hi - lines.lo)[:, None] * np.clip(fractions, 0, 1)[None, :]
    # and out to WIDE on a sinh-spaced grid, for features far from the origin (x == 1e4)
    spread = np.sinh(np.linspace(-1.0, 1.0, FAR_GRID) * math.asinh(WIDE)) + 0.1180339
    far = np.clip(spread[None, :], lines.far_lo[:, None], lines.far_hi[:, None])
    t = np.sort(np.concatenate([near, far], axis=1), axis=1)
    points = t.shape[1]
    ids = np.repeat(np.arange(count), points)
    grid_values, signature, inside = view(ids, t.reshape(-1))
    signature = signature.reshape(count, points, -1)
    inside = inside.reshape(count, points)
    grid_values = grid_values.reshape(count, points, -1)
    finite = np.where(np.isfinite(grid_values) & inside[:, :, None], grid_values, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        spreads = np.nan_to_num(np.nanmax(finite, axis=1) - np.nanmin(finite, axis=1))
    changes = np.any(signature[:, 1:] != signature[:, :-1], axis=2) & inside[:, 1:] & inside[:, :-1]
    rows, columns = np.nonzero(changes)
    if len(rows) == 0:
        return
    rows, columns = rows[:200], columns[:200]
    a, b = t[rows, columns], t[rows, columns + 1]
    _, left_signature, _ = view(rows, a)
    for _ in range(BISECTIONS):
        middle = 0.5 * (a + b)
        _, middle_signature, _ = view(rows, middle)
        same = np.all(middle_signature == left_signature, axis=1)
        a, b = np.where(same, middle, a), np.where(same, b, middle)
    judged = []
    for index, (row, tau) in enumerate(zip(rows, 0.5 * (a + b))):
        size = (
            1.0
            + abs(float(tau))
            + max(float(np.max(np.abs(value[int(row)]))) for value in lines.base.values())
        )
        uncertainty = float(b[index] - a[index]) + 4 * np.finfo(float).eps * size
        kind = _one_sided(
            view,
            int(row),
            float(tau),
            tuple(step * size for step in SIDE_STEPS),
            uncertainty,
            size,
            spreads[int(row)],
        )
        changed = tuple(
            np.nonzero(signature[int(row), columns[index]] != signature[int(row), columns[index] + 1])[0]
        )
        judged.append((index, int(row), float(tau), size, kind, changed))
    # In high precision: every change point float64 doubts (or calls a jump or kink), and one
    # change point of each switch float64 calls agreeing, so that float64 rounding can neither
    # fake a jump or kink nor hide one; float64 alone judges the rest.
    doubtful = [entry for entry in judged if entry[4] != "agree"]
    doubtful.sort(key=lambda entry: entry[4] not in ("jump", "kink"))
    sample, seen = [], set()
    for entry in judged:
        if entry[4] == "agree" and entry[5] not in seen:
            seen.add(entry[5])
            sample.append(entry)
    for count, (index, row, tau, size, kind, _) in enumerate(doubtful + sample):
        if count >= MP_JUDGEMENTS:
            break
        precise = _mp_change_point(view, row, float(a[index]), float(b[index]), size)
        if precise == "rounding":
            continue
        if precise is not None:
            kind = precise
        elif kind == "agree":
            continue
        if kind is None:
            continue
        verdict.checked += 1
        if kind in ("jump", "kink"):
            verdict.disagreements.append(
                Disagreement(
                    f"smooth-but-{kind}",
                    f"the one-sided {'values' if kind == 'jump' else 'slopes'} differ where an atom changes piece",
                    {
                        "point": lines.point(row, tau),
                        "direction": {
                            name: [float(v) for v in lines.direction[name][row]] for name in lines.direction
                        },
                    },
                )
            )
            return
    verdict.checked += sum(1 for entry in judged[MP_JUDGEMENTS:] if entry[4] is not None)


# ---------------------------------------------------------------- one-sided data in high precision

MP = MultiPrecision(60)
MP_JUDGEMENTS = 10  # change points per definition judged in mpmath
# One-sided steps relative to the size of the point: at 60 digits the finest still leaves 35
# digits for a slope, and each is 1e4 below the last, so a difference that holds is a jump or a
# kink and one that shrinks with the step is an error of the estimate.
MP_STEPS = (1e-13, 1e-17, 1e-21, 1e-25)
MP_BRACKET = 1e-48  # a switch is located to this, relative to the size of the point
MP_SECTIONS = 32
MP_STEADY = 1e-6  # a jump or kink is the same, to this fraction, at the three finest steps
MP_VANISHING = 0.1  # and a difference that is an estimate's error falls by this at each step


def _mp(values: Sequence[Any]) -> np.ndarray:
    with mpmath.workdps(MP.dps):
        return np.asarray([mpmath.mpf(value) for value in values], dtype=object)


def _object_rows(value: Any, count: int) -> np.ndarray:
    """An evaluated value as an array of shape (count, k), of whatever dtype it has."""
    array = np.asarray(value)
    if array.ndim == 0:
        array = np.full((count, 1), array.item(), dtype=array.dtype)
    if array.ndim == 1 and array.shape[0] != count:
        array = array[None, :]
    if array.shape[0] != count:
        array = np.broadcast_to(array, (count,) + array.shape[1:])
    if array.dtype == bool:
        array = np.asarray(array, dtype=np.int64)
    return MP.array(array.reshape(count, -1))


def _mp_locate(view: Any, line: int, a: Any, b: Any, size: float) -> tuple[Any, Any] | str | None:
    """The switch between t == a and t == b (floats, which float64 rounding may have put a few
    units off) located in mpmath to MP_BRACKET: the first change of signature from a's side."""
    with mpmath.workdps(MP.dps):
        ids = np.full(2, line)
        # widened step by step: float64 may have put the switch of a cancelling argument off by
        # more than a few units (relu(x + 1e6 - 1e6)); the nearest change is the one judged
        for widen in (256 * np.finfo(float).eps * size, 1e-10 * size, 1e-7 * size):
            lo, hi = mpmath.mpf(a) - widen, mpmath.mpf(b) + widen
            _, signature, inside = view(ids, _mp([lo, hi]), MP)
            if not np.all(inside):
                return None
            if not np.array_equal(signature[0], signature[1]):
                break
        else:
            return "rounding"
        left = signature[0]
        ids = np.full(MP_SECTIONS - 1, line)
        while hi - lo > MP_BRACKET * size:
            t = np.asarray([lo + (hi - lo) * k / MP_SECTIONS for k in range(1, MP_SECTIONS)], dtype=object)
            _, signature, _ = view(ids, t, MP)
            differs = np.nonzero(np.any(signature != left, axis=1))[0]
            if len(differs) == 0:
                lo = t[-1]
            else:
                first = int(differs[0])
                lo, hi = (t[first - 1] if first > 0 else lo), t[first]
        return lo, hi


def _mp_change_point(view: Any, line: int, a: float, b: float, size: float) -> str | None:
    """The verdict of mpmath at a change of piece float64 saw between a and b: "rounding" when in
    high precision nothing changes piece there (sigmoid(z) == 1.0 in float64 made `% 1` jump)."""
    located = _mp_locate(view, line, a, b, size)
    if located is None:
        return None
    if located == "rounding":
        return "rounding"
    return _mp_one_sided(view, line, located[0], located[1], size)


def _mp_one_sided(view: Any, line: int, lo: Any, hi: Any, size: float, switched: bool = True) -> str | None:
    """Compare the sides of the switch located in [lo, hi] in mpmath: "jump", "kink", "agree",
    "unclear", or None where the stencils cannot be used (outside the region, undefined, another
    switch within them). With `switched`, each side's stencil must be in the piece of its end of
    the bracket; otherwise (a point with no switch to locate) only steady within itself."""
    with mpmath.workdps(MP.dps):
        tau = (lo + hi) / 2
        offsets = (1, 2, 3)
        t = []
        for step in MP_STEPS:
            h = mpmath.mpf(step) * size
            t += [tau + h * k for k in offsets] + [tau - h * k for k in offsets]
        t.extend([hi, lo])
        values, signature, inside = view(np.full(len(t), line), np.asarray(t, dtype=object), MP)
        right_piece, left_piece = signature[-2], signature[-1]
        levels = []
        for index, step in enumerate(MP_STEPS):
            block = slice(6 * index, 6 * index + 6)
            right, left = values[block][:3], values[block][3:]
            pieces = signature[block]
            steady = (
                np.all(pieces[:3] == right_piece) and np.all(pieces[3:] == left_piece)
                if switched
                else np.all(pieces[:3] == pieces[0]) and np.all(pieces[3:] == pieces[3])
            )
            if not (steady and np.all(inside[block])):
                levels.append(None)
                continue
            h = mpmath.mpf(step) * size
            value_right = right[2] + 3 * (right[0] - right[1])
            value_left = left[2] + 3 * (left[0] - left[1])
            slope_right = (4 * (right[1] - right[0]) - mpmath.mpf(1.5) * (right[2] - right[0])) / h
            slope_left = -(4 * (left[1] - left[0]) - mpmath.mpf(1.5) * (left[2] - left[0])) / h
            scale = np.max(np.abs(MP.to_float(values[block])), axis=0)
            rounding = 10.0 ** (8 - MP.dps) * scale
            # a kink located to within `hi - lo` looks like a jump of its slopes times that
            # (and a corner of the curvature, x * abs(x), like a kink of its curvature times that)
            slopes = np.abs(MP.to_float(slope_right)) + np.abs(MP.to_float(slope_left))
            curvature = (
                np.abs(MP.to_float(right[0] - 2 * right[1] + right[2]))
                + np.abs(MP.to_float(left[0] - 2 * left[1] + left[2]))
            ) / float(h) ** 2
            placement = 4 * float(hi - lo)
            levels.append(
                (
                    MP.to_float(value_right - value_left),
                    MP.to_float(slope_right - slope_left),
                    rounding + placement * slopes,
                    rounding / float(h) + placement * curvature,
                )
            )
    usable = [level for level in levels if level is not None]
    if len(usable) < 3:
        return None
    coarse, middle, fine = usable[-3:]

    def holds(index: int, floor: np.ndarray) -> bool:
        x2, x1, x0 = coarse[index], middle[index], fine[index]
        return bool(
            np.any(
                (np.abs(x0) > floor)
                & (np.abs(x1 - x0) <= MP_STEADY * np.abs(x0))
                & (np.abs(x2 - x0) <= MP_STEADY * np.abs(x0))
            )
        )

    def vanishes(index: int, floor: np.ndarray) -> bool:
        x2, x1, x0 = coarse[index], middle[index], fine[index]
        shrinking = (np.abs(x0) <= MP_VANISHING * np.abs(x1)) & (np.abs(x1) <= MP_VANISHING * np.abs(x2))
        return bool(np.all((np.abs(x0) <= floor) | shrinking))

    value_floor = np.maximum(coarse[2], fine[2])
    slope_floor = np.maximum(middle[3], fine[3])
    if holds(0, value_floor):
        return "jump"
    if not vanishes(0, value_floor):
        return "unclear"
    if holds(1, slope_floor):
        return "kink"
    if vanishes(1, slope_floor):
        return "agree"
    return "unclear"


def _one_sided(
    view: Any,
    line: int,
    tau: float,
    steps: Sequence[float],
    uncertainty: float = 0.0,
    size: float = 1.0,
    spread: Any = 0.0,
) -> str | None:
    """Compare the sides of `tau` on one line: "jump", "kink", "agree", or "unclear"; None when
    no step size could be used (a side outside the region, or undefined).

    Quadratic extrapolation from three points on each side gives the one-sided value and slope; a
    real jump or kink is a difference that stays put as the step shrinks, while the error of a
    smooth function's estimate shrinks with it (like h^3 for values, h^2 for slopes).

    Every tolerance is scale-free: it is the rounding of the values themselves (a few hundred
    units in the last place of the largest value in the stencil, divided by h for slopes) or a
    fraction of the slopes present, never an absolute number, so that `1e-6 * f`, `f + 1e6` and
    `f(1e3 * x)` are judged alike. Values are compared at the finest pair of steps whose stencils
    are usable; slopes at the finest pair whose rounding is below a hundredth of the slopes.
    `uncertainty` is how far tau may be from the true switch: one piece's value and slope
    extrapolated to a point that far off differ from the other's by slope (curvature) times it.
    `size` is the size of the point's coordinates: rounding them (`p + 0.5` at p == -0.5) moves a
    value by its slope times a few units in their last place, however small the value.
    `spread` is how much each output entry varies along the line: a jump below 1e-12 of it is
    below what float64 resolves of this body (an inner 1 + tanh(z) rounds to units of eps).
    """
    offsets = np.array([1.0, 2.0, 3.0])
    t = np.concatenate([np.concatenate([tau + h * offsets, tau - h * offsets]) for h in steps])
    values, signature, inside = view(np.full(len(t), line), t)
    levels = []
    for index, h in enumerate(steps):
        block = slice(6 * index, 6 * index + 6)
        right, left = values[block][:3], values[block][3:]
        sides_steady = np.all(signature[block][:3] == signature[block][0]) and np.all(
            signature[block][3:] == signature[block][3]
        )
        # the step must be representable at tau: the stencil's points distinct floats
        distinct = len(set(t[block].tolist())) == 6
        # values far outside float64's comfortable range are where it underflows or overflows
        # (w^-w at w == 149): a jump there is the arithmetic's, not the body's
        magnitudes = np.abs(values[block])
        ordinary = not np.any((magnitudes > 0) & ((magnitudes < 1e-100) | (magnitudes > 1e100)))
        if not (np.all(inside[block]) and sides_steady and distinct and ordinary):
            levels.append(None)
            continue
        # written with differences, so that an entry that does not move gives exactly 0
        value_right = right[2] + 3 * (right[0] - right[1])
        value_left = left[2] + 3 * (left[0] - left[1])
        slope_right = (4 * (right[1] - right[0]) - 1.5 * (right[2] - right[0])) / h
        slope_left = -(4 * (left[1] - left[0]) - 1.5 * (left[2] - left[0])) / h
        curvature = (
            np.abs(right[0] - 2 * right[1] + right[2]) + np.abs(left[0] - 2 * left[1] + left[2])
        ) / h**2
        slopes = np.abs(slope_right) + np.abs(slope_left)
        # (the slopes over the stencil, not only at tau: one side of y^2 at y == 0 has slope 0
        # at tau and a slope at its points, where rounding y itself moves the value)
        steepest = (
            np.maximum(
                np.max(np.abs(np.diff(right, axis=0)), axis=0), np.max(np.abs(np.diff(left, axis=0)), axis=0)
            )
            / h
        )
        noise = (
            ROUNDING
            * np.finfo(float).eps
            * (np.max(np.abs(values[block]), axis=0) + np.maximum(slopes, steepest) * size)
        )
        # what rounding inside the body did, seen rather than modelled: at the finest steps a
        # side's second difference is h^2 f'' (nothing) plus its rounding (gelu's 1 + tanh(z) at
        # z == -7 carries an absolute error of eps, whatever the size of the value)
        seen = np.maximum(np.abs(right[0] - 2 * right[1] + right[2]), np.abs(left[0] - 2 * left[1] + left[2]))
        levels.append((value_right - value_left, slope_right - slope_left, slopes, noise, curvature, seen, h))
    finest = [level for level in levels if level is not None][-3:]
    seen_noise = np.max([level[5] for level in finest], axis=0) if finest else 0.0
    levels = [
        None
        if level is None
        else _Level(
            level[0],
            level[1],
            level[2],
            np.maximum(level[3], seen_noise) + 4 * level[2] * uncertainty,
            np.maximum(level[3], seen_noise) * 8.0 / level[6] + 4 * level[4] * uncertainty,
            level[6],
        )
        for level in levels
    ]
    pairs = [
        (coarse, fine)
        for coarse, fine in itertools.pairwise(levels)
        if coarse is not None and fine is not None
    ]
    if not pairs:
        return None
    # values: the finest usable pair decides whether they jump
    coarse, fine = pairs[-1]
    value_floor = (
        np.maximum(coarse.value_noise, fine.value_noise) * 8 + 1e-3 * fine.slopes * fine.h + 1e-12 * spread
    )
    # a jump holds at the finest three usable steps (rounding that quantizes the values can look
    # steady at two: the same unit in the last place twice, the other sign at the third)
    usable = [level for level in levels if level is not None]
    if _steady(coarse.jump, fine.jump, value_floor) and (
        len(usable) < 3 or _steady(usable[-3].jump, fine.jump, value_floor)
    ):
        return "jump"
    values_meet = bool(np.all(np.abs(fine.jump) <= value_floor))
    # slopes: the finest pair whose rounding is small beside the slopes (or exactly linear sides)
    for coarse, fine in pairs[::-1]:
        # per output entry: sides that agree exactly, or rounding a hundredth of the line's slopes
        # at most (an entry beside its own C1 corner, which no switch marks, has slopes near 0 and
        # is judged against the slopes of the line, not its own)
        # ("exactly" means an entry that does not move at all: values quantized by rounding can
        # also give differences of exactly 0, and say nothing)
        resolved = ((fine.slopes == 0) & (coarse.slopes == 0)) | (
            fine.slope_noise <= 1e-2 * np.max(fine.slopes)
        )
        if not np.all(resolved):
            continue
        slope_floor = 8 * np.maximum(coarse.slope_noise, fine.slope_noise)
        if _steady(coarse.kink, fine.kink, slope_floor) and values_meet:
            return "kink"
        vanishing = (np.abs(fine.kink) <= slope_floor) | (
            (np.abs(fine.kink) <= 0.1 * np.abs(coarse.kink)) & (np.abs(fine.kink) <= 1e-3 * fine.slopes)
        )
        if values_meet and np.all(vanishing):
            return "agree"
        return "unclear"
    return "unclear"


@dataclass(frozen=True, slots=True)
class _Level:
    """The one-sided comparison at one step size, per output entry."""

    jump: np.ndarray  # right value - left value
    kink: np.ndarray  # right slope - left slope
    slopes: np.ndarray  # |right slope| + |left slope|
    value_noise: np.ndarray  # rounding of the values in the stencil
    slope_noise: np.ndarray  # what that rounding does to a slope estimate
    h: float


def _steady(coarse: np.ndarray, fine: np.ndarray, tolerance: np.ndarray) -> bool:
    """Is a difference (in some output entry) above tolerance at both steps, and within a quarter
    of itself from one step to the next?"""
    steady = (
        (np.abs(fine) > tolerance)
        & (np.abs(coarse) > tolerance)
        & (np.abs(fine - coarse) <= 0.25 * np.abs(fine))
    )
    return bool(np.any(steady))


# ---------------------------------------------------------------- reported kinks and jumps


class _WitnessView:
    def __init__(self, program: Program, finding: Finding):
        assert finding.witness is not None
        self.program = program
        self.point = {name: np.asarray(value, dtype=float) for name, value in finding.witness.point.items()}
        self.direction = {
            name: np.asarray(value, dtype=float) for name, value in finding.witness.direction.items()
        }
        self.frozen = _frozen(program, {name: value[None, :] for name, value in self.point.items()})
        # steps are relative to the size of the point: a witness at x == 1e4 is looked at as
        # closely, in units in the last place, as one at x == 1
        self.size = 1.0 + max(
            (float(np.max(np.abs(value), initial=0.0)) for value in self.point.values()), default=0.0
        )

    def __call__(
        self, ids: np.ndarray, t: np.ndarray, backend: Any = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        env = {
            name: self.point[name][None, :] + t[:, None] * self.direction[name][None, :]
            for name in self.point
        }
        if backend is None:
            value, _ = self.program.run(env, self.frozen, states=False)
            values = _rows(value, len(t))
            # in float64 the sides of a witness are judged on values alone
            return values, np.zeros((len(t), 1), dtype=np.int64), np.all(np.isfinite(values), axis=1)
        # in mpmath the switch near the witness is located first, by the states of the switches
        value, states = self.program.run(env, self.frozen, backend=backend)
        values = _object_rows(value, len(t))
        return values, _signature(states, len(t)), np.all(np.isfinite(backend.to_float(values)), axis=1)


WITNESS_REACH = 1e-7  # the engine's witness is this close to its set, relative to the point's size
WITNESS_SCAN = 41


def _mp_witness(view: _WitnessView) -> tuple[str | None, tuple[Any, Any] | None]:
    """The one-sided comparison at a reported witness, in mpmath: the change of piece nearest to
    the witness along its direction is located and judged; a witness with no change of piece near
    it (a kink with no switch, `sqrt(x^2)`) is judged at the point itself."""
    size = view.size
    reach = WITNESS_REACH * size
    t = np.linspace(-reach, reach, WITNESS_SCAN)
    _, signature, inside = view(np.zeros(len(t), dtype=int), _mp(t), MP)
    changes = [
        index
        for index in range(len(t) - 1)
        if inside[index] and inside[index + 1] and not np.array_equal(signature[index], signature[index + 1])
    ]
    if changes:
        nearest = min(changes, key=lambda index: abs(t[index] + t[index + 1]))
        located = _mp_locate(view, 0, t[nearest], t[nearest + 1], size)
        if isinstance(located, tuple):
            return _mp_one_sided(view, 0, located[0], located[1], size), located
    with mpmath.workdps(MP.dps):
        zero = mpmath.mpf(0)
        return _mp_one_sided(view, 0, zero, zero, size, switched=False), None


SNAP = 1e-30  # coordinates this close (relative to the point) to a multiple of 1/2 or to each other


def _mp_point_differs(view: _WitnessView, located: tuple[Any, Any]) -> bool:
    """A discontinuity on a set of measure zero (`divide_no_nan(p, p)` is 0 only at p == 0): the
    value on the located set itself, with the coordinates that are within SNAP of a multiple of
    1/2 (or of each other) put exactly there, differs from the limits on both sides."""
    size = view.size
    with mpmath.workdps(MP.dps):
        tau = (located[0] + located[1]) / 2
        snapped = {}
        entries = []
        for name in view.point:
            coordinates = []
            for base, step in zip(view.point[name], view.direction[name]):
                value = mpmath.mpf(base) + tau * mpmath.mpf(step)
                nearest = mpmath.nint(2 * value) / 2
                if abs(value - nearest) <= SNAP * size:
                    value = nearest
                for other in entries:
                    if value != other and abs(value - other) <= SNAP * size:
                        value = other
                entries.append(value)
                coordinates.append(value)
            snapped[name] = np.asarray([coordinates], dtype=object)
        at, _ = view.program.run(snapped, view.frozen, backend=MP, states=False)
        h = mpmath.mpf(1e-25) * size
        sides, _, inside = view(np.zeros(2, dtype=int), np.asarray([tau + h, tau - h], dtype=object), MP)
        at = MP.to_float(_object_rows(at, 1))[0]
        sides = MP.to_float(sides)
    if not (np.all(inside) and np.all(np.isfinite(at))):
        return False
    floor = 1e-40 * (np.abs(sides[0]) + np.abs(sides[1])) + 1e-12 * np.abs(sides[0] - sides[1])
    return bool(np.any((np.abs(at - sides[0]) > floor) & (np.abs(at - sides[1]) > floor)))


def _check_witness(program: Program, finding: Finding, verdict: Verdict) -> None:
    view = _WitnessView(program, finding)
    kind = _one_sided(
        view,
        0,
        0.0,
        tuple(step * view.size for step in WITNESS_STEPS),
        16 * np.finfo(float).eps * view.size,
        view.size,
    )
    located = None
    if kind not in ("jump", "kink"):
        # float64 denies the finding (or cannot tell): high precision decides
        precise, located = _mp_witness(view)
        if precise is not None:
            kind = precise
    if kind is None or kind == "unclear":
        return  # undefined on a side (a singular point), or too steep to tell at any step size
    # `x == 0` used as a number jumps on the surface itself, which a float point beside it misses:
    # put the witness exactly on it (round near-integers, equalise near-equal entries); when that
    # fails, floats cannot decide it.
    if (
        finding.kind == "discontinuity"
        and kind != "jump"
        and _on_measure_zero_surface(program, view)
        and not _differs_on_snapped_surface(program, view)
    ):
        return
    verdict.checked += 1
    if finding.kind == "discontinuity":
        if kind == "jump" or _differs_at_point(view) or _on_measure_zero_surface(program, view):
            return
        if located is not None and _mp_point_differs(view, located):
            return
        message = "no jump: the one-sided values agree"
    else:
        if kind in ("kink", "jump"):
            return
        message = "no kink: the one-sided slopes agree"
    assert finding.witness is not None
    verdict.disagreements.append(
        Disagreement(
            finding.kind,
            f"{message} at the witness of {finding.where!r} ({finding.code})",
            {"point": finding.witness.point, "direction": finding.witness.direction},
        )
    )


def _differs_at_point(view: _WitnessView) -> bool:
    """A condition that holds only on a set of measure zero (`x == 0`): the value at the point
    itself differs from the values beside it."""
    values, _, inside = view(np.zeros(5, dtype=int), ISOLATION_STEPS * 1e-7 * view.size)
    if not np.all(inside):
        return False
    return bool(np.any(_isolated(values)))


ISOLATION_STEPS = np.array([0.0, 1.0, 2.0, -1.0, -2.0])


def _isolated(values: np.ndarray) -> np.ndarray:
    """Values at a point and at ISOLATION_STEPS beside it: does the point's value differ from
    the linear extrapolation of each side by more than that side moves over a step, and by more
    than rounding? Scale-free: no absolute tolerance."""
    at, right, far_right, left, far_left = values
    noise = 8 * ROUNDING * np.finfo(float).eps * np.max(np.abs(values), axis=0)
    from_right, from_left = 2 * right - far_right, 2 * left - far_left
    return (np.abs(at - from_right) > np.abs(right - far_right) + noise) & (
        np.abs(at - from_left) > np.abs(left - far_left) + noise
    )


def _on_measure_zero_surface(program: Program, view: _WitnessView) -> bool:
    """Is the witness (nearly) on the surface of an `==` or `!=` condition?"""
    relations = [switch for switch in program.switches if isinstance(switch.node, (sp.Eq, sp.Ne))]
    if not relations:
        return False
    env = {name: value[None, :] for name, value in view.point.items()}
    for switch in relations:
        left, right = program.values_of(env, program.child_slots(switch.slot), view.frozen)
        left, right = np.asarray(left, dtype=float), np.asarray(right, dtype=float)
        if np.any(np.abs(left - right) <= 1e-9 * (1 + np.abs(right))):
            return True
    return False


def _snapped(point: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The point with coordinates within 1e-9 of a multiple of 1/2 rounded to it, and coordinates
    within 1e-9 of each other made equal."""
    snapped = {name: value.copy() for name, value in point.items()}
    coordinates = [(name, index) for name in snapped for index in range(len(snapped[name]))]
    for name, index in coordinates:
        value = snapped[name][index]
        nearest = round(value * 2) / 2
        if abs(value - nearest) <= 1e-9 * (1 + abs(value)):
            snapped[name][index] = nearest
    for position, (name, index) in enumerate(coordinates):
        for other_name, other_index in coordinates[position + 1 :]:
            a, b = snapped[name][index], snapped[other_name][other_index]
            if a != b and abs(a - b) <= 1e-9 * (1 + abs(a)):
                snapped[other_name][other_index] = a
    return snapped


def _differs_on_snapped_surface(program: Program, view: _WitnessView) -> bool:
    snapped = _snapped(view.point)
    steps = ISOLATION_STEPS * 1e-6 * view.size
    env = {name: snapped[name][None, :] + steps[:, None] * view.direction[name][None, :] for name in snapped}
    value, _ = program.run(env, view.frozen)
    values = _rows(value, len(steps))
    if not np.all(np.isfinite(values)):
        return False
    return bool(np.any(_isolated(values)))
