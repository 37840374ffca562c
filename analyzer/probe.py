"""Numeric confirmation: walk random lines through the region and look at every change of piece.

The body is smooth wherever every atom stays on one piece, so the only candidates for kinks and
jumps are the points where some atom's state changes (the zero sets of its switching expressions,
as in Griewank's abs-normal form). Along random lines through the region allowed by the domain and
`given`, with vectors given a small concrete size, each change of state is located by bisection and
then judged on the whole definition by its one-sided values, slopes and curvatures. Segments
between changes are checked for a vanishing gradient. Region edges are checked for singularities.

Randomness is seeded from the body, so the same input always gives the same verdict.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .evaluate import Program, Switch

ENTRIES = 3  # the concrete size of every vector
SPAN = 10.0  # lines run over t in [-SPAN, SPAN] unless a bound cuts them
GRID = 161
GRID_OFFSET = 0.3819660112501051  # 2 - golden ratio, in grid steps
BISECTIONS = 48
STEPS = tuple(10.0 ** -k for k in range(2, 10))  # one-sided step sizes, coarse to fine
EPS = float(np.finfo(float).eps)
MAX_EVENTS_PER_SWITCH = 6


class BudgetExceeded(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Bound:
    lo: float = -math.inf
    hi: float = math.inf


@dataclass(slots=True)
class Region:
    """Where the inputs live: bounds and finite sets from `given`, and the full condition."""

    bounds: dict[str, Bound] = field(default_factory=dict)
    choices: dict[str, tuple[float, ...]] = field(default_factory=dict)
    condition: Program | None = None


@dataclass(slots=True)
class Event:
    """A change of state on one line, with what the whole definition does across it."""

    line: int
    t: float
    changed: tuple[int, ...]  # indices into program.switches
    kind: str  # "jump", "kink", "none", "singular", "edge"
    curvature_jump: bool = False
    on_edge: bool = False
    cusp: bool = False  # a singular slope at a point where the value is finite, inside the region
    transitions: dict[int, tuple[int, int]] = field(default_factory=dict)  # switch -> (state before, after)


@dataclass(slots=True)
class Segment:
    line: int
    t: float
    flat: bool


@dataclass(slots=True)
class Probe:
    """What the lines saw for one group of differentiated variables."""

    events: list[Event] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    samples: int = 0
    flat_samples: int = 0
    flat_states: dict[int, list[Any]] = field(default_factory=dict)  # segment index -> states
    reason: str | None = None
    base: dict[str, np.ndarray] = field(default_factory=dict)  # line -> starting point, per variable
    direction: dict[str, np.ndarray] = field(default_factory=dict)

    def point(self, line: int, t: float) -> dict[str, list[float]]:
        """The inputs at parameter t of a line (each variable with its concrete entries)."""
        return {name: [float(v) for v in self.base[name][line] + t * self.direction[name][line]] for name in self.base}

    def heading(self, line: int) -> dict[str, list[float]]:
        return {name: [float(v) for v in self.direction[name][line]] for name in self.direction}


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise BudgetExceeded(f"the analysis took longer than its budget of {self.seconds:g} s")


class LineProbe:
    def __init__(self, program: Program, variables: Sequence[str], region: Region, seed: int,
                 deadline: Deadline, entries: int = ENTRIES):
        self.program = program
        self.variables = list(variables)
        self.region = region
        self.deadline = deadline
        self.entries = entries
        self.rng = np.random.default_rng(seed)
        self.weights = 0.5 + self.rng.random(entries * 4)

    # -------------------------------------------------------------- sampling

    def _base(self, name: str, lines: int, coherent: np.ndarray) -> np.ndarray:
        n = self.entries
        if name in self.region.choices:
            options = np.asarray(self.region.choices[name], dtype=float)
            picked = self.rng.choice(options, size=(lines, n))
            together = self.rng.choice(options, size=(lines, 1))
            return np.where(coherent[:, None], together, picked)
        bound = self.region.bounds.get(name, Bound())
        shared = self._draw(bound, (lines, 1))
        jitter = self._draw(bound, (lines, n))
        mixed = shared + 1e-3 * (jitter - shared)
        return np.where(coherent[:, None], mixed, jitter)

    def _draw(self, bound: Bound, shape: tuple[int, ...]) -> np.ndarray:
        lo, hi = bound.lo, bound.hi
        if math.isfinite(lo) and math.isfinite(hi):
            return lo + (hi - lo) * (0.02 + 0.96 * self.rng.random(shape))
        if math.isfinite(lo):
            return lo + self.rng.exponential(1.5, shape) + 1e-3
        if math.isfinite(hi):
            return hi - self.rng.exponential(1.5, shape) - 1e-3
        return self.rng.normal(0.0, 1.5, shape)

    def _lines(self, group: Sequence[str], count: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray, np.ndarray]:
        n = self.entries
        kinds = np.arange(count) % 4  # 0, 1: independent entries; 2: entries together; 3: through zero
        coherent = kinds == 2
        base = {name: self._base(name, count, coherent) for name in self.variables}
        direction = {}
        for name in self.variables:
            if name in group and name not in self.region.choices:
                d = self.rng.normal(0.0, 1.0, (count, n))
                together = self.rng.normal(0.0, 1.0, (count, 1)) + 0.05 * d
                direction[name] = np.where(coherent[:, None], together, d)
            else:
                direction[name] = np.zeros((count, n))
        through_zero = kinds == 3
        for name in group:
            bound = self.region.bounds.get(name, Bound())
            if name not in self.region.choices and bound.lo < 0 < bound.hi:
                base[name] = np.where(through_zero[:, None], 0.0, base[name])
        norm = np.sqrt(sum(np.sum(d * d, axis=1) for d in direction.values()))
        norm = np.where(norm > 0, norm, 1.0)
        direction = {name: d / norm[:, None] for name, d in direction.items()}
        lo = np.full(count, -SPAN)
        hi = np.full(count, SPAN)
        for name in group:
            bound = self.region.bounds.get(name, Bound())
            d, b = direction[name], base[name]
            with np.errstate(divide="ignore", invalid="ignore"):
                if math.isfinite(bound.lo):
                    cut = (bound.lo - b) / d
                    lo = np.maximum(lo, np.max(np.where(d > 0, cut, -np.inf), axis=1))
                    hi = np.minimum(hi, np.min(np.where(d < 0, cut, np.inf), axis=1))
                if math.isfinite(bound.hi):
                    cut = (bound.hi - b) / d
                    hi = np.minimum(hi, np.min(np.where(d > 0, cut, np.inf), axis=1))
                    lo = np.maximum(lo, np.max(np.where(d < 0, cut, -np.inf), axis=1))
        return base, direction, lo, hi

    # -------------------------------------------------------------- evaluation

    def _env(self, line_ids: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        return {name: self.base[name][line_ids] + t[:, None] * self.direction[name][line_ids] for name in self.variables}

    def _frozen(self, line_ids: np.ndarray) -> dict[int, Any]:
        return {slot: _take_rows(value, line_ids) for slot, value in self.stopped.items()}

    def _scalar(self, value: Any, count: int) -> np.ndarray:
        array = np.asarray(value, dtype=float)
        if array.ndim == 0:
            return np.full(count, float(array))
        array = array.reshape(count, -1) if array.shape[0] == count else np.broadcast_to(array, (count,) + array.shape[1:]).reshape(count, -1)
        weights = self.weights[: array.shape[1]] if array.shape[1] <= len(self.weights) else np.ones(array.shape[1])
        return array @ weights

    def evaluate(self, line_ids: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Scalar value, inside-the-region flag and per-switch states at points of the lines."""
        self.deadline.check()
        env = self._env(line_ids, t)
        value, states = self.program.run(env, self._frozen(line_ids))
        count = len(t)
        scalar = self._scalar(value, count)
        inside = np.isfinite(scalar)
        if self.region.condition is not None:
            holds, _ = self.region.condition.run(env, states=False)
            holds = np.asarray(holds, dtype=float)
            holds = holds.reshape(count, -1) if holds.ndim and holds.shape[0] == count else np.broadcast_to(holds, (count, 1))
            inside &= np.all(holds > 0.5, axis=1)
        shaped = [_rows(state, count) for state in states]
        return scalar, inside, shaped

    def _signature(self, inside: np.ndarray, states: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([inside[:, None].astype(np.int64)] + states, axis=1) if states else inside[:, None].astype(np.int64)

    # -------------------------------------------------------------- the probe

    def run(self, group: Sequence[str], joint: Sequence[str] | None = None, lines: int = 24) -> Probe:
        """Walk lines that move `group`; constant pieces are judged on the gradient in `joint`."""
        probe = Probe()
        joint = list(joint or group)
        self.base, self.direction, lo, hi = self._lines(group, lines)
        probe.base, probe.direction = self.base, self.direction
        usable = hi - lo > 1e-9
        if not np.any(usable):
            probe.reason = "no line through the region allowed by `given` could be found"
            return probe
        ids = np.arange(lines)
        zero_t = np.zeros(lines)
        stop_slots = self.program.stop_slots
        base_env = self._env(ids, zero_t)
        self.stopped = dict(zip(stop_slots, self.program.values_of(base_env, stop_slots))) if stop_slots else {}
        self.stopped = {slot: _broadcast_rows(value, lines) for slot, value in self.stopped.items()}

        # An irrational offset keeps grid points off special values such as t == 0, where a line
        # through the origin would sit exactly on a switch instead of crossing it.
        fractions = np.clip(np.linspace(0.0, 1.0, GRID) + GRID_OFFSET / (GRID - 1), 0.0, 1.0)
        t_grid = lo[:, None] + (hi - lo)[:, None] * fractions[None, :]
        line_of = np.repeat(ids, GRID)
        t_flat = t_grid.reshape(-1)
        _, inside, states = self.evaluate(line_of, t_flat)
        signature = self._signature(inside, states).reshape(lines, GRID, -1)
        inside = inside.reshape(lines, GRID)
        if not np.any(inside):
            probe.reason = "the definition is undefined (NaN) or outside `given` at every point tried"
            return probe

        starts, ends = np.nonzero(np.any(signature[:, :-1] != signature[:, 1:], axis=2))
        intervals = [(int(line), t_grid[line, k], t_grid[line, k + 1]) for line, k in zip(starts, ends) if usable[line]]
        located = self._locate(intervals, signature.shape[2])
        located += self._touches(line_of, t_flat, t_grid, inside.reshape(-1))
        events = self._judge(located)
        events += self._bound_edges(lo, hi, usable, group)
        probe.events = events
        cuts = [Event(line, 0.5 * (a + b), (), "cut") for line, a, b, _, _ in located]
        self._segments(probe, cuts + events, lo, hi, usable, group, joint)
        return probe

    def _magnitudes(self, line_ids: np.ndarray, t: np.ndarray, index: int) -> np.ndarray:
        env = self._env(line_ids, t)
        value = self.program.singular_values(env, self._frozen(line_ids))[index]
        return np.min(np.abs(_rows_float(value, len(t))), axis=1)

    def _reaches_zero(self, line: int, tau: float, index: int) -> bool:
        """Does the singular quantity of switch `index` come to zero at tau (and not pass through
        infinity, as log(y / p) does where p changes sign)?"""
        t = np.array([tau - 1e-9 * (1 + abs(tau)), tau + 1e-9 * (1 + abs(tau))])
        sizes = self._magnitudes(np.full(2, line), t, index)
        return bool(np.min(sizes) < 1e-6)

    def _touches(self, line_of: np.ndarray, t_flat: np.ndarray, t_grid: np.ndarray,
                 inside: np.ndarray) -> list[tuple[int, float, float, np.ndarray, np.ndarray]]:
        """Points where a singular atom's argument comes down to zero without changing sign
        (log(x^2), the variance inside std): local minima of its size, refined by golden section."""
        found: list[tuple[int, float, float, np.ndarray, np.ndarray]] = []
        lines, grid = t_grid.shape
        for index, switch in enumerate(self.program.switches):
            if not switch.singular:
                continue
            size = self._magnitudes(line_of, t_flat, index).reshape(lines, grid)
            size = np.where(inside.reshape(lines, grid), size, np.inf)
            dips = (size[:, 1:-1] < size[:, :-2]) & (size[:, 1:-1] <= size[:, 2:]) & np.isfinite(size[:, 1:-1])
            rows, columns = np.nonzero(dips)
            if len(rows) == 0:
                continue
            rows, columns = rows[:64], columns[:64]
            lo = t_grid[rows, columns]
            hi = t_grid[rows, columns + 2]
            ratio = 0.6180339887498949
            for _ in range(60):
                left = hi - ratio * (hi - lo)
                right = lo + ratio * (hi - lo)
                smaller_left = self._magnitudes(rows, left, index) < self._magnitudes(rows, right, index)
                hi = np.where(smaller_left, right, hi)
                lo = np.where(smaller_left, lo, left)
            tau = 0.5 * (lo + hi)
            reach = self._magnitudes(rows, tau, index)
            scale = 1 + size[rows, columns + 1]
            for row, point, value, norm in zip(rows, tau, reach, scale):
                if value < 1e-9 * norm:
                    nudge = 1e-10 * (1 + abs(point))
                    sig = self._sig_at(np.full(2, row), np.array([point - nudge, point + nudge]))
                    found.append((int(row), float(point), float(point), sig[0], sig[1]))
        return found

    def _sig_at(self, line_ids: np.ndarray, t: np.ndarray) -> np.ndarray:
        _, inside, states = self.evaluate(line_ids, t)
        return self._signature(inside, states)

    def _locate(self, intervals: list[tuple[int, float, float]], width: int) -> list[tuple[int, float, float, np.ndarray, np.ndarray]]:
        """Bisect every interval whose ends differ down to a change point; split off the rest."""
        found: list[tuple[int, float, float, np.ndarray, np.ndarray]] = []
        pending = intervals
        for _round in range(4):
            if not pending:
                break
            line_ids = np.array([p[0] for p in pending])
            a = np.array([p[1] for p in pending], dtype=float)
            b = np.array([p[2] for p in pending], dtype=float)
            sig_a = self._sig_at(line_ids, a)
            sig_b_end = self._sig_at(line_ids, b)
            b_now = b.copy()
            sig_b = sig_b_end.copy()
            for _ in range(BISECTIONS):
                mid = 0.5 * (a + b_now)
                sig_mid = self._sig_at(line_ids, mid)
                same = np.all(sig_mid == sig_a, axis=1)
                a = np.where(same, mid, a)
                b_now = np.where(same, b_now, mid)
                sig_b = np.where(same[:, None], sig_b, sig_mid)
            # Read each side a little away from the change point: exactly on it, a state can be
            # degenerate (sign 0 where an argument is exactly zero).
            tau = 0.5 * (a + b_now)
            nudge = 1e-10 * (1 + np.abs(tau))
            sig_a = self._sig_at(line_ids, tau - nudge)
            sig_b = self._sig_at(line_ids, tau + nudge)
            next_pending = []
            for i, line in enumerate(line_ids):
                found.append((int(line), float(a[i]), float(b_now[i]), sig_a[i], sig_b[i]))
                if np.any(sig_b[i] != sig_b_end[i]) and b[i] - b_now[i] > 1e-9:
                    next_pending.append((int(line), float(b_now[i]) + 1e-10, float(b[i])))
            pending = next_pending
        return found

    def _judge(self, located: list[tuple[int, float, float, np.ndarray, np.ndarray]]) -> list[Event]:
        if not located:
            return []
        columns = self._state_columns()
        per_switch: dict[tuple[int, ...], int] = {}
        chosen = []
        for item in located:
            _, _, _, sig_a, sig_b = item
            transitions = {}
            for i, (start, stop) in enumerate(columns):
                differ = np.nonzero(sig_a[start:stop] != sig_b[start:stop])[0]
                if len(differ):
                    column = start + int(differ[0])
                    transitions[i] = (int(sig_a[column]), int(sig_b[column]))
            region_changed = bool(sig_a[0] != sig_b[0])
            if not sig_a[0] and not sig_b[0]:
                continue  # outside the region on both sides
            key = tuple(transitions) + ((-1,) if region_changed else ())
            if per_switch.get(key, 0) >= MAX_EVENTS_PER_SWITCH:
                continue
            per_switch[key] = per_switch.get(key, 0) + 1
            chosen.append((item, transitions, region_changed))
        self._touching_zeros(chosen)
        events: list[Event] = []
        ordinary = [(item, transitions) for item, transitions, region in chosen
                    if not region and not self._singular(transitions)]
        events += self._one_sided(ordinary)
        for item, transitions, region in chosen:
            if region or self._singular(transitions):
                events += self._singular_event(item, transitions, region)
        return events

    def _touching_zeros(self, chosen: list[tuple[Any, dict[int, tuple[int, int]], bool]]) -> None:
        """Add singular atoms whose argument only touches zero at a change point (sqrt(abs(x)))."""
        singular = [i for i, s in enumerate(self.program.switches) if s.singular]
        if not singular or not chosen:
            return
        line_ids = np.array([item[0] for item, _, _ in chosen])
        tau = np.array([0.5 * (item[1] + item[2]) for item, _, _ in chosen])
        env = self._env(line_ids, tau)
        magnitudes = self.program.singular_values(env, self._frozen(line_ids))
        for row, (_, transitions, _) in enumerate(chosen):
            for i in singular:
                value = np.atleast_2d(magnitudes[i])
                value = value[row] if value.shape[0] == len(chosen) else value[0]
                if i not in transitions and np.min(np.abs(value)) < 1e-9:
                    transitions[i] = (0, 0)

    def _singular(self, changed: Mapping[int, Any]) -> bool:
        return any(self.program.switches[i].singular for i in changed)

    def _state_columns(self) -> list[tuple[int, int]]:
        _, _, states = self.evaluate(np.zeros(1, dtype=int), np.zeros(1))
        columns = []
        start = 1
        for state in states:
            columns.append((start, start + state.shape[1]))
            start += state.shape[1]
        return columns

    def _one_sided(self, items: list[tuple[tuple[int, float, float, np.ndarray, np.ndarray], dict[int, tuple[int, int]]]]) -> list[Event]:
        """Judge each change point by one-sided values, slopes and curvatures of the whole body.

        Each quantity is estimated from three points on each side at several step sizes. A real
        jump or kink gives a difference that stays put as the step shrinks; the error of a smooth
        but steep function shrinks with the step (like h^3, h^2, h), so only a stable difference
        above the rounding floor counts.
        """
        if not items:
            return []
        offsets = np.array([1.0, 2.0, 3.0])
        per_event = len(STEPS) * 6
        rows_line = np.repeat([item[0][0] for item in items], per_event)
        rows_t = []
        for (line, a, b, _, _), _changed in items:
            tau = 0.5 * (a + b)
            for step in STEPS:
                rows_t.extend(tau + step * offsets)
                rows_t.extend(tau - step * offsets)
        values, inside, states = self.evaluate(rows_line, np.array(rows_t))
        sig = self._signature(inside, states)
        events = []
        for index, ((line, a, b, sig_a, sig_b), transitions) in enumerate(items):
            base = index * per_event
            levels = []
            for level, step in enumerate(STEPS):
                at = base + 6 * level
                right, left = values[at:at + 3], values[at + 3:at + 6]
                valid = (np.all(sig[at:at + 3] == sig_b) and np.all(sig[at + 3:at + 6] == sig_a)
                         and np.all(np.isfinite(right)) and np.all(np.isfinite(left)))
                levels.append(_one_sided_estimates(right, left, step) if valid else None)
            kind, curvature_jump = _decide(levels)
            if kind in ("none", "kink") and self._differs_on_surface(line, a, b, transitions):
                kind = "jump"
            if kind is not None:
                events.append(Event(line, 0.5 * (a + b), tuple(transitions), kind, curvature_jump,
                                    transitions=dict(transitions)))
        return events

    def _differs_on_surface(self, line: int, a: float, b: float, transitions: Mapping[int, tuple[int, int]]) -> bool:
        """A condition that holds only on a set of measure zero (`x == 0`): is the value there
        different from the value next to it? Evaluated with the condition forced to hold."""
        relations = [self.program.switches[i] for i in transitions
                     if isinstance(self.program.switches[i].node, (sp.Eq, sp.Ne))]
        if not relations:
            return False
        tau = 0.5 * (a + b)
        ids = np.full(2, line)
        t = np.array([tau, tau + 1e-9 * (1 + abs(tau))])
        env = self._env(ids, t)
        frozen = self._frozen(ids)
        forced = {}
        for switch in relations:
            left, right = self.program.values_of(env, self.program.child_slots(switch.slot), frozen)
            gap = np.abs(np.asarray(left, dtype=float) - right)
            on_surface = gap <= 1e-6 * (1 + np.abs(np.asarray(right, dtype=float)))
            holds = on_surface if isinstance(switch.node, sp.Eq) else ~on_surface
            forced[switch.slot] = holds
        on_value, _ = self.program.run(env, {**frozen, **forced}, states=False)
        off_value, _ = self.program.run(env, frozen, states=False)
        on = self._scalar(on_value, 2)[0]
        beside = self._scalar(off_value, 2)[1]
        return bool(np.isfinite(on) and np.isfinite(beside) and abs(on - beside) > 1e-6 * (1 + abs(beside)))

    def _diverges(self, line: int, tau: float, side: float) -> tuple[bool, bool]:
        """Do the value, and the slope, grow without bound as t approaches tau from `side`?"""
        distances = np.array([1e-2, 1e-4, 1e-6, 1e-8])
        t = np.concatenate([tau + side * distances, tau + side * 1.1 * distances])
        values, inside, _ = self.evaluate(np.full(len(t), line), t)
        if not np.all(inside):
            return False, False
        near, further = values[:4], values[4:]
        slopes = (further - near) / (0.1 * distances) * side
        growing = []
        for series in (near, slopes):
            steps = np.abs(np.diff(series))
            scale = 1 + abs(series[1])
            growing.append(bool(steps[2] > 0.3 * steps[1] and steps[2] > 1e-6 * scale))
        return growing[0], growing[0] or growing[1]

    def _singular_event(self, item: tuple[int, float, float, np.ndarray, np.ndarray],
                        transitions: dict[int, tuple[int, int]], region: bool) -> list[Event]:
        line, a, b, sig_a, sig_b = item
        tau = 0.5 * (a + b)
        sides = [side for side, inside in ((-1.0, bool(sig_a[0])), (1.0, bool(sig_b[0]))) if inside]
        singular = {i: t for i, t in transitions.items()
                    if self.program.switches[i].singular and self._reaches_zero(line, tau, i)}
        if singular and sides:
            verdicts = [self._diverges(line, tau, side) for side in sides]
            value_diverges = any(v for v, _ in verdicts)
            slope_diverges = any(s for _, s in verdicts)
            if value_diverges or slope_diverges:
                # Defined and finite at the point with both sides in the region: a cusp inside it.
                cusp = len(sides) == 2 and not value_diverges
                return [Event(line, tau, tuple(singular), "singular", on_edge=not cusp, cusp=cusp, transitions=singular)]
        if region:
            return [Event(line, tau, tuple(transitions), "edge", on_edge=True, transitions=transitions)]
        events = self._one_sided([(item, transitions)])
        steep = {i: t for i, t in singular.items() if _infinite_slope_at_zero(self.program.switches[i])}
        if steep:
            # The atom's own derivative is infinite where its argument touches zero, even when the
            # body stays finite: the backward pass multiplies inf by 0 there.
            events.append(Event(line, tau, tuple(steep), "singular", on_edge=False, transitions=steep))
        return events

    def _bound_edges(self, lo: np.ndarray, hi: np.ndarray, usable: np.ndarray, group: Sequence[str]) -> list[Event]:
        """Ends of lines cut by a bound of `given`: is a singular atom's zero sitting there?"""
        events = []
        singular = [i for i, s in enumerate(self.program.switches) if s.singular]
        if not singular:
            return events
        columns = self._state_columns()
        for line in np.nonzero(usable)[0]:
            for end, inward in ((lo[line], 1.0), (hi[line], -1.0)):
                if abs(end) >= SPAN - 1e-12:
                    continue
                probe_t = np.array([end + inward * 1e-9, end - inward * 1e-9])
                _, _, states = self.evaluate(np.full(2, line), probe_t)
                sig = self._signature(np.ones(2, dtype=bool), states)
                crossed = tuple(
                    i for i in singular
                    if np.any(sig[0, columns[i][0]:columns[i][1]] != sig[1, columns[i][0]:columns[i][1]])
                    and self._reaches_zero(int(line), float(end), i)
                )
                if crossed and any(self._diverges(int(line), float(end), inward)):
                    events.append(Event(int(line), float(end), crossed, "singular", on_edge=True))
        return events

    # -------------------------------------------------------------- flat pieces

    def _segments(self, probe: Probe, events: list[Event], lo: np.ndarray, hi: np.ndarray, usable: np.ndarray,
                  group: Sequence[str], joint: Sequence[str]) -> None:
        cuts: dict[int, list[float]] = {}
        for event in events:
            cuts.setdefault(event.line, []).append(event.t)
        points_line, points_t = [], []
        for line in np.nonzero(usable)[0]:
            edges = [lo[line], *sorted(cuts.get(int(line), [])), hi[line]]
            for left, right in zip(edges[:-1], edges[1:]):
                if right - left < 1e-6:
                    continue
                for fraction in (0.3, 0.5, 0.7):
                    points_line.append(int(line))
                    points_t.append(left + fraction * (right - left))
        if not points_t:
            return
        line_ids = np.array(points_line)
        t = np.array(points_t)
        self.deadline.check()
        largest, scale, valid, states = self._gradients(line_ids, t, list(dict.fromkeys([*group, *joint])))
        threshold = 1e-7 * scale
        flat_own = np.all([largest[name] <= threshold for name in group], axis=0)
        flat_joint = np.all([largest[name] <= threshold for name in joint], axis=0)
        probe.samples = int(np.sum(valid))
        probe.flat_samples = int(np.sum(flat_own & valid))
        for index in range(0, len(t), 3):
            block = slice(index, index + 3)
            if not np.any(valid[block]):
                continue
            middle = index + 1
            probe.segments.append(Segment(int(line_ids[index]), float(t[middle]), bool(np.all(flat_joint[block][valid[block]]))))
            if probe.segments[-1].flat:
                probe.flat_states[len(probe.segments) - 1] = [state[middle] for state in states]

    def _gradients(self, line_ids: np.ndarray, t: np.ndarray, names: Sequence[str]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[np.ndarray]]:
        """The largest partial derivative over the entries of each variable, by central differences."""
        count = len(t)
        env = self._env(line_ids, t)
        frozen = self._frozen(line_ids)
        value, states = self.program.run(env, frozen)
        center = self._scalar(value, count)
        center_sig = self._signature(np.isfinite(center), [_rows(s, count) for s in states])
        valid = np.isfinite(center)
        largest = {}
        for name in names:
            largest[name] = np.zeros(count)
            for entry in range(self.entries):
                h = 1e-5 * (1 + np.abs(env[name][:, entry]))
                results = []
                for side in (1.0, -1.0):
                    shifted = dict(env)
                    moved = env[name].copy()
                    moved[:, entry] += side * h
                    shifted[name] = moved
                    val, st = self.program.run(shifted, frozen)
                    scalar = self._scalar(val, count)
                    sig = self._signature(np.isfinite(scalar), [_rows(s, count) for s in st])
                    valid &= np.all(sig == center_sig, axis=1)
                    results.append(scalar)
                gradient = (results[0] - results[1]) / (2 * h)
                largest[name] = np.maximum(largest[name], np.abs(np.nan_to_num(gradient, nan=np.inf)))
        return largest, 1 + np.abs(center), valid, [_rows(s, count) for s in states]


def _infinite_slope_at_zero(switch: Switch) -> bool:
    row = switch.row
    return bool(row is not None and row.slope_infinite_if is not None and row.slope_infinite_if(*switch.node.args))


def _one_sided_estimates(right: np.ndarray, left: np.ndarray, step: float) -> tuple[float, ...]:
    """Quadratic fits through f(tau + k h) and f(tau - k h), k = 1, 2, 3, read at tau."""
    value_r = 3 * right[0] - 3 * right[1] + right[2]
    value_l = 3 * left[0] - 3 * left[1] + left[2]
    slope_r = (-2.5 * right[0] + 4 * right[1] - 1.5 * right[2]) / step
    slope_l = -(-2.5 * left[0] + 4 * left[1] - 1.5 * left[2]) / step
    curve_r = (right[0] - 2 * right[1] + right[2]) / step**2
    curve_l = (left[0] - 2 * left[1] + left[2]) / step**2
    scale = 1 + float(np.max(np.abs(right))) + float(np.max(np.abs(left)))
    return value_r - value_l, slope_r - slope_l, curve_r - curve_l, scale, step, abs(slope_r) + abs(slope_l), abs(curve_r) + abs(curve_l)


def _stable(levels: list[tuple[float, ...] | None], which: int, floor_power: int, relative: float) -> bool:
    """Is difference `which` the same at two consecutive step sizes, and clearly above noise?

    Pairs of steps are tried from the finest; a pair whose rounding floor (which grows like
    1 / h^floor_power) is not well below the threshold is too noisy and the next coarser is used.
    """
    pairs = list(zip(levels[1:], levels[:-1]))
    for fine, coarse in reversed(pairs):
        if fine is None or coarse is None:
            continue
        scale, step = fine[3], fine[4]
        magnitude = scale if which == 0 else 1 + (fine[5] if which == 1 else fine[6])
        threshold = relative * magnitude
        rounding = 64 * EPS * scale / step**floor_power
        if 10 * rounding > threshold:
            continue
        d_fine, d_coarse = fine[which], coarse[which]
        return abs(d_fine) > threshold and abs(d_fine - d_coarse) <= 0.25 * abs(d_fine)
    return False


def _growing(levels: list[tuple[float, ...] | None]) -> bool:
    """Do the one-sided values drift apart without bound as the step shrinks (a pole at a switch)?"""
    usable = [level for level in levels if level is not None]
    if len(usable) < 3:
        return False
    coarse, middle, fine = (abs(level[0]) for level in usable[-3:])
    return fine > 5 * middle > 25 * coarse and fine > 1e-6


def _decide(levels: list[tuple[float, ...] | None]) -> tuple[str | None, bool]:
    if all(level is None for level in levels):
        return None, False
    if _growing(levels):
        return "jump", False
    if _stable(levels, 0, 0, 1e-9):
        return "jump", False
    if _stable(levels, 1, 1, 1e-6):
        return "kink", False
    return "none", bool(_stable(levels[:4], 2, 2, 1e-4))


def _rows(state: Any, count: int) -> np.ndarray:
    array = np.asarray(state)
    if array.ndim == 0:
        return np.full((count, 1), int(array), dtype=np.int64)
    if array.shape[0] != count:
        array = np.broadcast_to(array, (count,) + array.shape[1:] if array.ndim > 1 else (count, array.shape[-1]))
    return array.reshape(count, -1).astype(np.int64)


def _rows_float(value: Any, count: int) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return np.full((count, 1), float(array))
    if array.shape[0] != count:
        array = np.broadcast_to(array, (count,) + array.shape[1:])
    return array.reshape(count, -1)


def _broadcast_rows(value: Any, count: int) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return np.full((count, 1), float(array))
    return array


def _take_rows(value: np.ndarray, line_ids: np.ndarray) -> np.ndarray:
    if value.ndim and value.shape[0] > int(np.max(line_ids, initial=0)):
        return value[line_ids]
    return value


def seed_for(expr: Any) -> int:
    return zlib.crc32(sp.srepr(expr).encode()) if expr is not None else 0


def region_from(given: Any, variables: Sequence[str], condition_program: Program | None) -> Region:
    """Bounds and finite sets read off the simple parts of `given`; the rest is checked pointwise."""
    region = Region(condition=condition_program)
    if given is None:
        return region
    conjuncts = given.args if isinstance(given, sp.And) else (given,)
    for part in conjuncts:
        if isinstance(part, sp.Or) and all(isinstance(a, sp.Eq) for a in part.args):
            names = {str(a.lhs) for a in part.args if isinstance(a.lhs, sp.Symbol)}
            if len(names) == 1 and all(a.rhs.is_number for a in part.args):
                region.choices[names.pop()] = tuple(float(a.rhs) for a in part.args)
            continue
        if isinstance(part, sp.Eq) and isinstance(part.lhs, sp.Symbol) and part.rhs.is_number:
            region.choices[part.lhs.name] = (float(part.rhs),)
            continue
        if not isinstance(part, (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)):
            continue
        small, large = (part.lhs, part.rhs) if isinstance(part, (sp.StrictLessThan, sp.LessThan)) else (part.rhs, part.lhs)
        if isinstance(large, sp.Symbol) and small.is_number and small.is_finite is not False:
            bound = region.bounds.get(large.name, Bound())
            region.bounds[large.name] = Bound(max(bound.lo, float(small)), bound.hi)
        elif isinstance(small, sp.Symbol) and large.is_number and large.is_finite is not False:
            bound = region.bounds.get(small.name, Bound())
            region.bounds[small.name] = Bound(bound.lo, min(bound.hi, float(large)))
    return region


