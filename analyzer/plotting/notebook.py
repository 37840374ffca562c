"""How a Report shows itself in Jupyter: its class, a table of its findings, and its plot.

The plot is an inline PNG (base64), drawn only when Matplotlib is installed and the definition can
be plotted along its first variable; otherwise the note says why, and the table is still there.
"""

from __future__ import annotations

import base64
import io
from html import escape

from ..analysis.report import Report
from .errors import PlotError

PNG_DPI = 80


def report_html(report: Report, plot: bool = True) -> str:
    name = escape(report.name or "expression")
    verdict = escape(report.classification)
    smoothness = f" (smoothness {report.smoothness})" if report.smoothness is not None else ""
    place = f" — {escape(report.file)}:{report.line}" if report.file else ""
    parts = [
        (
            f'<div class="kinks-report"><p><strong>{name}</strong>: '
            f"<code>{verdict}</code>{escape(smoothness)}{place}</p>"
        )
    ]
    if report.reason:
        parts.append(f"<p>{escape(report.reason)}</p>")
    if report.findings:
        rows = "".join(
            f"<tr><td><code>{escape(f.code)}</code></td><td>{escape(f.kind)}</td>"
            f"<td><code>{escape(f.where or '')}</code></td><td>{escape(f.message)}</td></tr>"
            for f in report.findings
        )
        parts.append(
            "<table><thead><tr><th>code</th><th>kind</th><th>where</th><th>message</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    else:
        parts.append("<p>No findings.</p>")
    if plot:
        parts.append(_plot_html(report))
    parts.append("</div>")
    return "".join(parts)


def _plot_html(report: Report) -> str:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ""  # the plot is optional: `pip install 'kinks[plot]'` adds it
    if report.expression is None:
        return ""
    from . import plot_report

    try:
        figure = plot_report(report)
    except PlotError as error:
        return f"<p><em>No plot: {escape(str(error))}</em></p>"
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = escape(f"plot of {report.name or 'the expression'} and its derivative")
    return f'<img src="data:image/png;base64,{encoded}" alt="{alt}"/>'
