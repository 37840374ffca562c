"""Numeric confirmation: walk random lines through the region and look at every change of piece.

The body is smooth wherever every atom stays on one piece, so the only candidates for kinks and
jumps are the points where some atom's state changes (the zero sets of its switching expressions,
as in Griewank's abs-normal form). Along random lines through the region allowed by the domain and
`given`, with vectors given a small concrete size, each change of state is located by bisection and
then judged on the whole definition by its one-sided values, slopes and curvatures. Segments
between changes are checked for a vanishing gradient. Region edges are checked for singularities.

Cost. A change is located on the switches that change only (their cone of the program), so
locating is linear in the body. Judging a change and checking a segment each cost a run of the
whole body, and a body with K switches has about K x lines x entries changes: a few of each kind
are judged (two at first, more only where those showed nothing), and beyond fixed budgets the
changes and segments are sampled, every kind first. The number of whole-body points then stops
growing, and so does the work per node.

Randomness is seeded from the body, so the same input always gives the same verdict.
"""

from __future__ import annotations

import itertools
import math
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.repr import ReprPrinter

from .evaluate import Program, Switch

ENTRIES = 3  # the concrete size of every vector
SPAN = 10.0  # lines run over t in [-SPAN, SPAN] unless a bound cuts them
GRID = 161
GRID_OFFSET = 0.3819660112501051  # 2 - golden ratio, in grid steps
BISECTIONS = 48
STEPS = tuple(10.0 ** -k for k in range(2, 10))  # one-sided step sizes, coarse to fine
EPS = float(np.finfo(float).eps)
MAX_EVENTS_PER_SWITCH = 6
FIRST_LOOKS = 2
# Every change judged and every segment checked costs a run of the whole body at a few dozen
# points; a body with thousands of switches has thousands of them. Beyond these budgets they are
# sampled (every kind of change first, see _round_robin), so the cost stays linear in the size.
JUDGED_EVENTS = 768
SEGMENTS_CHECKED = 1024
GOLDEN_SECTIONS = 60
GOLDEN_RATIO = 0.6180339887498949
# Sequential searches (bisection, golden section) evaluate the points of several of their steps at
# once: every point the next few steps could visit, computed exactly as the steps compute them, so
# the result is the one the step-by-step search gives. A call to the program costs about as much
# as this many points, so a batch grows until it holds about that many.
POINTS_PER_CALL = 512
SWITCHES_PER_BATCH = 32
ELEMENTS_PER_RUN = 2**23  # values a run of the whole body may hold at once (64 MB of float64)


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
    overflow: int = 0  # grid points where the value is infinite (overflow, not a pole: those are points)
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
        self._columns: list[tuple[int, int]] | None = None
        self._weights64: np.ndarray | None = None
        self._stacked: tuple[Any, np.ndarray, np.ndarray] | None = None  # (base dict, bases, directions)

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
        """The inputs at parameter t of the lines: base + t * direction, for all variables at once
        (stacked on a middle axis, then handed out as views, one per variable)."""
        if not self.variables:
            return {}
        if self._stacked is None or self._stacked[0] is not self.base:
            bases = np.stack([self.base[name] for name in self.variables], axis=1)
            directions = np.stack([self.direction[name] for name in self.variables], axis=1)
            self._stacked = (self.base, bases, directions)
        _, bases, directions = self._stacked
        points = np.take(directions, line_ids, axis=0)
        points *= t[:, None, None]
        points += np.take(bases, line_ids, axis=0)  # base + t * direction, in place
        return {name: points[:, index, :] for index, name in enumerate(self.variables)}

    def _frozen(self, line_ids: np.ndarray) -> dict[int, Any]:
        return {slot: _take_rows(value, line_ids) for slot, value in self.stopped.items()}

    def _scalar(self, value: Any, count: int) -> np.ndarray:
        array = np.asarray(value, dtype=float)
        if array.ndim == 0:
            return np.full(count, float(array))
        array = array.reshape(count, -1) if array.shape[0] == count else np.broadcast_to(array, (count,) + array.shape[1:]).reshape(count, -1)
        weights = self.weights[: array.shape[1]] if array.shape[1] <= len(self.weights) else np.ones(array.shape[1])
        return array @ weights

    def _run(self, env: dict[str, np.ndarray], line_ids: np.ndarray, prints: bool = False) -> tuple[Any, Any]:
        """`program.run` at the points of `env` (on lines `line_ids`): the value, and every state
        as rows, or with `prints` only the states' part of each point's fingerprint.

        A run holds the value of every step at every point until it ends, and the states of every
        switch, so a large body at many points is run in chunks of points (the memory stays near
        ELEMENTS_PER_RUN values), and a caller that only compares signatures keeps numbers."""
        count = len(line_ids)
        width = self.entries * (len(self.program.steps) + len(self.program.switches) + 1)
        chunk = max(1, ELEMENTS_PER_RUN // width)
        if count <= chunk:
            value, states = self.program.run(env, self._frozen(line_ids))
            states = [_rows(state, count) for state in states]
            return value, self._state_prints(states, count) if prints else states
        values, parts = [], []
        for start in range(0, count, chunk):
            rows = slice(start, min(start + chunk, count))
            piece = {name: array[rows] for name, array in env.items()}
            value, states = self.program.run(piece, self._frozen(line_ids[rows]))
            size = rows.stop - rows.start
            values.append(_rows_float(value, size))
            states = [_rows(state, size) for state in states]
            parts.append(self._state_prints(states, size) if prints else states)
        widest_value = max(value.shape[1] for value in values)
        value = np.concatenate([np.broadcast_to(value, (len(value), widest_value)) for value in values])
        if prints:
            return value, np.concatenate(parts)
        widest = [max(part[k].shape[1] for part in parts) for k in range(len(parts[0]))]
        return value, [np.concatenate([np.broadcast_to(part[k], (len(part[k]), widest[k])) for part in parts])
                       for k in range(len(widest))]

    def evaluate(self, line_ids: np.ndarray, t: np.ndarray, prints: bool = False) -> tuple[np.ndarray, np.ndarray, Any]:
        """Scalar value, inside-the-region flag and per-switch states at points of the lines (with
        `prints`, each point's fingerprint instead of its states: see _fingerprints)."""
        self.deadline.check()
        env = self._env(line_ids, t)
        value, states = self._run(env, line_ids, prints)
        count = len(t)
        scalar = self._scalar(value, count)
        inside = np.isfinite(scalar)
        if self.region.condition is not None:
            holds, _ = self.region.condition.run(env, states=False)
            holds = np.asarray(holds, dtype=float)
            holds = holds.reshape(count, -1) if holds.ndim and holds.shape[0] == count else np.broadcast_to(holds, (count, 1))
            inside &= (holds > 0.5).all(axis=1)
        if prints:
            return scalar, inside, states + np.asarray(inside, dtype=np.uint64) * self._column_weights()[0]
        return scalar, inside, states

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
        grid_values, inside, states = self.evaluate(line_of, t_flat)
        probe.overflow = int(np.count_nonzero(np.isinf(grid_values)))
        signature = self._signature(inside, states).reshape(lines, GRID, -1)
        inside = inside.reshape(lines, GRID)
        if not np.any(inside):
            probe.reason = "the definition is undefined (NaN) or outside `given` at every point tried"
            return probe

        starts, ends = np.nonzero(np.any(signature[:, :-1] != signature[:, 1:], axis=2))
        intervals = [(int(line), t_grid[line, k], t_grid[line, k + 1], signature[line, k], signature[line, k + 1])
                     for line, k in zip(starts, ends) if usable[line]]
        # The judge looks at a few changes of each kind (the same switches changing the same way,
        # whichever entry): locating every one (each line crosses each switch once per entry)
        # would cost K switches x lines x entries bisections for nothing. Twice as many as its
        # first looks are located (some can fall outside the region); more only for the kinds
        # those looks left unconfirmed.
        switch_of_column = self._switch_of_column()
        kinds = [_change_key(i[3], i[4], switch_of_column) for i in intervals]
        first = _round_robin(kinds, 2 * FIRST_LOOKS, 2 * JUDGED_EVENTS)
        located = self._locate([interval for interval, kept in zip(intervals, first) if kept])
        located += self._touches(line_of, t_flat, t_grid, inside.reshape(-1))
        judged: dict[tuple[Any, ...], int] = {}
        shown: set[tuple[Any, ...]] = set()
        events = self._judge(located, judged, shown)
        # Unconfirmed: kinds judged without showing anything, and kinds whose located changes all
        # fell outside the region, so that none was judged.
        looked_at = {switch for key in judged for switch in _switches_of(key)}
        unconfirmed = {switch for key in judged if key not in shown for switch in _switches_of(key)}
        unconfirmed |= {switch for kind, kept in zip(kinds, first) if kept for switch in _switches_of(kind)} - looked_at
        eligible = _round_robin(kinds, 2 * MAX_EVENTS_PER_SWITCH, len(kinds))
        second = [index for index, kind in enumerate(kinds)
                  if eligible[index] and not first[index] and unconfirmed.intersection(_switches_of(kind))]
        second = second[: max(0, 2 * JUDGED_EVENTS - sum(first))]
        later = self._locate([intervals[index] for index in second])
        events += self._judge(later, judged, shown)
        located_indices = {index for index, kept in enumerate(first) if kept} | set(second)
        unlocated = [interval for index, interval in enumerate(intervals) if index not in located_indices]
        events += self._bound_edges(lo, hi, usable, group)
        probe.events = events
        # A change that is not located still splits its line, between the grid points around it.
        cuts = [Event(line, 0.5 * (a + b), (), "cut") for line, a, b, _, _ in located + later + unlocated]
        self._segments(probe, cuts + events, lo, hi, usable, group, joint)
        if probe.overflow and probe.samples and probe.flat_samples == probe.samples:
            probe.reason = ("the value overflows float64 on part of the region and is flat where it is finite: "
                            "the numbers cannot tell a zero gradient from underflow")
        return probe

    def _sizes(self, line_ids: np.ndarray, t: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """At each point, the size (smallest entry in absolute value) of the singular quantity of
        switch indices[k]; one run of the program serves every switch."""
        count = len(t)
        values = self.program.singular_values(self._env(line_ids, t), self._frozen(line_ids), np.unique(indices).tolist())
        sizes = np.empty(count)
        for index in np.unique(indices).tolist():
            rows = indices == index
            sizes[rows] = np.min(np.abs(_rows_float(values[index], count)), axis=1)[rows]
        return sizes

    def _reach_zero_many(self, queries: Sequence[tuple[int, float, int]]) -> list[bool]:
        """For each (line, tau, switch): does the singular quantity of the switch come to zero at
        tau (and not pass through infinity, as log(y / p) does where p changes sign)? One run."""
        if not queries:
            return []
        lines, points, indices = [], [], []
        for line, tau, index in queries:
            lines += [line, line]
            points += [tau - 1e-9 * (1 + abs(tau)), tau + 1e-9 * (1 + abs(tau))]
            indices += [index, index]
        sizes = self._sizes(np.array(lines), np.array(points), np.array(indices)).reshape(-1, 2)
        return (np.min(sizes, axis=1) < 1e-6).tolist()

    def _touches(self, line_of: np.ndarray, t_flat: np.ndarray, t_grid: np.ndarray,
                 inside: np.ndarray) -> list[tuple[int, float, float, np.ndarray, np.ndarray]]:
        """Points where a singular atom's argument comes down to zero without changing sign
        (log(x^2), the variance inside std): local minima of its size, refined by golden section."""
        found: list[tuple[int, float, float, np.ndarray, np.ndarray]] = []
        lines, grid = t_grid.shape
        singular = [index for index, switch in enumerate(self.program.switches) if switch.singular]
        if not singular:
            return found
        # One run gives every singular quantity on the grid; the dips of all of them are then
        # refined together (each row of the search knows its switch), switch by switch in order.
        on_grid = self.program.singular_values(self._env(line_of, t_flat), self._frozen(line_of))
        dip_rows, dip_lo, dip_hi, dip_switch, dip_scale = [], [], [], [], []
        for index in singular:
            size = np.min(np.abs(_rows_float(on_grid[index], len(t_flat))), axis=1).reshape(lines, grid)
            size = np.where(inside.reshape(lines, grid), size, np.inf)
            dips = (size[:, 1:-1] < size[:, :-2]) & (size[:, 1:-1] <= size[:, 2:]) & np.isfinite(size[:, 1:-1])
            rows, columns = np.nonzero(dips)
            rows, columns = rows[:64], columns[:64]
            dip_rows.append(rows)
            dip_lo.append(t_grid[rows, columns])
            dip_hi.append(t_grid[rows, columns + 2])
            dip_switch.append(np.full(len(rows), index))
            dip_scale.append(1 + size[rows, columns + 1])
        rows = np.concatenate(dip_rows)
        if len(rows) == 0:
            return found
        switches = np.concatenate(dip_switch)
        lo, hi = np.concatenate(dip_lo), np.concatenate(dip_hi)
        # Each batch computes only the quantities of its own few switches (see _batches).
        for batch, _ in _batches([(int(index),) for index in switches]):
            lo[batch], hi[batch] = self._golden_section(rows[batch], lo[batch], hi[batch], switches[batch])
        tau = 0.5 * (lo + hi)
        reach = self._sizes(rows, tau, switches)
        touching = [(int(row), float(point)) for row, point, value, norm
                    in zip(rows, tau, reach, np.concatenate(dip_scale)) if value < 1e-9 * norm]
        if not touching:
            return found
        # Both sides of every touching point in one run: rows 2k and 2k + 1 belong to point k.
        nudged = [t for _, point in touching for t in (point - 1e-10 * (1 + abs(point)), point + 1e-10 * (1 + abs(point)))]
        sig = self._sig_at(np.repeat([row for row, _ in touching], 2), np.array(nudged))
        for k, (row, point) in enumerate(touching):
            found.append((row, point, point, sig[2 * k], sig[2 * k + 1]))
        return found

    def _golden_section(self, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                        switches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """GOLDEN_SECTIONS steps of golden-section search for the smallest size of the singular
        quantity of switch switches[k] on row k's [lo, hi]: at each step the interval becomes
        [lo, right] when the size at `left` is smaller, else [left, hi].

        A few steps are resolved per run of the program: the tree of intervals those steps could
        reach is built with the same arithmetic as the steps, its `left` and `right` points are
        evaluated together, and the choices are then replayed down the tree.
        """
        count = len(rows)
        remaining = GOLDEN_SECTIONS
        while remaining:
            levels = min(remaining, _levels_per_call(count, points_per_step=2))
            # Level d holds 2**d intervals per row; child 2k keeps [lo, right], child 2k + 1 [left, hi].
            tree_lo, tree_hi = [lo[:, None]], [hi[:, None]]
            tree_left, tree_right = [], []
            for _ in range(levels):
                node_lo, node_hi = tree_lo[-1], tree_hi[-1]
                left = node_hi - GOLDEN_RATIO * (node_hi - node_lo)
                right = node_lo + GOLDEN_RATIO * (node_hi - node_lo)
                tree_left.append(left)
                tree_right.append(right)
                children_lo = np.empty((count, 2 * node_lo.shape[1]))
                children_lo[:, 0::2], children_lo[:, 1::2] = node_lo, left
                children_hi = np.empty((count, 2 * node_hi.shape[1]))
                children_hi[:, 0::2], children_hi[:, 1::2] = right, node_hi
                tree_lo.append(children_lo)
                tree_hi.append(children_hi)
            points = np.concatenate(tree_left + tree_right, axis=1)  # (count, 2 * (2**levels - 1))
            width = points.shape[1]
            sizes = self._sizes(np.repeat(rows, width), points.reshape(-1), np.repeat(switches, width)).reshape(count, width)
            half = width // 2
            node = np.zeros(count, dtype=np.int64)
            offset = 0  # where level d starts among the left (or right) points
            every = np.arange(count)
            for depth in range(levels):
                smaller_left = sizes[every, offset + node] < sizes[every, half + offset + node]
                offset += 2 ** depth
                node = 2 * node + np.where(smaller_left, 0, 1)
            lo = tree_lo[levels][every, node]
            hi = tree_hi[levels][every, node]
            remaining -= levels
        return lo, hi

    def _sig_at(self, line_ids: np.ndarray, t: np.ndarray) -> np.ndarray:
        _, inside, states = self.evaluate(line_ids, t)
        return self._signature(inside, states)

    def _switch_sig_at(self, line_ids: np.ndarray, t: np.ndarray, switches: Sequence[int]) -> np.ndarray:
        """The columns of `switches` in the signature (in that order), computing only what those
        switches depend on."""
        self.deadline.check()
        count = len(t)
        states = self.program.states_of(self._env(line_ids, t), switches, self._frozen(line_ids))
        parts = [self._columns_of(switch, state, count) for switch, state in zip(switches, states)]
        return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]

    def _bisect(self, line_ids: np.ndarray, a: np.ndarray, b: np.ndarray, sig_a: np.ndarray,
                signature: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """BISECTIONS steps of bisection of each [a, b]: the midpoint becomes the new `a` when its
        signature equals `sig_a` (the signature at the first `a`), else the new `b`.

        A few steps are resolved per run of the program: every midpoint those steps could visit is
        computed as the steps compute it (halving the neighbouring points, level by level), all of
        them are evaluated together, and the choices are then replayed.
        """
        count = len(line_ids)
        remaining = BISECTIONS
        while remaining:
            levels = min(remaining, _levels_per_call(count, points_per_step=1))
            # points[:, k] for k = 0 .. 2**levels: a, every midpoint, b. The midpoints of level d
            # sit 2**(levels - d) apart, each halfway between its two neighbours of level d - 1.
            span = 2**levels
            points = np.empty((count, span + 1))
            points[:, 0], points[:, span] = a, b
            for depth in range(1, levels + 1):
                gap = 2 ** (levels - depth)
                points[:, gap::2 * gap] = 0.5 * (points[:, 0:span:2 * gap] + points[:, 2 * gap::2 * gap])
            inner = points[:, 1:span]
            sig = signature(np.repeat(line_ids, span - 1), inner.reshape(-1)).reshape(count, span - 1, -1)
            same = (sig == sig_a[:, None, :]).all(axis=2).reshape(-1)
            # Replay: the midpoint of [low, low + 2 * gap] is low + gap; the same state moves low.
            rows = np.arange(count) * (span - 1) - 1
            low = np.zeros(count, dtype=np.int64)
            for depth in range(1, levels + 1):
                gap = 2 ** (levels - depth)
                low += gap * same[rows + low + gap]
            every = np.arange(count)
            a, b = points[every, low], points[every, low + 1]
            remaining -= levels
        return a, b

    def _locate(self, intervals: list[tuple[int, float, float, np.ndarray, np.ndarray]]) -> list[tuple[int, float, float, np.ndarray, np.ndarray]]:
        """Bisect every interval (line, a, b, signature at a, signature at b) down to a change
        point; split off the rest of an interval that holds another change.

        An interval is bisected on the switches that differ at its ends, computing only what they
        depend on, so the cost of locating a change does not grow with the rest of the body. Only
        where the region or the value's finiteness changes is the whole body needed.
        """
        found: list[tuple[int, float, float, np.ndarray, np.ndarray]] = []
        columns = self._state_columns()
        switch_of_column = self._switch_of_column()
        pending = intervals
        for _round in range(4):
            if not pending:
                break
            line_ids = np.array([p[0] for p in pending])
            a = np.array([p[1] for p in pending], dtype=float)
            b = np.array([p[2] for p in pending], dtype=float)
            sig_start = np.stack([p[3] for p in pending])
            sig_end = np.stack([p[4] for p in pending])
            differs = sig_start != sig_end
            keys = [None if row[0] else tuple(np.unique(switch_of_column[row]).tolist()) for row in differs]
            b_now = b.copy()
            for batch, switches in _batches(keys):
                if switches is None:
                    a[batch], b_now[batch] = self._bisect(line_ids[batch], a[batch], b[batch], sig_start[batch], self._sig_at)
                    continue
                own = np.concatenate([np.arange(*columns[i]) for i in switches])

                def signature(ids: np.ndarray, t: np.ndarray, switches: tuple[int, ...] = switches) -> np.ndarray:
                    return self._switch_sig_at(ids, t, switches)

                a[batch], b_now[batch] = self._bisect(line_ids[batch], a[batch], b[batch], sig_start[batch][:, own], signature)
            # Read each side a little away from the change point: exactly on it, a state can be
            # degenerate (sign 0 where an argument is exactly zero).
            tau = 0.5 * (a + b_now)
            nudge = 1e-10 * (1 + np.abs(tau))
            sides = self._sig_at(np.concatenate([line_ids, line_ids]), np.concatenate([tau - nudge, tau + nudge]))
            sig_a, sig_b = sides[: len(tau)], sides[len(tau):]
            next_pending = []
            # An interval whose far end differs from the change found holds another change.
            more = ((sig_b != sig_end).any(axis=1) & (b - (tau + nudge) > 1e-9)).tolist()
            for i, (line, start, stop, end) in enumerate(zip(line_ids.tolist(), a.tolist(), b_now.tolist(), b.tolist())):
                found.append((line, start, stop, sig_a[i], sig_b[i]))
                if more[i]:
                    next_pending.append((line, float(tau[i] + nudge[i]), end, sig_b[i], sig_end[i]))
            pending = next_pending
        return found

    def _judge(self, located: list[tuple[int, float, float, np.ndarray, np.ndarray]],
               judged: dict[tuple[Any, ...], int], shown: set[tuple[Any, ...]]) -> list[Event]:
        """Judge the located changes, a few of each kind: `judged` counts the changes of each kind
        judged so far and `shown` holds the kinds that showed a kink, jump or singularity (both
        are updated), so that a second call goes on where the first stopped."""
        if not located:
            return []
        switch_of_column = self._switch_of_column()
        keys: list[tuple[Any, ...]] = []
        candidates: list[tuple[Any, dict[int, tuple[int, int]], bool]] = []
        for item in located:
            _, _, _, sig_a, sig_b = item
            if not sig_a[0] and not sig_b[0]:
                continue  # outside the region on both sides
            transitions = {switch: states for switch, states in _change_key(sig_a, sig_b, switch_of_column) if switch >= 0}
            region_changed = bool(sig_a[0] != sig_b[0])
            keys.append(tuple(transitions.items()) + ((-1,) if region_changed else ()))
            candidates.append((item, transitions, region_changed))
        # Most kinds of change show what they are at the first look; only a kind that showed
        # nothing (a kink hidden in that context, as in an untaken branch) is looked at again
        # elsewhere, up to MAX_EVENTS_PER_SWITCH changes in all.
        position = {(item[0], 0.5 * (item[1] + item[2])): index for index, (item, _, _) in enumerate(candidates)}

        def look(indices: list[int]) -> list[Event]:
            for index in indices:
                judged[keys[index]] = judged.get(keys[index], 0) + 1
            found = self._judge_chosen([candidates[index] for index in indices])
            shown.update(keys[position[event.line, event.t]] for event in found if event.kind != "none")
            return found

        left = JUDGED_EVENTS - sum(judged.values())
        first = _round_robin(keys, FIRST_LOOKS, left, judged)
        events = look([index for index, kept in enumerate(first) if kept])
        again = [index for index, kept in enumerate(first) if not kept and keys[index] not in shown]
        more = _round_robin([keys[index] for index in again], MAX_EVENTS_PER_SWITCH, left - sum(first), judged)
        events += look([index for index, kept in zip(again, more) if kept])
        # in the order of a single look: changes judged by their sides first, then singular ones
        def place(event: Event) -> tuple[bool, int]:
            index = position[event.line, event.t]
            _, transitions, region = candidates[index]
            return region or self._singular(transitions), index

        return sorted(events, key=place)

    def _judge_chosen(self, chosen: list[tuple[Any, dict[int, tuple[int, int]], bool]]) -> list[Event]:
        self._touching_zeros(chosen)
        events: list[Event] = []
        ordinary = [(item, transitions) for item, transitions, region in chosen
                    if not region and not self._singular(transitions)]
        events += self._one_sided(ordinary)
        events += self._singular_events([(item, transitions, region) for item, transitions, region in chosen
                                         if region or self._singular(transitions)])
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
        # touches[k, row]: singular quantity singular[k] is (all but) zero at change `row`.
        touches = np.empty((len(singular), len(chosen)), dtype=bool)
        for k, i in enumerate(singular):
            value = np.atleast_2d(magnitudes[i])
            smallest = np.min(np.abs(value.reshape(value.shape[0], -1)), axis=1) < 1e-9
            touches[k] = smallest if value.shape[0] == len(chosen) else smallest[0]
        for row in np.nonzero(np.any(touches, axis=0))[0].tolist():
            transitions = chosen[row][1]
            for k in np.nonzero(touches[:, row])[0].tolist():
                if singular[k] not in transitions:
                    transitions[singular[k]] = (0, 0)

    def _singular(self, changed: Mapping[int, Any]) -> bool:
        return any(self.program.switches[i].singular for i in changed)

    def _state_columns(self) -> list[tuple[int, int]]:
        """Where each switch's states sit in a signature (after the inside flag); fixed per program."""
        if self._columns is None:
            _, _, states = self.evaluate(np.zeros(1, dtype=int), np.zeros(1))
            columns = []
            start = 1
            for state in states:
                columns.append((start, start + state.shape[1]))
                start += state.shape[1]
            self._columns = columns
        return self._columns

    def _fingerprints(self, inside: np.ndarray, states: list[Any]) -> np.ndarray:
        """One number per point standing for its signature (equal signatures, equal numbers; unequal
        ones collide with probability 2**-64): a weighted sum of the columns, modulo 2**64. A
        signature has a column per switch and entry, so comparing thousands of points of a body
        with thousands of switches must not build them."""
        return np.asarray(inside, dtype=np.uint64) * self._column_weights()[0] + self._state_prints(states, len(inside))

    def _state_prints(self, states: list[Any], count: int) -> np.ndarray:
        """The states' part of `_fingerprints`."""
        weights = self._column_weights()
        total = np.zeros(count, dtype=np.uint64)
        for switch, ((start, stop), state) in enumerate(zip(self._state_columns(), states)):
            total += self._columns_of(switch, state, count).astype(np.uint64) @ weights[start:stop]
        return total

    def _columns_of(self, switch: int, state: Any, count: int) -> np.ndarray:
        """A switch's state as rows of its columns in a signature (a state computed without the
        vector axis, as a condition of scalars, spreads over the entries)."""
        start, stop = self._state_columns()[switch]
        rows = _rows(state, count)
        return rows if rows.shape[1] == stop - start else np.broadcast_to(rows, (count, stop - start))

    def _fingerprints_of(self, signatures: np.ndarray) -> np.ndarray:
        """`_fingerprints` of signatures already built (rows of columns)."""
        return signatures.astype(np.uint64) @ self._column_weights()

    def _column_weights(self) -> np.ndarray:
        if self._weights64 is None:
            width = self._state_columns()[-1][1] if self._state_columns() else 1
            self._weights64 = np.random.default_rng(0x6B696E6B).integers(1, 2**63, size=width, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        return self._weights64

    def _switch_of_column(self) -> np.ndarray:
        """The switch of each column of a signature (-1 for the inside flag)."""
        return np.array([-1] + [i for i, (first, stop) in enumerate(self._state_columns()) for _ in range(first, stop)])

    def _one_sided(self, items: list[tuple[tuple[int, float, float, np.ndarray, np.ndarray], dict[int, tuple[int, int]]]]) -> list[Event]:
        """Judge each change point by one-sided values, slopes and curvatures of the whole body.

        Each quantity is estimated from three points on each side at several step sizes. A real
        jump or kink gives a difference that stays put as the step shrinks; the error of a smooth
        but steep function shrinks with the step (like h^3, h^2, h), so only a stable difference
        above the rounding floor counts.
        """
        return [event for event in self._one_sided_each(items) if event is not None]

    def _one_sided_each(self, items: list[tuple[tuple[int, float, float, np.ndarray, np.ndarray], dict[int, tuple[int, int]]]]) -> list[Event | None]:
        """`_one_sided`, item by item: the event judged at each (None when nothing could be judged)."""
        if not items:
            return []
        count, levels_count = len(items), len(STEPS)
        # Rows per event: for each step size, tau + h * (1, 2, 3), then tau - h * (1, 2, 3).
        taus = 0.5 * (np.array([item[0][1] for item in items]) + np.array([item[0][2] for item in items]))
        reach = np.array(STEPS)[:, None] * np.array([1.0, 2.0, 3.0])[None, :]
        points = np.stack([taus[:, None, None] + reach[None], taus[:, None, None] - reach[None]], axis=2)
        rows_line = np.repeat([item[0][0] for item in items], levels_count * 6)
        values, _, prints = self.evaluate(rows_line, points.reshape(-1), prints=True)
        prints = prints.reshape(count, levels_count, 2, 3)
        values = values.reshape(count, levels_count, 2, 3)
        before = self._fingerprints_of(np.stack([item[0][3] for item in items]))[:, None, None]
        after = self._fingerprints_of(np.stack([item[0][4] for item in items]))[:, None, None]
        valid = (np.all(prints[:, :, 0] == after, axis=2) & np.all(prints[:, :, 1] == before, axis=2)
                 & np.all(np.isfinite(values), axis=(2, 3))).tolist()
        estimates = _one_sided_table(values[:, :, 0], values[:, :, 1])
        events = []
        for index, ((line, a, b, sig_a, sig_b), transitions) in enumerate(items):
            levels = [estimates[index][level] if valid[index][level] else None for level in range(levels_count)]
            kind, curvature_jump = _decide(levels)
            if kind in ("none", "kink") and self._differs_on_surface(line, a, b, transitions):
                kind = "jump"
            events.append(None if kind is None else Event(line, 0.5 * (a + b), tuple(transitions), kind, curvature_jump,
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

    def _diverge_many(self, queries: Sequence[tuple[int, float, float]]) -> list[tuple[bool, bool]]:
        """For each (line, tau, side): do the value, and the slope, grow without bound as t
        approaches tau from `side`? Eight points each, all in one run."""
        if not queries:
            return []
        distances = np.array([1e-2, 1e-4, 1e-6, 1e-8])
        t = np.concatenate([np.concatenate([tau + side * distances, tau + side * 1.1 * distances]) for _, tau, side in queries])
        values, inside, _ = self.evaluate(np.repeat([line for line, _, _ in queries], 8), t)
        verdicts = []
        for k, (_, _, side) in enumerate(queries):
            if not np.all(inside[8 * k: 8 * k + 8]):
                verdicts.append((False, False))
                continue
            near, further = values[8 * k: 8 * k + 4], values[8 * k + 4: 8 * k + 8]
            slopes = (further - near) / (0.1 * distances) * side
            growing = []
            for series in (near, slopes):
                steps = np.abs(np.diff(series))
                scale = 1 + abs(series[1])
                growing.append(bool(steps[2] > 0.3 * steps[1] and steps[2] > 1e-6 * scale))
            verdicts.append((growing[0], growing[0] or growing[1]))
        return verdicts

    def _singular_events(self, chosen: list[tuple[tuple[int, float, float, np.ndarray, np.ndarray],
                                                  dict[int, tuple[int, int]], bool]]) -> list[Event]:
        """Changes where a singular atom's argument reaches zero, or where the region ends.

        A singular quantity that reaches zero with the value or the slope growing without bound
        there is a singularity (a cusp when finite with the region on both sides); at an end of
        the region it is an edge; otherwise the change is judged like any other, plus a
        singularity where the atom's own slope is infinite. The runs of all the changes are
        batched: reaching zero, then diverging, then one-sided estimates, each in one run.
        """
        if not chosen:
            return []
        switches = self.program.switches
        taus = [0.5 * (item[1] + item[2]) for item, _, _ in chosen]
        queries = [(item[0], tau, i) for (item, transitions, _), tau in zip(chosen, taus)
                   for i in transitions if switches[i].singular]
        reached = iter(self._reach_zero_many(queries))
        singular_of = []
        for item, transitions, _ in chosen:
            hits = {i: switches[i].singular and next(reached) for i in transitions if switches[i].singular}
            singular_of.append({i: t for i, t in transitions.items() if hits.get(i, False)})
        sides_of = [[side for side, inside in ((-1.0, bool(item[3][0])), (1.0, bool(item[4][0]))) if inside]
                    for item, _, _ in chosen]
        asks = [(k, side) for k, singular in enumerate(singular_of) if singular and sides_of[k] for side in sides_of[k]]
        answers = self._diverge_many([(chosen[k][0][0], taus[k], side) for k, side in asks])
        verdicts: dict[int, list[tuple[bool, bool]]] = {}
        for (k, _), answer in zip(asks, answers):
            verdicts.setdefault(k, []).append(answer)
        outcome: list[list[Event] | None] = []
        for k, (item, transitions, region) in enumerate(chosen):
            line, tau, singular = item[0], taus[k], singular_of[k]
            value_diverges = any(v for v, _ in verdicts.get(k, []))
            slope_diverges = any(s for _, s in verdicts.get(k, []))
            if value_diverges or slope_diverges:
                # Defined and finite at the point with both sides in the region: a cusp inside it.
                cusp = len(sides_of[k]) == 2 and not value_diverges
                outcome.append([Event(line, tau, tuple(singular), "singular", on_edge=not cusp, cusp=cusp, transitions=singular)])
            elif region:
                outcome.append([Event(line, tau, tuple(transitions), "edge", on_edge=True, transitions=transitions)])
            else:
                outcome.append(None)
        judged = iter(self._one_sided_each([(item, transitions) for k, (item, transitions, _) in enumerate(chosen)
                                            if outcome[k] is None]))
        events: list[Event] = []
        for k, (item, transitions, _) in enumerate(chosen):
            if outcome[k] is not None:
                events += outcome[k]
                continue
            event = next(judged)
            if event is not None:
                events.append(event)
            steep = {i: t for i, t in singular_of[k].items() if _infinite_slope_at_zero(switches[i])}
            if steep:
                # The atom's own derivative is infinite where its argument touches zero, even when
                # the body stays finite: the backward pass multiplies inf by 0 there.
                events.append(Event(item[0], taus[k], tuple(steep), "singular", on_edge=False, transitions=steep))
        return events

    def _bound_edges(self, lo: np.ndarray, hi: np.ndarray, usable: np.ndarray, group: Sequence[str]) -> list[Event]:
        """Ends of lines cut by a bound of `given`: is a singular atom's zero sitting there?"""
        events = []
        singular = [i for i, s in enumerate(self.program.switches) if s.singular]
        if not singular:
            return events
        columns = self._state_columns()
        ends = [(int(line), float(end), inward) for line in np.nonzero(usable)[0]
                for end, inward in ((lo[line], 1.0), (hi[line], -1.0)) if abs(end) < SPAN - 1e-12]
        if not ends:
            return events
        # Both sides of every cut end in one run: rows 2k and 2k + 1 belong to end k.
        probe_line = np.repeat([line for line, _, _ in ends], 2)
        probe_t = np.array([t for _, end, inward in ends for t in (end + inward * 1e-9, end - inward * 1e-9)])
        _, _, states = self.evaluate(probe_line, probe_t)
        signatures = self._signature(np.ones(len(probe_t), dtype=bool), states)
        changed = [[i for i in singular if np.any(signatures[2 * k, columns[i][0]:columns[i][1]]
                                                  != signatures[2 * k + 1, columns[i][0]:columns[i][1]])]
                   for k in range(len(ends))]
        reached = iter(self._reach_zero_many([(line, end, i) for (line, end, _), switches in zip(ends, changed) for i in switches]))
        crossed = [tuple(i for i in switches if next(reached)) for switches in changed]
        at_edge = [k for k in range(len(ends)) if crossed[k]]
        diverging = self._diverge_many([ends[k] for k in at_edge])
        for k, verdict in zip(at_edge, diverging):
            if any(verdict):
                line, end, _ = ends[k]
                events.append(Event(line, end, crossed[k], "singular", on_edge=True))
        return events

    # -------------------------------------------------------------- flat pieces

    def _segments(self, probe: Probe, events: list[Event], lo: np.ndarray, hi: np.ndarray, usable: np.ndarray,
                  group: Sequence[str], joint: Sequence[str]) -> None:
        cuts: dict[int, list[float]] = {}
        for event in events:
            cuts.setdefault(event.line, []).append(event.t)
        pieces = []
        for line in np.nonzero(usable)[0]:
            edges = [lo[line], *sorted(cuts.get(int(line), [])), hi[line]]
            pieces += [(int(line), left, right) for left, right in itertools.pairwise(edges) if right - left >= 1e-6]
        if not pieces:
            return
        if len(pieces) > SEGMENTS_CHECKED:
            # evenly spread over all lines, the first and last segment always
            pieces = [pieces[k] for k in np.unique(np.linspace(0, len(pieces) - 1, SEGMENTS_CHECKED).round().astype(int))]
        points_line = [line for line, _, _ in pieces for _ in range(3)]
        points_t = [left + fraction * (right - left) for _, left, right in pieces for fraction in (0.3, 0.5, 0.7)]
        line_ids = np.array(points_line)
        t = np.array(points_t)
        self.deadline.check()
        largest, scale, valid = self._gradients(line_ids, t, list(dict.fromkeys([*group, *joint])))
        threshold = _flat_threshold(largest, scale, valid)
        flat_own = np.all([largest[name] <= threshold for name in group], axis=0)
        flat_joint = np.all([largest[name] <= threshold for name in joint], axis=0)
        probe.samples = int(np.sum(valid))
        probe.flat_samples = int(np.sum(flat_own & valid))
        # Three points per segment: a segment counts when one of them is valid, and is flat when
        # every valid one is.
        valid_blocks = valid.reshape(-1, 3)
        counted = np.any(valid_blocks, axis=1).tolist()
        flat_blocks = np.all(flat_joint.reshape(-1, 3) | ~valid_blocks, axis=1).tolist()
        segment_lines, middles = line_ids[0::3].tolist(), t[1::3].tolist()
        flat = [block for block in range(len(middles)) if counted[block] and flat_blocks[block]]
        # the states of the flat pieces, which name the atoms that cut the gradient off
        _, _, states = self.evaluate(line_ids[1::3][flat], t[1::3][flat]) if flat else (None, None, [])
        row_of = {block: row for row, block in enumerate(flat)}
        for block, middle_t in enumerate(middles):
            if not counted[block]:
                continue
            probe.segments.append(Segment(segment_lines[block], middle_t, flat_blocks[block]))
            if flat_blocks[block]:
                probe.flat_states[len(probe.segments) - 1] = [state[row_of[block]] for state in states]

    def _gradients(self, line_ids: np.ndarray, t: np.ndarray, names: Sequence[str]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """The largest partial derivative over the entries of each variable, by central differences.

        The centre and every shifted point (each entry of each variable, moved up and down) are
        evaluated in one run: block 0 of the batch is the centre, then two blocks per shift.
        """
        count = len(t)
        env = self._env(line_ids, t)
        shifts = [(name, entry, side) for name in names for entry in range(self.entries) for side in (1.0, -1.0)]
        steps = {name: 1e-5 * (1 + np.abs(env[name])) for name in names}
        blocks = 1 + len(shifts)
        batch = {}
        for variable, values in env.items():
            copies = [values]
            for name, entry, side in shifts:
                moved = values.copy()
                if name == variable:
                    moved[:, entry] += side * steps[name][:, entry]
                copies.append(moved)
            batch[variable] = np.concatenate(copies)
        value, state_prints = self._run(batch, np.tile(line_ids, blocks), prints=True)
        scalars = self._scalar(value, count * blocks).reshape(blocks, count)
        finite = np.isfinite(scalars.reshape(-1)).astype(np.uint64)
        prints = (state_prints + finite * self._column_weights()[0]).reshape(blocks, count)
        center = scalars[0]
        valid = np.isfinite(center) & (prints == prints[0]).all(axis=0)
        largest = {name: np.zeros(count) for name in names}
        for k, (name, entry, side) in enumerate(shifts):
            if side < 0:
                continue
            gradient = (scalars[1 + k] - scalars[2 + k]) / (2 * steps[name][:, entry])
            largest[name] = np.maximum(largest[name], np.abs(np.nan_to_num(gradient, nan=np.inf)))
        return largest, 1 + np.abs(center), valid


def _change_key(before: np.ndarray, after: np.ndarray, switch_of_column: np.ndarray) -> tuple[Any, ...]:
    """What changes between two signatures: each switch that changed, with its state on either
    side at its first differing column, and whether the region flag changed."""
    changed = np.nonzero(before != after)[0].tolist()
    transitions: dict[int, tuple[int, int]] = {}
    for column in changed:
        switch = int(switch_of_column[column])
        if switch not in transitions:
            transitions[switch] = (int(before[column]), int(after[column]))
    return tuple(sorted(transitions.items()))


def _switches_of(key: tuple[Any, ...]) -> list[int]:
    """The switches in a kind of change (see _change_key; the region flag is not a switch)."""
    return [part[0] for part in key if isinstance(part, tuple) and part[0] >= 0]


def _round_robin(keys: Sequence[Any], per_key: int, total: int, taken: Mapping[Any, int] | None = None) -> list[bool]:
    """Which items to keep: at most `per_key` of each key (counting the `taken` ones), in order,
    and at most `total` in all, taken rank by rank (the first of every key, then the second of
    every key, ...) so that a budget that binds still covers every key before it covers any twice."""
    rank: dict[Any, int] = dict(taken or {})
    ranks = []
    for key in keys:
        ranks.append(rank.get(key, 0))
        rank[key] = ranks[-1] + 1
    order = sorted((r, index) for index, r in enumerate(ranks) if r < per_key)
    keep = [False] * len(keys)
    for _, index in order[:total]:
        keep[index] = True
    return keep


def _batches(keys: Sequence[tuple[int, ...] | None]) -> list[tuple[np.ndarray, tuple[int, ...] | None]]:
    """The rows of a search, grouped so that each run of the program computes few switches.

    Rows whose keys (the switches they follow) together name at most SWITCHES_PER_BATCH switches
    share a batch, which follows all of them; rows keyed None (the whole body) form one batch.
    Batches of many switches would make every run as costly as the whole body, and the cost of
    locating every change would grow with the body's size times the number of its switches.
    """
    groups: dict[tuple[int, ...], list[int]] = {}
    whole: list[int] = []
    for row, key in enumerate(keys):
        if key is None:
            whole.append(row)
        else:
            groups.setdefault(key, []).append(row)
    batches: list[tuple[np.ndarray, tuple[int, ...] | None]] = []
    rows: list[int] = []
    switches: set[int] = set()
    for key in sorted(groups):
        if rows and len(switches.union(key)) > SWITCHES_PER_BATCH:
            batches.append((np.array(rows), tuple(sorted(switches))))
            rows, switches = [], set()
        rows += groups[key]
        switches.update(key)
    if rows:
        batches.append((np.array(rows), tuple(sorted(switches))))
    if whole:
        batches.append((np.array(whole), None))
    return batches


def _levels_per_call(count: int, points_per_step: int) -> int:
    """How many steps of a search over `count` rows to resolve in one run (see POINTS_PER_CALL):
    L steps need points_per_step * (2**L - 1) points per row."""
    levels = 1
    while levels < 12 and count * points_per_step * (2 ** (levels + 1) - 1) <= POINTS_PER_CALL:
        levels += 1
    return levels


def _flat_threshold(largest: Mapping[str, np.ndarray], scale: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The size below which a finite-difference gradient counts as zero, at each sample.

    Small relative to the value (1e-7 (1 + |f|)), but never above what the body shows elsewhere: a
    body whose gradient is small everywhere (`1e-8 * sum(w^2)`) is not flat, it is scaled. And
    never below the rounding in the estimate (a few ulps of the value over the step), so that
    `x + 1e10`, whose differences are a few dozen ulps, is not flat either, and a piece whose
    differences are exactly zero always is.
    """
    slopes = [np.where(valid, largest[name], 0.0) for name in largest]
    finite = [np.where(np.isfinite(slope), slope, 0.0) for slope in slopes]
    peak = float(max((np.max(slope) for slope in finite), default=0.0))
    rounding = 2 * EPS * (scale - 1) / 1e-5  # the smallest step of _gradients is 1e-5
    return np.maximum(np.minimum(1e-7 * scale, 1e-7 * peak), rounding)


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


def _one_sided_table(right: np.ndarray, left: np.ndarray) -> list[list[tuple[float, ...]]]:
    """`_one_sided_estimates` for many events at once: right and left have the shape
    (events, len(STEPS), 3); the same arithmetic, element by element, as Python floats."""
    steps = np.array(STEPS)[None, :]
    squares = np.array([step**2 for step in STEPS])[None, :]
    value_r = 3 * right[..., 0] - 3 * right[..., 1] + right[..., 2]
    value_l = 3 * left[..., 0] - 3 * left[..., 1] + left[..., 2]
    slope_r = (-2.5 * right[..., 0] + 4 * right[..., 1] - 1.5 * right[..., 2]) / steps
    slope_l = -(-2.5 * left[..., 0] + 4 * left[..., 1] - 1.5 * left[..., 2]) / steps
    curve_r = (right[..., 0] - 2 * right[..., 1] + right[..., 2]) / squares
    curve_l = (left[..., 0] - 2 * left[..., 1] + left[..., 2]) / squares
    scale = 1 + np.max(np.abs(right), axis=-1) + np.max(np.abs(left), axis=-1)
    columns = [value_r - value_l, slope_r - slope_l, curve_r - curve_l, scale,
               np.broadcast_to(steps, scale.shape), np.abs(slope_r) + np.abs(slope_l), np.abs(curve_r) + np.abs(curve_l)]
    rows = np.stack(columns, axis=-1).tolist()
    return [[tuple(level) for level in event] for event in rows]


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
    return array.reshape(count, -1).astype(np.int64, copy=False)


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
    """The probe's seed: a checksum of `sympy.srepr(expr)`, so equal bodies get equal lines."""
    return zlib.crc32(_SharedRepr().doprint(expr).encode()) if expr is not None else 0


class _SharedRepr(ReprPrinter):
    """`srepr`, printing a sub-expression that occurs several times in a body (a local used twice,
    an expanded call) once: the same text, without walking the shared part again."""

    def __init__(self) -> None:
        super().__init__()
        self._printed: dict[int, str] = {}

    def _print(self, expr: Any, **kwargs: Any) -> str:
        if kwargs or not isinstance(expr, sp.Basic):
            return super()._print(expr, **kwargs)
        text = self._printed.get(id(expr))
        if text is None:
            text = self._printed[id(expr)] = super()._print(expr)
        return text


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


