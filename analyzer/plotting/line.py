"""The data of a one-variable plot: the value and the derivative along a path, and the markers.

The body is smooth wherever every switch stays on one piece (see `analyzer.analysis.probe`), so the only
places a marker can sit are where a switch changes piece along the path. Those are found on a fine
grid and located by bisection, then judged as the probe judges them (one-sided values and slopes
at shrinking steps, divergence for singular arguments). A change becomes a marker only when one of
the report's findings of the same kind is about one of the switches that changed (see `anchors`);
a stretch between changes becomes a shaded constant piece only when the derivative along the path
vanishes there and a constant-piece finding's switches are on the same pieces. Nothing here
imports Matplotlib: `figure` draws this data, and tests check it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..analysis.evaluate import Program
from ..analysis.probe import LADDER, _infinite_slope_at_zero, choose_step, decide_crossing, judged_rungs
from ..analysis.report import Report
from .anchors import Anchor, anchors_for, matching, surface_of
from .derivative import DerivativeMethod, symbolic_derivative
from .errors import PlotError
from .path import Inputs, Path, Values, inputs_for, line_path

SEARCH_POINTS = 2001  # grid on which changes of piece are looked for
DRAW_POINTS = 1201  # grid on which the curves are drawn
SCAN = 10.0  # without a range, changes are looked for on [-SCAN, SCAN] (within the bounds of `given`)
BISECTIONS = 60
ROUNDS = 6  # a grid cell can hold several changes; each round splits one more off
MAX_CHANGES = 400
GRID_OFFSET = 0.3819660112501051  # in grid steps: keeps grid points off round numbers such as 0
SLOPE_STEP = 1e-5  # relative step of the one-sided limits drawn at a marker
FLAT_TOLERANCE = 1e-7
NEAREST = 6  # markers a default range shows at most around its centre

KIND_OF_CHANGE = {"kink": "kink", "jump": "discontinuity", "singular": "singularity"}


@dataclass(frozen=True, slots=True)
class Marker:
    """A kink, jump or singularity on the path, drawn for the finding `finding_index`."""

    kind: str  # "kink", "discontinuity" or "singularity"
    finding_index: int
    code: str
    where: str
    position: float
    value: float  # the value at the point itself (nan where undefined)
    left_value: float
    right_value: float
    left_slope: float
    right_slope: float
    cusp: bool = False  # a singular slope where the value is finite


@dataclass(frozen=True, slots=True)
class ConstantSpan:
    """A stretch of the path on which the gradient vanishes, drawn for the finding `finding_index`."""

    finding_index: int
    code: str
    where: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Change:
    """A change of piece on the path and what the whole body does across it."""

    position: float
    changed: Mapping[int, int | None]  # index into program.switches -> the surface crossed (see anchors)
    kind: str  # "kink", "jump", "singular", "edge" or "none"
    value: float = math.nan
    left_value: float = math.nan
    right_value: float = math.nan
    left_slope: float = math.nan
    right_slope: float = math.nan
    cusp: bool = False
    states_after: tuple[Any, ...] = ()


@dataclass(slots=True)
class LinePlot:
    """Everything a one-variable plot draws, in data."""

    report: Report
    path: Path
    limits: tuple[float, float]
    t: np.ndarray  # the drawn curves, NaN where a curve is broken
    value: np.ndarray
    derivative_t: np.ndarray
    derivative: np.ndarray
    derivative_method: DerivativeMethod
    markers: list[Marker] = field(default_factory=list)
    spans: list[ConstantSpan] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)  # every change of piece, drawn or not
    summed: bool = False  # the value is a vector, drawn as the sum of its entries
    unplaced: list[int] = field(default_factory=list)  # findings with nothing drawn on this path

    @property
    def drawn(self) -> set[int]:
        return {m.finding_index for m in self.markers} | {s.finding_index for s in self.spans}


def line_data(
    report: Report,
    wrt: str | None = None,
    at: Mapping[str, Values] | None = None,
    along: Mapping[str, Values] | None = None,
    limits: tuple[float, float] | None = None,
) -> LinePlot:
    """The data of the plot of `report` along `wrt` (default: its first differentiated variable)."""
    inputs = inputs_for(report, at, along)
    axis = wrt or (report.wrt[0] if report.wrt else report.params[0])
    path = line_path(inputs, axis, at, along)
    walk = Walk(inputs, path)
    bounds = path.t_bounds(inputs.region)
    if math.isnan(bounds[0]):
        raise PlotError("the values given for the other inputs are outside the region allowed by `given`")
    if limits is None:
        limits = walk.default_limits(bounds)
    else:
        limits = check_limits(limits)
    return walk.plot(limits)


def check_limits(limits: Sequence[float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in limits)
    except (TypeError, ValueError):
        raise PlotError(f"a range is two numbers LO HI, got {limits!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise PlotError(f"the range must be finite, got {lo:g} {hi:g}")
    if not lo < hi:
        raise PlotError(f"empty range: LO must be less than HI, got {lo:g} {hi:g}")
    return lo, hi


class Walk:
    """The body evaluated along one path."""

    def __init__(self, inputs: Inputs, path: Path):
        self.inputs = inputs
        self.program: Program = inputs.program
        self.path = path
        self.anchors: list[Anchor] = anchors_for(inputs.report, self.program)
        self.switches = self.program.switches
        self.summed = False
        _, _, states = self._evaluate(np.zeros(1))
        self.columns: list[tuple[int, int]] = []
        start = 1
        for state in states:
            self.columns.append((start, start + state.shape[1]))
            start += state.shape[1]

    # -------------------------------------------------------------- evaluation

    def _evaluate(
        self, t: np.ndarray, frozen: Mapping[int, Any] | None = None, states: bool = True
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """The value (summed over entries), whether the point is in the region, and the states."""
        t = np.asarray(t, dtype=float)
        count = len(t)
        env = self.path.env(t)
        value, recorded = self.program.run(env, frozen, states=states)
        rows = _rows(value, count, float)
        if rows.shape[1] > 1:
            self.summed = True
        scalar = rows.sum(axis=1)
        inside = np.isfinite(scalar)
        if self.inputs.condition is not None:
            holds, _ = self.inputs.condition.run(env, states=False)
            inside &= np.all(_rows(holds, count, float) > 0.5, axis=1)
        return scalar, inside, [_rows(state, count, np.int64) for state in recorded]

    def values(self, t: np.ndarray, frozen: Mapping[int, Any] | None = None) -> np.ndarray:
        value, inside, _ = self._evaluate(t, frozen, states=False)
        return np.where(inside, value, np.nan)

    def signature(self, t: np.ndarray) -> np.ndarray:
        _, inside, states = self._evaluate(t)
        return np.concatenate([inside[:, None].astype(np.int64), *states], axis=1)

    def frozen_at(self, t: float) -> dict[int, Any]:
        """The contents of every stop_gradient at t, to hold fixed while taking slopes there."""
        slots = self.program.stop_slots
        if not slots:
            return {}
        return dict(zip(slots, self.program.values_of(self.path.env(np.array([t])), slots)))

    def central_slopes(self, t: np.ndarray) -> np.ndarray:
        """d/dt by central differences, stop_gradient contents held at each point."""
        slopes = np.full(len(t), np.nan)
        for k, point in enumerate(t):
            h = 1e-6 * (1 + abs(point))
            frozen = self.frozen_at(point)
            left, right = self.values(np.array([point - h, point + h]), frozen)
            slopes[k] = (right - left) / (2 * h)
        return slopes

    # -------------------------------------------------------------- changes of piece

    def changes(self, lo: float, hi: float) -> list[Change]:
        self.width = hi - lo
        fractions = np.clip(
            np.linspace(0.0, 1.0, SEARCH_POINTS) + GRID_OFFSET / (SEARCH_POINTS - 1), 0.0, 1.0
        )
        grid = lo + (hi - lo) * fractions
        signature = self.signature(grid)
        cells = np.nonzero(np.any(signature[:-1] != signature[1:], axis=1))[0]
        brackets = self._locate([(grid[k], grid[k + 1]) for k in cells])
        brackets += self._touches(grid, signature[:, 0].astype(bool))
        brackets.sort(key=lambda item: item[0])
        merged: list[tuple[float, np.ndarray, np.ndarray]] = []
        for tau, left, right in brackets:
            if merged and abs(tau - merged[-1][0]) <= 1e-9 * (1 + abs(tau)):
                previous = merged[-1]
                merged[-1] = (previous[0], previous[1], right)
                continue
            merged.append((tau, left, right))
        return [self._judge(tau, left, right) for tau, left, right in merged[:MAX_CHANGES]]

    def _locate(self, intervals: list[tuple[float, float]]) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """Bisect every grid cell whose ends differ down to each change of piece inside it."""
        found = []
        pending = intervals
        for _ in range(ROUNDS):
            if not pending:
                break
            a = np.array([p[0] for p in pending])
            b = np.array([p[1] for p in pending])
            sig_a, sig_end = self.signature(a), self.signature(b)
            upper = b.copy()
            for _ in range(BISECTIONS):
                middle = 0.5 * (a + upper)
                same = np.all(self.signature(middle) == sig_a, axis=1)
                a = np.where(same, middle, a)
                upper = np.where(same, upper, middle)
            tau = 0.5 * (a + upper)
            # Read each side a little away: exactly on the change a state can be degenerate.
            nudge = 1e-10 * (1 + np.abs(tau))
            left, right = self.signature(tau - nudge), self.signature(tau + nudge)
            next_pending = []
            for i in range(len(tau)):
                if np.any(left[i] != right[i]):
                    found.append((float(tau[i]), left[i], right[i]))
                if np.any(right[i] != sig_end[i]) and b[i] - upper[i] > 1e-9 * (1 + abs(b[i])):
                    next_pending.append((float(upper[i] + nudge[i]), float(b[i])))
            pending = next_pending
        return found

    def _touches(self, grid: np.ndarray, inside: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """Singular arguments that come down to zero without changing sign (log(x^2)): local minima
        of their size on the grid, refined by golden section (all minima of a switch at once)."""
        found = []
        ratio = 0.6180339887498949
        for index, switch in enumerate(self.switches):
            if not switch.singular:
                continue
            size = np.where(inside, self._singular_size(grid, index), np.inf)
            dips = np.nonzero((size[1:-1] < size[:-2]) & (size[1:-1] <= size[2:]) & np.isfinite(size[1:-1]))[
                0
            ][:64]
            if not len(dips):
                continue
            lo, hi = grid[dips], grid[dips + 2]
            for _ in range(80):
                left, right = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
                smaller_left = self._singular_size(left, index) < self._singular_size(right, index)
                hi = np.where(smaller_left, right, hi)
                lo = np.where(smaller_left, lo, left)
            tau = 0.5 * (lo + hi)
            reached = self._singular_size(tau, index) < 1e-9 * (1 + size[dips + 1])
            for point in tau[reached]:
                nudge = 1e-10 * (1 + abs(point))
                sig = self.signature(np.array([point - nudge, point + nudge]))
                found.append((float(point), sig[0], sig[1]))
        return found

    def _singular_size(self, t: np.ndarray, index: int) -> np.ndarray:
        value = self.program.singular_values(self.path.env(t))[index]
        return np.min(np.abs(_rows(value, len(t), float)), axis=1)

    # -------------------------------------------------------------- judging a change

    def _judge(self, tau: float, left: np.ndarray, right: np.ndarray) -> Change:
        changed: dict[int, int | None] = {}
        for i, (start, stop) in enumerate(self.columns):
            if np.any(left[start:stop] != right[start:stop]):
                changed[i] = surface_of(self.switches[i], left[start:stop], right[start:stop])
        for i in self._singular_at(tau):
            changed.setdefault(i, None)
        region_changed = bool(left[0] != right[0])
        position = _snap(tau)
        states_after = tuple(right[start:stop].copy() for start, stop in self.columns)
        frozen = self.frozen_at(tau)
        value = float(self.values(np.array([position]))[0])
        limits = self._limits(tau, left, right, frozen)
        base = dict(position=position, changed=changed, value=value, states_after=states_after, **limits)
        if not left[0] and not right[0]:
            return Change(kind="edge", **base)
        singular = any(self.switches[i].singular for i in changed)
        if singular or region_changed:
            sides = [side for side, inside in ((-1.0, bool(left[0])), (1.0, bool(right[0]))) if inside]
            verdicts = [self._diverges(tau, side) for side in sides]
            value_diverges = any(v for v, _ in verdicts)
            slope_diverges = any(s for _, s in verdicts)
            if singular and (value_diverges or slope_diverges):
                cusp = len(sides) == 2 and not value_diverges
                return Change(kind="singular", cusp=cusp, **base)
            if region_changed:
                return Change(kind="edge", **base)
            steep = [
                i for i in changed if self.switches[i].singular and _infinite_slope_at_zero(self.switches[i])
            ]
            if steep:
                return Change(kind="singular", cusp=True, **base)
        kind = self._one_sided(tau, left, right, frozen)
        if kind in ("none", "kink") and self._differs_on_surface(tau, changed, position, value, limits):
            kind = "jump"
        return Change(kind=kind, **base)

    def _singular_at(self, tau: float) -> set[int]:
        singular = [i for i, s in enumerate(self.switches) if s.singular]
        if not singular:
            return set()
        sizes = self.program.singular_values(self.path.env(np.array([tau])))
        return {
            i
            for i in singular
            if sizes[i] is not None and np.min(np.abs(np.asarray(sizes[i], dtype=float))) < 1e-9
        }

    def _one_sided(self, tau: float, left: np.ndarray, right: np.ndarray, frozen: Mapping[int, Any]) -> str:
        """The probe's judgement of a crossing (probe.choose_step and probe.decide_crossing): the
        body's values and exact slopes along the path on a ladder of distances on each side."""
        width = getattr(self, "width", 1.0)
        first = 1e-3 * width
        # the change is placed to within its bisection (2^-48 of a cell): only distances well
        # above that count
        floor = 100 * (2.0**-48 * width + 4 * float(np.spacing(abs(tau))))
        ladder = first * 2.0 ** -np.arange(LADDER)
        ladder = ladder[ladder > floor] if np.sum(ladder > floor) >= 4 else ladder[:4]
        rungs = len(ladder)
        points = np.concatenate([tau - ladder, tau + ladder])
        env = self.path.env(points)
        seeds = {
            name: np.broadcast_to(direction, (len(points), len(direction)))
            for name, direction in self.path.direction.items()
        }
        values, tangents, pieces = self.program.tangents(env, seeds, frozen or None)
        count = len(points)
        value = _rows(values[self.program.output], count, float).sum(axis=1)
        raw = tangents[self.program.output]
        slope = np.zeros(count) if raw is None else _rows(raw, count, float).sum(axis=1)
        states = [_rows(read(values, pieces), count, np.int64) for read in self.program._readers]
        signature = np.concatenate([np.isfinite(value)[:, None].astype(np.int64), *states], axis=1)
        step = choose_step(signature[:rungs], signature[rungs:], slope[:rungs], slope[rungs:])
        if step is None:
            return "none"
        picked = judged_rungs(step, rungs)
        if not np.all(np.isfinite(value[picked])):
            return "none"
        # the change is placed to within its bisection and the rounding of the inputs there
        inputs = max(float(np.max(np.abs(v))) for v in self.path.env(np.array([tau])).values())
        placed = 2.0**-48 * width + 4 * float(np.spacing(max(inputs, abs(tau))))
        kind, _ = decide_crossing(value[picked], slope[picked], float(ladder[step]), placed)
        return kind

    def _limits(
        self, tau: float, left: np.ndarray, right: np.ndarray, frozen: Mapping[int, Any]
    ) -> dict[str, float]:
        """One-sided values and slopes at tau, from quadratic fits through three points per side."""
        h = SLOPE_STEP * (1 + abs(tau))
        offsets = np.array([1.0, 2.0, 3.0])
        after = self.values(tau + h * offsets, frozen or None)
        before = self.values(tau - h * offsets, frozen or None)
        return {
            "left_value": _tidy(3 * before[0] - 3 * before[1] + before[2]),
            "right_value": _tidy(3 * after[0] - 3 * after[1] + after[2]),
            "left_slope": _tidy(-(-2.5 * before[0] + 4 * before[1] - 1.5 * before[2]) / h),
            "right_slope": _tidy((-2.5 * after[0] + 4 * after[1] - 1.5 * after[2]) / h),
        }

    def _diverges(self, tau: float, side: float) -> tuple[bool, bool]:
        """Do the value, and the slope, grow without bound as t approaches tau from `side`?"""
        distances = np.array([1e-2, 1e-4, 1e-6, 1e-8]) * (1 + abs(tau))
        t = np.concatenate([tau + side * distances, tau + side * 1.1 * distances])
        value, inside, _ = self._evaluate(t, states=False)
        if not np.all(inside):
            return False, False
        near, further = value[:4], value[4:]
        slopes = (further - near) / (0.1 * distances) * side
        growing = []
        for series in (near, slopes):
            steps = np.abs(np.diff(series))
            growing.append(bool(steps[2] > 0.3 * steps[1] and steps[2] > 1e-6 * (1 + abs(series[1]))))
        return growing[0], growing[0] or growing[1]

    def _differs_on_surface(
        self, tau: float, changed: set[int], position: float, value: float, limits: Mapping[str, float]
    ) -> bool:
        """A condition that holds only on a set of measure zero (`x == 0`): does the value at the
        point itself differ from the value on both sides?"""
        if not any(isinstance(self.switches[i].node, (sp.Eq, sp.Ne)) for i in changed):
            return False
        sides = (limits["left_value"], limits["right_value"])
        if not (math.isfinite(value) and all(math.isfinite(s) for s in sides)):
            return False
        return all(abs(value - s) > 1e-6 * (1 + abs(s)) for s in sides)

    # -------------------------------------------------------------- constant pieces

    def constant_spans(self, changes: Sequence[Change], lo: float, hi: float) -> list[ConstantSpan]:
        anchors = [a for a in self.anchors if a.kind == "constant-piece" and a.states]
        if not anchors:
            return []
        cuts = [lo, *[c.position for c in changes if lo < c.position < hi], hi]
        spans: list[ConstantSpan] = []
        for start, end in itertools.pairwise(cuts):
            if end - start <= 1e-9 * (1 + abs(end)):
                continue
            probes = start + (end - start) * np.array([0.2, 0.5, 0.8])
            values, inside, states = self._evaluate(probes)
            if not np.all(inside):
                continue
            slopes = self.central_slopes(probes)
            if not np.all(np.abs(slopes) <= FLAT_TOLERANCE * (1 + np.abs(values))):
                continue
            for anchor in anchors:
                if all(np.all(states[i] == piece) for i, piece in anchor.states.items()):
                    finding = anchor.finding
                    if spans and spans[-1].finding_index == anchor.index and spans[-1].end == start:
                        spans[-1] = ConstantSpan(
                            anchor.index, finding.code, finding.where or "", spans[-1].start, end
                        )
                    else:
                        spans.append(
                            ConstantSpan(anchor.index, finding.code, finding.where or "", start, end)
                        )
                    break
        return spans

    # -------------------------------------------------------------- the plot

    def markers(self, changes: Sequence[Change]) -> list[Marker]:
        markers = []
        for change in changes:
            kind = KIND_OF_CHANGE.get(change.kind)
            if kind is None:
                continue
            anchor = matching(self.anchors, kind, change.changed)
            if anchor is None:
                continue
            finding = anchor.finding
            markers.append(
                Marker(
                    kind,
                    anchor.index,
                    finding.code,
                    finding.where or "",
                    change.position,
                    change.value,
                    change.left_value,
                    change.right_value,
                    change.left_slope,
                    change.right_slope,
                    change.cusp,
                )
            )
        return markers

    def default_limits(self, bounds: tuple[float, float]) -> tuple[float, float]:
        """A range around the markers and constant pieces found on [-SCAN, SCAN], cut to `given`."""
        lo_bound, hi_bound = bounds
        scan_lo, scan_hi = max(-SCAN, lo_bound), min(SCAN, hi_bound)
        if not scan_lo < scan_hi:
            scan_lo, scan_hi = lo_bound, hi_bound
        if math.isfinite(lo_bound) and math.isfinite(hi_bound):
            pad = 0.05 * (hi_bound - lo_bound)
            return float(lo_bound - pad), float(hi_bound + pad)
        changes = self.changes(scan_lo, scan_hi)
        positions = [m.position for m in self.markers(changes)]
        positions += [
            edge
            for s in self.constant_spans(changes, scan_lo, scan_hi)
            for edge in (s.start, s.end)
            if scan_lo < edge < scan_hi
        ]
        if not positions:
            lo, hi = -3.0, 3.0
        else:
            # Around the place nearest 0; a periodic atom (round, floor) shows a few periods.
            center = min(positions, key=abs)
            near = sorted((p for p in positions if abs(p - center) <= 8.0), key=abs)[:NEAREST]
            lo, hi = min(near), max(near)
            pad = max(2.0, 0.35 * (hi - lo))
            lo, hi = lo - pad, hi + pad
        if math.isfinite(lo_bound):
            lo = lo_bound - 0.05 * (hi - lo_bound)
            hi = max(hi, lo_bound + 3.0)
        if math.isfinite(hi_bound):
            hi = hi_bound + 0.05 * (hi_bound - lo)
            lo = min(lo, hi_bound - 3.0)
        return float(lo), float(hi)

    def plot(self, limits: tuple[float, float]) -> LinePlot:
        lo, hi = limits
        changes = self.changes(lo, hi)
        markers = self.markers(changes)
        spans = self.constant_spans(changes, lo, hi)
        grid = np.linspace(lo, hi, DRAW_POINTS)
        value = self.values(grid)
        if not np.any(np.isfinite(value)):
            name = self.inputs.report.name or "the expression"
            raise PlotError(
                f"nothing to plot: {name} is undefined or outside `given` everywhere on [{lo:g}, {hi:g}]"
            )
        symbolic = (
            None if self.inputs.vector else symbolic_derivative(self.inputs.report.expression, self.path.axis)
        )
        if symbolic is not None:
            derivative = self._symbolic_values(symbolic.program, grid)
            method = DerivativeMethod("sympy", f"d/d{self.path.axis}, from SymPy")
        else:
            derivative = self.central_slopes(grid)
            method = DerivativeMethod(
                "central",
                f"d/d{'t' if self.path.describe() != self.path.axis else self.path.axis}, "
                "by central differences",
            )
        derivative = np.where(np.isfinite(value), derivative, np.nan)
        t, curve = _broken(grid, value, changes, ("jump", "singular"), "value")
        dt, dcurve = _broken(grid, derivative, changes, ("kink", "jump", "singular"), "slope")
        drawn = {m.finding_index for m in markers} | {s.finding_index for s in spans}
        unplaced = [i for i, f in enumerate(self.inputs.report.findings) if i not in drawn]
        return LinePlot(
            self.inputs.report,
            self.path,
            (lo, hi),
            t,
            curve,
            dt,
            dcurve,
            method,
            markers,
            spans,
            list(changes),
            self.summed,
            unplaced,
        )

    def _symbolic_values(self, program: Program, grid: np.ndarray) -> np.ndarray:
        value, _ = program.run(self.path.env(grid), states=False)
        return _rows(value, len(grid), float).sum(axis=1)


def _broken(
    grid: np.ndarray, curve: np.ndarray, changes: Sequence[Change], kinds: tuple[str, ...], which: str
) -> tuple[np.ndarray, np.ndarray]:
    """The curve with its one-sided limits added at each change, broken (NaN) where it jumps."""
    ts, ys = [grid], [curve]
    for change in changes:
        if not grid[0] < change.position < grid[-1]:
            continue
        left = change.left_value if which == "value" else change.left_slope
        right = change.right_value if which == "value" else change.right_slope
        if change.kind in kinds:
            points = [(change.position, left), (change.position, math.nan), (change.position, right)]
        elif which == "value" and change.kind in ("kink", "none"):
            points = [(change.position, change.value)]
        else:
            continue
        if change.kind == "singular":
            # A pole breaks both curves; a cusp (finite value, infinite slope) only the slope's.
            finite = change.cusp and math.isfinite(change.value)
            points = [(change.position, change.value if which == "value" and finite else math.nan)]
        ts.append(np.array([p[0] for p in points]))
        ys.append(np.array([p[1] for p in points]))
    inserted = np.concatenate(ts[1:]) if len(ts) > 1 else np.empty(0)
    if inserted.size:
        # A grid point that falls on a change would connect the two sides with a vertical line.
        keep = np.min(np.abs(grid[:, None] - inserted[None, :]), axis=1) > 1e-12 * (1 + np.abs(grid))
        ts[0], ys[0] = grid[keep], curve[keep]
    t = np.concatenate(ts)
    y = np.concatenate(ys)
    # A stable sort keeps the left limit, the break and the right limit in that order.
    order = np.argsort(t, kind="stable")
    return t[order], y[order]


def _snap(tau: float) -> float:
    """The shortest decimal within rounding of tau: a switch at 0 or 0.5 is drawn exactly there, and
    the value at the point itself is read on the right side of the switch."""
    for digits in range(13):
        candidate = round(tau, digits)
        if abs(candidate - tau) <= 1e-12 * (1 + abs(tau)):
            return float(candidate) + 0.0  # no -0.0
    return float(tau)


def _tidy(estimate: float) -> float:
    """A finite-difference estimate to the digits it can be trusted with (7), so an exact slope
    such as 1 is drawn and printed as 1, not 0.9999999994."""
    estimate = float(estimate)
    if not math.isfinite(estimate):
        return estimate
    return float(f"{estimate:.7g}") + 0.0


def _rows(value: Any, count: int, dtype: Any) -> np.ndarray:
    array = np.asarray(value, dtype=dtype)
    if array.ndim == 0:
        return np.full((count, 1), array, dtype=dtype)
    if array.shape[0] != count:
        array = np.broadcast_to(
            array, (count,) + array.shape[1:] if array.ndim > 1 else (count, array.shape[-1])
        )
    return array.reshape(count, -1)
