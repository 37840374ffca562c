"""What the analyzer says about one statement: findings, verdicts, and the record of LANGUAGE.md §5."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..language.syntax import Span
from .rules import RULES

SMOOTH = "smooth"
PIECEWISE = "piecewise-differentiable"
ZERO_GRADIENT = "zero-gradient"
UNKNOWN = "unknown"
INVALID = "invalid"
CLASSES = (SMOOTH, PIECEWISE, ZERO_GRADIENT, UNKNOWN, INVALID)


class KinksSyntaxError(ValueError):
    """An expression given to `analyze` (or its `given`) that does not parse.

    `line` and `column` are 1-based (where the first token that does not fit starts), `end_line` and
    `end_column` exclusive; `message` says what was expected; `text` is the text that failed.
    """

    code = "E001"

    def __init__(self, message: str, span: Span, text: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.line = span.line
        self.column = span.column
        self.end_line = span.end_line
        self.end_column = span.end_column
        self.text = text

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class Witness:
    """Where the probe confirmed a finding: the inputs (vectors of a small concrete size) and the
    direction of the line it crossed there. Plots and numeric checks start from it."""

    point: dict[str, list[float]]
    direction: dict[str, list[float]]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    code: str
    message: str
    span: Span | None
    severity: str = ""
    atom: str | None = None
    where: str | None = None
    suggestion: str | None = None
    variables: tuple[str, ...] = ()
    on_edge: bool = False
    witness: Witness | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.severity:
            object.__setattr__(self, "severity", RULES[self.code].severity)

    @classmethod
    def of(cls, code: str, message: str, span: Span | None, **details: Any) -> Finding:
        """The finding of the rule `code`: its kind (and, unless given, its severity) come from the
        rule table, so a code is never paired with another rule's kind."""
        return cls(RULES[code].kind, code, message, span, **details)

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {"kind": self.kind, "code": self.code, "severity": self.severity}
        if self.atom is not None:
            record["atom"] = self.atom
        if self.where is not None:
            record["where"] = self.where
        record["message"] = self.message
        if self.suggestion is not None:
            record["suggestion"] = self.suggestion
        if self.variables:
            record["variables"] = list(self.variables)
        if self.on_edge:
            record["on_edge"] = True
        record["span"] = self.span.to_dict() if self.span else None
        return record


@dataclass(frozen=True, slots=True)
class VariableVerdict:
    """The verdict with respect to one `wrt` parameter alone."""

    classification: str
    smoothness: int | None
    kinds: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.classification, "smoothness": self.smoothness, "kinds": list(self.kinds)}


@dataclass(frozen=True, slots=True)
class Step:
    """One line of an explanation: a rule applied to a sub-expression, innermost first."""

    expression: str
    rule: str
    depth: int = 0


@dataclass(slots=True)
class Report:
    """The analysis of one definition (or of one statement that failed)."""

    name: str | None
    line: int
    file: str | None = None
    wrt: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    classification: str = INVALID
    smoothness: int | None = None
    findings: list[Finding] = field(default_factory=list)
    by_variable: dict[str, VariableVerdict] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    reason: str | None = None
    expression: Any = None  # the SymPy body, expanded, with the parameters as real symbols
    given: Any = None  # the SymPy condition of `given`, or None
    seconds: float = 0.0
    span: Span | None = None

    @property
    def kinds(self) -> set[str]:
        return {finding.kind for finding in self.findings}

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "file": self.file,
            "name": self.name,
            "line": self.line,
            "wrt": list(self.wrt),
            "class": self.classification,
        }
        if self.classification != INVALID:
            record["smoothness"] = self.smoothness
            record["by_variable"] = {name: verdict.to_dict() for name, verdict in self.by_variable.items()}
        if self.reason:
            record["reason"] = self.reason
        record["findings"] = [finding.to_dict() for finding in self.findings]
        return record

    def explain(self) -> str:
        """Why the definition got its class, from the innermost cause outwards."""
        from .explain import render

        return render(self)

    def plot(self, wrt: str | list[str] | None = None, **options: Any) -> Any:
        """A Matplotlib Figure of the value and its derivative with the findings marked (needs the
        `plot` extra); options as `analyzer.plotting.plot_report` (at, along, limits, heatmap, axes)."""
        from ..plotting import plot_report

        return plot_report(self, wrt, **options)

    def _repr_html_(self) -> str:
        """Jupyter's view: the class, a table of the findings and, with Matplotlib, the plot."""
        from ..plotting.notebook import report_html

        return report_html(self)

    def __repr__(self) -> str:
        kinds = ", ".join(sorted(self.kinds)) or "no findings"
        return f"<Report {self.name or '?'}: {self.classification} ({kinds})>"
