"""Plots of a definition and its derivative with the analysis' findings marked.

`plot_report(report, ...)` returns a Matplotlib Figure: for one variable, the value over its
derivative along a path, with kinks, jumps, constant pieces and singularities marked; for two, a
heat map with the findings' curves. The data of a plot (`line_data`, `map_data`) is computed
without Matplotlib, which is imported only to draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..analysis.report import Report
from .errors import PlotError
from .line import ConstantSpan, LinePlot, Marker, line_data
from .path import Values
from .plane import Curve, MapPlot, Piece, map_data

__all__ = [
    "ConstantSpan",
    "Curve",
    "LinePlot",
    "MapPlot",
    "Marker",
    "Piece",
    "PlotError",
    "compare_reports",
    "line_data",
    "map_data",
    "plot_data",
    "plot_report",
    "require_matplotlib",
]

COMPARISON_COLORS = ("#1f4e79", "#e76f51", "#2a9d8f", "#b8860b", "#8e44ad", "#555555")


def plot_data(
    report: Report,
    wrt: str | Sequence[str] | None = None,
    *,
    at: Mapping[str, Values] | None = None,
    along: Mapping[str, Values] | None = None,
    limits: Any = None,
    heatmap: str = "value",
) -> LinePlot | MapPlot:
    """The data of the plot: along one variable (a LinePlot) or over two (a MapPlot)."""
    names = [wrt] if isinstance(wrt, str) else list(wrt or [])
    if len(names) > 2:
        raise PlotError(f"a plot has one or two variables, got {len(names)}: {', '.join(names)}")
    if len(names) == 2:
        if along:
            raise PlotError("a path (--along) is for one-variable plots")
        return map_data(report, (names[0], names[1]), at, limits, heatmap)
    if limits is not None and len(limits) == 1 and isinstance(limits[0], (list, tuple)):
        limits = limits[0]
    return line_data(report, names[0] if names else None, at, along, limits)


def plot_report(
    report: Report,
    wrt: str | Sequence[str] | None = None,
    *,
    at: Mapping[str, Values] | None = None,
    along: Mapping[str, Values] | None = None,
    limits: Any = None,
    heatmap: str = "value",
    axes: Sequence[Any] | None = None,
    title: str | None = None,
    label: str | None = None,
    color: str | None = None,
) -> Any:
    """A Matplotlib Figure of `report` (see the module doc); `axes` draws a one-variable plot into
    an existing (value, derivative) pair of axes, to compare several definitions."""
    require_matplotlib()
    from .figure import draw_line, draw_map

    data = plot_data(report, wrt, at=at, along=along, limits=limits, heatmap=heatmap)
    if isinstance(data, MapPlot):
        if axes is not None:
            raise PlotError("a two-variable plot draws its own figure: `axes` is for one-variable plots")
        return draw_map(data, title=title)
    return draw_line(data, axes, title=title, label=label, color=color)


def compare_reports(
    items: Sequence[tuple[Report, str]],
    wrt: str | None = None,
    *,
    at: Mapping[str, Values] | None = None,
    along: Mapping[str, Values] | None = None,
    limits: Any = None,
    title: str | None = None,
) -> Any:
    """Several definitions of the same inputs on one pair of axes (a step and its sigmoids, argmax
    and softargmax), each in its own colour, each with its own findings marked. Without `limits`,
    all share the range the first one would get."""
    require_matplotlib()
    from .figure import draw_line, matplotlib_figure

    if not items:
        raise PlotError("nothing to compare")
    figure = matplotlib_figure(figsize=(8.0, 6.6), layout="constrained")
    value_ax, slope_ax = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3.0, 2.0]})
    for number, (report, label) in enumerate(items):
        data = line_data(report, wrt, at, along, limits)
        limits = data.limits
        draw_line(
            data, (value_ax, slope_ax), label=label, color=COMPARISON_COLORS[number % len(COMPARISON_COLORS)]
        )
    if title:
        value_ax.set_title(title, fontsize=11, loc="left")
    return figure


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotError("plotting needs Matplotlib: pip install 'kinks[plot]'") from None
