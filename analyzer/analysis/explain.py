"""Explanations: why a definition got its class, rule by rule, from the innermost cause outwards.

Like CVXPY naming the innermost offending sub-expression, the explanation starts at the atom that
causes a finding (or that cuts the gradient off), then climbs its ancestors in the body and says
what each one does to it, and ends with the verdict and the way out.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.core.relational import Relational
from sympy.printing.str import StrPrinter

from ..atoms import functions as fn
from ..atoms.table import ATOMS, fill_location, is_flat_atom, row_for
from .report import PIECEWISE, SMOOTH, ZERO_GRADIENT, Report, Step

if TYPE_CHECKING:
    from .compose import Composition
    from .lowering import Lowered

_LANGUAGE_NAME = {row.node: row.name for row in ATOMS if row.node is not None}
_LANGUAGE_NAME.update({sp.Max: "max", sp.Min: "min", fn.ReduceMax: "max", fn.ReduceMin: "min"})


class LanguagePrinter(StrPrinter):
    """Prints SymPy expressions in the loss language (for text that has no syntax tree behind it)."""

    def _print_Function(self, expr: Any) -> str:
        name = _LANGUAGE_NAME.get(type(expr), type(expr).__name__.lower())
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    _print_Abs = _print_Function
    _print_Max = _print_Function
    _print_Min = _print_Function
    _print_floor = _print_Function
    _print_ceiling = _print_Function
    _print_sign = _print_Function
    _print_Heaviside = _print_Function
    _print_BooleanFunction = _print_Function

    def _print_Piecewise(self, expr: Any) -> str:
        (value, condition), rest = expr.args[0], expr.args[1:]
        if value == 1 and len(rest) == 1 and rest[0][0] == 0:
            return f"({self._print(condition)})"
        otherwise = self._print(sp.Piecewise(*rest)) if len(rest) > 1 else self._print(rest[0][0])
        return f"({self._print(value)} if {self._print(condition)} else {otherwise})"

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        text = super()._print_Pow(expr, rational)
        return text.replace("**", "^")

    def _print_Mod(self, expr: Any) -> str:
        return f"{self.parenthesize(expr.args[0], 50)} % {self.parenthesize(expr.args[1], 50)}"

    def _print_And(self, expr: Any) -> str:
        return " and ".join(self._print(a) for a in expr.args)

    def _print_Or(self, expr: Any) -> str:
        return " or ".join(f"({self._print(a)})" for a in expr.args)

    def _print_Not(self, expr: Any) -> str:
        return f"not ({self._print(expr.args[0])})"

    def _print_Infinity(self, expr: Any) -> str:
        return "inf"

    def _print_Rational(self, expr: Any) -> str:
        # A decimal the user could have written (1e-07, 0.9999999) reads better than 1/10000000.
        denominator = int(expr.q)
        for factor in (2, 5):
            while denominator % factor == 0:
                denominator //= factor
        return repr(float(expr)) if denominator == 1 and expr.q != 1 else super()._print_Rational(expr)

    def _print_Relational(self, expr: Any) -> str:
        return f"{self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)}"


def _rule_for(node: Any, child: Any) -> str:
    """What an ancestor does to what its child brings."""
    if isinstance(node, fn.StopGradient):
        return "stop_gradient(...) treats it as data: nothing inside reaches the gradient"
    if isinstance(node, Relational):
        return "a comparison turns it into 0 or 1: zero gradient almost everywhere"
    if isinstance(node, sp.Piecewise):
        if any(child == value for value, _ in node.args):
            return "a conditional passes on what its chosen branch does"
        return "a condition only chooses a branch: the gradient does not flow through it"
    if isinstance(node, sp.Add):
        return "a sum keeps that"
    if isinstance(node, sp.Mul):
        return "a product keeps that (scaled by the other factors)"
    if isinstance(node, sp.Pow):
        return "a power keeps that"
    if isinstance(node, fn.ReduceMean):
        return "mean(...) averages the entries: it keeps that"
    if isinstance(node, fn.ReduceSum):
        return "sum(...) adds up the entries: it keeps that"
    row = row_for(node)
    if row is not None:
        if is_flat_atom(row):
            return f"{row.name}(...) is piecewise constant: zero gradient almost everywhere"
        if row.summary == "smooth":
            return f"{row.name}(...) is smooth: it keeps that"
        return f"{row.name}(...): {row.summary}"
    return "it keeps that"


_POSITION = re.compile(r"\{\d+\}")


def _said_of_the_arguments(row: Any, texts: list[str]) -> str | None:
    """Where the atom has kinks, jumps and flat pieces, said of its arguments as written.

    A row's summary speaks of its own parameters (relu: "0 below 0 and x above"), which misleads
    once the argument is `1 - y * s`: "a kink where 1 - y * s == 0; constant where 1 - y * s < 0"
    does not. None when the arguments are the parameters themselves, the summary does not name
    them, or the row's templates need more than the arguments' texts."""
    names = [param.name for param in row.params]
    if not texts or texts == names[: len(texts)]:
        return None
    if not any(re.search(rf"\b{re.escape(name)}\b", row.summary) for name in names):
        return None  # the summary does not speak of the parameters: it reads well of any argument
    phrases = []
    for label, templates in (("a kink", row.kinks), ("a jump", row.jumps), ("constant", row.flat)):
        if not templates:
            continue
        if any("{" in _POSITION.sub("", template) for template in templates):
            return None
        try:
            places = [fill_location(template, texts) for template in templates]
        except IndexError:
            return None
        phrases.append(f"{label} where {' and where '.join(dict.fromkeys(places))}")
    return "; ".join(phrases) or None


def _is_cast(node: Any) -> bool:
    """The 1-or-0 wrapper of a boolean used as a number: the comparison's own step says it all."""
    return (
        isinstance(node, sp.Piecewise)
        and len(node.args) == 2
        and node.args[0][0] == 1
        and node.args[1][0] == 0
    )


def _path_to(root: Any, target: Any) -> list[Any]:
    """The chain of nodes from `root` down to `target` (inclusive), or [] if it is not there."""
    stack: list[tuple[Any, list[Any]]] = [(root, [root])]
    seen: set[Any] = set()
    while stack:
        node, path = stack.pop()
        if node == target:
            return path
        if node in seen or not isinstance(node, sp.Basic):
            continue
        seen.add(node)
        children = (
            [part for pair in node.args for part in pair]
            if isinstance(node, sp.Piecewise)
            else list(node.args)
        )
        stack.extend((child, path + [child]) for child in children if isinstance(child, sp.Basic))
    return []


def steps_for(
    report: Report, lowered: Lowered, composition: Composition, printer: LanguagePrinter
) -> list[Step]:
    steps: list[Step] = []
    body = lowered.body
    name = report.name or "the expression"
    wrt = ", ".join(report.wrt) or "its parameters"
    causes: list[tuple[Any, str]] = []
    for finding in report.findings:
        if finding.kind == "zero-gradient":
            for variable in finding.variables:
                for node in composition.cutters.get(variable, []):
                    causes.append((node, "cuts the gradient off"))
    seen_atoms: set[Any] = set()
    for finding in report.findings:
        if finding.kind in ("kink", "discontinuity", "singularity", "constant-piece"):
            node = next(
                (n for n, o in lowered.origins.items() if o.span == finding.span and o.atom == finding.atom),
                None,
            )
            if node is not None and node not in seen_atoms:
                seen_atoms.add(node)
                causes.append((node, finding.kind))
    unique: list[tuple[Any, str]] = []
    for node, what in causes:
        if all(node != other for other, _ in unique):
            unique.append((node, what))
    for node, what in unique[:4]:
        origin = lowered.origins.get(node)
        text = origin.text() if origin is not None else printer.doprint(node)
        row = row_for(node)
        summary = (
            (origin is not None and _said_of_the_arguments(row, origin.arg_texts())) or row.summary
            if row is not None
            else (
                "a comparison: as a number it is 0 or 1" if isinstance(node, Relational) else "a conditional"
            )
        )
        steps.append(Step(text, f"{summary}", 0))
        path = _path_to(body, node)
        chain = [
            (parent, child)
            for parent, child in zip(reversed(path[:-1]), reversed(path[1:]))
            if not _is_cast(parent)
        ]
        for depth, (parent, child) in enumerate(chain, start=1):
            parent_origin = lowered.origins.get(parent)
            parent_text = parent_origin.text() if parent_origin is not None else printer.doprint(parent)
            if len(parent_text) > 80:
                parent_text = parent_text[:77] + "..."
            steps.append(Step(parent_text, _rule_for(parent, child), depth))
    verdict = {
        SMOOTH: f"so {name} is smooth (C{report.smoothness if report.smoothness is not None else '?'}) with respect to {wrt}",
        PIECEWISE: f"so {name} is piecewise-differentiable with respect to {wrt}: it trains, with subgradients at its kinks",
        ZERO_GRADIENT: f"so {name} has zero gradient almost everywhere with respect to {wrt}: it cannot be trained by gradient descent",
    }.get(report.classification, f"so {name} is {report.classification}")
    if not causes:
        steps.append(Step(name, "every atom in it is smooth on the region, or its kinks cancel out", 0))
    steps.append(Step(name, verdict, 0))
    for finding in report.findings:
        if finding.suggestion and finding.kind in (
            "zero-gradient",
            "discontinuity",
            "kink",
            "constant-piece",
        ):
            steps.append(Step(name, f"use instead: {finding.suggestion}", 0))
            break
    return steps


def render(report: Report) -> str:
    if not report.steps:
        if report.findings:
            return "\n".join(finding.message for finding in report.findings)
        return f"{report.name or 'the expression'} is {report.classification}"
    lines = []
    for step in report.steps:
        indent = "  " * step.depth
        if step.expression == (report.name or "the expression") and step.depth == 0:
            lines.append(f"{indent}{step.rule}")
        else:
            lines.append(f"{indent}{step.expression}: {step.rule}")
    return "\n".join(lines)
