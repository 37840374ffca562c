"""The symbolic pass: one walk over the SymPy body composing the atoms' local facts.

For every node it works out which variables still reach the value through a path along which the
derivative can be nonzero ("live"): a zero-gradient atom (floor, sign, argmax, a comparison used as
a number, the condition of a `where`) or a `stop_gradient` cuts its arguments off. A `wrt` variable
that occurs in the body but is live nowhere has a gradient that is zero almost everywhere: that is a
proof, which the numeric probe then only confirms. The walk also finds, for the explanation, the
innermost atoms that cut each variable off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanFunction

from . import functions as fn
from .atoms import is_flat_atom, row_for


@dataclass(frozen=True, slots=True)
class Composition:
    live: frozenset[str]  # variables with a differentiable path to the value
    present: frozenset[str]  # variables that occur at all
    cutters: dict[str, list[Any]]  # variable -> innermost nodes that make its gradient vanish


def _names(node: Any) -> frozenset[str]:
    return frozenset(symbol.name for symbol in node.atoms(sp.Symbol))


def _cuts_gradient(node: Any) -> bool:
    if isinstance(node, (Relational, fn.StopGradient)):
        return True
    if isinstance(node, BooleanFunction):
        return True
    row = row_for(node)
    return row is not None and is_flat_atom(row)


def _live_children(node: Any) -> tuple[Any, ...]:
    """The arguments through which the derivative can flow."""
    if isinstance(node, sp.Piecewise):
        return tuple(value for value, _ in node.args)
    if isinstance(node, fn.Take):
        return (node.args[0],)
    if _cuts_gradient(node):
        return ()
    return tuple(node.args)


def compose(expr: Any) -> Composition:
    live_of: dict[Any, frozenset[str]] = {}
    stack: list[tuple[Any, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        if node in live_of:
            continue
        if isinstance(node, sp.Symbol):
            live_of[node] = frozenset({node.name})
            continue
        children = _live_children(node)
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in children if child not in live_of)
            continue
        live: frozenset[str] = frozenset()
        for child in children:
            live |= live_of[child]
        live_of[node] = live
    present = _names(expr)
    cutters: dict[str, list[Any]] = {}
    for name in present - live_of[expr]:
        cutters[name] = _innermost_cutters(expr, name)
    return Composition(live_of[expr], present, cutters)


def _innermost_cutters(expr: Any, name: str) -> list[Any]:
    found: list[Any] = []
    for node in sp.preorder_traversal(expr):
        if _cuts_gradient(node) and name in _names(node) and not isinstance(node, (sp.And, sp.Or, sp.Not)):
            found.append(node)
    innermost = [node for node in found if not any(other is not node and node.has(other) for other in found)]
    unique: list[Any] = []
    for node in innermost:
        if node not in unique:
            unique.append(node)
    return unique


def depends(expr: Any, names: frozenset[str] | set[str]) -> bool:
    """Does the value of `expr` move with `names` through a differentiable path?"""
    return bool(compose(expr).live & set(names))
