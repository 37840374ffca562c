"""The symbolic pass: one walk over the SymPy body composing the atoms' local facts.

For every node it works out which variables still reach the value through a path along which the
derivative can be nonzero ("live"): a zero-gradient atom (floor, sign, argmax, a comparison used as
a number, the condition of a `where`) or a `stop_gradient` cuts its arguments off. A `wrt` variable
that occurs in the body but is live nowhere has a gradient that is zero almost everywhere: that is a
proof, which the numeric probe then only confirms. The walk also finds, for the explanation, the
innermost atoms that cut each variable off.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanFunction
from sympy.utilities.iterables import iterable

from ..atoms import functions as fn
from ..atoms.table import is_flat_atom, row_for


@dataclass(frozen=True, slots=True)
class Composition:
    live: frozenset[str]  # variables with a differentiable path to the value
    present: frozenset[str]  # variables that occur at all
    cutters: dict[str, list[Any]]  # variable -> innermost nodes that make its gradient vanish


def _names(node: Any) -> frozenset[str]:
    """The names of the symbols in `node`, as `node.atoms(Symbol)` finds them, by a walk that
    visits a shared sub-expression once and keeps its own stack (SymPy's walk nests a generator
    per level, which costs size x depth on a deep body)."""
    names: set[str] = set()
    seen: set[int] = set()
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, sp.Symbol):
            names.add(item.name)
        elif isinstance(item, sp.Basic):
            if id(item) not in seen:
                seen.add(id(item))
                pending.extend(item.args)
        elif iterable(item):
            pending.extend(item)
    return frozenset(names)


def _preorder(expr: Any) -> Iterator[Any]:
    """The nodes of `expr` in preorder, with an explicit stack. The arguments of `And` and `Or` are
    taken in their sorted order (`args`), not as the set SymPy keeps (`_argset`, which
    `preorder_traversal` walks): a set's order changes with Python's hash seed, and so would the
    atom a finding names."""
    pending = [expr]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, sp.Basic):
            children = list(node.args)
        elif iterable(node):
            children = list(node)
        else:
            continue
        pending.extend(reversed(children))


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
    # Compare by equality, never identity: SymPy's cache may or may not hand back the same object
    # for two equal sub-expressions, and the verdict must not depend on what was analysed before.
    found: list[Any] = []
    for node in _preorder(expr):
        if (
            _cuts_gradient(node)
            and name in _names(node)
            and not isinstance(node, (sp.And, sp.Or, sp.Not))
            and node not in found
        ):
            found.append(node)
    return [node for node in found if not any(other != node and node.has(other) for other in found)]


def depends(expr: Any, names: frozenset[str] | set[str]) -> bool:
    """Does the value of `expr` move with `names` through a differentiable path?"""
    return bool(compose(expr).live & set(names))
