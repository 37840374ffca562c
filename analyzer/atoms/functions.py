"""SymPy classes for the functions of the language that SymPy does not have with our meaning.

Each class is an unevaluated `Function` (or `BooleanFunction` for predicates), so that SymPy keeps
the user's atom intact and the classifier can find it by class. Where the function is
differentiable, `fdiff` gives SymPy its derivative, so `diff` works for plots and code checks.
Reductions and other vector functions are written as functions of one tensor argument; the
numeric evaluator gives them their vector meaning (last axis, small concrete sizes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import sympy as sp
from mpmath.libmp import prec_to_dps
from sympy.logic.boolalg import BooleanAtom, BooleanFunction

# The float64 function of each elementwise class, by class: given once by the atom table (which
# imports this module and holds the numeric functions, atoms/table.py), read by `_eval_evalf`.
_NUMERIC: Mapping[type, Callable[..., Any]] = MappingProxyType({})


def use_numerics(numerics: Mapping[type, Callable[..., Any]]) -> None:
    global _NUMERIC
    _NUMERIC = MappingProxyType(dict(numerics))


class RealFunction(sp.Function):
    """An unevaluated real-valued function of real arguments."""

    def _eval_is_real(self) -> bool:
        return True

    @classmethod
    def eval(cls, *args):
        return None

    @property
    def is_number(self) -> bool:
        """`Expr.is_number`, remembered: SymPy asks it of an argument whenever a function is built
        around it (`tanh(u)` asks whether `u` is negative), and it walks the argument's arguments
        down to a symbol, so a deep body built one wrap at a time cost its size times its depth.
        An expression never changes, so the first answer is kept."""
        known = self.__dict__.get("_kinks_is_number")
        if known is None:
            known = self.__dict__["_kinks_is_number"] = all(argument.is_number for argument in self.args)
        return known

    def _eval_evalf(self, prec: int) -> sp.Float | None:
        """The number an elementwise function of numbers stands for (in float64, by its row's
        numeric function), so that SymPy can compare it: `Max` refuses an argument it cannot
        compare (`Max(Clip(4*Sigmoid(0), -1, 1), x)`). A vector function of a number (`sum(3)`)
        has no single value: its size is not known (and it has no numeric function here)."""
        numeric = _NUMERIC.get(type(self))
        if numeric is None:
            return None
        try:
            arguments = [np.atleast_1d(np.asarray(float(argument), dtype=float)) for argument in self.args]
            with np.errstate(all="ignore"):
                number = float(np.asarray(numeric(*arguments), dtype=float).reshape(-1)[0])
        except (TypeError, ValueError, ArithmeticError, IndexError):
            return None
        return sp.Float(number).evalf(prec_to_dps(prec)) if math.isfinite(number) else None


class LossPredicate(BooleanFunction):
    """An unevaluated predicate (usable as a `Piecewise` condition)."""

    @classmethod
    def eval(cls, *args):
        return None

    def _eval_as_set(self):
        # SymPy asks for the set where a condition holds when it rewrites a Piecewise nested in a
        # condition; it has no closed form here, and SymPy knows to stop on this error.
        raise NotImplementedError(f"{type(self).__name__} has no set form")


def _heaviside(x: sp.Expr) -> sp.Expr:
    return sp.Heaviside(x, sp.Rational(1, 2))


def _sigmoid(x: sp.Expr) -> sp.Expr:
    return Sigmoid(x)


# ------------------------------------------------------------------ smooth elementwise


class Sigmoid(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        s = Sigmoid(self.args[0])
        return s * (1 - s)


class Softplus(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return Sigmoid(self.args[0])


class LogSigmoid(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return Sigmoid(-self.args[0])


class Silu(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        s = Sigmoid(x)
        return s + x * s * (1 - s)


class Gelu(RealFunction):
    """gelu(x, approximate): the erf form, or the tanh approximation when `approximate` is 1."""

    nargs = 2

    def fdiff(self, argindex=1):
        x, approximate = self.args
        if argindex != 1:
            return sp.S.Zero
        if approximate != 0:
            c = sp.sqrt(2 / sp.pi)
            # differentiated in a stand-in symbol: the argument may be an expression (1e3 * x)
            u = sp.Dummy("u", real=True)
            inner = c * (u + sp.Rational(44715, 1000000) * u**3)
            body = sp.Rational(1, 2) * u * (1 + sp.tanh(inner))
            return sp.diff(body, u).subs(u, x)
        return (1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)


class Mish(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        u = sp.Dummy("u", real=True)  # the argument may be an expression (1e3 * x)
        return sp.diff(u * sp.tanh(Softplus(u)), u).subs(u, self.args[0])


class Selu(RealFunction):
    """selu: smooth? No: its slope jumps at 0 (lambda*alpha vs lambda); see the atom table."""

    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        scale, alpha = SELU_SCALE, SELU_ALPHA
        return sp.Piecewise((scale, x > 0), (scale * alpha * sp.exp(x), True))


SELU_ALPHA = sp.Float("1.6732632423543772848170429916717")
SELU_SCALE = sp.Float("1.0507009873554804934193349852946")


class Softsign(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return 1 / (1 + sp.Abs(self.args[0])) ** 2


class Squareplus(RealFunction):
    nargs = 2

    def fdiff(self, argindex=1):
        x, b = self.args
        if argindex != 1:
            return 1 / (4 * sp.sqrt(x**2 + b))
        return (1 + x / sp.sqrt(x**2 + b)) / 2


class Expm1(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.exp(self.args[0])


class Log1p(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return 1 / (1 + self.args[0])


class Xlogy(RealFunction):
    """x * log(y), and 0 where x == 0."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return sp.log(b) if argindex == 1 else a / b


class Huber(RealFunction):
    nargs = 2

    def fdiff(self, argindex=1):
        x, delta = self.args
        if argindex == 1:
            # clip(x, -delta, delta) for delta >= 0; written by pieces so that it holds for any
            # delta, as the numeric does (a negative delta is never inside: delta * sign(x))
            return sp.Piecewise((x, sp.Abs(x) <= delta), (delta * sp.sign(x), True))
        return sp.Piecewise((0, sp.Abs(x) <= delta), (sp.Abs(x) - delta, True))


class Elu(RealFunction):
    nargs = 2

    def fdiff(self, argindex=1):
        x, alpha = self.args
        if argindex != 1:
            return sp.Piecewise((0, x > 0), (sp.exp(x) - 1, True))
        return sp.Piecewise((1, x > 0), (alpha * sp.exp(x), True))


class Celu(RealFunction):
    nargs = 2

    def fdiff(self, argindex=1):
        x, alpha = self.args
        if argindex != 1:
            return sp.Piecewise((0, x > 0), (sp.exp(x / alpha) * (1 - x / alpha) - 1, True))
        return sp.Piecewise((1, x > 0), (sp.exp(x / alpha), True))


# ------------------------------------------------------------------ piecewise elementwise


class Relu(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)


class Relu6(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sp.Piecewise((1, (x > 0) & (x < 6)), (0, True))


class HardTanh(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sp.Piecewise((1, (x > -1) & (x < 1)), (0, True))


class Clip(RealFunction):
    nargs = 3

    def fdiff(self, argindex=1):
        x, lo, hi = self.args
        inside = (x > lo) & (x < hi)
        if argindex == 1:
            return sp.Piecewise((1, inside), (0, True))
        # With lo above hi the result is hi whatever x is (NumPy's and TensorFlow's order of min and max).
        if argindex == 2:
            return sp.Piecewise((1, (x <= lo) & (lo < hi)), (0, True))
        return sp.Piecewise((1, (x >= hi) | (lo >= hi)), (0, True))


class LeakyRelu(RealFunction):
    nargs = 2

    def fdiff(self, argindex=1):
        x, alpha = self.args
        if argindex != 1:
            return sp.Piecewise((0, x > 0), (x, True))
        return sp.Piecewise((1, x > 0), (alpha, True))


class SparsePlus(RealFunction):
    """Keras sparse_plus: 0 below -1, (x + 1)^2 / 4 on [-1, 1], x above 1."""

    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sp.Piecewise((0, x <= -1), ((x + 1) / 2, x < 1), (1, True))


class SoftShrink(RealFunction):
    nargs = 2

    def fdiff(self, argindex=1):
        x, threshold = self.args
        if argindex != 1:
            return sp.Piecewise((-1, x > threshold), (1, x < -threshold), (0, True))
        return sp.Piecewise((1, sp.Abs(x) > threshold), (0, True))


class HardShrink(RealFunction):
    nargs = 2

    def fdiff(self, argindex=1):
        x, threshold = self.args
        if argindex != 1:
            return sp.S.Zero  # the threshold only moves the jumps
        return sp.Piecewise((1, sp.Abs(x) > threshold), (0, True))


class DivideNoNan(RealFunction):
    """a / b, and 0 where b == 0."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return 1 / b if argindex == 1 else -a / b**2


class Round(RealFunction):
    """Round half to even, as tf.round and numpy.rint."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class StopGradient(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


# ------------------------------------------------------------------ vectors (last axis)


class ReduceSum(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.One


class ReduceMean(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return 1 / Size(self.args[0])


class ReduceProd(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return self / self.args[0]


class ReduceVar(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        v = self.args[0]
        return 2 * (v - ReduceMean(v)) / Size(v)


class ReduceMax(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        v = self.args[0]
        return sp.Piecewise((1, sp.Eq(v, self)), (0, True))


class ReduceMin(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        v = self.args[0]
        return sp.Piecewise((1, sp.Eq(v, self)), (0, True))


class LogSumExp(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return Softmax(self.args[0])


class Softmax(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        s = Softmax(self.args[0])
        return s * (1 - s)


class LogSoftmax(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return 1 - Softmax(self.args[0])


class CumSum(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.One


class Sort(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.One


class TopKValues(RealFunction):
    nargs = 2

    def fdiff(self, argindex=1):
        return sp.S.One if argindex == 1 else sp.S.Zero


class Norm(RealFunction):
    """norm(v, ord) for ord 1, 2 or oo."""

    nargs = 2

    def fdiff(self, argindex=1):
        v, order = self.args
        if order == 1:
            return sp.sign(v)
        if order == 2:
            return v / self
        return sp.Piecewise((sp.sign(v), sp.Eq(sp.Abs(v), self)), (0, True))


class Dot(RealFunction):
    nargs = 2

    def fdiff(self, argindex=1):
        return self.args[1] if argindex == 1 else self.args[0]


class Size(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class RangeLike(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class ArgMax(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class ArgMin(RealFunction):
    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class OneHot(RealFunction):
    nargs = 2

    def fdiff(self, argindex=1):
        return sp.S.Zero


class Take(RealFunction):
    """take(v, i): the entries of v at the indices i, along the last axis."""

    nargs = 2

    def fdiff(self, argindex=1):
        return sp.S.One if argindex == 1 else sp.S.Zero


class ArgSort(RealFunction):
    """argsort(v): the permutation that sorts v, as numbers; piecewise constant."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class Subscript(RealFunction):
    """NumPy indexing along the last axis: `x[..., start:stop:step]` (drop 0) or `x[..., start]`
    (drop 1, the axis dropped as NumPy does; the evaluator keeps it with width 1). Linear in x."""

    nargs = 5

    def fdiff(self, argindex=1):
        return sp.S.One if argindex == 1 else sp.S.Zero


class InTopK(LossPredicate):
    nargs = 3


class _ReducedCondition(LossPredicate):
    nargs = 1

    @classmethod
    def eval(cls, *args):
        # a constant condition is the same in every entry, whatever the size
        return args[0] if isinstance(args[0], BooleanAtom) else None


class ReduceAll(_ReducedCondition):
    pass


class ReduceAny(_ReducedCondition):
    pass


class _NonFiniteTest(LossPredicate):
    nargs = 1

    @classmethod
    def eval(cls, *args):
        # a condition used as a number (1 where it holds, 0 elsewhere) is never NaN or infinite
        argument = args[0]
        finite_pieces = isinstance(argument, sp.Piecewise) and all(
            piece.expr.is_Number and piece.expr.is_finite for piece in argument.args
        )
        return sp.false if finite_pieces else None


class IsNan(_NonFiniteTest):
    pass


class IsInf(_NonFiniteTest):
    pass
