"""Rewrite a body into forms whose TensorFlow gradients are finite wherever the math's are.

Two passes, both on SymPy trees (never on text):

1. `stable_forms`: fragile compositions become the stable functions TensorFlow has for them
   (the table `STABLE_FORMS` lists them). They are equal as functions; only rounding, overflow and
   the NaN of `0 * inf` in the backward pass change.
2. `guard_branches`: in a `where` (a `Piecewise`), TensorFlow computes every branch everywhere and
   multiplies the gradient of the branch not taken by 0, and `0 * inf` is NaN. A partial function
   (or one that overflows) in a branch gets the double-`where` guard: its argument is replaced by a
   safe value where the branch is not taken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanFunction

from ..atoms import functions as fn
from ..atoms import table as atoms
from .nodes import Along, AlongCondition, Guarded, KinkSqrt, LogCosh, SoftmaxCrossEntropy, rewrap, unwrap

# The rows' facts these rewrites read (atoms/table.py): the classes whose value is never
# negative, those linear in their one argument, those that overflow, those with fewer axes than
# their input (a reduction, an index).
_NONNEGATIVE = atoms.nodes(lambda row: row.nonnegative)
_LINEAR = atoms.nodes(lambda row: row.linear)
_OVERFLOWING = atoms.nodes(lambda row: row.overflows)
_REDUCING = atoms.nodes(lambda row: row.shape in (atoms.REDUCTION, atoms.INDEX) and not row.is_condition)

# ------------------------------------------------------------------ stable forms

Rule = Callable[[Any], Any]


def _log_rule(node: Any) -> Any:
    if not isinstance(node, sp.log):
        return None
    inner, marker = unwrap(node.args[0])
    if isinstance(inner, fn.Softmax):
        return rewrap(fn.LogSoftmax(inner.args[0]), marker)
    if marker is None and isinstance(inner, fn.Sigmoid):
        return fn.LogSigmoid(inner.args[0])
    if isinstance(inner, fn.ReduceSum) and isinstance(inner.args[0], sp.exp):
        return rewrap(fn.LogSumExp(inner.args[0].args[0]), marker)
    if marker is None and isinstance(inner, sp.cosh):
        return LogCosh(inner.args[0])
    if marker is None and isinstance(inner, sp.Add):
        constant, rest = inner.as_coeff_Add()
        if constant == 1:
            return _log1p(rest)
    return None


def _log1p(rest: Any) -> Any:
    if isinstance(rest, sp.exp) and not rest.args[0].is_nonpositive:  # exp(x) <= 1 cannot overflow
        return fn.Softplus(rest.args[0])
    coefficient, factor = rest.as_coeff_Mul()
    if coefficient == -1 and isinstance(factor, fn.Sigmoid):
        return fn.LogSigmoid(-factor.args[0])
    return fn.Log1p(rest)


def _log1p_rule(node: Any) -> Any:
    if isinstance(node, fn.Log1p):
        rewritten = _log1p(node.args[0])
        return None if isinstance(rewritten, fn.Log1p) else rewritten
    return None


def _sigmoid_rule(node: Any) -> Any:
    """1 / (1 + exp(-x)) is sigmoid(x): the quotient overflows to inf / inf in the backward pass."""
    if isinstance(node, sp.Pow) and node.exp == -1 and isinstance(node.base, sp.Add):
        constant, rest = node.base.as_coeff_Add()
        if constant == 1 and isinstance(rest, sp.exp):
            return fn.Sigmoid(-rest.args[0])
    return None


def _softmax_rule(node: Any) -> Any:
    """exp(z) / sum(exp(z)) is softmax(z)."""
    if not isinstance(node, sp.Mul):
        return None
    factors = list(node.args)
    for index, factor in enumerate(factors):
        if not (isinstance(factor, sp.Pow) and factor.exp == -1):
            continue
        total, marker = unwrap(factor.base)
        if marker is not None and not marker.keepdims:
            continue
        if not (isinstance(total, fn.ReduceSum) and isinstance(total.args[0], sp.exp)):
            continue
        numerator = total.args[0]
        if numerator in factors:
            rest = [f for position, f in enumerate(factors) if position != index and f != numerator]
            softmax = fn.Softmax(numerator.args[0])
            if marker is not None:
                axes = marker.axes
                if axes is not None and len(axes) == 1:
                    softmax = Along(softmax, sp.Tuple(*axes), sp.S.Zero)
                else:
                    continue
            return sp.Mul(softmax, *rest)
    return None


def _cross_entropy_rule(node: Any, normalized: frozenset[Any] = frozenset()) -> Any:
    """sum(y * log_softmax(z)) is minus TensorFlow's fused softmax cross-entropy, when sum(y) == 1.

    The fused kernel's gradient is softmax(z) - y, which is the gradient only for labels that sum
    to 1 (`given sum(y) == 1`); otherwise the general form stays.
    """
    if not isinstance(node, fn.ReduceSum) or not isinstance(node.args[0], sp.Mul):
        return None
    factors = list(node.args[0].args)
    logs = [f for f in factors if isinstance(f, fn.LogSoftmax)]
    if len(logs) != 1:
        return None
    labels = sp.Mul(*[f for f in factors if f is not logs[0]])
    if labels not in normalized:
        return None
    return -SoftmaxCrossEntropy(labels, logs[0].args[0])


def normalized_labels(given: Any) -> frozenset[Any]:
    """Variables that `given` says sum to 1 along the last axis (`sum(y) == 1`)."""
    if given is None:
        return frozenset()
    conjuncts = given.args if isinstance(given, sp.And) else (given,)
    found = set()
    for part in conjuncts:
        if isinstance(part, sp.Eq):
            for total, value in ((part.lhs, part.rhs), (part.rhs, part.lhs)):
                if isinstance(total, fn.ReduceSum) and isinstance(total.args[0], sp.Symbol) and value == 1:
                    found.add(total.args[0])
    return frozenset(found)


def _nonnegative(node: Any) -> bool:
    if isinstance(node, KinkSqrt):
        return True
    if isinstance(node, _LINEAR):
        return _nonnegative(node.args[0])
    if isinstance(node, Along):
        return _nonnegative(node.node)
    if isinstance(node, (sp.Add, sp.Mul)):
        return all(_nonnegative(term) for term in node.args)
    if isinstance(node, _NONNEGATIVE):
        return True  # 0 on a whole flat piece (relu): sqrt's infinite slope times 0 is NaN there
    if isinstance(node, sp.Max):
        return any(_nonnegative(arg) for arg in node.args)
    if isinstance(node, sp.Min):
        return all(_nonnegative(arg) for arg in node.args)
    if isinstance(node, fn.Clip):
        return _nonnegative(node.args[1])
    if isinstance(node, sp.Piecewise):
        return all(_nonnegative(value) for value, _ in node.args)
    if isinstance(node, sp.Pow) and node.exp.is_number and node.exp.is_positive:
        return _nonnegative(node.base) or (node.exp.is_integer and node.exp.is_even)
    return bool(node.is_nonnegative)


def _sqrt_rule(node: Any) -> Any:
    """sqrt of a quantity that is >= 0 and touches 0 (a norm, a std): a kink there, slope 0 in the code."""
    if (
        isinstance(node, sp.Pow)
        and node.exp == sp.Rational(1, 2)
        and not node.base.is_positive
        and node.base.free_symbols
        and _nonnegative(node.base)
    ):
        return KinkSqrt(node.base)
    return None


def _linear_rule(node: Any) -> Any:
    """sum(-x) is -sum(x): keeps minus signs outside, where they cancel."""
    inner, marker = unwrap(node)
    if isinstance(inner, _LINEAR) and isinstance(inner.args[0], sp.Mul):
        coefficient, rest = inner.args[0].as_coeff_Mul()
        if coefficient == -1:
            return -rewrap(inner.func(rest), marker)
    return None


STABLE_FORMS: tuple[tuple[str, str, Rule], ...] = (
    ("log(softmax(z))", "log_softmax(z)", _log_rule),
    ("log(sigmoid(x)), log(1 - sigmoid(x))", "log_sigmoid(x), log_sigmoid(-x)", _log_rule),
    ("log(sum(exp(z)))", "logsumexp(z)", _log_rule),
    ("log(cosh(x))", "x + softplus(-2 * x) - log(2)", _log_rule),
    ("log(1 + x), log(1 + exp(x))", "log1p(x), softplus(x)", _log_rule),
    ("log1p(exp(x))", "softplus(x)", _log1p_rule),
    ("1 / (1 + exp(-x))", "sigmoid(x)", _sigmoid_rule),
    ("exp(z) / sum(exp(z))", "softmax(z)", _softmax_rule),
    (
        "-sum(y * log_softmax(z)) given sum(y) == 1",
        "softmax_cross_entropy_with_logits(y, z)",
        _cross_entropy_rule,
    ),
    ("sum(-x), mean(-x)", "-sum(x), -mean(x)", _linear_rule),
    ("sqrt(v) for v >= 0 that can be 0 (norms, std)", "sqrt with slope 0 at 0 (kink convention)", _sqrt_rule),
)
_RULES: tuple[Rule, ...] = tuple(dict.fromkeys(rule for _, _, rule in STABLE_FORMS))


def stable_forms(expr: Any, normalized: frozenset[Any] = frozenset()) -> Any:
    """Apply every rule of `STABLE_FORMS`, bottom-up, until none applies.

    `normalized`: variables known to sum to 1 along the last axis (from `given`).
    """
    return _bottom_up(expr, lambda node: _apply_rules(node, normalized))


def _apply_rules(node: Any, normalized: frozenset[Any]) -> Any:
    for _ in range(16):  # each rule makes the tree smaller or more specific: a short chain at most
        for rule in _RULES:
            rewritten = rule(node, normalized) if rule is _cross_entropy_rule else rule(node)
            if rewritten is not None and rewritten != node:
                node = rewritten
                break
        else:
            return node
    return node


def _bottom_up(expr: Any, transform: Callable[[Any], Any]) -> Any:
    memo: dict[Any, Any] = {}

    def visit(node: Any) -> Any:
        if node in memo:
            return memo[node]
        if not isinstance(node, sp.Basic) or not node.args or isinstance(node, (sp.Symbol, sp.Number)):
            memo[node] = node
            return node
        if isinstance(node, sp.Piecewise):
            pairs = [(visit(value), visit(condition)) for value, condition in node.args]
            rebuilt = sp.Piecewise(*pairs)
        elif isinstance(node, (Along, AlongCondition)):
            # The marked node itself is not rewritten alone: rules see it through its marker.
            inner = node.node
            inner_args = [visit(arg) for arg in inner.args]
            rebuilt = (
                node.func(inner.func(*inner_args), *node.args[1:]) if inner_args != list(inner.args) else node
            )
        elif isinstance(node, sp.Tuple):
            rebuilt = node
        else:
            args = [visit(arg) for arg in node.args]
            rebuilt = node.func(*args) if args != list(node.args) else node
        result = transform(rebuilt) if isinstance(rebuilt, sp.Basic) else rebuilt
        memo[node] = result
        return result

    return visit(expr)


# ------------------------------------------------------------------ the double-where guard


def _partial_arguments(node: Any) -> list[tuple[int, Any]]:
    """(argument position, safe value) for each argument that can make `node` NaN or overflow."""
    if isinstance(node, sp.log):
        return [] if node.args[0].is_positive else [(0, sp.S.One)]
    if isinstance(node, fn.Log1p):
        return [] if (node.args[0] + 1).is_positive else [(0, sp.S.Zero)]
    if isinstance(node, fn.Xlogy):
        return [] if node.args[1].is_positive else [(1, sp.S.One)]
    if isinstance(node, sp.Pow):
        base, exponent = node.args
        if exponent.is_Integer and exponent >= 0:
            return []
        if exponent.is_Integer and base.is_nonzero:
            return []
        if base.is_positive:
            return []
        return [(0, sp.S.One)]
    if isinstance(node, sp.tan):
        return [(0, sp.S.Zero)]
    if isinstance(node, _OVERFLOWING):
        return [] if node.args[0].is_nonpositive else [(0, sp.S.Zero)]
    return []


def _reduced(node: Any) -> bool:
    """Does the value have fewer axes than its inputs (so it cannot be masked elementwise)?"""
    if isinstance(node, Along):
        return not node.keepdims
    if isinstance(node, _REDUCING + (SoftmaxCrossEntropy,)):
        return True
    if isinstance(node, sp.Symbol):
        return False
    if not isinstance(node, sp.Basic) or not node.free_symbols:
        return True
    return all(_reduced(arg) for arg in node.args if isinstance(arg, sp.Basic) and arg.free_symbols)


def guard_branches(expr: Any) -> Any:
    """Replace the arguments of partial functions in `where` branches by safe values where not taken."""
    memo: dict[tuple[Any, Any], Any] = {}

    def visit(node: Any, taken: Any) -> Any:
        key = (node, taken)
        if key in memo:
            return memo[key]
        result = _visit(node, taken)
        memo[key] = result
        return result

    def _visit(node: Any, taken: Any) -> Any:
        if (
            not isinstance(node, sp.Basic)
            or not node.args
            or isinstance(node, (sp.Symbol, sp.Number, sp.Tuple))
        ):
            return node
        if isinstance(node, sp.Piecewise):
            pairs = []
            earlier: list[Any] = []
            for value, condition in node.args:
                condition = visit(condition, taken)
                here = (
                    sp.And(*[sp.Not(c) for c in earlier], condition)
                    if condition is not sp.true
                    else sp.And(*[sp.Not(c) for c in earlier])
                )
                inner = here if taken is sp.true else sp.And(taken, here)
                pairs.append((visit(value, inner), condition))
                earlier.append(condition)
            return sp.Piecewise(*pairs)
        args = [visit(arg, taken) for arg in node.args]
        if taken is not sp.true and not isinstance(node, (Relational, BooleanFunction)):
            for position, safe in _partial_arguments(node):
                argument = args[position]
                if argument.free_symbols and (not _reduced(argument) or _reduced_condition(taken)):
                    args[position] = Guarded(taken, argument, safe)
        if args == list(node.args):
            return node
        return node.func(*args)

    return visit(expr, sp.true)


def _reduced_condition(condition: Any) -> bool:
    relations = [node for node in sp.preorder_traversal(condition) if isinstance(node, Relational)]
    return all(_reduced(side) for relation in relations for side in relation.args)
