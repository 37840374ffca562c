"""`kinks plot`: draw a definition and its derivative with kinks, jumps, constant pieces and
singularities marked, from the analysis' own findings.

    kinks plot "relu(x)"
    kinks plot examples/classification.loss:accuracy --wrt p -o accuracy.svg
    kinks plot "relu(w * x + b)" --wrt w --wrt b --at x=1.5          # a heat map over (w, b)

Nothing heavy is imported at module level (the parser of `kinks check` imports this module); the
analysis and Matplotlib are imported when the command runs.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .common import EXIT_OK, UsageError, positive_seconds

LOSS_SUFFIX = ".loss"
SOURCE_SUFFIXES = (LOSS_SUFFIX, ".py")
FORMATS = (".png", ".svg", ".pdf")
PNG_DPI = 130


def register(commands: Any) -> None:
    plot = commands.add_parser(
        "plot",
        help="draw a definition and its derivative with kinks, jumps and constant pieces marked",
        description="Draw the value and the derivative of an expression or of a definition of a .loss file, "
        "with every kink, jump, constant piece and singularity that the analysis found marked and labelled "
        "with its code. With two --wrt variables, draw a heat map with the kink and jump curves over it.",
    )
    plot.add_argument(
        "target",
        metavar="EXPR|FILE.loss:NAME",
        help='an expression such as "relu(x)", or a definition of a .loss file (FILE.loss:NAME; '
        "NAME may be left out when the file has one definition)",
    )
    plot.add_argument(
        "--wrt",
        action="append",
        default=[],
        metavar="NAME",
        help="the variable on the horizontal axis (default: the first differentiated one); "
        "give two (--wrt w --wrt b, or --wrt w,b) for a heat map",
    )
    plot.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the value of another input (a number, or entries separated by commas for a vector); "
        "repeat for several inputs",
    )
    plot.add_argument(
        "--along",
        action="append",
        default=[],
        metavar="NAME=VALUES",
        help="the direction in which an input moves along the path (vectors: entries separated by "
        "commas); the path is inputs = at + t * along",
    )
    plot.add_argument(
        "--range",
        dest="ranges",
        action="append",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        help="the range of the horizontal axis (default: around the findings); for a heat map, "
        "once for both axes or twice, one per axis",
    )
    plot.add_argument(
        "--heatmap",
        choices=("value", "gradient"),
        default="value",
        help="what a two-variable plot colours: the value (default) or the norm of the gradient",
    )
    plot.add_argument(
        "--given",
        metavar="CONDITION",
        help="for an expression: the region of the inputs, as after `given` in a .loss file",
    )
    plot.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write the picture: .png, .svg or .pdf (default: NAME.png in the current directory)",
    )
    plot.add_argument(
        "--budget",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="time budget for the analysis (default: the analyzer's own)",
    )
    plot.set_defaults(run=run_plot)


def run_plot(arguments: argparse.Namespace) -> int:
    wrt = [name for item in arguments.wrt for name in item.split(",") if name.strip()]
    wrt = [name.strip() for name in wrt]
    if len(wrt) > 2:
        raise UsageError(f"a plot has one or two variables, got --wrt {' '.join(wrt)}")
    at = _assignments(arguments.at, "--at")
    along = _assignments(arguments.along, "--along")
    ranges = arguments.ranges
    if ranges and len(ranges) > (2 if len(wrt) == 2 else 1):
        raise UsageError("--range is given once (or, for a heat map over two variables, at most twice)")
    output = Path(arguments.output) if arguments.output else None
    if output is not None and output.suffix.lower() not in FORMATS:
        raise UsageError(
            f"cannot write {output}: the picture is written as {', '.join(FORMATS)}, chosen by the file's suffix"
        )

    from ..plotting import PlotError, plot_data, require_matplotlib

    try:
        require_matplotlib()
    except PlotError as error:
        raise UsageError(str(error)) from None
    report, title, stem = _report(arguments.target, wrt, arguments.given, arguments.budget)
    limits: Any = None
    if ranges:
        limits = ranges[0] if len(wrt) < 2 else ranges
    try:
        data = plot_data(report, wrt or None, at=at, along=along, limits=limits, heatmap=arguments.heatmap)
    except PlotError as error:
        raise UsageError(str(error)) from None

    from ..plotting.figure import draw_line, draw_map
    from ..plotting.plane import MapPlot

    figure = draw_map(data, title=title) if isinstance(data, MapPlot) else draw_line(data, title=title)
    if output is None:
        output = Path(f"{stem}.png")
    try:
        figure.savefig(output, dpi=PNG_DPI)
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
    sys.stdout.write(_summary(output, report, data))
    return EXIT_OK


def _assignments(items: Sequence[str], option: str) -> dict[str, Any]:
    """NAME=VALUE pairs; VALUE is a number or numbers separated by commas (brackets allowed)."""
    values: dict[str, Any] = {}
    for item in items:
        name, equals, text = item.partition("=")
        name = name.strip()
        if not equals or not name:
            raise UsageError(
                f"{option} {item!r}: expected NAME=VALUE, for example {option} y=1 or {option} p=0.2,0.5,0.9"
            )
        if name in values:
            raise UsageError(f"{option} gives `{name}` twice")
        text = text.strip().strip("[]()")
        entries = [part.strip() for part in text.split(",")]
        numbers = []
        for entry in entries:
            try:
                numbers.append(float(entry))
            except ValueError:
                raise UsageError(f"{option} {item!r}: {entry!r} is not a number") from None
        values[name] = numbers[0] if len(numbers) == 1 else numbers
    return values


def _report(target: str, wrt: Sequence[str], given: str | None, budget: float | None) -> tuple[Any, str, str]:
    """The analysed definition, a title for the picture and a default file name."""
    path, name = _file_target(target)
    if path is None:
        return _expression_report(target, wrt, given, budget)
    if given:
        raise UsageError("--given is for expressions: a definition of a .loss file has its own `given`")
    from ..analysis.python_api import analyze_source

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise UsageError(f"{path}: cannot read the file: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the file is not UTF-8 text") from None
    wanted = (name,) if name else ()
    reports = [
        r
        for r in analyze_source(text, str(path), budget=budget, python_functions=wanted)
        if r.name is not None
    ]
    names = list(dict.fromkeys(r.name for r in reports))
    if name is None:
        if len(names) != 1:
            listed = ", ".join(names) or "none"
            raise UsageError(f"{path} has {len(names)} definitions ({listed}): name one, as {path}:NAME")
        name = names[0]
    found = [r for r in reports if r.name == name]
    if not found:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        close += [n for n in names if name in n and n not in close]
        hint = (
            f"; did you mean {' or '.join(close)}?"
            if close
            else f"; it defines {', '.join(names) or 'nothing'}"
        )
        raise UsageError(f"{path} has no definition named `{name}`{hint}")
    report = found[0]
    if report.classification == "invalid":
        finding = report.findings[0]
        where = f"{path}:{finding.span.line}:{finding.span.column}: " if finding.span else f"{path}: "
        raise UsageError(f"{where}{finding.code} {finding.message}")
    return report, name, name


def _file_target(target: str) -> tuple[Path | None, str | None]:
    """FILE.loss:NAME, FILE.loss, FILE.py:NAME (or :Class.method), FILE.py, or None for an expression."""
    head, colon, tail = target.rpartition(":")
    if (
        colon
        and (head.endswith(SOURCE_SUFFIXES) or Path(head).is_file())
        and re.fullmatch(r"[A-Za-z_][\w.]*", tail)
    ):
        path = Path(head)
        if not path.is_file():
            raise UsageError(f"{head}: no such file")
        return path, tail
    if target.endswith(SOURCE_SUFFIXES):
        path = Path(target)
        if not path.is_file():
            raise UsageError(f"{target}: no such file")
        return path, None
    return None, None


def _expression_report(
    text: str, wrt: Sequence[str], given: str | None, budget: float | None
) -> tuple[Any, str, str]:
    from ..analysis.api import expression_report as analyze
    from ..analysis.lowering import free_names
    from ..language.parser import LossSyntaxError, parse_condition, parse_expression

    try:
        names = free_names(parse_expression(text))
        if given:
            names += [n for n in free_names(parse_condition(given)) if n not in names]
    except LossSyntaxError as error:
        problem = error.problem
        source = "--given" if given and _fails_alone(given) else "the expression"
        raise UsageError(f"{source}, column {problem.span.column}: {problem.message}") from None
    for name in wrt:
        if name not in names:
            listed = ", ".join(names) or "none"
            raise UsageError(f"`{name}` is not a variable of the expression: its variables are {listed}")
    report = analyze(text, wrt=list(wrt) or None, given=given, budget=budget)
    if report.classification == "invalid":
        finding = report.findings[0]
        column = f", column {finding.span.column}" if finding.span else ""
        raise UsageError(f"the expression{column}: {finding.code} {finding.message}")
    stem = re.sub(r"_+", "_", re.sub(r"\W", "_", text)).strip("_")[:60] or "plot"
    return report, text, stem


def _fails_alone(given: str) -> bool:
    from ..language.parser import LossSyntaxError, parse_condition

    try:
        parse_condition(given)
    except LossSyntaxError:
        return True
    return False


def _summary(output: Path, report: Any, data: Any) -> str:
    from ..plotting.plane import MapPlot

    lines = [f"wrote {output}: {report.name or 'the expression'} is {report.classification}"]
    if isinstance(data, MapPlot):
        for curve in data.curves:
            lines.append(f"  {curve.code} {curve.kind} where {curve.where}: drawn as a curve")
        for piece in data.pieces:
            lines.append(f"  {piece.code} constant piece where {piece.where}: hatched")
    else:
        reported: set[int] = set()
        for marker in data.markers:
            if marker.finding_index in reported:
                continue
            reported.add(marker.finding_index)
            places = [m.position for m in data.markers if m.finding_index == marker.finding_index]
            at = ", ".join(f"{p:.4g}" for p in places[:6]) + (", …" if len(places) > 6 else "")
            lines.append(
                f"  {marker.code} {marker.kind} where {marker.where}: marked at {data.path.axis if data.path.describe() == data.path.axis else 't'} = {at}"
            )
        for span in data.spans:
            lines.append(
                f"  {span.code} constant piece where {span.where}: shaded on [{span.start:.4g}, {span.end:.4g}]"
            )
    for index in data.unplaced:
        finding = report.findings[index]
        if finding.kind in ("kink", "discontinuity", "singularity", "constant-piece"):
            lines.append(
                f"  {finding.code} {finding.kind} where {finding.where}: not shown, it does not occur along this plot's inputs"
            )
        else:
            lines.append(f"  {finding.code} {finding.message}")
    return "\n".join(lines) + "\n"
