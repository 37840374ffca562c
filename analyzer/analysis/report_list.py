"""The reports of a file, as `analyze_text` and `analyze_file` return them: a list that Jupyter
shows as a table.

`ReportList` is a plain `list` of `Report`s in every way that existing code can see (indexing,
iteration, `==`, JSON, pickling); it only adds `_repr_html_`, so that the reports of a file as the
last expression of a notebook cell display as one row per statement: name, line, class,
smoothness, and its findings' codes. Each `Report` alone still displays in full, with its plot.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from .report import Report


class ReportList(list[Report]):
    """A list of reports with a table view in Jupyter."""

    def _repr_html_(self) -> str:
        return reports_table_html(self)


def reports_table_html(reports: list[Report]) -> str:
    rows = []
    for report in reports:
        place = f"{report.file}:{report.line}" if report.file else str(report.line)
        smoothness = "" if report.smoothness is None else str(report.smoothness)
        codes = Counter(finding.code for finding in report.findings)
        findings = ", ".join(f"{code}×{count}" if count > 1 else code for code, count in codes.items())
        rows.append(
            f"<tr><td><code>{escape(report.name or '')}</code></td><td>{escape(place)}</td>"
            f"<td><code>{escape(report.classification)}</code></td><td>{escape(smoothness)}</td>"
            f"<td>{escape(findings)}</td></tr>"
        )
    head = "<tr><th>name</th><th>line</th><th>class</th><th>smoothness</th><th>findings</th></tr>"
    count = f"{len(reports)} report{'s' if len(reports) != 1 else ''}"
    return (
        f'<table class="kinks-reports"><caption>{escape(count)}</caption>'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    )
