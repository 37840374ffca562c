"""Numeric confirmation: solve for every switching set, judge each point found with exact
one-sided data, and certify flat pieces symbolically.

The body is smooth wherever every atom stays on one piece, so the only candidates for kinks and
jumps are the zero sets of the atoms' switching quantities (Griewank's abs-normal form; each row of
the atom table states its `crossings`). This module:

1. **Solves** for points of each set: from starting points whose scale comes from the body itself
   (its constants, `given` bounds) and from random ones, a Gauss-Newton iteration on the switching
   quantity along its own gradient (exact in one step for a linear quantity, wherever its zero is:
   `abs(x - 1e4)` is found like `abs(x)`). A quantity that only touches zero (a sum of squares
   under a sqrt, the cone point `p == y`) converges to its zero the same way; one that stalls above
   zero (`sqrt(maximum(s, 1e-12))`) never reaches its set, and the candidate is dismissed.
2. **Judges** each point found by the whole body just before and just after the set, along the
   normal of the set: values and exact forward-mode derivatives (`Program.tangents`) at two
   distances on each side. A real jump or kink is a difference that stays as the distance
   shrinks; a continuous one shrinks with it. Every comparison is relative to the size of the
   quantity compared (values with values, slopes with slopes), never to the size of the output,
   so adding or multiplying by a constant changes nothing.
3. **Certifies** constant pieces: a piece is flat only when the body with every switch fixed on
   that piece (the rows' `piece` expressions) has a symbolically zero derivative; the witness is a
   point of the region on that piece. Small numbers are never enough.

Points where all entries of every vector are equal ("uniform" points) keep elementwise switches on
one piece across entries, which is what makes a piece expression exist; general points (entries
apart) find the sets that only vectors have (ties, `p == y` in several entries).

Randomness is seeded from the body, so the same input always gives the same verdict.
"""

from __future__ import annotations

import itertools
import math
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.relational import Relational
from sympy.printing.repr import ReprPrinter

from ..atoms.table import row_for
from .evaluate import Program, Switch

ENTRIES = 3  # the concrete size of every vector
RANDOM_STARTS = 24  # uniform and general starting points drawn at random
UNIFORM_STARTS = 3  # per switching quantity, with every entry of every vector equal
GENERAL_STARTS = 6  # per switching quantity, with entries apart (the entry solved for in turn)
NEWTON_STEPS = 36
NEWTON_STEPS_FOR_DOUBLE_ZEROS = 160  # a double zero halves its distance per step: down to 1e-16 of 1e16
BACKTRACKS = 8
CUTS_AT_THE_EDGE = 3  # steps in a row shortened at the edge of the domain or region: go to the edge
EDGE_BISECTIONS = 56  # of the step to the edge: to float64's resolution of the step
LOOKS_PER_CHANGE = 3  # located points judged per kind of change
MAX_PROBLEMS = 3072  # switching problems solved together, at most
MAX_CERTIFICATES = 24  # distinct flat states certified symbolically, at most
SCAN_OCTAVES = 40  # the bracketing grid of each switching quantity: +-2^k for |k| <= 40
SCAN_BRACKETS = 4  # sign changes of one quantity along one variable followed, at most
SCAN_ROWS = 8192  # rows of one scan, at most (switches times grid points)
SCAN_ANCHORS = 4  # zeros of affine parts of the body the grid also closes in on, at most
LADDER = 100  # distances 2^-j of the first step at which a located point is looked at
EPS = float(np.finfo(float).eps)


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
    """A change of state at a located point, with what the whole definition does across it."""

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
    """A sample point of one piece, and whether the piece is certified flat."""

    line: int
    t: float
    flat: bool


@dataclass(slots=True)
class Probe:
    """What the probe found for one group of differentiated variables."""

    events: list[Event] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    samples: int = 0
    flat_samples: int = 0
    # Every piece seen is certified flat for the group: the gradient is zero almost everywhere.
    flat_everywhere: bool = False
    overflow: int = 0  # sample points where the value is infinite
    flat_states: dict[int, list[Any]] = field(default_factory=dict)  # segment index -> states
    reason: str | None = None
    base: dict[str, np.ndarray] = field(default_factory=dict)  # line -> point, per variable
    direction: dict[str, np.ndarray] = field(default_factory=dict)
    solved: int = 0  # switching problems solved
    evaluations: int = 0  # points at which the body was evaluated

    def point(self, line: int, t: float) -> dict[str, list[float]]:
        """The inputs at parameter t of a line (each variable with its concrete entries)."""
        return {
            name: [float(v) for v in self.base[name][line] + t * self.direction[name][line]]
            for name in self.base
        }

    def heading(self, line: int) -> dict[str, list[float]]:
        return {name: [float(v) for v in self.direction[name][line]] for name in self.direction}


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise BudgetExceeded(f"the analysis took longer than its budget of {self.seconds:g} s")


@dataclass(slots=True)
class _Problem:
    """Find a zero of one switching quantity: switch, which crossing, which entry, from where."""

    switch: int
    crossing: int
    entry: int
    uniform: bool
    start: dict[str, np.ndarray]


@dataclass(slots=True)
class _Located:
    """A point on a switching set, with the normal along which it is crossed."""

    point: dict[str, np.ndarray]  # name -> (entries,)
    normal: dict[str, np.ndarray]
    switch: int
    uniform: bool
    scale: float  # a length on which the body changes here: the step of the first look
    precision: float = 0.0  # how far the set may be from `point` along the normal (the last Newton distance)


class LineProbe:
    """The prober (the name is historical: it walked lines). `run` gives a `Probe`."""

    def __init__(
        self,
        program: Program,
        variables: Sequence[str],
        region: Region,
        seed: int,
        deadline: Deadline,
        entries: int = ENTRIES,
    ):
        self.program = program
        self.variables = list(variables)
        self.region = region
        self.deadline = deadline
        self.entries = entries
        self.rng = np.random.default_rng(seed)
        self.weights = 0.5 + self.rng.random(entries * 4)
        self._lines: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]] = []
        self._certified: dict[tuple[Any, ...], bool] = {}
        self.evaluations = 0
        self.solved = 0
        self._column_switch: list[int] | None = None
        self._anchor_cache: dict[str, list[float]] | None = None

    # -------------------------------------------------------------- points

    def _scales(self) -> list[float]:
        """Magnitudes the body itself names: its constants (`x - 1e4`, `1e-3 * x`, `eps`)."""
        found = {1.0}
        for atom in self.program.expr.atoms(sp.Number) if isinstance(self.program.expr, sp.Basic) else ():
            try:
                value = abs(float(atom))
            except (TypeError, ValueError):
                continue
            if math.isfinite(value) and 1e-12 <= value <= 1e12:
                found.add(value)
                found.add(1.0 / value)
        return sorted(found)

    def _draw(self, name: str, count: int, uniform: bool, scales: Sequence[float]) -> np.ndarray:
        n = self.entries
        width = 1 if uniform else n
        if name in self.region.choices:
            options = np.asarray(self.region.choices[name], dtype=float)
            drawn = self.rng.choice(options, size=(count, width))
        else:
            bound = self.region.bounds.get(name, Bound())
            lo, hi = bound.lo, bound.hi
            if math.isfinite(lo) and math.isfinite(hi):
                drawn = lo + (hi - lo) * (0.02 + 0.96 * self.rng.random((count, width)))
            elif math.isfinite(lo):
                drawn = lo + self.rng.exponential(1.5, (count, width)) + 1e-3
            elif math.isfinite(hi):
                drawn = hi - self.rng.exponential(1.5, (count, width)) - 1e-3
            else:
                # half at unit scale, half at the scales the body names
                scale = np.where(
                    np.arange(count) % 2 == 0, 1.5, self.rng.choice(np.asarray(scales), size=count)
                )[:, None]
                drawn = scale * self.rng.normal(0.0, 1.0, (count, width))
        return np.broadcast_to(drawn, (count, n)).copy()

    def _starts(self, count: int, uniform: bool, scales: Sequence[float]) -> dict[str, np.ndarray]:
        return {name: self._draw(name, count, uniform, scales) for name in self.variables}

    def _scalar(self, value: Any, count: int) -> np.ndarray:
        """The output as one number per point (a vector output is weighted by fixed weights)."""
        array = np.asarray(value, dtype=float)
        if array.ndim == 0:
            return np.full(count, float(array))
        if array.shape[0] != count:
            array = np.broadcast_to(array, (count,) + array.shape[1:])
        array = array.reshape(count, -1)
        weights = (
            self.weights[: array.shape[1]] if array.shape[1] <= len(self.weights) else np.ones(array.shape[1])
        )
        return array @ weights

    def _inside(self, env: dict[str, np.ndarray], count: int) -> np.ndarray:
        """Inside the region allowed by the bounds and `given` (the domain is checked by the caller)."""
        inside = np.ones(count, dtype=bool)
        for name, bound in self.region.bounds.items():
            if name in env:
                inside &= np.all((env[name] >= bound.lo) & (env[name] <= bound.hi), axis=1)
        if self.region.condition is not None:
            holds, _ = self.region.condition.run(env, states=False)
            holds = np.asarray(holds, dtype=float)
            holds = (
                holds.reshape(count, -1)
                if holds.ndim and holds.shape[0] == count
                else np.broadcast_to(holds, (count, 1))
            )
            inside &= (holds > 0.5).all(axis=1)
        return inside

    def _evaluate(
        self, env: dict[str, np.ndarray], seeds: dict[str, np.ndarray] | None = None, with_states: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray], np.ndarray]:
        """Scalar value, scalar tangent (when `seeds` are given), states as rows, and the
        inside-the-region flag at every point of `env`."""
        self.deadline.check()
        count = len(next(iter(env.values()))) if env else 1
        self.evaluations += count
        if seeds is None:
            value, states = self.program.run(env, states=with_states)
            tangent = None
        else:
            values, tangents, pieces = self.program.tangents(env, seeds)
            value = values[self.program.output]
            raw = tangents[self.program.output]
            tangent = np.zeros(count) if raw is None else self._scalar(raw, count)
            states = [read(values, pieces) for read in self.program._readers] if with_states else []
        scalar = self._scalar(value, count)
        inside = np.isfinite(scalar) & self._inside(env, count)
        return scalar, tangent, [_rows(state, count) for state in states], inside

    # -------------------------------------------------------------- solving

    def _quantities(
        self,
        env: dict[str, np.ndarray],
        seeds: dict[str, np.ndarray] | None,
        problems: Sequence[_Problem],
        noise: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Each problem's switching quantity at its own row of `env`, and its directional
        derivative along `seeds` (the chain rule through the crossing, whose arguments' tangents
        are exact). With `noise`, each row's rounding of its quantity is written there: a few units
        in the last place of its largest argument (v_i - v_j of entries near 1e4 is zero only to
        within 1e-12)."""
        count = len(problems)
        slots = sorted(
            {
                child
                for problem in problems
                for child in self.program.child_slots(self.program.switches[problem.switch].slot)
            }
        )
        if seeds is None:
            values = self.program.values_of(env, slots)
            by_slot = dict(zip(slots, values))
            tangents_by_slot: dict[int, Any] = {}
        else:
            all_values, all_tangents, _ = self.program.tangents(env, seeds, slots=slots)
            by_slot = {slot: all_values[slot] for slot in slots}
            tangents_by_slot = {slot: all_tangents[slot] for slot in slots}
        q = np.full(count, np.nan)
        dq = None if seeds is None else np.zeros(count)
        groups: dict[tuple[int, int], list[int]] = {}
        for row, problem in enumerate(problems):
            groups.setdefault((problem.switch, problem.crossing), []).append(row)
        with np.errstate(all="ignore"):
            for (index, crossing), rows in groups.items():
                switch = self.program.switches[index]
                children = self.program.child_slots(switch.slot)
                function = _crossing_function(switch, crossing)
                arguments = [_rows_of(by_slot[child], count) for child in children]
                chosen = np.array(rows)
                entries = np.array([problems[row].entry for row in rows])
                here = [argument[chosen] for argument in arguments]
                value = _rows_of(function(*here), len(rows))
                q[chosen] = _pick(value, entries)
                if noise is not None:
                    # the arguments the chosen entry of the quantity is made of: that entry of an
                    # elementwise argument, every entry of one that is reduced
                    # (only arguments that move: a norm's order, a constant 2, is no size of v)
                    moving = [
                        h for child, h in zip(children, here) if tangents_by_slot.get(child) is not None
                    ] or here
                    sizes = [
                        _pick(np.abs(h), entries)
                        if h.shape[1] == value.shape[1] > 1
                        else np.max(np.abs(h), axis=1)
                        for h in moving
                    ]
                    largest = np.max(np.stack([np.where(np.isfinite(s), s, 0.0) for s in sizes]), axis=0)
                    noise[chosen] = 4 * np.spacing(largest)
                if dq is None:
                    continue
                moves = [
                    _rows_of(tangents_by_slot.get(child), count)[chosen]
                    if tangents_by_slot.get(child) is not None
                    else np.zeros_like(h)
                    for child, h in zip(children, here)
                ]
                # a step relative to each row's own arguments (the quantities are linear in them,
                # or nearly: differences, a sum of squares, a cosine)
                # (the size of the arguments that move: a constant such as a norm's order does not count)
                size = np.max(
                    np.stack(
                        [
                            np.max(np.where(np.isfinite(h) & (m != 0), np.abs(h), 0.0), axis=1)
                            for h, m in zip(here, moves)
                        ]
                    ),
                    axis=0,
                )
                reach = np.max(np.stack([np.max(np.abs(m), axis=1) for m in moves]), axis=0)
                # (1e-4 of the size: exact for the many quantities linear in their arguments up to
                # rounding of 1e-12, and a truncation of 1e-8 of the curvature for the others)
                step = np.where(
                    reach > 0, 1e-4 * np.where(size > 0, size, 1.0) / np.where(reach > 0, reach, 1.0), 0.0
                )
                ahead = _rows_of(function(*[h + step[:, None] * m for h, m in zip(here, moves)]), len(rows))
                behind = _rows_of(function(*[h - step[:, None] * m for h, m in zip(here, moves)]), len(rows))
                dq[chosen] = np.where(
                    step > 0,
                    (_pick(ahead, entries) - _pick(behind, entries)) / np.where(step > 0, 2 * step, 1.0),
                    0.0,
                )
        return q, dq

    def _directions(self, group: Sequence[str], uniform: bool) -> list[dict[str, np.ndarray]]:
        """Unit moves spanning the group: each entry of each variable, or each variable as a whole
        (uniform points stay uniform)."""
        moves = []
        for name in group:
            if uniform:
                moves.append({name: np.ones(self.entries)})
            else:
                for entry in range(self.entries):
                    unit = np.zeros(self.entries)
                    unit[entry] = 1.0
                    moves.append({name: unit})
        return moves

    def _solve(self, problems: list[_Problem], group: Sequence[str]) -> list[_Located]:
        """Gauss-Newton on each problem's quantity: x <- x - q grad q / |grad q|^2, within the
        bounds of `given`, halving a step that leaves the domain; a point is kept when q reaches 0
        (its Newton distance q / |grad q| shrinks to nothing), never when it stalls above 0."""
        located: list[_Located] = []
        for uniform in (True, False):
            chosen = [problem for problem in problems if problem.uniform == uniform]
            if not chosen:
                continue
            located += self._solve_family(chosen, group, uniform)
        return located

    def _solve_family(self, problems: list[_Problem], group: Sequence[str], uniform: bool) -> list[_Located]:
        count = len(problems)
        point = {name: np.stack([problem.start[name] for problem in problems]) for name in self.variables}
        start = {name: array.copy() for name, array in point.items()}
        moves = self._directions(group, uniform)
        active = np.ones(count, dtype=bool)
        first_distance = np.full(count, np.nan)
        distance = np.full(count, np.inf)
        last_distance = np.full(count, np.nan)
        start_size = np.full(count, 1e-300)  # set at the first step, from the moving coordinates
        halving = np.zeros(count, dtype=np.int64)  # steps in a row that halved the distance
        q_noise = np.zeros(count)
        final_size = np.zeros(count)
        q_now = np.full(count, np.nan)
        q_before = np.full(count, np.inf)  # |q| at the step before
        gradient = np.zeros((count, len(moves)))
        cuts = np.zeros(count, dtype=np.int64)  # steps in a row shortened to stay in the domain
        at_edge = np.zeros(count, dtype=bool)  # moved onto the edge of the domain or region
        squared = np.zeros(count, dtype=np.int64)  # steps in a row that halved it to within 2%
        # A start outside the domain (a negative entry under sqrt or log) is moved to the mirror
        # image of its moving coordinates, which the common domains (x > 0, x >= 0) contain.
        q_start, _ = self._quantities(point, None, problems)
        outside = ~np.isfinite(q_start)
        if np.any(outside):
            for name in group:
                point[name][outside] = np.abs(point[name][outside])
        for _step in range(NEWTON_STEPS_FOR_DOUBLE_ZEROS):
            if _step == NEWTON_STEPS:
                # past the usual steps only the halving ones go on: a double zero (p == y) keeps
                # halving down to the rounding, a positive minimum (x^2 + 1e-6 from far away)
                # shows itself by stalling
                active &= halving >= 3
            rows = np.nonzero(active)[0]
            if len(rows) == 0:
                break
            subset = [problems[row] for row in rows]
            env = {name: point[name][rows] for name in self.variables}
            # every move at once: the batch holds the rows once per move, each moving its way
            blocks = len(moves)
            stacked = {name: np.tile(array, (blocks, 1)) for name, array in env.items()}
            seeds = {name: np.zeros((blocks * len(rows), self.entries)) for name in self.variables}
            for k, move in enumerate(moves):
                for name, vector in move.items():
                    seeds[name][k * len(rows) : (k + 1) * len(rows)] = vector
            rounding = np.zeros(blocks * len(rows))
            q_all, dq = self._quantities(stacked, seeds, subset * blocks, rounding)
            q, q_noise[rows] = q_all[: len(rows)], rounding[: len(rows)]
            grads = dq.reshape(blocks, len(rows)).T
            q_now[rows] = q
            gradient[rows] = grads
            final_size[rows] = self._moving_size(point, rows, grads, moves)
            if _step == 0:
                # where the moving coordinates began (the data may sit at 1e7: that is no scale
                # for how near the zero of a quantity in p must come)
                start_size[rows] = np.maximum(final_size[rows], 1e-300)
            norm2 = np.sum(grads * grads, axis=1)
            with np.errstate(all="ignore"):
                here = np.where(norm2 > 0, np.abs(q) / np.sqrt(norm2), np.inf)
            here = np.where(q == 0, 0.0, here)
            distance[rows] = here
            first_distance[rows] = np.where(np.isnan(first_distance[rows]), here, first_distance[rows])
            previous = last_distance[rows]
            ratio = np.where(
                np.isfinite(previous) & (previous > 0), here / np.where(previous > 0, previous, 1.0), 1.0
            )
            halving[rows] = np.where((ratio > 0.3) & (ratio < 0.7), halving[rows] + 1, 0)
            squared[rows] = np.where(np.abs(ratio - 0.5) < 0.02, squared[rows] + 1, 0)
            last_distance[rows] = here
            q_before_now = q_before[rows].copy()
            q_before[rows] = np.abs(q)
            done = (~np.isfinite(q)) | (np.abs(q) <= q_noise[rows]) | (norm2 == 0) | ~np.isfinite(norm2)
            # as near as float64 gets: the distance left is a few units in the last place of the
            # point, or it has stopped shrinking (a double root keeps halving it: not a stall)
            done |= here <= 4 * np.spacing(final_size[rows])
            done |= here <= 1e-32 * first_distance[rows]  # a zero at 0 itself, where spacing vanishes
            # a stall: neither the distance nor the quantity shrinks (near exp(exp(w)) == 1e4 the
            # distance q / q' stays about 1 / e^w for several steps while q falls by e each step)
            done |= (
                (_step > 3)
                & np.isfinite(previous)
                & (here >= 0.9 * previous)
                & (np.abs(q) >= 0.5 * q_before_now)
            )
            # Projected Gauss-Newton: a coordinate held at its `given` bound whose step points
            # out of the region does not move (and the others take the whole step); with every
            # moving coordinate held, the zero lies outside the region (mean(w) == -1e-8 with
            # w >= 0), and the row is done.
            free = ~self._held(point, rows, -(q / np.where(norm2 > 0, norm2, 1.0))[:, None] * grads, moves)
            held_grads = np.where(free, grads, 0.0)
            held_norm2 = np.sum(held_grads * held_grads, axis=1)
            done |= held_norm2 == 0
            # a row moved onto the edge of the domain or region has been evaluated there: done
            done |= at_edge[rows]
            still = rows[~done]
            active[rows[done]] = False
            if len(still) == 0:
                break
            keep = ~done
            # A zero of multiplicity m (the cone point p == y: m = 2) shrinks the distance by
            # 1 - 1/m per step: once the distance has halved three times in a row to within 2%,
            # the step is doubled, which makes it exact for a square of an affine quantity
            # (an overshoot shows in the next ratio, which resets the count).
            multiplicity = np.where(squared[still] >= 3, 2.0, 1.0)
            factor = (multiplicity * q[keep] / held_norm2[keep])[:, None]
            steps = -factor * held_grads[keep]
            # A zero that the steps approach only by halving at the edge of the domain or region
            # (1 - p under `given 0 < p < 1`, whose set p == 1 is its edge) is gone to at once:
            # the step is bisected to the last point inside, in float64, and judged there.
            edge = cuts[still] >= CUTS_AT_THE_EDGE
            if np.any(edge):
                self._to_the_edge(point, still[edge], steps[edge], moves, problems)
                at_edge[still[edge]] = True
            if np.any(~edge):
                cut = self._step(point, still[~edge], steps[~edge], moves, problems)
                cuts[still[~edge]] = np.where(cut, cuts[still[~edge]] + 1, 0)
        kept: list[_Located] = []
        exact: list[tuple[_Located, _Problem]] = []  # reached with a quantity 0 to within its rounding
        for row, problem in enumerate(problems):
            # Reached: to within its own rounding, or the Newton distance is down to the rounding
            # of the coordinates it moves (of where it began, for a zero at 0 itself). A quantity
            # that stalls above zero (max(s, 1e-12), x^2 + 1e-6) is neither.
            reached = bool(
                abs(q_now[row]) <= q_noise[row]
                or (
                    np.isfinite(distance[row])
                    and distance[row] <= 64 * np.spacing(final_size[row]) + 1e-30 * start_size[row]
                )
            )
            if not reached:
                continue
            norm = float(np.sqrt(np.sum(gradient[row] ** 2)))
            normal = {name: np.zeros(self.entries) for name in self.variables}
            if norm > 0 and np.isfinite(norm):
                for k, move in enumerate(moves):
                    for name, vector in move.items():
                        normal[name] = normal[name] + gradient[row, k] / norm * vector
            else:
                # a quantity reached with no slope (exactly 0 on a flat piece): cross it any way
                for name in group:
                    normal[name] = (
                        self.rng.normal(0.0, 1.0, self.entries) if not uniform else np.ones(self.entries)
                    )
                length = math.sqrt(sum(float(np.sum(v * v)) for v in normal.values())) or 1.0
                normal = {name: v / length for name, v in normal.items()}
            # the size of the moving coordinates where the search began and where it ended: the
            # ladder of distances that a look climbs down starts at 1% of it
            # (a zero at the origin found from the origin has no size: a unit one, whose ladder
            # reaches from 1e-2 down to 1e-32, steps out of any band of exact zeros around it)
            size = max(
                [float(np.max(np.abs(point[name][row]))) for name in group]
                + [float(np.max(np.abs(start[name][row]))) for name in group]
            )
            size = size if size > 0 else 1.0
            kept.append(
                _Located(
                    {name: point[name][row].copy() for name in self.variables},
                    normal,
                    problem.switch,
                    uniform,
                    size,
                    max(
                        float(distance[row]) if q_now[row] != 0 else 0.0,
                        q_noise[row] / norm if norm > 0 else 0.0,
                    ),
                )
            )
            if abs(q_now[row]) <= q_noise[row]:
                exact.append((kept[-1], problem))
        self.solved += count
        self._round_placement(kept)
        self._zero_bands(exact)
        return kept

    def _zero_bands(self, exact: list[tuple[_Located, _Problem]]) -> None:
        """Widen the precision of points whose quantity is 0 to within its rounding to the band
        around them on which it stays so along the normal: tanh(x) - x is 0 in float64 for
        |x| < 1e-5, x - sin(x) for |x| < 2e-8, and the set is anywhere in that band, which Newton
        may have entered at its edge (for x - 20 at 20 the band is the spacing of 20)."""
        if not exact:
            return
        ladder = 2.0 ** -np.arange(LADDER)
        offsets = np.concatenate([-ladder, ladder])
        looks = [(item, item.scale) for item, _ in exact]
        env = self._at(looks, offsets)
        problems = [problem for _, problem in exact for _ in offsets]
        # (along the normal, so that the rounding is that of the arguments that move: not of a
        # norm's order 2, which would give sum(p^2) a band of 1e-8 around p == 0)
        seeds = {
            name: np.concatenate(
                [np.broadcast_to(item.normal[name], (len(offsets), self.entries)) for item, _ in exact]
            )
            for name in self.variables
        }
        noise = np.zeros(len(problems))
        q, _ = self._quantities(env, seeds, problems, noise)
        moved = (np.isfinite(q) & (np.abs(q) > noise)).reshape(len(exact), 2, LADDER)
        for k, (item, _) in enumerate(exact):
            widths = []
            for side in range(2):
                nonzero = np.nonzero(moved[k, side])[0]
                if len(nonzero):
                    widths.append(item.scale * ladder[nonzero[-1]])  # the nearest offset that moves it
            # (moved at every offset, down to the ladder's last: no band)
            if widths and max(widths) > item.scale * ladder[-1]:
                item.precision = max(item.precision, max(widths))

    def _round_placement(self, located: list[_Located]) -> None:
        """Widen each point's precision to the rounding of the values its switch's quantity is
        computed from, in the coordinates along the normal: an intermediate of size 1 (v = -p - 1
        in var(v)) places a zero no finer than 1e-16 / its slope, however small the point's own
        coordinates, and a double zero reached exactly (var(v) == 0) rounds to 0 on that band.
        Only the steps the quantity is computed from count, and a slope that is rounding (sum(y * p)
        along a normal that leaves it unchanged: 5e-17) is no slope."""
        if not located:
            return
        by_switch: dict[int, list[int]] = {}
        for k, item in enumerate(located):
            by_switch.setdefault(item.switch, []).append(k)
        for index, rows in by_switch.items():
            children = list(self.program.child_slots(self.program.switches[index].slot))
            cone = {entry[0] for entry in self.program._cone(children, ())} | set(children)
            chosen = [located[k] for k in rows]
            env = {name: np.stack([item.point[name] for item in chosen]) for name in self.variables}
            seeds = {name: np.stack([item.normal[name] for item in chosen]) for name in self.variables}
            values, tangents, _ = self.program.tangents(env, seeds, slots=children)
            count = len(chosen)
            pairs = []
            with np.errstate(all="ignore"):
                for slot in sorted(cone):
                    value, tangent = values[slot], tangents[slot]
                    if tangent is None or value is None:
                        continue
                    v = np.asarray(value, dtype=float)
                    if v.ndim == 0 or v.shape[0] != count:
                        continue
                    t = np.asarray(tangent, dtype=float)
                    pairs.append((_rows_of(v, count), _rows_of(np.broadcast_to(t, v.shape), count)))
                if not pairs:
                    continue
                largest = np.max(
                    [np.max(np.abs(np.where(np.isfinite(t), t, 0.0)), axis=1) for _, t in pairs], axis=0
                )
                widest = np.zeros(count)
                for v, t in pairs:
                    moving = np.isfinite(v) & (np.abs(t) > 64 * EPS * largest[:, None])
                    band = np.where(moving, 4 * np.spacing(np.abs(v)) / np.abs(t), 0.0)
                    widest = np.maximum(widest, np.max(np.where(np.isfinite(band), band, 0.0), axis=1))
            for item, band in zip(chosen, widest):
                item.precision = max(item.precision, float(band))

    @staticmethod
    def _moving_size(
        point: dict[str, np.ndarray], rows: np.ndarray, grads: np.ndarray, moves: list[dict[str, np.ndarray]]
    ) -> np.ndarray:
        """The size of the coordinates a quantity moves with (those along which its gradient is
        not negligible), per row: how finely float64 can place its zero."""
        coordinates = np.stack(
            [
                sum(point[name][rows] @ vector / float(vector @ vector) for name, vector in move.items())
                for move in moves
            ],
            axis=1,
        )
        weight = np.abs(grads)
        relevant = weight >= 1e-3 * np.max(weight, axis=1, keepdims=True)
        return np.max(np.where(relevant, np.abs(coordinates), 0.0), axis=1) + 1e-300

    def _to_the_edge(
        self,
        point: dict[str, np.ndarray],
        rows: np.ndarray,
        steps: np.ndarray,
        moves: list[dict[str, np.ndarray]],
        problems: list[_Problem],
    ) -> None:
        """Move `rows` along `steps` as far as the domain and the region allow: the largest
        admissible fraction of the step, bisected to float64's resolution."""
        base = {name: point[name][rows].copy() for name in self.variables}
        subset = [problems[row] for row in rows]
        low, high = np.zeros(len(rows)), np.ones(len(rows))
        for _ in range(EDGE_BISECTIONS):
            middle = 0.5 * (low + high)
            ok = self._admissible(self._moved(base, middle, steps, moves), subset)
            low, high = np.where(ok, middle, low), np.where(ok, high, middle)
        final = self._moved(base, low, steps, moves)
        for name in self.variables:
            point[name][rows] = final[name]

    def _moved(
        self,
        base: dict[str, np.ndarray],
        scale: np.ndarray,
        steps: np.ndarray,
        moves: list[dict[str, np.ndarray]],
    ) -> dict[str, np.ndarray]:
        """`base` moved by `scale` times `steps` (one column per move), clipped to the bounds."""
        trial = {name: base[name].copy() for name in self.variables}
        for k, move in enumerate(moves):
            for name, vector in move.items():
                trial[name] += (scale * steps[:, k])[:, None] * vector[None, :]
        for name, bound in self.region.bounds.items():
            if name in trial:
                trial[name] = np.clip(trial[name], bound.lo, bound.hi)
        return trial

    def _admissible(self, trial: dict[str, np.ndarray], problems: list[_Problem]) -> np.ndarray:
        """Rows of `trial` where each problem's quantity is defined and the region holds."""
        q, _ = self._quantities(trial, None, problems)
        return np.isfinite(q) & self._inside(trial, len(problems))

    def _held(
        self,
        point: dict[str, np.ndarray],
        rows: np.ndarray,
        steps: np.ndarray,
        moves: list[dict[str, np.ndarray]],
    ) -> np.ndarray:
        """For each row and move: the move's coordinate sits on a bound of `given` and its step
        points out of the region."""
        held = np.zeros(steps.shape, dtype=bool)
        for k, move in enumerate(moves):
            for name, vector in move.items():
                bound = self.region.bounds.get(name)
                if bound is None:
                    continue
                coordinate = point[name][rows][:, vector != 0]
                low = np.any(coordinate <= bound.lo, axis=1) & (steps[:, k] < 0)
                high = np.any(coordinate >= bound.hi, axis=1) & (steps[:, k] > 0)
                held[:, k] |= low | high
        return held

    def _step(
        self,
        point: dict[str, np.ndarray],
        rows: np.ndarray,
        steps: np.ndarray,
        moves: list[dict[str, np.ndarray]],
        problems: list[_Problem],
    ) -> np.ndarray:
        """Move `rows` by `steps` (one column per move), clipped to the bounds, halving a step
        whose end leaves the domain or the region; True for the rows whose step was shortened."""
        scale = np.ones(len(rows))
        cut = np.zeros(len(rows), dtype=bool)
        base = {name: point[name][rows].copy() for name in self.variables}
        subset = [problems[row] for row in rows]
        for _try in range(BACKTRACKS):
            trial = self._moved(base, scale, steps, moves)
            ok = self._admissible(trial, subset)
            for name in self.variables:
                point[name][rows] = np.where(ok[:, None], trial[name], point[name][rows])
            if np.all(ok):
                return cut
            cut |= ~ok
            scale = np.where(ok, 0.0, scale * 0.5)
            base = {name: point[name][rows].copy() for name in self.variables}
            if not np.any(scale):
                return cut
        return cut

    # -------------------------------------------------------------- the probe

    def run(
        self, group: Sequence[str], joint: Sequence[str] | None = None, singular_only: bool = False
    ) -> Probe:
        """Find and judge every switching set that moves with `group`; constant pieces are judged
        on the gradient in `joint`. `singular_only`: the sets of singular atoms alone, and no
        samples (the singularities that data reach, LANGUAGE.md §4)."""
        probe = Probe()
        self.solved = 0
        joint = list(joint or group)
        movable = [name for name in group if name not in self.region.choices]
        scales = self._scales()
        if self.region.condition is not None:
            # a condition such as `sum(p) >= 1` leaves room to move one entry to its set only
            # where the others are large: starts at larger scales too
            scales = sorted(set(scales) | {10.0, 100.0})
        uniform_starts = self._starts(RANDOM_STARTS + len(scales), True, scales)
        general_starts = self._starts(RANDOM_STARTS, False, scales)
        # Uniform points at every scale the body names, for the pieces far from the origin.
        for name in movable:
            if name not in self.region.bounds:
                count = len(scales)
                signs = np.where(self.rng.random(count) < 0.5, -1.0, 1.0)
                uniform_starts[name][RANDOM_STARTS:] = (
                    signs * np.asarray(scales) * (1 + 0.1 * self.rng.random(count))
                )[:, None]
        self._around_data_anchors(uniform_starts, group)
        self._around_data_anchors(general_starts, group)
        self._into_domain(uniform_starts)
        self._into_domain(general_starts)
        self._into_region(uniform_starts)
        self._into_region(general_starts)
        problems = self._problems(uniform_starts, general_starts) if movable else []
        if singular_only:
            problems = [problem for problem in problems if self.program.switches[problem.switch].singular]
        if problems:
            problems += self._bracketed(problems, movable, uniform_starts)
        located = self._solve(problems, movable) if problems else []
        looks = self._looks(located)
        probe.events = self._judge(looks)
        if not singular_only:
            self._samples(probe, uniform_starts, general_starts, looks, group, joint)
        probe.solved = self.solved
        probe.evaluations = self.evaluations
        names = self.variables
        if self._lines:
            probe.base = {name: np.stack([base[name] for base, _ in self._lines]) for name in names}
            probe.direction = {
                name: np.stack([direction[name] for _, direction in self._lines]) for name in names
            }
        if probe.samples == 0 and probe.reason is None and not singular_only:
            probe.reason = "the definition is undefined (NaN) or outside `given` at every point tried"
        return probe

    def _problems(
        self, uniform_starts: dict[str, np.ndarray], general_starts: dict[str, np.ndarray]
    ) -> list[_Problem]:
        problems: list[_Problem] = []
        uniform_count = len(next(iter(uniform_starts.values())))
        general_count = len(next(iter(general_starts.values())))
        # How many crossings and entries each switch has: one run at a start point.
        probe_env = {name: general_starts[name][:1] for name in self.variables}
        values = self.program.values_of(
            probe_env, sorted({c for s in self.program.switches for c in self.program.child_slots(s.slot)})
        )
        slots = sorted({c for s in self.program.switches for c in self.program.child_slots(s.slot)})
        by_slot = dict(zip(slots, values))
        for index, switch in enumerate(self.program.switches):
            for crossing in range(
                _crossing_count(switch, [by_slot[c] for c in self.program.child_slots(switch.slot)])
            ):
                width = _width(switch, crossing, [by_slot[c] for c in self.program.child_slots(switch.slot)])
                # each problem its own start, in turn, so that the starts of a switch differ
                for k in range(UNIFORM_STARTS):
                    row = (len(problems) * 7 + k) % uniform_count
                    problems.append(
                        _Problem(
                            index,
                            crossing,
                            0,
                            True,
                            {name: uniform_starts[name][row] for name in self.variables},
                        )
                    )
                for k in range(GENERAL_STARTS):
                    row = (len(problems) * 5 + k) % general_count
                    problems.append(
                        _Problem(
                            index,
                            crossing,
                            k % width,
                            False,
                            {name: general_starts[name][row] for name in self.variables},
                        )
                    )
        if len(problems) > MAX_PROBLEMS:
            # every switch keeps its first problems of each family before any keeps more
            order = sorted(range(len(problems)), key=lambda i: (i % (UNIFORM_STARTS + GENERAL_STARTS), i))
            problems = [problems[i] for i in sorted(order[:MAX_PROBLEMS])]
        return problems

    def _around_data_anchors(self, starts: dict[str, np.ndarray], group: Sequence[str]) -> None:
        """Every second start puts each unbounded variable that does not move (data) beside one of
        its anchors, alternating sides: a set in p that exists only where w > 2
        (`p if not 2 < w else (w <= p)`) needs starts with w there, whatever the scale of 2."""
        count = len(next(iter(starts.values()))) if starts else 0
        for name in self.variables:
            if name in group or name in self.region.choices or name in self.region.bounds:
                continue
            anchors = self._anchors(name)
            if not anchors:
                continue
            rows = np.arange(1, count, 2)
            anchor = np.asarray(anchors)[(rows // 2) % len(anchors)]
            side = np.where((rows // 2) % 2 == 0, 1.0, -1.0)
            offset = np.maximum(np.abs(anchor), 1e-3 * np.max(np.abs(anchors))) * (
                0.1 + 0.9 * self.rng.random(len(rows))
            )
            starts[name][rows] = (anchor + side * offset)[:, None] * np.ones(starts[name].shape[1])[None, :]

    def _into_domain(self, starts: dict[str, np.ndarray]) -> None:
        """Starts where the body is undefined (p^1.5 at a negative p) are mirrored to |x| in
        every unbounded variable, the moving ones and the data alike (a switching set in y is found
        in vain at points where the body is NaN because of p); where that is undefined too, to
        -|x| (floor(x) * log(-x) lives on x < 0); and where still undefined, a variable with a
        finite set of values takes each other value in turn (x in {0, 1} with x ^ -0.5: only
        x == 1 is defined)."""
        count = len(next(iter(starts.values()))) if starts else 0
        if count == 0:
            return
        undefined = self._undefined_at(starts, count)
        free = [
            name
            for name in self.variables
            if name not in self.region.choices and name not in self.region.bounds
        ]
        for sign in (1.0, -1.0):
            if not np.any(undefined):
                return
            for name in free:
                starts[name][undefined] = sign * np.abs(starts[name][undefined])
            undefined = self._undefined_at(starts, count)
        for name, options in self.region.choices.items():
            if name not in starts:
                continue
            for option in options:
                if not np.any(undefined):
                    return
                before = starts[name][undefined].copy()
                starts[name][undefined] = float(option)
                still = self._undefined_at(starts, count)
                # (keep the option only where it made the body defined)
                starts[name][undefined & still] = before[still[undefined]]
                undefined = still

    def _into_region(self, starts: dict[str, np.ndarray]) -> None:
        """Starts outside the condition of `given` (sum(p) >= 1 at a point whose entries are drawn
        around 0) are moved into it where a simple move of the unbounded variables does it: |x|,
        then 10 |x| and 100 |x|, then the negatives. A start outside the region never moves (every
        step would leave it), so the sets inside it were found only from the starts that happened
        to fall there."""
        if self.region.condition is None:
            return
        count = len(next(iter(starts.values()))) if starts else 0
        if count == 0:
            return
        free = [
            name
            for name in self.variables
            if name not in self.region.choices and name not in self.region.bounds
        ]
        if not free:
            return
        original = {name: starts[name].copy() for name in free}
        outside = ~self._inside(starts, count)
        for factor in (1.0, 10.0, 100.0, -1.0, -10.0, -100.0):
            if not np.any(outside):
                return
            for name in free:
                starts[name][outside] = factor * np.abs(original[name][outside])
            moved = self._inside(starts, count) & ~self._undefined_at(starts, count)
            outside &= ~moved
        for name in free:  # (where nothing works, the start stays as drawn)
            starts[name][outside] = original[name][outside]

    def _undefined_at(self, starts: dict[str, np.ndarray], count: int) -> np.ndarray:
        with np.errstate(all="ignore"):
            value, _ = self.program.run(starts, states=False)
        return ~np.isfinite(self._scalar(value, count))

    def _bracketed(
        self, problems: list[_Problem], group: Sequence[str], uniform_starts: dict[str, np.ndarray]
    ) -> list[_Problem]:
        """More uniform starts, from brackets: each switching quantity on a grid of +-2^k (k from
        -SCAN_OCTAVES to SCAN_OCTAVES) along each variable of the group, and a start where it
        changes sign, at the secant's zero. Newton from a random point misses a zero that only a
        narrow interval leads to (1 / w == 1e4 from w == 1 steps to -1e4); the grid sees any sign
        change at any scale, and Newton (with the usual acceptance) makes it exact or, at a pole
        (1 / w at 0), rejects it."""
        kinds = sorted({(problem.switch, problem.crossing) for problem in problems})
        octaves = np.arange(-SCAN_OCTAVES, SCAN_OCTAVES + 1, dtype=float)
        grid = np.concatenate([-(2.0 ** octaves[::-1]), [0.0], 2.0**octaves])
        closer = 2.0 ** -np.arange(1, SCAN_OCTAVES + 1, dtype=float)
        base = {name: uniform_starts[name][0] for name in self.variables}
        added: list[_Problem] = []
        for name in group:
            bound = self.region.bounds.get(name, Bound())
            # and closing in on each anchor from both sides, at distances relative to its size
            near = [
                anchor + sign * abs(anchor) * closer for anchor in self._anchors(name) for sign in (-1.0, 1.0)
            ]
            line = np.unique(np.concatenate([grid, *near]))
            line = line[(line >= bound.lo) & (line <= bound.hi)]
            # every row evaluates the body up to its switch: a body with hundreds of switches gets
            # a coarser grid (and the first switches only) rather than a scan quadratic in its size
            stride = max(1, math.ceil(len(kinds) * len(line) / SCAN_ROWS))
            line = line[::stride]
            scanned = kinds[: max(1, SCAN_ROWS // max(len(line), 1))]
            if len(line) < 2:
                continue
            # (the problems of a scan share one start: the grid is written into `env` directly)
            scan = [_Problem(switch, crossing, 0, True, base) for switch, crossing in scanned for _ in line]
            env = {other: np.tile(base[other], (len(scan), 1)) for other in self.variables}
            env[name] = np.tile(np.repeat(line[:, None], self.entries, axis=1), (len(scanned), 1))
            q, _ = self._quantities(env, None, scan)
            q = q.reshape(len(scanned), len(line))
            for k, (switch, crossing) in enumerate(scanned):
                guesses = _grid_zeros(line, q[k])[:SCAN_BRACKETS]
                for guess in guesses:
                    added.append(
                        _Problem(
                            switch, crossing, 0, True, dict(base, **{name: np.full(self.entries, guess)})
                        )
                    )
        return added

    def _anchors(self, name: str) -> list[float]:
        """Where the affine parts of the body in `name` alone vanish (`4 * y + 4000.5` at
        -1000.125, `2 < w` at 2): the body is shifted, scaled or switched there, and its features
        sit around those points, however far from the origin."""
        if self._anchor_cache is None:
            self._anchor_cache = {}
        known = self._anchor_cache.get(name)
        if known is not None:
            return known
        found: set[float] = set()
        expr = self.program.expr
        symbol = (
            next((s for s in expr.free_symbols if s.name == name), None)
            if isinstance(expr, sp.Basic)
            else None
        )
        if symbol is not None:
            for node in sp.preorder_traversal(expr):
                if len(found) >= SCAN_ANCHORS:
                    break
                if isinstance(node, Relational) and node.free_symbols == {symbol}:
                    node = node.lhs - node.rhs  # a comparison of `name` with a number: `2 < w` at 2
                if not isinstance(node, sp.Add) or node.free_symbols != {symbol}:
                    continue
                slope, intercept = node.coeff(symbol, 1), node.coeff(symbol, 0)
                if not (slope.is_number and intercept.is_number) or (node - slope * symbol - intercept) != 0:
                    continue
                try:
                    root = -float(intercept) / float(slope)
                except (TypeError, ValueError, ZeroDivisionError):
                    continue
                if math.isfinite(root) and root != 0.0:
                    found.add(root)
        self._anchor_cache[name] = sorted(found)
        return self._anchor_cache[name]

    # -------------------------------------------------------------- looking at located points

    def _line(self, point: dict[str, np.ndarray], direction: dict[str, np.ndarray]) -> int:
        self._lines.append((point, direction))
        return len(self._lines) - 1

    def _at(self, looks: Sequence[tuple[_Located, float]], offsets: np.ndarray) -> dict[str, np.ndarray]:
        """Points x + offset * step * normal: for each look (located point, step), every offset."""
        env = {}
        for name in self.variables:
            rows = []
            for located, step in looks:
                rows.append(
                    located.point[name][None, :] + (offsets * step)[:, None] * located.normal[name][None, :]
                )
            env[name] = np.concatenate(rows) if rows else np.zeros((0, self.entries))
        return env

    def _looks(self, located: list[_Located]) -> list[dict[str, Any]]:
        """For each located point, the body at distances 2^-j of a first step on both sides of
        the set (states, values and exact slopes along the normal, in one run), and the step at
        which it is judged: the largest at which the states on each side are those right beside
        the set and the slopes are those at the set to within 1% (locally linear), or else the
        smallest; the first step is 1% of the size of the moving coordinates."""
        results: list[dict[str, Any]] = []
        if not located:
            return results
        for start in range(0, len(located), 256):
            results += self._looks_of(located[start : start + 256])
        return self._chosen_looks(results)

    def _looks_of(self, located: list[_Located]) -> list[dict[str, Any]]:
        ladder = 2.0 ** -np.arange(LADDER)
        offsets = np.concatenate([-ladder, ladder])
        pairs = [(item, 1e-2 * item.scale) for item in located]
        env = self._at(pairs, offsets)
        seeds = {
            name: np.concatenate(
                [np.broadcast_to(item.normal[name], (len(offsets), self.entries)) for item, _ in pairs]
            )
            for name in self.variables
        }
        value, tangent, states, inside = self._evaluate(env, seeds)
        width = len(offsets)
        signature = _signature(states, width * len(pairs)).reshape(len(pairs), width, -1)
        value, tangent = value.reshape(len(pairs), width), tangent.reshape(len(pairs), width)
        inside = inside.reshape(len(pairs), width)
        results = []
        for k, (item, first) in enumerate(pairs):
            left, right = signature[k, :LADDER], signature[k, LADDER:]
            # only distances well above how far the set may be from the point count
            size = max(
                float(np.max(np.abs(item.point[name][item.normal[name] != 0]), initial=0.0))
                for name in item.point
            )
            floor = 100 * (item.precision + 4 * float(np.spacing(size)))
            rungs = max(4, int(np.sum(first * ladder > floor)))
            left, right = left[:rungs], right[:rungs]
            beside_left, beside_right = left[-1], right[-1]  # the states right beside the set
            singular = self.program.switches[item.switch].singular
            if np.array_equal(beside_left, beside_right) and not singular:
                continue
            chosen = choose_step(left, right, tangent[k, :rungs], tangent[k, LADDER : LADDER + rungs])
            if chosen is None:
                continue
            # Jumps and kinks are judged as near the set as the point's placement allows (exact
            # slopes lose nothing there, and a smooth feature narrower than the linear step, as
            # softplus inside a logistic loss scaled by 1e6, is seen as smooth); a change of
            # curvature, whose estimate divides by the step, at the locally linear step.
            deep = nearest_step(left, right, tangent[k, :rungs], tangent[k, LADDER : LADDER + rungs], chosen)
            picked = judged_rungs(deep, LADDER)
            curved = judged_rungs(chosen, LADDER)
            left_rows, order = picked[:4], picked[4:]
            results.append(
                {
                    "item": item,
                    "step": first * ladder[chosen],
                    "near_step": first * ladder[deep],
                    "before": beside_left,
                    "after": beside_right,
                    "values": value[k, picked],
                    "slopes": tangent[k, picked],
                    "inside8": inside[k, picked],
                    "curve_values": value[k, curved],
                    "curve_slopes": tangent[k, curved],
                    "inside": (bool(np.all(inside[k, left_rows])), bool(np.all(inside[k, order]))),
                }
            )
        return results

    def _chosen_looks(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A few looks per kind of change (the same switches changing the same way), those at
        the most ordinary points first (coordinates nearest unit size): the first look of a kind
        is the witness a finding reports."""

        def oddness(look: dict[str, Any]) -> float:
            sizes = [float(np.max(np.abs(v))) for v in look["item"].point.values()]
            return max((abs(math.log10(s)) for s in sizes if s > 0), default=0.0)

        results = sorted(results, key=oddness)
        columns = self._columns(results[0]["before"]) if results else []
        # the branches taken beside the set count too: the same change seen through another
        # branch (p >= w where w > 2 selects it, in `p if not 2 < w else (w <= p)`) is another kind
        selecting = [
            k
            for k, index in enumerate(columns)
            if isinstance(self.program.switches[index].node, sp.Piecewise)
        ]
        counted: dict[Any, int] = {}
        chosen = []
        for look in results:
            transitions = _transitions(look["before"], look["after"], columns)
            singular = self.program.switches[look["item"].switch].singular
            if singular:
                transitions.setdefault(look["item"].switch, (0, 0))
            branches = tuple(np.asarray(look["before"])[selecting].tolist()) if selecting else ()
            key = (
                tuple(sorted(transitions)),
                tuple(sorted(transitions.items())),
                look["inside"],
                look["item"].uniform,
                branches,
            )
            if counted.get(key, 0) >= LOOKS_PER_CHANGE:
                continue
            counted[key] = counted.get(key, 0) + 1
            look["transitions"] = transitions
            chosen.append(look)
        return chosen

    def _columns(self, signature: np.ndarray) -> list[int]:
        """The switch of each column of a signature."""
        if self._column_switch is None:
            env = {name: np.zeros((1, self.entries)) for name in self.variables}
            _, states = self.program.run(env)
            self._column_switch = [
                index for index, state in enumerate(states) for _ in range(_rows(state, 1).shape[1])
            ]
        return self._column_switch

    # -------------------------------------------------------------- judging

    def _judge(self, looks: list[dict[str, Any]]) -> list[Event]:
        """Each look by the values and exact slopes at 1/4, 1/2, 1 and 2 steps on each side."""
        events: list[Event] = []
        value = [look["values"] for look in looks]
        tangent = [look["slopes"] for look in looks]
        inside = [look["inside8"] for look in looks]
        for k, look in enumerate(looks):
            item, step = look["item"], look["step"]
            line = self._line(item.point, item.normal)
            transitions = look["transitions"]
            changed = tuple(transitions)
            left_ok, right_ok = bool(np.all(inside[k][:4])), bool(np.all(inside[k][4:]))
            switch = self.program.switches[item.switch]
            singular = [i for i in transitions if self.program.switches[i].singular] or self._touching(item)
            if switch.singular or singular:
                # a singular atom's quantity changes sign or touches zero here, whichever switch led here
                if not switch.singular:
                    item = _Located(
                        item.point, item.normal, singular[0], item.uniform, item.scale, item.precision
                    )
                events += self._singular_event(
                    line, item, step, transitions, left_ok, right_ok, value[k], tangent[k], look["near_step"]
                )
                continue
            if not (left_ok and right_ok):
                continue  # an edge of the region: not a point inside it
            kind, _ = decide_crossing(value[k], tangent[k], look["near_step"], _placed(item))
            _, curvature = decide_crossing(look["curve_values"], look["curve_slopes"], step, _placed(item))
            slope = max(abs(tangent[k][3]), abs(tangent[k][4]))
            if kind in ("none", "kink") and (
                self._differs_on_surface(item, transitions, slope)
                or self._differs_at_zero(item, value[k], tangent[k], look["near_step"])
            ):
                kind = "jump"
            events.append(Event(line, 0.0, changed, kind, curvature, transitions=dict(transitions)))
        return events

    def _touching(self, item: _Located) -> list[int]:
        """Singular atoms whose quantity is zero at the located point without changing sign
        (sqrt(abs(x)) where abs's kink is): the point is judged as theirs."""
        chosen = [i for i, switch in enumerate(self.program.switches) if switch.singular]
        if not chosen:
            return []
        # The quantity at the point, and as far away on each side as the point may be off its set:
        # it touches zero when it is no farther from 0 than that moves it (abs(x) at x == 1e-17,
        # placed to 1e-17; not max(sum(p^2), 1e-12) at its tie, which moves by 1e-26 there),
        # in the quantity's own units, whatever the scale of the variables.
        size = max(
            float(np.max(np.abs(item.point[name][item.normal[name] != 0]), initial=0.0))
            for name in item.point
        )
        offset = 100 * _placed(item) + 4 * float(np.spacing(size))
        env = {
            name: item.point[name][None, :]
            + np.array([[0.0], [offset], [-offset]]) * item.normal[name][None, :]
            for name in self.variables
        }
        quantities = self.program.singular_values(env, indices=chosen)
        touching = []
        for index in chosen:
            value = np.abs(np.asarray(quantities[index], dtype=float))
            if value.ndim == 0 or value.size == 0:
                continue
            value = (
                value.reshape(value.shape[0], -1)
                if value.shape[0] == 3
                else np.broadcast_to(value.reshape(1, -1), (3, value.size))
            )
            moved = np.maximum(np.abs(value[1] - value[0]), np.abs(value[2] - value[0]))
            with np.errstate(invalid="ignore"):
                if np.any(np.isfinite(value[0]) & (value[0] <= moved)):
                    touching.append(index)
        return touching

    def _singular_event(
        self,
        line: int,
        item: _Located,
        step: float,
        transitions: dict[int, tuple[int, int]],
        left_ok: bool,
        right_ok: bool,
        values: np.ndarray,
        slopes: np.ndarray,
        near_step: float,
    ) -> list[Event]:
        """A singular atom's quantity reaches zero here: is the value or the slope unbounded as the
        point is approached from a side inside the region? (`values` and `slopes` are at the
        offsets of `near_step`, as in `_judge`; `step` is the locally linear step the distances of
        the unboundedness checks are taken from.)"""
        sides = [side for side, ok in ((-1.0, left_ok), (1.0, right_ok)) if ok]
        singular = {item.switch: transitions.get(item.switch, (0, 0))}
        if not sides:
            # infinite on both sides right at its zero (x^-1e308 overflows): a pole on the edge
            if np.any(np.isinf(values[[3, 4]])):
                return [Event(line, 0.0, tuple(singular), "singular", on_edge=True, transitions=singular)]
            return []
        distances = step * np.array([1.0, 1e-2, 1e-4, 1e-6])
        env_rows = []
        for side in sides:
            env_rows.append(side * distances)
        offsets = np.concatenate(env_rows + [np.zeros(2)])  # and the point itself, twice, last
        env = self._at([(item, 1.0)], offsets)
        # the second time snapped onto 0 (Newton stops at 1e-26 of a zero at 0, where 0 / 0 is)
        for name, value in _snapped_to_zero(item).items():
            env[name][-1] = value
        seeds = {
            name: np.broadcast_to(item.normal[name], (len(offsets), self.entries)) for name in self.variables
        }
        value, tangent, _, inside = self._evaluate(env, seeds, with_states=False)
        at_point = value[-2:]
        value, tangent, inside = value[:-2], tangent[:-2], inside[:-2]
        value_grows = slope_grows = False
        grows_on: list[bool] = []  # per side: is the value unbounded there
        for k, side in enumerate(sides):
            rows = slice(4 * k, 4 * k + 4)
            if not np.all(inside[rows]):
                grows_on.append(not np.all(np.isfinite(value[rows])))
                value_grows = value_grows or grows_on[-1]
                continue
            grows_on.append(_value_unbounded(value[rows], tangent[rows], step * distances))
            value_grows = value_grows or grows_on[-1]
            slope_grows = slope_grows or _slope_unbounded(tangent[rows])
        # undefined at the point itself and finite beside it (0 * inf, 0 / 0 where the atom's
        # quantity is exactly 0): a removable singularity, NaN in training all the same
        # (an interior point only, both sides inside: a side that is NaN makes it the domain's edge,
        # where the located point may sit a hair outside)
        undefined = (
            len(sides) == 2
            and bool(np.isnan(at_point[-1]))
            and bool(np.all(inside))
            and bool(np.all(np.isfinite(value)))
        )
        if value_grows or slope_grows or undefined:
            # (a point where the body is only undefined, its slopes bounded, is no cusp: it is
            # outside the domain, as a pole is)
            cusp = len(sides) == 2 and not value_grows and slope_grows
            events = [
                Event(
                    line, 0.0, tuple(singular), "singular", on_edge=not cusp, cusp=cusp, transitions=singular
                )
            ]
            others = {
                i: t
                for i, t in transitions.items()
                if i != item.switch and not self.program.switches[i].singular
            }
            if cusp and others and np.all(inside):
                # a jump at the cusp (step(x) + sqrt(abs(x))): the sides' values part and stay apart
                near, far = value[7] - value[3], value[6] - value[2]
                if abs(near) > 256 * EPS * (abs(value[7]) + abs(value[3])) and abs(near - far) <= 0.25 * abs(
                    near
                ):
                    events.append(Event(line, 0.0, tuple(others), "jump", transitions=others))
            elif others and len(sides) == 2 and grows_on.count(True) == 1 and np.all(inside):
                # unbounded on one side only, where another switch changes piece: the value jumps
                # from a finite limit to infinity (log(1.5 % p) where 1.5 / p is an integer)
                events.append(Event(line, 0.0, tuple(others), "jump", transitions=others))
            return events
        events = []
        if (
            len(sides) == 2
            and len(transitions) > 1
            or (len(sides) == 2 and any(i != item.switch for i in transitions))
        ):
            kind, curvature = decide_crossing(values, slopes, near_step, _placed(item))
            others = {i: t for i, t in transitions.items() if i != item.switch}
            if kind in ("jump", "kink") or curvature:
                events.append(
                    Event(
                        line,
                        0.0,
                        tuple(others or transitions),
                        kind,
                        curvature,
                        transitions=dict(others or transitions),
                    )
                )
        elif len(sides) == 2:
            kind, curvature = decide_crossing(values, slopes, near_step, _placed(item))
            if kind in ("jump", "kink") or curvature:
                events.append(
                    Event(line, 0.0, tuple(transitions), kind, curvature, transitions=dict(transitions))
                )
        switch = self.program.switches[item.switch]
        if len(sides) == 2 and _infinite_slope_at_zero(switch):
            # The atom's own derivative is infinite where its argument touches zero, even when the
            # body stays finite: the backward pass multiplies inf by 0 there.
            events.append(Event(line, 0.0, tuple(singular), "singular", on_edge=False, transitions=singular))
        return events

    def _differs_on_surface(
        self, item: _Located, transitions: dict[int, tuple[int, int]], slope: float
    ) -> bool:
        """A condition that holds only on a set of measure zero (`x == 0`): is the value there
        different from the value next to it? Both at the located point, with the condition
        forced to hold and forced not to; a difference counts when it is more than the body
        moves within the distance by which the point may miss the set."""
        relations = [
            self.program.switches[i]
            for i in transitions
            if isinstance(self.program.switches[i].node, (sp.Eq, sp.Ne))
        ]
        if not relations:
            return False
        env = {name: item.point[name][None, :] for name in self.variables}
        forced, unforced = {}, {}
        for switch in relations:
            left, right = self.program.values_of(env, self.program.child_slots(switch.slot))
            left, right = np.asarray(left, dtype=float), np.asarray(right, dtype=float)
            gap = np.abs(left - right)
            reach = 100 * (item.precision + 4 * np.spacing(np.maximum(np.abs(left), np.abs(right))))
            on_surface = gap <= reach
            equal = isinstance(switch.node, sp.Eq)
            forced[switch.slot] = on_surface if equal else ~on_surface
            # beside the set the condition is what it is everywhere off it: false for ==, true for !=
            unforced[switch.slot] = np.zeros_like(on_surface) if equal else np.ones_like(on_surface)
        on_value, _ = self.program.run(env, forced, states=False)
        # the value the other branch gives at the same point: the limit from beside the set
        off_value, _ = self.program.run(env, unforced, states=False)
        on, beside = self._scalar(on_value, 1)[0], self._scalar(off_value, 1)[0]
        if not (np.isfinite(on) and np.isfinite(beside)):
            return False
        size = max(float(np.max(np.abs(v))) for v in item.point.values())
        moved = 4 * slope * (item.precision + 4 * float(np.spacing(size)))
        return bool(abs(on - beside) > 256 * EPS * (abs(on) + abs(beside)) + moved)

    def _differs_at_zero(self, item: _Located, values: np.ndarray, slopes: np.ndarray, step: float) -> bool:
        """A point where the set passes through 0 itself (its coordinates nothing beside the
        scale of the search): does the value there, with them exactly 0, differ from the limits on
        both sides? (divide_no_nan(output, norm(output)) is 0 at output == 0 and a unit vector
        next to it: a jump that every line through 0 sees only at the point.)"""
        snapped = _snapped_to_zero(item)
        if all(np.array_equal(snapped[name], item.point[name]) for name in self.variables) or not any(
            np.all(snapped[name][item.normal[name] != 0] == 0) and np.any(item.normal[name] != 0)
            for name in self.variables
        ):
            return False
        value, _ = self.program.run({name: snapped[name][None, :] for name in self.variables}, states=False)
        at = self._scalar(value, 1)[0]
        left, right = values[3], values[4]  # a quarter step on each side
        if not (np.isfinite(at) and np.isfinite(left) and np.isfinite(right)):
            return False
        # what each side moves over a quarter step, and rounding: the limits are within that
        reach = 0.25 * step * (abs(slopes[3]) + abs(slopes[4])) + 256 * EPS * (
            abs(at) + abs(left) + abs(right)
        )
        return bool(abs(at - left) > 2 * reach and abs(at - right) > 2 * reach)

    # -------------------------------------------------------------- pieces

    def _samples(
        self,
        probe: Probe,
        uniform_starts: dict[str, np.ndarray],
        general_starts: dict[str, np.ndarray],
        looks: list[dict[str, Any]],
        group: Sequence[str],
        joint: Sequence[str],
    ) -> None:
        """The pieces seen: the random starts and both sides of every look. A piece is flat for
        the gradient in `joint` when its certificate holds; `flat_everywhere` when every piece
        seen is flat for `group`."""
        points = []
        for family, starts in ((True, uniform_starts), (False, general_starts)):
            count = len(next(iter(starts.values()))) if starts else 0
            for row in range(count):
                points.append(({name: starts[name][row] for name in self.variables}, family))
        for look in looks:
            item, step = look["item"], look["step"]
            for side in (-1.0, 1.0):
                points.append(
                    (
                        {name: item.point[name] + side * step * item.normal[name] for name in self.variables},
                        item.uniform,
                    )
                )
        if not points:
            return
        env = {name: np.stack([point[name] for point, _ in points]) for name in self.variables}
        count = len(points)
        own_seed = {
            name: self.rng.normal(0.0, 1.0, (count, self.entries)) for name in group if name in self.variables
        }
        joint_seed = {
            name: self.rng.normal(0.0, 1.0, (count, self.entries)) for name in joint if name in self.variables
        }
        for seeds in (own_seed, joint_seed):
            for name in seeds:
                if any(uniform for _, uniform in points):
                    mask = np.array([uniform for _, uniform in points])
                    seeds[name][mask] = seeds[name][mask][:, :1]  # uniform points move uniformly
        value, own, states, inside = self._evaluate(env, own_seed)
        _, together, _, _ = self._evaluate(env, joint_seed, with_states=False)
        probe.overflow = int(np.count_nonzero(np.isinf(value)))
        valid = inside & np.isfinite(own) & np.isfinite(together)
        probe.samples = int(np.sum(valid))
        if not probe.samples:
            return
        peak_own = float(np.max(np.abs(own[valid])))
        peak_joint = float(np.max(np.abs(together[valid])))
        flat_everywhere = True
        certificates = 0
        for k, (point, uniform) in enumerate(points):
            if not valid[k]:
                continue
            small_own = own[k] == 0 or abs(own[k]) <= 1e-7 * peak_own
            small_joint = together[k] == 0 or abs(together[k]) <= 1e-7 * peak_joint
            row_states = [state[k] for state in states]
            flat_own = flat_joint = False
            if uniform and (small_own or small_joint) and certificates < MAX_CERTIFICATES:
                flat_own = small_own and self._certify(row_states, group)
                flat_joint = small_joint and self._certify(row_states, joint)
                certificates = len(self._certified)
            if uniform:
                flat_everywhere &= flat_own
            else:
                flat_everywhere &= bool(small_own)
            probe.flat_samples += int(flat_own)
            if uniform:
                line = self._line(point, {name: np.zeros(self.entries) for name in self.variables})
                probe.segments.append(Segment(line, 0.0, flat_joint))
                if flat_joint:
                    probe.flat_states[len(probe.segments) - 1] = row_states
        probe.flat_everywhere = flat_everywhere and any(uniform for _, uniform in points)

    def _certify(self, states: list[np.ndarray], names: Sequence[str]) -> bool:
        """Is the body, with every switch on the piece `states` shows (the same in every entry),
        of zero derivative with respect to `names`? A symbolic fact, never a small number."""
        choice = {}
        for switch, state in zip(self.program.switches, states):
            if switch.singular or isinstance(switch.node, Relational):
                continue
            flat = np.asarray(state).reshape(-1)
            if flat.size and not np.all(flat == flat[0]):
                return False  # entries on different pieces: no one expression
            if flat.size:
                choice[switch.node] = int(flat[0])
        key = (tuple(sorted((id(node), value) for node, value in choice.items())), tuple(sorted(names)))
        if key in self._certified:
            return self._certified[key]
        self.deadline.check()
        result = _flat_piece(self.program.expr, choice, names)
        self._certified[key] = result
        return result


# ------------------------------------------------------------------ the decision at a look


def choose_step(
    left: np.ndarray, right: np.ndarray, left_slopes: np.ndarray, right_slopes: np.ndarray
) -> int | None:
    """Which rung j of a ladder of distances 2^-j (from the first step) to judge a crossing at:
    `left` and `right` hold the states at each rung on either side (rows), the slopes likewise.

    The judge reads the rungs j - 1 .. j + 2 (2, 1, 1/2 and 1/4 steps). The largest step at which
    the states on each side are the ones right beside the set (those at the smallest distance),
    from there all the way down, and the slopes on each side vary by less than 1% over the four
    rungs (the body is locally linear on each side), or else the largest step with stable states
    and finite slopes (a piece that is never locally linear at the set: x^2 beside a flat piece,
    log1p beside the edge of its domain).
    None if the states never settle."""
    rungs = len(left)
    if rungs < 4:
        return None
    # from rung j - 1 all the way down to the set: the states, and the spread of each side's slopes
    settled = _suffix_all(np.all(left == left[-1], axis=1)) & _suffix_all(np.all(right == right[-1], axis=1))
    flat_enough = []
    usable = []
    for slopes in (left_slopes, right_slopes):
        finite = np.isfinite(slopes)
        # a side outside the domain (log1p left of -1) has no slopes: the other side decides
        judged = np.convolve(finite.astype(int), np.ones(4, dtype=int), "valid") == 4  # rungs j-1 .. j+2
        high = np.maximum.accumulate(np.where(finite, slopes, -np.inf)[::-1])[::-1]
        low = np.minimum.accumulate(np.where(finite, slopes, np.inf)[::-1])[::-1]
        size = np.maximum.accumulate(np.where(finite, np.abs(slopes), 0.0)[::-1])[::-1]
        # each side by its own slopes, all the way down to the set: a flat side is linear, a side
        # saturated far off (exp underflowing to 0 left of elu's corner) is not
        flat_enough.append(
            np.where(judged[: rungs - 3], (high - low)[: rungs - 3] <= 1e-2 * size[: rungs - 3], True)
        )
        usable.append(judged[: rungs - 3])
    # index i stands for rung j = i + 1 (its judged rungs start at i)
    candidates = settled[: rungs - 3] & (usable[0] | usable[1])
    linear = candidates & flat_enough[0] & flat_enough[1]
    if np.any(linear):
        return int(np.argmax(linear)) + 1
    if np.any(candidates):
        return int(np.argmax(candidates)) + 1
    # (no finite slope anywhere, x^-1e308 overflowing on both sides: the judge sees the infinities)
    stable = settled[: rungs - 3]
    return int(np.argmax(stable)) + 1 if np.any(stable) else None


def _suffix_all(flags: np.ndarray) -> np.ndarray:
    """For each index, whether every flag from there to the end holds."""
    return np.logical_and.accumulate(flags[::-1])[::-1]


def nearest_step(
    left: np.ndarray, right: np.ndarray, left_slopes: np.ndarray, right_slopes: np.ndarray, chosen: int
) -> int:
    """The rung nearest the set (the deepest) whose four judged rungs have the states beside the
    set and finite slopes on every side that has any; `chosen` when there is none deeper."""
    rungs = len(left)
    for j in range(rungs - 3, chosen, -1):
        rows = slice(j - 1, j + 3)
        if not (np.all(left[rows] == left[-1]) and np.all(right[rows] == right[-1])):
            continue
        sides = [
            s[rows] for s in (left_slopes, right_slopes) if np.all(np.isfinite(s[chosen - 1 : chosen + 3]))
        ]
        if sides and all(np.all(np.isfinite(s)) for s in sides):
            return j
    return chosen


def judged_rungs(j: int, rungs: int) -> list[int]:
    """Indices, in a ladder of `rungs` distances per side laid out left side first then right,
    of the offsets -2, -1, -1/2, -1/4, 1/4, 1/2, 1, 2 steps for rung j."""
    near = [j - 1, j, j + 1, j + 2]
    return near + [rungs + r for r in near[::-1]]


def decide_crossing(
    values: np.ndarray, slopes: np.ndarray, step: float, precision: float = 0.0
) -> tuple[str, bool]:
    """values and slopes at offsets (-2, -1, -1/2, -1/4, 1/4, 1/2, 1, 2) steps from the set.

    A jump is a gap between the sides' values that does not close as the distance halves twice
    (after the change that the slopes account for); a kink the same for the slopes; a change of
    curvature the same for slopes differenced on each side. Each is compared with the sizes of
    the quantities it is made of, so the output's size and any constant added to it do not enter.
    `precision` is how far the set may lie from the middle point: a kink that far off shows a
    gap of up to twice that distance times the slopes, which is not a jump.
    """
    v = dict(zip((-2.0, -1.0, -0.5, -0.25, 0.25, 0.5, 1.0, 2.0), values))
    g = dict(zip((-2.0, -1.0, -0.5, -0.25, 0.25, 0.5, 1.0, 2.0), slopes))

    def gap(distance: float) -> float:
        # value change across the set, less what the slopes on each side account for
        # (on each side the value moves by about its slope times the distance)
        return (v[distance] - v[-distance]) - distance * step * (g[distance] + g[-distance])

    def rounding(*quantities: float) -> float:
        return 256 * EPS * sum(abs(q) for q in quantities)

    far, near = gap(1.0), gap(0.25)
    offset = 4 * precision * (abs(g[0.25]) + abs(g[-0.25]))
    noise = rounding(v[0.25], v[-0.25], 0.5 * step * g[0.25], 0.5 * step * g[-0.25]) + offset
    # Sides whose values do not part at all cannot jump, whatever the slopes say: beside a
    # removable singularity ((x + 0.5) * x^-1 * x at 0) the exact slopes are huge terms that
    # cancel, and what is left of them is rounding.
    parted = abs(v[0.25] - v[-0.25]) > rounding(v[0.25], v[-0.25]) or abs(v[1.0] - v[-1.0]) > rounding(
        v[1.0], v[-1.0]
    )
    if parted and (abs(near) > 16 * noise and 3 <= near / far <= 5 if far else False):
        return "jump", False  # a pole at the switch: the gap grows like 1/distance (divide_no_nan)
    jump = parted and abs(near) > noise and abs(near - far) <= 0.5 * abs(near)
    if jump:
        return "jump", False
    slope_far, slope_near = g[1.0] - g[-1.0], g[0.25] - g[-0.25]
    # a set `precision` away from the middle shifts each side's slope by its curvature times that
    curvatures = (abs(g[0.5] - g[0.25]) + abs(g[-0.25] - g[-0.5])) / (0.25 * step)
    slope_offset = 4 * precision * curvatures
    kink = (
        abs(slope_near) > rounding(g[0.25], g[-0.25]) + slope_offset
        and abs(slope_near) > 1e-9 * (abs(g[0.25]) + abs(g[-0.25]))
        and abs(slope_near - slope_far) <= 0.25 * abs(slope_near)
    )
    if kink:
        return "kink", False
    # curvature on each side from the exact slopes at 1/4 and 1/2 step, and at 1 and 2 steps
    curve_near = (g[0.5] - g[0.25]) / (0.25 * step) - (g[-0.25] - g[-0.5]) / (0.25 * step)
    curve_far = (g[2.0] - g[1.0]) / step - (g[-1.0] - g[-2.0]) / step
    size = (abs(g[0.5] - g[0.25]) + abs(g[-0.25] - g[-0.5])) / (0.25 * step)
    noise = rounding(g[0.5], g[0.25], g[-0.25], g[-0.5]) / (0.25 * step)
    curvature = (
        abs(curve_near) > 10 * noise
        and abs(curve_near) > 1e-4 * size
        and abs(curve_near - curve_far) <= 0.5 * abs(curve_near)
    )
    return "none", bool(curvature)


def _snapped_to_zero(item: _Located) -> dict[str, np.ndarray]:
    """The located point with the coordinates that are within its precision of 0 (Newton stops
    at 1e-26 of a zero at 0 itself) set to exactly 0: where a set through 0 itself is. Not the
    coordinates that are merely small beside where the search began: -5.8e-13 * (1, 1, 1), where
    norm(p) == 1e-12, found from a start at 1e12."""
    near = 10 * item.precision
    return {name: np.where(np.abs(value) <= near, 0.0, value) for name, value in item.point.items()}


def _grid_zeros(line: np.ndarray, q: np.ndarray) -> list[float]:
    """Where a quantity sampled on a grid crosses or touches zero: the secant's zero between
    neighbours of opposite signs, and the middle of a run of two or more exact zeros between
    nonzero values (tanh(x) - x is exactly 0 in float64 for |x| < 1e-5: a triple zero, whose slope
    vanishes long before Newton gets near it, is found only inside its band). A single exact zero
    (x at 0 itself) is left to Newton from beside it, as any simple zero."""
    finite = np.isfinite(q)
    known = np.nonzero(finite & (q != 0))[0]
    found: list[float] = []
    for i, j in itertools.pairwise(known):
        if j == i + 1:
            if q[i] * q[j] < 0:
                found.append(float(line[i] + (line[j] - line[i]) * q[i] / (q[i] - q[j])))
        elif j > i + 2 and np.all(finite[i + 1 : j]):
            found.append(float(line[(i + j) // 2]))
    return found


def _placed(item: _Located) -> float:
    """How far the set may be from a located point along its normal: the last Newton distance
    and the rounding of the coordinates that move."""
    size = max(
        float(np.max(np.abs(item.point[name][item.normal[name] != 0]), initial=0.0)) for name in item.point
    )
    return item.precision + 4 * float(np.spacing(size))


def _slope_unbounded(slopes: np.ndarray) -> bool:
    """Slopes at distances 1, 1e-2, 1e-4, 1e-6 steps from the point: growing without bound?
    (More than doubling, with changes that do not die out: 1/x, 1/sqrt(x), log(x); the slope of
    a cone passed at a hair's breadth changes by a hair.)"""
    if not np.all(np.isfinite(slopes)):
        return True
    steps = np.abs(np.diff(slopes))
    return bool(
        abs(slopes[-1]) > 2 * abs(slopes[0]) and steps[2] >= 0.3 * steps[1] and steps[1] >= 0.3 * steps[0]
    )


def _value_unbounded(values: np.ndarray, slopes: np.ndarray, distances: np.ndarray) -> bool:
    """Values at those distances (each 100 times nearer): do their changes stop shrinking? A
    bounded slope makes each change about 100 times smaller than the last (10 times for a cusp
    like sqrt); log keeps them equal and 1/x makes them grow. Judged on the two nearest changes:
    the farthest distance may reach another feature (1.5^-p beside abs(p)^-0.2, a look 6 wide),
    and a slow pole read as bounded on one side only was taken for a jump."""
    if not np.all(np.isfinite(values)):
        return True
    steps = np.abs(np.diff(values))
    return bool(steps[2] >= 0.3 * steps[1] and steps[2] > 256 * EPS * float(np.max(np.abs(values))))


def _infinite_slope_at_zero(switch: Switch) -> bool:
    row = switch.row
    return bool(
        row is not None and row.slope_infinite_if is not None and row.slope_infinite_if(*switch.node.args)
    )


# ------------------------------------------------------------------ pieces, symbolically


def _flat_piece(expr: Any, choice: dict[Any, int], names: Sequence[str]) -> bool:
    """The certificate of a constant piece: the body with each chosen switch replaced by its
    piece has a derivative of zero with respect to every name."""
    try:
        piece = piece_expression(expr, choice)
    except (TypeError, ValueError, ArithmeticError, AttributeError, NotImplementedError):
        return False  # SymPy cannot build this piece: no certificate
    if piece is None:
        return False
    symbols = {symbol.name: symbol for symbol in piece.free_symbols if isinstance(symbol, sp.Symbol)}
    for name in names:
        symbol = symbols.get(name)
        if symbol is None:
            continue
        try:
            derivative = sp.diff(piece, symbol)
            if derivative == 0:
                continue
            if sp.count_ops(derivative) <= 40 and sp.expand(derivative) == 0:
                continue
        except (TypeError, ValueError, ArithmeticError, AttributeError, NotImplementedError):
            pass  # SymPy cannot differentiate it: no certificate
        return False
    return True


def piece_expression(expr: Any, choice: dict[Any, int]) -> Any:
    """`expr` with each node of `choice` replaced by the expression of its chosen piece (a
    `where` by its branch, an atom by its row's `piece`); other nodes are rebuilt around their
    new arguments, so SymPy's own simplification cancels what cancels (`relu(x) - x` on the piece
    x > 0 is 0). None when a chosen atom has no piece expression."""
    done: dict[Any, Any] = {}
    stack: list[tuple[Any, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if node in done:
            continue
        if isinstance(node, sp.Piecewise) and node in choice:
            branch = node.args[min(choice[node], len(node.args) - 1)].expr
            if branch not in done:
                stack.append((node, True))
                stack.append((branch, False))
                continue
            done[node] = done[branch]
            continue
        children = node.args if isinstance(node, sp.Basic) and not isinstance(node, sp.Piecewise) else ()
        if isinstance(node, sp.Piecewise):
            children = tuple(part for pair in node.args for part in pair)
        if not ready and any(child not in done for child in children):
            stack.append((node, True))
            stack.extend((child, False) for child in children if child not in done)
            continue
        if not children:
            done[node] = node
            continue
        if isinstance(node, sp.Piecewise):
            pairs = [(done[value], done[condition]) for value, condition in node.args]
            done[node] = sp.Piecewise(*pairs)
            continue
        arguments = [done[child] for child in children]
        if node in choice:
            row = row_for(node)
            if row is None or row.piece is None:
                done[node] = node.func(*arguments)  # opaque: its derivative is its arguments'
            else:
                done[node] = row.piece(choice[node], *arguments)
            continue
        try:
            done[node] = (
                node.func(*arguments) if any(a is not c for a, c in zip(arguments, children)) else node
            )
        except (TypeError, ValueError, ZeroDivisionError):
            return None
    return done[expr]


# ------------------------------------------------------------------ switching quantities


def _crossing_function(switch: Switch, crossing: int) -> Any:
    """The numeric switching quantity number `crossing` of a switch, as a function of its
    arguments' values (the row's `crossings`, a relation's sides, a singular atom's argument)."""
    if switch.singular:
        row = switch.row
        assert row is not None and row.singular_at is not None
        return row.singular_at
    node = switch.node
    if isinstance(node, Relational):
        return lambda a, b: np.asarray(a, dtype=float) - b
    row = switch.row
    assert row is not None and row.crossings is not None
    crossings = row.crossings
    return lambda *args: crossings(*args)[crossing]


def _crossing_count(switch: Switch, arguments: Sequence[Any]) -> int:
    if switch.singular or isinstance(switch.node, Relational):
        return 1
    if isinstance(switch.node, sp.Piecewise):
        return 0  # its conditions are switches of their own
    row = switch.row
    if row is None or row.crossings is None:
        return 0
    with np.errstate(all="ignore"):
        try:
            return len(row.crossings(*[np.asarray(a, dtype=float) for a in arguments]))
        except (TypeError, ValueError, IndexError):
            return 0


def _width(switch: Switch, crossing: int, arguments: Sequence[Any]) -> int:
    """How many entries the quantity has (1 for a reduction)."""
    with np.errstate(all="ignore"):
        try:
            value = _crossing_function(switch, crossing)(
                *[np.atleast_2d(np.asarray(a, dtype=float)) for a in arguments]
            )
        except (TypeError, ValueError, IndexError):
            return 1
    return max(1, int(np.shape(value)[-1])) if np.ndim(value) else 1


def _pick(value: np.ndarray, entries: np.ndarray) -> np.ndarray:
    width = value.shape[1]
    return value[np.arange(len(value)), np.minimum(entries, width - 1)]


# ------------------------------------------------------------------ arrays


def _signature(states: list[np.ndarray], count: int) -> np.ndarray:
    return np.concatenate(states, axis=1) if states else np.zeros((count, 0), dtype=np.int64)


def _transitions(
    before: np.ndarray, after: np.ndarray, column_switch: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """Each switch whose state differs, with its states on either side at its first differing column."""
    transitions: dict[int, tuple[int, int]] = {}
    for column in np.nonzero(before != after)[0].tolist():
        switch = column_switch[column] if column < len(column_switch) else -1
        if switch >= 0 and switch not in transitions:
            transitions[switch] = (int(before[column]), int(after[column]))
    return transitions


def _rows(state: Any, count: int) -> np.ndarray:
    array = np.asarray(state)
    if array.ndim == 0:
        return np.full((count, 1), int(array), dtype=np.int64)
    if array.ndim == 1 and array.shape[0] != count:
        array = array[None, :]  # one row for every point (a one-hot of a number)
    if array.shape[0] != count:
        array = np.broadcast_to(
            array, (count,) + array.shape[1:] if array.ndim > 1 else (count, array.shape[-1])
        )
    return array.reshape(count, -1).astype(np.int64, copy=False)


def _rows_of(value: Any, count: int) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return np.full((count, 1), float(array))
    if array.ndim == 1 and array.shape[0] != count:
        array = array[None, :]  # one row for every point (a one-hot of a number)
    if array.shape[0] != count:
        array = np.broadcast_to(array, (count,) + array.shape[1:])
    return array.reshape(count, -1)


def seed_for(expr: Any) -> int:
    """The probe's seed: a checksum of `sympy.srepr(expr)`, so equal bodies get equal points."""
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
        small, large = (
            (part.lhs, part.rhs)
            if isinstance(part, (sp.StrictLessThan, sp.LessThan))
            else (part.rhs, part.lhs)
        )
        if isinstance(large, sp.Symbol) and small.is_number and small.is_finite is not False:
            bound = region.bounds.get(large.name, Bound())
            region.bounds[large.name] = Bound(max(bound.lo, float(small)), bound.hi)
        elif isinstance(small, sp.Symbol) and large.is_number and large.is_finite is not False:
            bound = region.bounds.get(small.name, Bound())
            region.bounds[small.name] = Bound(bound.lo, min(bound.hi, float(large)))
    return region
