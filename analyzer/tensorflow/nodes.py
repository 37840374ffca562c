"""SymPy nodes that exist only on the way to TensorFlow code.

The analysis bodies of `analyzer.analysis.lowering` drop what does not change where a function kinks
(`axis=`, `keepdims=`) and know nothing of how the code will be computed. The code generator needs
both, so its own lowering and rewriting passes wrap or replace parts of a body with these nodes:

- `Along` / `AlongCondition`: a reduction (or a softmax, a sort, ...) over axes other than the
  last one, or keeping the reduced axes;
- `StraightThrough`: a hard forward value with the gradient of a soft surrogate;
- `Guarded`: the inner `where` of the double-`where` guard (a partial function's argument replaced
  by a safe value where its branch is not taken);
- `KinkSqrt`: the square root of a quantity that is never negative, with slope 0 where it is 0
  (the 2-norm, the standard deviation): there the function has a kink, not a pole;
- `LogCosh`: log(cosh(x)), printed in the stable form Keras uses;
- `SoftmaxCrossEntropy`: `-sum(labels * log_softmax(logits))`, printed as TensorFlow's fused kernel;
- `OnesLike` / `ZerosLike`: `ones_like(x)` and `zeros_like(x)` keeping `x`, so that a reduction of
  them (`sum(ones_like(p))`, a count) knows the shape it reduces over.

None of them is ever seen by the analysis.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.logic.boolalg import BooleanAtom, BooleanFunction

from ..atoms.functions import RealFunction

ALL_AXES = sp.Tuple()  # `axis=None`: reduce over every axis


class Along(RealFunction):
    """`Along(node, axes, keepdims)`: `node` computed over `axes` (a Tuple of Integers, empty for all)."""

    nargs = 3

    @property
    def node(self) -> Any:
        return self.args[0]

    @property
    def axes(self) -> tuple[int, ...] | None:
        axes = self.args[1]
        return None if len(axes) == 0 else tuple(int(axis) for axis in axes)

    @property
    def keepdims(self) -> bool:
        return bool(self.args[2])

    def _eval_derivative(self, symbol: Any) -> Any:
        # SymPy differentiates while it simplifies conditions (`is_constant`); its generic rule
        # would differentiate the axes Tuple too. The marker moves with its node.
        inner = self.node.diff(symbol)
        return sp.S.Zero if inner == 0 else Along(inner, self.args[1], self.args[2])


class AlongCondition(BooleanFunction):
    """`all`/`any` over other axes: the boolean twin of `Along`."""

    nargs = 3

    @classmethod
    def eval(cls, *args: Any) -> Any:
        # a constant condition is the same along any axes (and SymPy cannot fold one it cannot see)
        return args[0] if isinstance(args[0], BooleanAtom) else None

    @property
    def node(self) -> Any:
        return self.args[0]

    @property
    def axes(self) -> tuple[int, ...] | None:
        axes = self.args[1]
        return None if len(axes) == 0 else tuple(int(axis) for axis in axes)

    @property
    def keepdims(self) -> bool:
        return bool(self.args[2])


class StraightThrough(RealFunction):
    """`StraightThrough(hard, soft)`: the value of `hard`, the gradient of `soft`."""

    nargs = 2

    def fdiff(self, argindex: int = 2) -> Any:
        return sp.S.Zero if argindex == 1 else sp.S.One


class Guarded(RealFunction):
    """`Guarded(condition, value, safe)`: `value` where `condition` holds, `safe` elsewhere."""

    nargs = 3


class KinkSqrt(RealFunction):
    """sqrt(x) for x >= 0 with slope 0 at x == 0 (the smallest subgradient of a norm at 0)."""

    nargs = 1


class LogCosh(RealFunction):
    """log(cosh(x)), computed as x + softplus(-2 x) - log(2), which does not overflow."""

    nargs = 1


class SoftmaxCrossEntropy(RealFunction):
    """`-sum(labels * log_softmax(logits))` over the last axis."""

    nargs = 2


class OnesLike(RealFunction):
    """`ones_like(x)`: ones of the shape of `x` (no gradient)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> Any:
        return sp.S.Zero


class ZerosLike(RealFunction):
    """`zeros_like(x)`: zeros of the shape of `x` (no gradient)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> Any:
        return sp.S.Zero


def unwrap(node: Any) -> tuple[Any, Along | AlongCondition | None]:
    """The node inside an `Along` marker, and the marker (None for the default axis)."""
    if isinstance(node, (Along, AlongCondition)):
        return node.node, node
    return node, None


def rewrap(node: Any, marker: Along | AlongCondition | None) -> Any:
    """Put `node` along the axes of `marker` (as it is if there is no marker)."""
    if marker is None:
        return node
    return Along(node, marker.args[1], marker.args[2])
