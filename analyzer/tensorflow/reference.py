"""Exact reference values and gradients of an analysis body, from SymPy.

SymPy's `diff` on a body whose reductions and softmaxes are functions of a whole vector gives only
the diagonal of their Jacobians, so the body is first written entry by entry ("scalarized"): every
variable becomes `entries` real symbols `p[0], p[1], ...`, as the analysis treats it (a vector of
3 entries, reductions over it). Then `diff` is exact, and `analyzer.analysis.evaluate.Program` evaluates
values and derivatives numerically. The objective differentiated is the sum of the outputs, as
`tf.GradientTape.gradient` does for an output that is not a scalar.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanAtom, BooleanFunction

from ..analysis.evaluate import Program
from ..atoms.table import row_for

ENTRIES = 3

Values = list[Any]  # one SymPy expression per entry, or a single one that broadcasts


class ScalarizeError(Exception):
    """The body holds a node that has no entry-by-entry form here."""


def entry_symbol(name: str, index: int) -> sp.Symbol:
    return sp.Symbol(f"{name}[{index}]", real=True)


def _broadcast(values: Sequence[Values]) -> tuple[int, list[Values]]:
    width = max(len(v) for v in values)
    out = []
    for v in values:
        if len(v) not in (1, width):
            raise ScalarizeError("arguments of different lengths")
        out.append(v * width if len(v) == 1 else list(v))
    return width, out


class Scalarizer:
    def __init__(self, variables: Sequence[str], entries: int = ENTRIES):
        self.variables = set(variables)
        self.entries = entries
        self.memo: dict[Any, Values] = {}

    def __call__(self, node: Any) -> Values:
        if node in self.memo:
            return self.memo[node]
        result = self._scalarize(node)
        self.memo[node] = result
        return result

    def _elementwise(self, node: Any, build: Callable[..., Any] | None = None) -> Values:
        parts = [self(arg) for arg in node.args]
        if not parts:
            return [node]
        width, parts = _broadcast(parts)
        make = build or node.func
        return [make(*[part[i] for part in parts]) for i in range(width)]

    def _scalarize(self, node: Any) -> Values:
        n = self.entries
        if isinstance(node, sp.Symbol):
            if node.name in self.variables:
                return [entry_symbol(node.name, i) for i in range(n)]
            return [node]
        if isinstance(node, (sp.Number, sp.NumberSymbol, BooleanAtom)) or (
            isinstance(node, sp.Basic) and node.is_number
        ):
            return [node]
        if isinstance(node, sp.Piecewise):
            pairs = [(self(value), self(condition)) for value, condition in node.args]
            width, flat = _broadcast([part for pair in pairs for part in pair])
            return [
                sp.Piecewise(*[(flat[2 * k][i], flat[2 * k + 1][i]) for k in range(len(pairs))])
                for i in range(width)
            ]
        if isinstance(node, sp.Mod):
            x, m = node.args
            return self(x - m * sp.floor(x / m))
        if type(node).__name__ in ("OnesLike", "ZerosLike"):  # the code generator's, keeping the shape
            return [sp.S.One if type(node).__name__ == "OnesLike" else sp.S.Zero] * len(self(node.args[0]))
        row = row_for(node)
        if row is not None and row.entries is not None:  # a vector function, by its row's formula
            try:
                return row.entries([self(arg) for arg in node.args], n)
            except ValueError as error:
                raise ScalarizeError(str(error)) from None
        if isinstance(node, (sp.Basic,)) and node.args:
            return self._elementwise(node)
        raise ScalarizeError(f"no entry-by-entry form for {type(node).__name__}")


def _zero_derivatives(expr: Any) -> Any:
    """Derivatives SymPy leaves unevaluated (floor, ceiling) and Dirac deltas are 0 away from jumps."""
    expr = expr.replace(lambda e: isinstance(e, (sp.Derivative, sp.Subs, sp.DiracDelta)), lambda e: sp.S.Zero)
    return expr.replace(
        lambda e: isinstance(e, sp.Heaviside) and len(e.args) == 1,
        lambda e: sp.Heaviside(e.args[0], sp.Rational(1, 2)),
    )


@dataclass(slots=True)
class Reference:
    """Programs for the outputs and for the gradient of their sum, entry by entry."""

    outputs: list[Program]
    gradients: dict[str, list[Program]]  # wrt variable -> one program per entry
    entries: int

    def env(self, point: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """From {name: array (points, entries)} to {"name[i]": array (points, 1)}."""
        return {
            f"{name}[{i}]": values[:, i : i + 1]
            for name, values in point.items()
            for i in range(self.entries)
        }

    def values(self, point: Mapping[str, np.ndarray]) -> np.ndarray:
        env = self.env(point)
        count = len(next(iter(point.values())))
        return np.stack(
            [_column(program.run(env, states=False)[0], count) for program in self.outputs], axis=1
        )

    def gradient(self, point: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        env = self.env(point)
        count = len(next(iter(point.values())))
        return {
            name: np.stack(
                [_column(program.run(env, states=False)[0], count) for program in programs], axis=1
            )
            for name, programs in self.gradients.items()
        }


def _column(value: Any, count: int) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    return np.broadcast_to(
        array.reshape(-1) if array.size == count else array.reshape(-1)[:1], (count,)
    ).copy()


def build_reference(
    body: Any, variables: Sequence[str], wrt: Sequence[str], entries: int = ENTRIES
) -> Reference:
    scalarize = Scalarizer(variables, entries)
    outputs = [_as_value(value) for value in scalarize(body)]
    objective = sp.Add(*outputs)
    gradients: dict[str, list[Program]] = {}
    for name in wrt:
        gradients[name] = [
            Program(_zero_derivatives(sp.diff(objective, entry_symbol(name, i)))) for i in range(entries)
        ]
    return Reference([Program(output) for output in outputs], gradients, entries)


def _as_value(value: Any) -> Any:
    if isinstance(value, (Relational, BooleanFunction, BooleanAtom)):
        return sp.Piecewise((1, value), (0, True))
    return value
