"""The data of a two-variable plot: a heat map, and the findings' curves and regions over it.

Each kink, jump or singularity finding is about some switches of the body (see `anchors`); its
curve is where one of those switches changes piece on the plane (for rows with several surfaces,
such as the two corners of `clip`, only the surface the finding names), drawn as a contour of the
switch's state. A constant-piece finding becomes a hatched region where its switches are on the
flat pieces and the gradient in the plane vanishes. No Matplotlib here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis.report import Report
from .anchors import anchors_for, surface_of
from .derivative import symbolic_derivative
from .errors import PlotError
from .line import FLAT_TOLERANCE, Walk, _rows, check_limits
from .path import Inputs, Values, as_entries, check_names, default_value, inputs_for, line_path

MAP_POINTS = 241
MAX_LEVELS = 60


@dataclass(frozen=True, slots=True)
class Curve:
    kind: str  # "kink", "discontinuity" or "singularity"
    finding_index: int
    code: str
    where: str
    switch: int
    field: np.ndarray  # the switch's state on the grid (masked outside the region for kinks and jumps)
    levels: tuple[float, ...]  # contour levels between the states whose boundary the finding is about


@dataclass(frozen=True, slots=True)
class Piece:
    finding_index: int
    code: str
    where: str
    mask: np.ndarray  # True where the gradient in the plane vanishes on the finding's pieces


@dataclass(slots=True)
class MapPlot:
    report: Report
    axes: tuple[str, str]
    limits: tuple[tuple[float, float], tuple[float, float]]
    x: np.ndarray
    y: np.ndarray
    field: np.ndarray  # (len(y), len(x)), NaN outside the region
    field_label: str
    singular: bool
    curves: list[Curve] = field(default_factory=list)
    pieces: list[Piece] = field(default_factory=list)
    unplaced: list[int] = field(default_factory=list)

    @property
    def drawn(self) -> set[int]:
        return {c.finding_index for c in self.curves} | {p.finding_index for p in self.pieces}


def map_data(
    report: Report,
    wrt: Sequence[str],
    at: Mapping[str, Values] | None = None,
    limits: Sequence[Sequence[float]] | None = None,
    heatmap: str = "value",
) -> MapPlot:
    if heatmap not in ("value", "gradient"):
        raise PlotError(f"the heat map shows `value` or `gradient`, got {heatmap!r}")
    inputs = inputs_for(report, at)
    if inputs.vector:
        raise PlotError(
            "a two-variable plot needs scalar inputs; plot a vector input along a path with one variable"
        )
    first, second = wrt
    if first == second:
        raise PlotError(f"the two plotted variables must differ, got `{first}` twice")
    values = dict(at or {})
    check_names(report, [first, second, *values])
    for axis in (first, second):
        if axis in values:
            raise PlotError(
                f"`{axis}` is a plotted variable: set its range with --range (or `limits`), not --at"
            )
        if axis in inputs.region.choices:
            raise PlotError(f"`{axis}` only takes a few values (given): there is no axis to plot it along")
    fixed = {name: default_value(name, inputs.region, 1) for name in report.params}
    fixed.update({name: as_entries(name, value, 1) for name, value in values.items()})
    ranges = _ranges(inputs, (first, second), fixed, limits)
    x = np.linspace(*ranges[0], MAP_POINTS)
    y = np.linspace(*ranges[1], MAP_POINTS)
    grid_x, grid_y = np.meshgrid(x, y)
    env = {name: np.full((grid_x.size, 1), fixed[name][0]) for name in report.params}
    env[first], env[second] = grid_x.reshape(-1, 1), grid_y.reshape(-1, 1)
    shape = grid_x.shape
    program = inputs.program
    value, inside, states = _evaluate(inputs, env)
    gradient = _gradient_norm(inputs, env, (first, second), value)
    if heatmap == "value":
        heat, label = np.where(inside, value, np.nan), "value"
    else:
        heat, label = np.where(inside, gradient, np.nan), f"|gradient| in ({first}, {second})"
    if not np.any(np.isfinite(heat)):
        raise PlotError(
            f"nothing to plot: {report.name or 'the expression'} is undefined or outside `given` "
            "everywhere in the range"
        )
    singular_values = program.singular_values(env)
    anchors = anchors_for(report, program)
    curves: list[Curve] = []
    pieces: list[Piece] = []
    for anchor in anchors:
        finding = anchor.finding
        if anchor.kind == "constant-piece":
            if not anchor.states:
                continue
            mask = inside & (gradient <= FLAT_TOLERANCE * (1 + np.abs(value)))
            for i, piece in anchor.states.items():
                mask &= np.all(states[i] == piece, axis=1)
            if np.any(mask):
                pieces.append(Piece(anchor.index, finding.code, finding.where or "", mask.reshape(shape)))
            continue
        for i in sorted(anchor.switches):
            switch = program.switches[i]
            if (anchor.kind == "singularity") != switch.singular:
                continue
            if switch.singular:
                field_values = np.sign(np.min(_rows(singular_values[i], grid_x.size, float), axis=1))
                state = np.ma.masked_invalid(field_values.reshape(shape))
            else:
                state = np.ma.masked_array(
                    states[i][:, 0].reshape(shape).astype(float), mask=~inside.reshape(shape)
                )
            levels = _levels(state, switch, anchor.surfaces.get(i))
            if levels:
                curves.append(
                    Curve(anchor.kind, anchor.index, finding.code, finding.where or "", i, state, levels)
                )
    drawn = {c.finding_index for c in curves} | {p.finding_index for p in pieces}
    unplaced = [i for i in range(len(report.findings)) if i not in drawn]
    singular = any(c.kind == "singularity" for c in curves)
    return MapPlot(
        report, (first, second), ranges, x, y, heat.reshape(shape), label, singular, curves, pieces, unplaced
    )


def _ranges(
    inputs: Inputs,
    axes: tuple[str, str],
    fixed: Mapping[str, np.ndarray],
    limits: Sequence[Sequence[float]] | None,
) -> tuple[tuple[float, float], tuple[float, float]]:
    if limits is not None:
        if len(limits) == 1:
            limits = [limits[0], limits[0]]
        if len(limits) != 2:
            raise PlotError("a two-variable plot takes one range for both axes or one range per axis")
        ranges = [check_limits(limits[0]), check_limits(limits[1])]
        return ranges[0], ranges[1]
    ranges = []
    for axis in axes:
        # Each axis gets the range a one-variable plot along it would get, the other input held fixed.
        others = {name: float(value[0]) for name, value in fixed.items() if name != axis}
        path = line_path(inputs, axis, others)
        walk = Walk(inputs, path)
        bounds = path.t_bounds(inputs.region)
        if math.isnan(bounds[0]):
            raise PlotError("the values given for the other inputs are outside the region allowed by `given`")
        ranges.append(walk.default_limits(bounds))
    return ranges[0], ranges[1]


def _evaluate(
    inputs: Inputs, env: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    count = len(next(iter(env.values())))
    value, states = inputs.program.run(env)
    scalar = _rows(value, count, float).sum(axis=1)
    inside = np.isfinite(scalar)
    if inputs.condition is not None:
        holds, _ = inputs.condition.run(env, states=False)
        inside &= np.all(_rows(holds, count, float) > 0.5, axis=1)
    return scalar, inside, [_rows(state, count, np.int64) for state in states]


def _gradient_norm(
    inputs: Inputs, env: Mapping[str, np.ndarray], axes: tuple[str, str], value: np.ndarray
) -> np.ndarray:
    """|gradient| in the plane: SymPy's partial derivatives when it gives both, else central differences."""
    count = len(value)
    squares = np.zeros(count)
    for axis in axes:
        symbolic = symbolic_derivative(inputs.report.expression, axis)
        if symbolic is not None:
            partial, _ = symbolic.program.run(env, states=False)
            squares += _rows(partial, count, float).sum(axis=1) ** 2
            continue
        h = 1e-6 * (1 + np.abs(env[axis]))
        sides = []
        for sign in (1.0, -1.0):
            moved = dict(env)
            moved[axis] = env[axis] + sign * h
            shifted, _ = inputs.program.run(moved, states=False)
            sides.append(_rows(shifted, count, float).sum(axis=1))
        squares += ((sides[0] - sides[1]) / (2 * h[:, 0])) ** 2
    return np.sqrt(squares)


def _levels(state: Any, switch: Any, surface: int | None) -> tuple[float, ...]:
    """Contour levels between neighbouring states; for a finding about one surface, only its own."""
    present = np.unique(np.ma.compressed(state))
    if len(present) < 2:
        return ()
    levels = []
    for low, high in itertools.pairwise(present):
        if surface is not None and not switch.singular:
            crossed = surface_of(switch, np.array([int(low)]), np.array([int(high)]))
            if crossed is not None and crossed != surface:
                continue
        levels.append(float(0.5 * (low + high)))
    return tuple(levels[:MAX_LEVELS])
