"""One run's output in the format `kinks check --output-format` names: the dispatch over the
reporters (`FORMATS`: `reporters` for all but SARIF, `sarif` for SARIF), and the options
some formats need beside the reports. Kept apart from the reporters so that `sarif`, which builds on
`reporters`, is not imported back by it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ..analysis.report import Report
from ..analysis.rules import WARNING
from .reporters import (
    render_azure,
    render_concise,
    render_github,
    render_gitlab,
    render_grouped,
    render_json,
    render_json_lines,
    render_junit,
    render_pylint,
    render_rdjson,
    render_text,
)


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """What some formats need beside the reports."""

    sources: Mapping[str, str] = field(default_factory=dict)  # path -> text, for excerpts
    color: bool = False
    fail_on: str = WARNING  # junit: which diagnostics fail a test case
    version: str = ""  # sarif: the tool's version
    summary: bool = True  # text, concise: the closing line (off with --quiet)


def _text(reports: Sequence[Report], options: RenderOptions) -> str:
    return render_text(reports, options.sources, color=options.color, summary=options.summary)


def _concise(reports: Sequence[Report], options: RenderOptions) -> str:
    return render_concise(reports, options.sources, color=options.color, summary=options.summary)


def _grouped(reports: Sequence[Report], options: RenderOptions) -> str:
    return render_grouped(reports, options.sources, color=options.color, summary=options.summary)


def _sarif(reports: Sequence[Report], options: RenderOptions) -> str:
    from .sarif import render_sarif  # imported only for this format

    return render_sarif(reports, version=options.version)


# The registry: a format's name (`--output-format`, `output-format`) -> its reporter. `config.OUTPUT_FORMATS`
# lists the same names (the tests check it).
FORMATS: Mapping[str, Callable[[Sequence[Report], RenderOptions], str]] = MappingProxyType(
    {
        "text": _text,
        "concise": _concise,
        "grouped": _grouped,
        "json": lambda reports, options: render_json(reports),
        "json-lines": lambda reports, options: render_json_lines(reports),
        "sarif": _sarif,
        "github": lambda reports, options: render_github(reports),
        "gitlab": lambda reports, options: render_gitlab(reports),
        "azure": lambda reports, options: render_azure(reports),
        "rdjson": lambda reports, options: render_rdjson(reports),
        "pylint": lambda reports, options: render_pylint(reports),
        "junit": lambda reports, options: render_junit(reports, fail_on=options.fail_on),
    }
)


def render(output_format: str, reports: Sequence[Report], options: RenderOptions) -> str:
    """The whole output of one run in `output_format`, without a final newline."""
    reporter = FORMATS.get(output_format)
    if reporter is None:
        raise ValueError(f"unknown output format: {output_format!r}")
    return reporter(reports, options)
