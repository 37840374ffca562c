"""Numeric evaluation of a SymPy body on batches of points, recording every atom's piece.

The expression is compiled once into a flat list of steps (shared sub-expressions once), each a
NumPy operation on float64 arrays shaped (batch, entries): the last axis is the vector axis of the
language, so reductions reduce it and scalars broadcast. Alongside the value, `run` returns the
state of every switch (which piece of `abs`, `max`, `where`, `floor`, ... is active) and of every
singular atom (the sign of the argument whose zero is singular). Nothing here is symbolic and
nothing is sent to `lambdify`: the program is built from the tree, never from text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import ITE, BooleanFalse, BooleanTrue, Equivalent, Xor

from . import functions as fn
from .atoms import Atom, row_for


class EvaluationError(Exception):
    """The body holds a node the evaluator does not know."""


@dataclass(frozen=True, slots=True)
class Switch:
    """A node whose piece can change: `slot` is its step, `row` its atom (None for relations)."""

    node: Any
    row: Atom | None
    slot: int
    singular: bool = False


_RELATIONS: Mapping[type, Callable[[Any, Any], Any]] = {
    sp.StrictLessThan: np.less,
    sp.LessThan: np.less_equal,
    sp.StrictGreaterThan: np.greater,
    sp.GreaterThan: np.greater_equal,
    sp.Eq: np.equal,
    sp.Ne: np.not_equal,
}

_PREDICATES: Mapping[type, Callable[..., Any]] = {
    fn.IsNan: np.isnan,
    fn.IsInf: np.isinf,
    fn.ReduceAll: lambda x: np.all(np.asarray(x, dtype=bool), axis=-1, keepdims=True),
    fn.ReduceAny: lambda x: np.any(np.asarray(x, dtype=bool), axis=-1, keepdims=True),
}


def _add(*values: Any) -> Any:
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


def _mul(*values: Any) -> Any:
    total = values[0]
    for value in values[1:]:
        total = total * value
    return total


def _power(base: Any, exponent: Any) -> Any:
    base = np.asarray(base, dtype=float)
    if np.ndim(exponent) == 0:
        exponent = float(exponent)
        if exponent == 0.5:
            return np.sqrt(base)
        if exponent == -0.5:
            return 1.0 / np.sqrt(base)
        if exponent.is_integer():
            return base ** int(exponent) if exponent >= 0 else 1.0 / base ** int(-exponent)
    return np.power(base, exponent)


def _equivalent(values: Sequence[Any]) -> Any:
    first = values[0]
    return np.logical_and.reduce([value == first for value in values])


def _select(pairs: Sequence[tuple[Any, Any]]) -> tuple[Any, Any]:
    conditions = [np.asarray(condition, dtype=bool) for _, condition in pairs]
    values = [np.asarray(value, dtype=float) for value, _ in pairs]
    shaped = np.broadcast_arrays(*conditions, *values)
    conditions, values = shaped[: len(pairs)], shaped[len(pairs):]
    piece = np.select(conditions, list(range(len(pairs))), default=len(pairs) - 1)
    return np.select(conditions, values, default=values[-1]), piece


class Program:
    """A compiled body. `run(env)` gives the value and the states of its switches."""

    def __init__(self, expr: Any):
        self.expr = expr
        self.steps: list[tuple[Callable[..., Any], tuple[int, ...]]] = []
        self.nodes: list[Any] = []
        self.switches: list[Switch] = []
        self.stop_slots: list[int] = []
        self.piecewise_slots: dict[int, int] = {}  # step of a Piecewise -> its slot in states
        self._slot_of: dict[Any, int] = {}
        self.symbols: dict[str, int] = {}
        self.output = self._compile(expr, stopped=False)

    # -------------------------------------------------------------- compilation

    def _emit(self, node: Any, op: Callable[..., Any], children: tuple[int, ...]) -> int:
        self.steps.append((op, children))
        self.nodes.append(node)
        slot = len(self.steps) - 1
        self._slot_of[node] = slot
        return slot

    def _compile(self, root: Any, stopped: bool) -> int:
        # An explicit stack: bodies can be deeper than Python's recursion limit.
        stack: list[tuple[Any, bool, bool]] = [(root, stopped, False)]
        while stack:
            node, under_stop, ready = stack.pop()
            if node in self._slot_of and not ready:
                continue
            if not ready:
                stack.append((node, under_stop, True))
                inner_stop = under_stop or isinstance(node, fn.StopGradient)
                for child in self._children(node):
                    if child not in self._slot_of:
                        stack.append((child, inner_stop, False))
                continue
            if node in self._slot_of:
                continue
            self._compile_node(node, under_stop)
        return self._slot_of[root]

    @staticmethod
    def _children(node: Any) -> tuple[Any, ...]:
        if isinstance(node, sp.Piecewise):
            return tuple(part for pair in node.args for part in pair)
        if isinstance(node, (sp.Symbol, sp.Number, sp.NumberSymbol, BooleanTrue, BooleanFalse)):
            return ()
        if node is sp.oo or node is sp.S.NegativeInfinity or node is sp.nan:
            return ()
        return tuple(node.args)

    def _compile_node(self, node: Any, stopped: bool) -> None:
        if isinstance(node, sp.Symbol):
            name = node.name
            slot = self._emit(node, lambda env, _name=name: env[_name], ())
            self.symbols[name] = slot
            return
        if isinstance(node, (BooleanTrue, BooleanFalse)):
            constant = bool(node)
            self._emit(node, lambda env, _c=constant: _c, ())
            return
        if node.is_number and not isinstance(node, (sp.Piecewise, Relational)) and not node.free_symbols:
            try:
                constant = float(node)
            except (TypeError, ValueError):
                constant = float("nan")
            self._emit(node, lambda env, _c=constant: _c, ())
            return
        children = tuple(self._slot_of[child] for child in self._children(node))
        if isinstance(node, sp.Piecewise):
            slot = self._emit(node, _piecewise_op(len(node.args)), children)
            if not stopped:
                self.switches.append(Switch(node, row_for(node), slot))
            return
        if isinstance(node, Relational):
            relation = _RELATIONS.get(type(node))
            if relation is None:
                raise EvaluationError(f"cannot evaluate the relation {type(node).__name__}")
            slot = self._emit(node, lambda env, a, b, _r=relation: _r(a, b), children)
            if not stopped:
                self.switches.append(Switch(node, row_for(node), slot))
            return
        if isinstance(node, sp.Add):
            self._emit(node, lambda env, *v: _add(*v), children)
            return
        if isinstance(node, sp.Mul):
            self._emit(node, lambda env, *v: _mul(*v), children)
            return
        if isinstance(node, sp.And):
            self._emit(node, lambda env, *v: np.logical_and.reduce(np.broadcast_arrays(*v)), children)
            return
        if isinstance(node, sp.Or):
            self._emit(node, lambda env, *v: np.logical_or.reduce(np.broadcast_arrays(*v)), children)
            return
        if isinstance(node, ITE):
            self._emit(node, lambda env, c, a, b: np.where(np.asarray(c, dtype=bool), a, b), children)
            return
        if isinstance(node, (Xor, Equivalent)):
            combine = np.logical_xor.reduce if isinstance(node, Xor) else _equivalent
            self._emit(node, lambda env, *v, _c=combine: _c(np.broadcast_arrays(*[np.asarray(x, dtype=bool) for x in v])), children)
            return
        if isinstance(node, sp.Not):
            self._emit(node, lambda env, v: np.logical_not(v), children)
            return
        if isinstance(node, sp.Pow):
            slot = self._emit(node, lambda env, b, e: _power(b, e), children)
            self._register_singular(node, slot, stopped)
            return
        if type(node) in _PREDICATES:
            predicate = _PREDICATES[type(node)]
            self._emit(node, lambda env, *v, _p=predicate: _p(*v), children)
            return
        if isinstance(node, fn.StopGradient):
            slot = self._emit(node, _stop_op(len(self.steps)), children)
            self.stop_slots.append(slot)
            return
        row = row_for(node)
        if row is None or row.numeric is None:
            raise EvaluationError(f"cannot evaluate {type(node).__name__}")
        numeric = row.numeric
        slot = self._emit(node, lambda env, *v, _f=numeric: _f(*v), children)
        if not stopped and row.switch is not None:
            self.switches.append(Switch(node, row, slot))
        self._register_singular(node, slot, stopped)

    def _register_singular(self, node: Any, slot: int, stopped: bool) -> None:
        row = row_for(node)
        if stopped or row is None or row.singular_at is None:
            return
        if row.singular_if is not None and not row.singular_if(*node.args):
            return
        self.switches.append(Switch(node, row, slot, singular=True))

    # -------------------------------------------------------------- running

    def run(self, env: Mapping[str, Any], frozen: Mapping[int, Any] | None = None,
            states: bool = True) -> tuple[Any, list[Any]]:
        """The value at every point of the batch and, if asked, the state of each switch."""
        values: list[Any] = [None] * len(self.steps)
        frozen = frozen or {}
        pieces: dict[int, Any] = {}
        with np.errstate(all="ignore"):
            for slot, (op, children) in enumerate(self.steps):
                if slot in frozen:
                    values[slot] = frozen[slot]
                    continue
                args = [values[child] for child in children]
                result = op(env, *args)
                if isinstance(result, _Selected):
                    values[slot] = result.value
                    pieces[slot] = result.piece
                else:
                    values[slot] = result
            recorded: list[Any] = []
            if states:
                for switch in self.switches:
                    recorded.append(self._state(switch, values, pieces))
        return values[self.output], recorded if states else []

    def values_of(self, env: Mapping[str, Any], slots: Sequence[int],
                  frozen: Mapping[int, Any] | None = None) -> list[Any]:
        """The values of some steps (arguments of atoms, stop_gradient contents)."""
        values: list[Any] = [None] * len(self.steps)
        frozen = frozen or {}
        last = max(slots) if slots else -1
        with np.errstate(all="ignore"):
            for slot, (op, children) in enumerate(self.steps[: last + 1]):
                if slot in frozen:
                    values[slot] = frozen[slot]
                    continue
                result = op(env, *[values[child] for child in children])
                values[slot] = result.value if isinstance(result, _Selected) else result
        return [values[slot] for slot in slots]

    def singular_values(self, env: Mapping[str, Any], frozen: Mapping[int, Any] | None = None) -> list[Any]:
        """For each switch, the quantity whose zero is singular (None for other switches)."""
        slots = sorted({child for s in self.switches if s.singular for child in self.steps[s.slot][1]})
        if not slots:
            return [None] * len(self.switches)
        values = dict(zip(slots, self.values_of(env, slots, frozen)))
        out: list[Any] = []
        for switch in self.switches:
            if not switch.singular:
                out.append(None)
                continue
            assert switch.row is not None and switch.row.singular_at is not None
            with np.errstate(all="ignore"):
                out.append(np.asarray(switch.row.singular_at(*[values[c] for c in self.steps[switch.slot][1]]), dtype=float))
        return out

    def child_slots(self, slot: int) -> tuple[int, ...]:
        return self.steps[slot][1]

    def _state(self, switch: Switch, values: list[Any], pieces: Mapping[int, Any]) -> Any:
        node = switch.node
        args = [values[child] for child in self.steps[switch.slot][1]]
        if isinstance(node, sp.Piecewise):
            return np.asarray(pieces[switch.slot], dtype=np.int64)
        if isinstance(node, Relational):
            if isinstance(node, (sp.Eq, sp.Ne)):
                return np.sign(np.asarray(args[0], dtype=float) - args[1]).astype(np.int64)
            return np.asarray(values[switch.slot], dtype=np.int64)
        row = switch.row
        assert row is not None
        if switch.singular:
            assert row.singular_at is not None
            return np.sign(np.asarray(row.singular_at(*args), dtype=float)).astype(np.int64)
        assert row.switch is not None
        return np.asarray(row.switch(*args), dtype=np.int64)


class _Selected:
    __slots__ = ("piece", "value")

    def __init__(self, value: Any, piece: Any):
        self.value = value
        self.piece = piece


def _piecewise_op(pairs: int) -> Callable[..., Any]:
    def op(env: Any, *parts: Any) -> _Selected:
        value, piece = _select([(parts[2 * k], parts[2 * k + 1]) for k in range(pairs)])
        return _Selected(value, piece)

    return op


def _stop_op(slot: int) -> Callable[..., Any]:
    def op(env: Any, value: Any) -> Any:
        return value

    return op
