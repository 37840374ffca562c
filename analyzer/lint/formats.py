"""One run's output in the format `kinks check --output-format` names: the dispatch over the
reporters (`reporters` for text, concise, json, github, junit; `sarif` for SARIF), and the options
some formats need beside the reports. Kept apart from the reporters so that `sarif`, which builds on
`reporters`, is not imported back by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..analysis.report import Report
from ..analysis.rules import WARNING
from .reporters import render_concise, render_github, render_json, render_junit, render_text


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """What some formats need beside the reports."""

    sources: Mapping[str, str] = field(default_factory=dict)  # path -> text, for excerpts
    color: bool = False
    fail_on: str = WARNING  # junit: which diagnostics fail a test case
    version: str = ""  # sarif: the tool's version
    summary: bool = True  # text, concise: the closing line (off with --quiet)


def render(output_format: str, reports: Sequence[Report], options: RenderOptions) -> str:
    """The whole output of one run in `output_format`, without a final newline."""
    if output_format == "text":
        return render_text(reports, options.sources, color=options.color, summary=options.summary)
    if output_format == "concise":
        return render_concise(reports, options.sources, color=options.color, summary=options.summary)
    if output_format == "json":
        return render_json(reports)
    if output_format == "sarif":
        from .sarif import render_sarif  # imported only for this format, as before

        return render_sarif(reports, version=options.version)
    if output_format == "github":
        return render_github(reports)
    if output_format == "junit":
        return render_junit(reports, fail_on=options.fail_on)
    raise ValueError(f"unknown output format: {output_format!r}")
