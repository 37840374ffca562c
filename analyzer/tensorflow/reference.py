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
from ..atoms import functions as fn

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
        if isinstance(
            node,
            (
                fn.ReduceSum,
                fn.CumSum,
                fn.ReduceMean,
                fn.ReduceProd,
                fn.ReduceVar,
                fn.ReduceMax,
                fn.ReduceMin,
                fn.LogSumExp,
                fn.Softmax,
                fn.LogSoftmax,
                fn.Sort,
                fn.ArgMax,
                fn.ArgMin,
                fn.ReduceAll,
                fn.ReduceAny,
                fn.ArgSort,
                fn.Subscript,
            ),
        ):
            return self._vector(node, self(node.args[0]))
        if isinstance(node, fn.TopKValues):
            ordered = list(reversed(self._sorted(self(node.args[0]))))
            return ordered[: max(1, int(node.args[1]))]
        if isinstance(node, fn.Norm):
            v, order = self(node.args[0]), node.args[1]
            if order == 1:
                return [sp.Add(*[sp.Abs(x) for x in v])]
            if order == 2:
                return [sp.sqrt(sp.Add(*[x**2 for x in v]))]
            return [sp.Max(*[sp.Abs(x) for x in v])]
        if isinstance(node, fn.Dot):
            _, (a, b) = _broadcast([self(node.args[0]), self(node.args[1])])
            return [sp.Add(*[x * y for x, y in zip(a, b)])]
        if isinstance(node, fn.Size):
            return [sp.Integer(len(self(node.args[0])) if len(self(node.args[0])) > 1 else n)]
        if isinstance(node, fn.RangeLike):
            return [sp.Integer(i) for i in range(n)]
        if type(node).__name__ in ("OnesLike", "ZerosLike"):  # the code generator's, keeping the shape
            return [sp.S.One if type(node).__name__ == "OnesLike" else sp.S.Zero] * len(self(node.args[0]))
        if isinstance(node, fn.OneHot):
            index = self(node.args[0])
            if len(index) != 1:
                raise ScalarizeError("one_hot of a vector of indices")
            return [sp.Piecewise((1, sp.Eq(index[0], k)), (0, True)) for k in range(n)]
        if isinstance(node, fn.Take):
            # One entry per index, as tf.gather gives (the analysis broadcasts a single index instead).
            v = self(node.args[0])
            values = v if len(v) > 1 else [v[0]] * n
            return [self._pick(values, index) for index in self(node.args[1])]
        if isinstance(node, fn.InTopK):
            v = self(node.args[0])
            k = int(node.args[2])
            index = self(node.args[1])
            out = []
            for i in range(len(index)):
                target = self._pick(v, index[i])
                larger = sp.Add(*[sp.Piecewise((1, x > target), (0, True)) for x in v])
                out.append(sp.StrictLessThan(larger, k))
            return out
        if isinstance(node, (fn.IsNan, fn.IsInf)):
            return [sp.false]
        if isinstance(node, (sp.Basic,)) and node.args:
            return self._elementwise(node)
        raise ScalarizeError(f"no entry-by-entry form for {type(node).__name__}")

    @staticmethod
    def _pick(values: Values, index: Any) -> Any:
        pairs = [(values[k], index < k + 1) for k in range(len(values) - 1)]
        return sp.Piecewise(*pairs, (values[-1], True))

    @staticmethod
    def _sorted(v: Values) -> Values:
        if len(v) == 1:
            return v
        if len(v) == 2:
            return [sp.Min(*v), sp.Max(*v)]
        if len(v) == 3:
            low, high = sp.Min(*v), sp.Max(*v)
            return [low, sp.Add(*v) - low - high, high]
        raise ScalarizeError("sort of more than 3 entries")

    def _vector(self, node: Any, v: Values) -> Values:
        size = len(v) if len(v) > 1 else self.entries
        full = v if len(v) > 1 else v * size
        if isinstance(node, fn.ReduceSum):
            return [sp.Add(*full)]
        if isinstance(node, fn.ReduceMean):
            return [sp.Add(*full) / size]
        if isinstance(node, fn.ReduceProd):
            return [sp.Mul(*full)]
        if isinstance(node, fn.ReduceVar):
            mean = sp.Add(*full) / size
            return [sp.Add(*[(x - mean) ** 2 for x in full]) / size]
        if isinstance(node, fn.ReduceMax):
            return [sp.Max(*full)]
        if isinstance(node, fn.ReduceMin):
            return [sp.Min(*full)]
        if isinstance(node, fn.LogSumExp):
            return [sp.log(sp.Add(*[sp.exp(x) for x in full]))]
        if isinstance(node, fn.Softmax):
            total = sp.Add(*[sp.exp(x) for x in full])
            return [sp.exp(x) / total for x in full]
        if isinstance(node, fn.LogSoftmax):
            log_total = sp.log(sp.Add(*[sp.exp(x) for x in full]))
            return [x - log_total for x in full]
        if isinstance(node, fn.CumSum):
            return [sp.Add(*full[: i + 1]) for i in range(size)]
        if isinstance(node, fn.Sort):
            return self._sorted(full)
        if isinstance(node, fn.Subscript):
            start, stop, step, drop = (int(arg) for arg in node.args[1:])
            if drop:
                return [full[start]]
            return full[start:stop:step] or full[:1]
        if isinstance(node, fn.ArgSort):
            # the stable sorting permutation: entry k is the i whose rank (entries below it, ties by index) is k
            ranks = [
                sp.Add(
                    *[
                        sp.Piecewise((1, full[j] < full[i] if j > i else full[j] <= full[i]), (0, True))
                        for j in range(size)
                        if j != i
                    ]
                )
                for i in range(size)
            ]
            return [
                sp.Add(*[i * sp.Piecewise((1, sp.Eq(ranks[i], k)), (0, True)) for i in range(size)])
                for k in range(size)
            ]
        if isinstance(node, (fn.ArgMax, fn.ArgMin)):
            better = (lambda a, b: a >= b) if isinstance(node, fn.ArgMax) else (lambda a, b: a <= b)
            pairs = []
            for i in range(size - 1):
                condition = sp.And(*[better(full[i], full[j]) for j in range(size) if j != i])
                pairs.append((sp.Integer(i), condition))
            return [sp.Piecewise(*pairs, (sp.Integer(size - 1), True))]
        if isinstance(node, fn.ReduceAll):
            return [sp.And(*full)]
        if isinstance(node, fn.ReduceAny):
            return [sp.Or(*full)]
        raise ScalarizeError(type(node).__name__)


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
