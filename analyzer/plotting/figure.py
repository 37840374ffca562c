"""Draw plot data with Matplotlib (imported here only, and only when a plot is drawn).

Every artist that stands for a finding carries a `gid` of the form `kinks:marker:N:PART` or
`kinks:span:N:PART`, N being the position of the marker or span in the plot data, so tests (and
SVG readers) can tie each drawn mark back to the finding it shows. The figure is built with
`matplotlib.figure.Figure`, never with pyplot: no global state and no window.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis.explain import LanguagePrinter
from ..analysis.report import Report
from .line import LinePlot, Marker
from .plane import MapPlot

KIND_COLOR = {
    "kink": "#d62728",
    "discontinuity": "#6a3d9a",
    "singularity": "#e66101",
    "constant-piece": "#7f7f7f",
}
KIND_LEGEND = {
    "kink": "kink (K201)",
    "discontinuity": "jump (K101)",
    "singularity": "singularity (K102)",
    "constant-piece": "constant piece (K202)",
}
VALUE_COLOR = "#1f4e79"
SLOPE_COLOR = "#2a7f62"
TITLE_LENGTH = 90
SMOOTHNESS = {1: "C1", 0: "C0", -1: "discontinuous"}


def matplotlib_figure(**options: Any) -> Any:
    from .display import NotebookFigure  # a Figure that Jupyter displays (`_repr_png_`)

    return NotebookFigure(**options)


def title_of(report: Report, title: str | None = None) -> str:
    if title is None:
        title = report.name or LanguagePrinter().doprint(report.expression)
    if len(title) > TITLE_LENGTH:
        title = title[: TITLE_LENGTH - 1] + "…"
    verdict = report.classification
    if (
        report.smoothness is not None
        and report.smoothness < 2
        and verdict not in ("zero-gradient", "invalid", "unknown")
    ):
        verdict += f", {SMOOTHNESS.get(report.smoothness, f'C{report.smoothness}')}"
    return f"{title}  —  {verdict}"


# ------------------------------------------------------------------ one variable


def draw_line(
    data: LinePlot,
    axes: Sequence[Any] | None = None,
    *,
    title: str | None = None,
    label: str | None = None,
    color: str | None = None,
) -> Any:
    """The value over the derivative, with the findings marked; returns the Figure."""
    notes = _notes(data.report, data.unplaced)
    if axes is None:
        figure = matplotlib_figure(figsize=(8.0, 6.6 + 0.16 * len(notes)), layout="constrained")
        ratios = [3.0, 2.0] + ([0.2 + 0.16 * len(notes)] if notes else [])
        grid = figure.subplots(len(ratios), 1, gridspec_kw={"height_ratios": ratios})
        value_ax, slope_ax = grid[0], grid[1]
        slope_ax.sharex(value_ax)
        if notes:
            _draw_notes(grid[2], notes)
        value_ax.set_title(title_of(data.report, title), fontsize=11, loc="left")
    else:
        value_ax, slope_ax = axes
        figure = value_ax.figure
    overlay = axes is not None
    value_color = color or VALUE_COLOR
    slope_color = color or SLOPE_COLOR
    name = label or ("value" + (" (sum of its entries)" if data.summed else ""))
    value_ax.plot(data.t, data.value, color=value_color, linewidth=2.0, label=name, zorder=3)
    slope_label = f"{label}: {data.derivative_method.label}" if label else data.derivative_method.label
    slope_ax.plot(
        data.derivative_t, data.derivative, color=slope_color, linewidth=1.6, label=slope_label, zorder=3
    )

    for number, span in enumerate(data.spans):
        for part, ax in (("value", value_ax), ("slope", slope_ax)):
            ax.axvspan(
                span.start,
                span.end,
                color=KIND_COLOR["constant-piece"],
                alpha=0.16,
                linewidth=0,
                gid=f"kinks:span:{number}:{part}",
                label=KIND_LEGEND["constant-piece"],
                zorder=1,
            )
        if not overlay and _first(data.spans, number, lambda s: s.finding_index):
            value_ax.text(
                0.5 * (span.start + span.end),
                0.97,
                f"{span.code} {span.where}",
                transform=value_ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=8,
                color="#444444",
                gid=f"kinks:span:{number}:label",
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
            )

    value_ax.set_xlim(*data.limits)
    _fit_y(value_ax, data.value, data.markers)
    _fit_y(slope_ax, data.derivative, data.markers)
    width = data.limits[1] - data.limits[0]
    for number, marker in enumerate(data.markers):
        _draw_marker(
            value_ax,
            slope_ax,
            marker,
            number,
            width,
            labelled=_first(data.markers, number, lambda m: m.finding_index),
        )
    value_ax.set_ylabel("value")
    slope_ax.set_ylabel("derivative")
    slope_ax.set_xlabel(data.path.describe())
    for ax in (value_ax, slope_ax):
        ax.axhline(0.0, color="#bbbbbb", linewidth=0.8, zorder=0)
        ax.grid(True, color="#eeeeee", linewidth=0.6)
        _legend(ax)
    value_ax.tick_params(labelbottom=False)
    return figure


def _draw_marker(
    value_ax: Any, slope_ax: Any, marker: Marker, number: int, width: float, labelled: bool
) -> None:
    gid = f"kinks:marker:{number}"
    color = KIND_COLOR[marker.kind]
    legend = KIND_LEGEND[marker.kind]
    x = marker.position
    if marker.kind == "kink":
        value_ax.scatter(
            [x],
            [marker.value],
            s=46,
            color=color,
            edgecolor="black",
            linewidth=0.6,
            zorder=6,
            gid=f"{gid}:point",
            label=legend,
        )
        # Each one-sided tangent drawn through the point: two lines crossing at the kink.
        stub = 0.08 * width
        for slope in (marker.left_slope, marker.right_slope):
            value_ax.plot(
                [x - stub, x + stub],
                [marker.value - stub * slope, marker.value + stub * slope],
                color=color,
                linewidth=1.0,
                linestyle=(0, (3, 2)),
                alpha=0.8,
                zorder=5,
                gid=f"{gid}:tangent",
            )
        slope_ax.scatter(
            [x, x],
            [marker.left_slope, marker.right_slope],
            s=34,
            facecolor="white",
            edgecolor=color,
            linewidth=1.4,
            zorder=6,
            gid=f"{gid}:slopes",
        )
        text = (
            f"{marker.code} {marker.where}\nslopes {_short(marker.left_slope)} | {_short(marker.right_slope)}"
        )
        anchor_y = marker.value
    elif marker.kind == "discontinuity":
        limits = [v for v in (marker.left_value, marker.right_value) if math.isfinite(v)]
        closed = [marker.value] if math.isfinite(marker.value) else []
        # The one-sided limits are estimates good to about 7 digits: a limit that equals the value at
        # the point is the side the point belongs to (filled), the other side is open.
        opened = [v for v in limits if not closed or abs(v - closed[0]) > 1e-6 * (1 + abs(v))]
        if closed:
            value_ax.scatter(
                [x], closed, s=40, color=color, edgecolor=color, zorder=8, gid=f"{gid}:closed", label=legend
            )
        if opened:
            value_ax.scatter(
                [x] * len(opened),
                opened,
                s=40,
                facecolor="white",
                edgecolor=color,
                linewidth=1.5,
                zorder=7,
                gid=f"{gid}:open",
                label=None if closed else legend,
            )
        slope_ax.axvline(x, color=color, linewidth=1.0, linestyle=":", zorder=2, gid=f"{gid}:line")
        text = f"{marker.code} {marker.where}"
        anchor_y = closed[0] if closed else (limits[0] if limits else 0.0)
    else:
        for part, ax in (("asymptote", value_ax), ("asymptote-slope", slope_ax)):
            ax.axvline(
                x,
                color=color,
                linewidth=1.3,
                linestyle="--",
                zorder=2,
                gid=f"{gid}:{part}",
                label=legend if ax is value_ax else None,
            )
        if marker.cusp and math.isfinite(marker.value):
            value_ax.scatter(
                [x],
                [marker.value],
                s=40,
                color=color,
                edgecolor="black",
                linewidth=0.6,
                zorder=6,
                gid=f"{gid}:point",
            )
        text = f"{marker.code} {marker.where}"
        anchor_y = marker.value if math.isfinite(marker.value) else None
    if not labelled:
        return
    box = {
        "boxstyle": "round,pad=0.25",
        "facecolor": "white",
        "edgecolor": color,
        "linewidth": 0.6,
        "alpha": 0.9,
    }
    if anchor_y is None:
        value_ax.text(
            x,
            0.9,
            f"{text}",
            transform=value_ax.get_xaxis_transform(),
            fontsize=8,
            color=color,
            ha="left",
            va="top",
            gid=f"{gid}:label",
            zorder=8,
            bbox=box,
        )
        return
    # Below-right of points in the upper half of the axes, above-right of the others; left near the
    # right edge.
    bottom, top = value_ax.get_ylim()
    left_edge, right_edge = value_ax.get_xlim()
    upper = anchor_y > 0.5 * (bottom + top)
    near_right = x > left_edge + 0.75 * (right_edge - left_edge)
    offset = (-10 if near_right else 10, -16 if upper else 14)
    value_ax.annotate(
        text,
        xy=(x, anchor_y),
        xytext=offset,
        textcoords="offset points",
        fontsize=8,
        color=color,
        ha="right" if near_right else "left",
        va="top" if upper else "bottom",
        gid=f"{gid}:label",
        zorder=8,
        bbox=box,
    )


def _first(items: Sequence[Any], number: int, key: Any) -> bool:
    """Is item `number` the first drawn for its finding (labels go on the first one only)?"""
    return all(key(items[k]) != key(items[number]) for k in range(number))


def _short(value: float) -> str:
    if not math.isfinite(value):
        return "∞" if value > 0 else ("-∞" if value < 0 else "undefined")
    if abs(value) < 5e-7:
        value = 0.0
    return f"{value:.3g}"


def _fit_y(ax: Any, values: np.ndarray, markers: Sequence[Marker]) -> None:
    """Fit the vertical axis to the curve; near a singularity, to the bulk of it (not to infinity)."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return
    lo, hi = float(np.min(finite)), float(np.max(finite))
    robust_lo, robust_hi = (float(v) for v in np.percentile(finite, [2, 98]))
    if any(m.kind == "singularity" for m in markers) and hi - lo > 4 * (robust_hi - robust_lo):
        lo, hi = robust_lo, robust_hi  # a curve that runs off to infinity: show its bulk
    if hi - lo < 1e-9 * (1 + abs(hi)):
        lo = hi = 0.5 * (lo + hi)
    current = ax.get_ylim()
    if ax.get_autoscaley_on() is False and current != (0.0, 1.0):
        lo, hi = min(lo, current[0]), max(hi, current[1])  # an overlay keeps what is already drawn
    span = hi - lo
    margin = 0.12 * span if span > 0 else 0.5 * max(1.0, abs(hi))
    ax.set_ylim(lo - margin, hi + margin)


def _legend(ax: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    unique: dict[str, Any] = {}
    for handle, text in zip(handles, labels):
        if text and not text.startswith("_"):
            unique.setdefault(text, handle)
    if unique:
        ax.legend(list(unique.values()), list(unique.keys()), fontsize=8, loc="best", framealpha=0.85)


def _notes(report: Report, unplaced: Sequence[int]) -> list[str]:
    lines = []
    for index in unplaced:
        finding = report.findings[index]
        where = (
            f" ({finding.where})"
            if finding.where and finding.kind not in ("zero-gradient", "unconnected")
            else ""
        )
        if finding.kind in ("kink", "discontinuity", "singularity", "constant-piece"):
            text = (
                f"{finding.code} {finding.kind}{where}: not shown, it does not occur along this plot's inputs"
            )
        else:
            text = f"{finding.code} {finding.message}"
        lines.extend(textwrap.wrap(text, 110))
    return lines


def _draw_notes(ax: Any, notes: Sequence[str]) -> None:
    ax.set_axis_off()
    ax.text(
        0.0,
        1.0,
        "\n".join(notes),
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=8,
        color="#333333",
        gid="kinks:notes",
    )


# ------------------------------------------------------------------ two variables


def draw_map(data: MapPlot, *, title: str | None = None) -> Any:
    """A heat map of the value (or of the gradient norm) with the findings' curves drawn over it."""
    from matplotlib import patheffects
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    notes = _notes(data.report, data.unplaced)
    figure = matplotlib_figure(figsize=(7.4, 6.2 + 0.16 * len(notes)), layout="constrained")
    if notes:
        ax, notes_ax = figure.subplots(2, 1, gridspec_kw={"height_ratios": [6.0, 0.2 + 0.16 * len(notes)]})
        _draw_notes(notes_ax, notes)
    else:
        ax = figure.subplots()
    (x_lo, x_hi), (y_lo, y_hi) = data.limits
    field = np.ma.masked_invalid(data.field)
    finite = data.field[np.isfinite(data.field)]
    vmin, vmax = np.percentile(finite, [2, 98]) if finite.size and data.singular else (None, None)
    image = ax.imshow(
        field,
        origin="lower",
        extent=(x_lo, x_hi, y_lo, y_hi),
        aspect="auto",
        cmap="viridis",
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
        zorder=1,
    )
    figure.colorbar(image, ax=ax, label=data.field_label)
    handles: dict[str, Any] = {}
    from matplotlib import rc_context

    for number, piece in enumerate(data.pieces):
        with rc_context({"hatch.color": "#f0f0f0", "hatch.linewidth": 0.7}):
            ax.contourf(
                data.x,
                data.y,
                piece.mask.astype(float),
                levels=[0.5, 1.5],
                colors="none",
                hatches=["///"],
                zorder=2,
            ).set_gid(f"kinks:span:{number}:hatch")
        handles.setdefault(
            KIND_LEGEND["constant-piece"], Patch(facecolor="none", edgecolor="#dddddd", hatch="///")
        )
    for number, curve in enumerate(data.curves):
        color = KIND_COLOR[curve.kind]
        style = "--" if curve.kind == "singularity" else "-"
        width = 2.2 if curve.kind == "discontinuity" else 1.6
        contours = ax.contour(
            data.x,
            data.y,
            curve.field,
            levels=list(curve.levels),
            colors=[color],
            linestyles=style,
            linewidths=width,
            zorder=3,
        )
        # A white halo keeps the curve visible on any colour of the map.
        contours.set(path_effects=[patheffects.withStroke(linewidth=width + 2.4, foreground="white")])
        contours.set_gid(f"kinks:marker:{number}:curve")
        handles.setdefault(
            KIND_LEGEND[curve.kind], Line2D([], [], color=color, linestyle=style, linewidth=width)
        )
    if handles:
        ax.legend(
            list(handles.values()), list(handles.keys()), fontsize=8, loc="upper right", framealpha=0.85
        )
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_xlabel(data.axes[0])
    ax.set_ylabel(data.axes[1])
    ax.set_title(title_of(data.report, title), fontsize=11, loc="left")
    return figure
