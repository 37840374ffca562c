"""Where a plot walks: the inputs of a definition as a function of the plotted coordinates.

A one-variable plot walks a straight path `inputs(t) = at + t * along`. For a body without vector
functions every input is a single number and the path simply moves the plotted variable (`x = t`).
For a body with reductions, `argmax` or `softmax`, every input is a vector of a few entries (the
analysis uses 3) and the plotted vector moves along a direction whose entries differ, so that the
path crosses ties (`argmax`), thresholds of each entry and the corners of `max` one after the
other; the user can name any other path with `at` and `along`.

Inputs that are not plotted sit at a value inside the region allowed by `given`: the largest of a
finite set of choices (a label `y in {0, 1}` is 1, in every entry), the middle of a bounded
interval, one past a lone bound, or 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..analysis.evaluate import Program
from ..analysis.probe import ENTRIES, Bound, Region, region_from
from ..analysis.report import Report
from ..atoms.table import VECTOR_NODES
from .errors import PlotError

Values = float | Sequence[float]


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything a plot needs to evaluate the body: the programs, the region and the shape."""

    report: Report
    program: Program
    condition: Program | None
    region: Region
    entries: int  # 1 for scalar bodies; the size of every vector otherwise

    @property
    def vector(self) -> bool:
        return self.entries > 1


@dataclass(frozen=True, slots=True)
class Path:
    """inputs(t) = base + t * direction, every variable an array of `entries` numbers."""

    axis: str  # the variable named on the horizontal axis
    entries: int
    base: Mapping[str, np.ndarray]
    direction: Mapping[str, np.ndarray]

    def env(self, t: np.ndarray) -> dict[str, np.ndarray]:
        t = np.asarray(t, dtype=float).reshape(-1, 1)
        return {name: self.base[name][None, :] + t * self.direction[name][None, :] for name in self.base}

    @property
    def moving(self) -> tuple[str, ...]:
        return tuple(name for name, d in self.direction.items() if np.any(d != 0))

    def describe(self) -> str:
        """The horizontal axis in words: `x`, or the path of a vector (`p = (t, 0.3 + 0.5 t, ...)`)."""
        if (
            self.entries == 1
            and self.moving == (self.axis,)
            and self.base[self.axis][0] == 0
            and self.direction[self.axis][0] == 1
        ):
            return self.axis
        parts = []
        for name in self.moving:
            entries = [_affine(b, d) for b, d in zip(self.base[name], self.direction[name])]
            parts.append(f"{name} = ({', '.join(entries)})" if self.entries > 1 else f"{name} = {entries[0]}")
        return "t, where " + "; ".join(parts)

    def t_bounds(self, region: Region) -> tuple[float, float]:
        """The interval of t on which every moving input stays within its bounds from `given`."""
        lo, hi = -math.inf, math.inf
        for name in self.moving:
            bound = region.bounds.get(name, Bound())
            for b, d in zip(self.base[name], self.direction[name]):
                if d == 0:
                    if not (bound.lo <= b <= bound.hi):
                        return math.nan, math.nan
                    continue
                ends = sorted(((bound.lo - b) / d, (bound.hi - b) / d))
                lo, hi = max(lo, ends[0]), min(hi, ends[1])
        return lo, hi


def _affine(base: float, slope: float) -> str:
    if slope == 0:
        return _number(base)
    term = "t" if slope == 1 else f"{_number(slope)} t"
    if base == 0:
        return term if slope != -1 else "-t"
    sign = "+" if slope > 0 else "-"
    term = "t" if abs(slope) == 1 else f"{_number(abs(slope))} t"
    return f"{_number(base)} {sign} {term}"


def _number(value: float) -> str:
    return f"{value:.4g}"


def inputs_for(
    report: Report, values: Mapping[str, Values] | None = None, directions: Mapping[str, Values] | None = None
) -> Inputs:
    """Compile the body of an analysed definition for plotting; the vector size comes from the body
    (3 entries when it has vector functions) or from the longest list the user gave."""
    if report.expression is None or not isinstance(report.expression, sp.Basic):
        reason = report.findings[0].message if report.findings else "it has no body to evaluate"
        raise PlotError(f"cannot plot {_title(report)}: {reason}")
    if not report.params:
        raise PlotError(f"nothing to plot: {_title(report)} has no variables")
    lengths = {len(v) for v in [*(values or {}).values(), *(directions or {}).values()] if _is_list(v)}
    lengths.discard(1)
    if len(lengths) > 1:
        raise PlotError(f"every vector must have the same number of entries, got lengths {sorted(lengths)}")
    has_vectors = report.expression.has(*VECTOR_NODES)
    entries = lengths.pop() if lengths else (ENTRIES if has_vectors else 1)
    program = Program(report.expression)
    condition = Program(sp.Piecewise((1, report.given), (0, True))) if report.given is not None else None
    region = region_from(report.given, list(report.params), condition)
    return Inputs(report, program, condition, region, entries)


def line_path(
    inputs: Inputs,
    axis: str,
    values: Mapping[str, Values] | None = None,
    directions: Mapping[str, Values] | None = None,
) -> Path:
    """The path of a one-variable plot along `axis` (see the module doc)."""
    report, region, entries = inputs.report, inputs.region, inputs.entries
    values, directions = dict(values or {}), dict(directions or {})
    check_names(report, [axis, *values, *directions])
    if axis in region.choices:
        raise PlotError(
            f"`{axis}` only takes the values {_choices(region.choices[axis])} (given): "
            "there is no line to plot along"
        )
    if not inputs.vector and axis in values:
        raise PlotError(
            f"`{axis}` is the plotted variable: set its range with --range (or `limits`), not --at"
        )
    base = {name: default_value(name, region, entries) for name in report.params}
    direction = {name: np.zeros(entries) for name in report.params}
    if inputs.vector:
        base[axis], direction[axis] = _tie_crossing(region.bounds.get(axis, Bound()), entries)
    else:
        base[axis], direction[axis] = np.zeros(1), np.ones(1)
    for name, value in values.items():
        base[name] = as_entries(name, value, entries)
    for name, value in directions.items():
        direction[name] = as_entries(name, value, entries, what="direction")
    if not np.any(direction[axis] != 0):
        raise PlotError(f"the direction of `{axis}` is zero: the path would not move")
    return Path(axis, entries, base, direction)


def _tie_crossing(bound: Bound, entries: int) -> tuple[np.ndarray, np.ndarray]:
    """A path for a plotted vector whose first entry is t and whose other entries move more slowly
    from staggered starts: it crosses every tie between entries and stays inside the bounds."""
    offsets = np.linspace(0.0, 0.6, entries)
    slopes = np.array([min(0.5**i, 0.9 * (1 - offsets[i])) for i in range(entries)])
    slopes[0] = 1.0
    if math.isfinite(bound.lo) and math.isfinite(bound.hi):
        start, width = bound.lo, bound.hi - bound.lo
    elif math.isfinite(bound.lo):
        start, width = bound.lo, 1.0
    elif math.isfinite(bound.hi):
        start, width = bound.hi - 1.0, 1.0
    else:
        start, width = 0.0, 1.0
    # entry i at t = start sits at start + offsets[i] * width and moves with slope slopes[i]
    base = start + offsets * width - slopes * start
    return base, slopes


def default_value(name: str, region: Region, entries: int) -> np.ndarray:
    """A value inside the region for an input that is not plotted."""
    if name in region.choices:
        # Every entry the largest choice (labels y in {0, 1} are all 1): every entry then behaves
        # alike along the path, so a piece that is flat for all of them shows as one stretch.
        return np.full(entries, max(region.choices[name]), dtype=float)
    bound = region.bounds.get(name, Bound())
    if math.isfinite(bound.lo) and math.isfinite(bound.hi):
        value = 0.5 * (bound.lo + bound.hi)
    elif math.isfinite(bound.lo):
        value = bound.lo + 1.0
    elif math.isfinite(bound.hi):
        value = bound.hi - 1.0
    else:
        value = 1.0
    return np.full(entries, value)


def as_entries(name: str, value: Values, entries: int, what: str = "value") -> np.ndarray:
    """A number or a list as the entries of one input; a single number fills every entry."""
    numbers = list(value) if _is_list(value) else [value]
    try:
        array = np.array([float(v) for v in numbers], dtype=float)
    except (TypeError, ValueError):
        raise PlotError(f"the {what} of `{name}` must be numbers, got {value!r}") from None
    if not np.all(np.isfinite(array)):
        raise PlotError(f"the {what} of `{name}` must be finite, got {value!r}")
    if len(array) == 1:
        return np.full(entries, array[0])
    if len(array) != entries:
        raise PlotError(f"the {what} of `{name}` has {len(array)} entries, but the plot uses {entries}")
    return array


def check_names(report: Report, names: Sequence[str]) -> None:
    for name in names:
        if name not in report.params:
            listed = ", ".join(report.params)
            raise PlotError(f"`{name}` is not a parameter of {_title(report)}: its parameters are {listed}")


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _choices(options: Sequence[float]) -> str:
    return "{" + ", ".join(_number(v) for v in sorted(options)) + "}"


def _title(report: Report) -> str:
    return report.name or "the expression"
