"""Numeric evaluation of a SymPy body on batches of points, recording every atom's piece.

The expression is compiled once into a flat list of steps (shared sub-expressions once), each a
NumPy operation on float64 arrays shaped (batch, entries): the last axis is the vector axis of the
language, so reductions reduce it and scalars broadcast. Alongside the value, `run` returns the
state of every switch (which piece of `abs`, `max`, `where`, `floor`, ... is active) and of every
singular atom (the sign of the argument whose zero is singular). Nothing here is symbolic and
nothing is sent to `lambdify`: the program is built from the tree, never from text.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.function import ArgumentIndexError
from sympy.core.relational import Relational
from sympy.logic.boolalg import ITE, BooleanFalse, BooleanTrue, Equivalent, Xor

from ..atoms import functions as fn
from ..atoms.table import Atom, is_flat_atom, row_for

# One step of a run: (slot, op, child slots, kind of call; see Program._plan).
_Step = tuple[int, Callable[..., Any], tuple[int, ...], int]


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
    """What `np.select(conditions, values, default=values[-1])` gives, and the index of the piece
    chosen, as a chain of `np.where` from the last piece to the first: the same values (the first
    true condition wins), without np.select's copies of every broadcast argument."""
    conditions = [np.asarray(condition, dtype=bool) for _, condition in pairs]
    values = [np.asarray(value, dtype=float) for value, _ in pairs]
    shape = np.broadcast_shapes(*[c.shape for c in conditions], *[v.shape for v in values])
    last = len(pairs) - 1
    value = values[last]
    piece = np.full(shape, last, dtype=np.int64)
    for index in range(last - 1, -1, -1):
        value = np.where(conditions[index], values[index], value)
        piece = np.where(conditions[index], index, piece)
    if value.shape != shape:
        value = np.array(np.broadcast_to(value, shape))
    return value, piece


class Program:
    """A compiled body. `run(env)` gives the value and the states of its switches.

    `steps` holds one `(op, children)` per node, where `op(*values of the children)` computes the
    node; variables (`symbols`, read from the environment) and constants have no op. The probe
    runs a program thousands of times, so everything that does not depend on the inputs is done
    once here: constants are placed before the loop and each switch gets its state reader.
    """

    def __init__(self, expr: Any):
        self.expr = expr
        self.steps: list[tuple[Callable[..., Any], tuple[int, ...]]] = []
        self.nodes: list[Any] = []
        self.switches: list[Switch] = []
        self.stop_slots: list[int] = []
        self.piecewise_slots: dict[int, int] = {}  # step of a Piecewise -> its slot in states
        self._slot_of: dict[Any, int] = {}
        self.symbols: dict[str, int] = {}
        self._constants: dict[int, Any] = {}
        self._selecting: set[int] = set()  # Piecewise steps: they give a value and a piece
        self.output = self._compile(expr, stopped=False)
        self._plan()

    # -------------------------------------------------------------- compilation

    def _emit_constant(self, node: Any, constant: Any) -> None:
        slot = self._emit(node, None, ())
        self._constants[slot] = constant

    def _plan(self) -> None:
        """The schedule `run` executes: every step that is neither a variable nor a constant."""
        self._initial: list[Any] = [None] * len(self.steps)
        for slot, constant in self._constants.items():
            self._initial[slot] = constant
        self._variables = tuple((name, slot) for name, slot in self.symbols.items())
        # The kind of call: 1 and 2 take one or two values directly, 0 any number, -1 a Piecewise
        # (any number, and a value and a piece come back).
        self._schedule = [
            (
                slot,
                op,
                children,
                -1 if slot in self._selecting else len(children) if len(children) in (1, 2) else 0,
            )
            for slot, (op, children) in enumerate(self.steps)
            if op is not None
        ]
        self._readers = [self._reader(switch) for switch in self.switches]
        self._rules: dict[int, Callable[..., Any] | None] = {}
        self._cones: dict[tuple[frozenset[int], frozenset[int]], list[_Step]] = {}

    def _emit(self, node: Any, op: Callable[..., Any] | None, children: tuple[int, ...]) -> int:
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
            self.symbols[node.name] = self._emit(node, None, ())
            return
        if isinstance(node, (BooleanTrue, BooleanFalse)):
            self._emit_constant(node, bool(node))
            return
        # A number is a node whose arguments are all numbers (SymPy's is_number walks the whole
        # subtree, so it is asked only then: asking every node costs size x depth).
        if (
            all(self._slot_of[child] in self._constants for child in self._children(node))
            and node.is_number
            and not isinstance(node, (sp.Piecewise, Relational))
            and not node.free_symbols
        ):
            try:
                self._emit_constant(node, float(node))
                return
            except (TypeError, ValueError, OverflowError):
                row = row_for(node)
                if row is not None and row.numeric is not None:
                    self._emit_constant(node, self._numeric_constant(node, row))
                    return
                # an operation on such values (-sum(2)) is computed like any other step
        children = tuple(self._slot_of[child] for child in self._children(node))
        if isinstance(node, sp.Piecewise):
            slot = self._emit(node, _piecewise_op(len(node.args)), children)
            self._selecting.add(slot)
            if not stopped:
                self.switches.append(Switch(node, row_for(node), slot))
            return
        if isinstance(node, Relational):
            relation = _RELATIONS.get(type(node))
            if relation is None:
                raise EvaluationError(f"cannot evaluate the relation {type(node).__name__}")
            slot = self._emit(node, relation, children)
            if not stopped:
                self.switches.append(Switch(node, row_for(node), slot))
            return
        if isinstance(node, sp.Add):
            # Two terms (the common case) add directly; more are folded left to right, as before.
            self._emit(node, operator.add if len(children) == 2 else _add, children)
            return
        if isinstance(node, sp.Mul):
            self._emit(node, operator.mul if len(children) == 2 else _mul, children)
            return
        if isinstance(node, sp.And):
            self._emit(node, lambda *v: np.logical_and.reduce(np.broadcast_arrays(*v)), children)
            return
        if isinstance(node, sp.Or):
            self._emit(node, lambda *v: np.logical_or.reduce(np.broadcast_arrays(*v)), children)
            return
        if isinstance(node, ITE):
            self._emit(node, lambda c, a, b: np.where(np.asarray(c, dtype=bool), a, b), children)
            return
        if isinstance(node, (Xor, Equivalent)):
            combine = np.logical_xor.reduce if isinstance(node, Xor) else _equivalent
            self._emit(
                node,
                lambda *v, _c=combine: _c(np.broadcast_arrays(*[np.asarray(x, dtype=bool) for x in v])),
                children,
            )
            return
        if isinstance(node, sp.Not):
            self._emit(node, np.logical_not, children)
            return
        if isinstance(node, sp.Pow):
            slot = self._emit(node, _power, children)
            self._register_singular(node, slot, stopped)
            return
        if isinstance(node, fn.StopGradient):
            slot = self._emit(node, _identity, children)
            self.stop_slots.append(slot)
            return
        row = row_for(node)
        if row is None or row.numeric is None:
            raise EvaluationError(f"cannot evaluate {type(node).__name__}")
        if children and all(child in self._constants for child in children):
            # a function of numbers only, such as a where SymPy distributed into in_top_k's
            # arguments: computed once, with each number a vector of one entry
            self._emit_constant(node, self._constant_of(node, row.numeric, children))
            return
        slot = self._emit(node, row.numeric, children)
        if not stopped and row.switch is not None:
            self.switches.append(Switch(node, row, slot))
        self._register_singular(node, slot, stopped)

    def _numeric_constant(self, node: Any, row: Atom) -> Any:
        """A function of numbers that SymPy keeps unevaluated (`sum(1)`, `relu(2)`, `argmax(3)`),
        computed once by its row: a number is a vector of one entry. NaN if it cannot be."""
        assert row.numeric is not None
        children = tuple(self._slot_of[child] for child in self._children(node))
        return self._constant_of(node, row.numeric, children)

    def _constant_of(self, node: Any, function: Callable[..., Any], children: tuple[int, ...]) -> Any:
        arguments = [np.atleast_1d(np.asarray(self._constants[child], dtype=float)) for child in children]
        try:
            with np.errstate(all="ignore"):
                return np.asarray(function(*arguments), dtype=float)
        except (TypeError, ValueError, ArithmeticError, IndexError):
            return float("nan")

    def _register_singular(self, node: Any, slot: int, stopped: bool) -> None:
        row = row_for(node)
        if stopped or row is None or row.singular_at is None:
            return
        if row.singular_if is not None and not row.singular_if(*node.args):
            return
        self.switches.append(Switch(node, row, slot, singular=True))

    # -------------------------------------------------------------- running

    def run(
        self, env: Mapping[str, Any], frozen: Mapping[int, Any] | None = None, states: bool = True
    ) -> tuple[Any, list[Any]]:
        """The value at every point of the batch and, if asked, the state of each switch."""
        with np.errstate(all="ignore"):
            values, pieces = self._execute(env, frozen, self._schedule)
            recorded = [read(values, pieces) for read in self._readers] if states else []
        return values[self.output], recorded

    def values_of(
        self, env: Mapping[str, Any], slots: Sequence[int], frozen: Mapping[int, Any] | None = None
    ) -> list[Any]:
        """The values of some steps (arguments of atoms, stop_gradient contents), computing only
        the steps they depend on."""
        with np.errstate(all="ignore"):
            values, _ = self._execute(env, frozen, self._cone(slots, ()))
        return [values[slot] for slot in slots]

    # -------------------------------------------------------------- forward mode

    def tangents(
        self,
        env: Mapping[str, Any],
        seeds: Mapping[str, Any],
        frozen: Mapping[int, Any] | None = None,
        slots: Sequence[int] | None = None,
    ) -> tuple[list[Any], list[Any], dict[int, Any]]:
        """Values and exact directional derivatives (forward mode) at every point of the batch:
        each variable moves along `seeds[name]` (a variable without a seed stays put). A tangent
        is None where it is zero by construction (a constant, data, a piecewise-constant atom,
        stop_gradient), so that "no path" is told apart from "a path whose slope is 0 here".
        With `slots`, only the steps those slots depend on are computed."""
        values, schedule = self._start(
            env, frozen, self._schedule if slots is None else self._cone(slots, ())
        )
        tangents: list[Any] = [None] * len(self.steps)
        for name, slot in self._variables:
            if name in seeds:
                tangents[slot] = seeds[name]
        pieces: dict[int, Any] = {}
        with np.errstate(all="ignore"):
            for slot, op, children, kind in schedule:
                arguments = [values[child] for child in children]
                if kind == -1:
                    selected = op(*arguments)
                    values[slot] = selected.value
                    pieces[slot] = selected.piece
                elif kind == -2:
                    pieces[slot] = op(*arguments)
                    continue
                else:
                    values[slot] = op(*arguments)
                child_tangents = [tangents[child] for child in children]
                if all(tangent is None for tangent in child_tangents):
                    continue
                rule = self._rules.get(slot, _UNSET)
                if rule is _UNSET:
                    rule = self._rules[slot] = self._tangent_rule(slot)
                if rule is not None:
                    tangents[slot] = rule(arguments, child_tangents, values[slot], pieces.get(slot))
        return values, tangents, pieces

    def _tangent_rule(self, slot: int) -> Callable[..., Any] | None:
        """How step `slot` passes tangents on: (argument values, their tangents, value, piece)."""
        node = self.nodes[slot]
        if isinstance(node, sp.Add):
            return _add_tangent
        if isinstance(node, sp.Mul):
            return _mul_tangent
        if isinstance(node, sp.Pow):
            return _pow_tangent
        if isinstance(node, sp.Piecewise):
            return _piecewise_tangent
        if isinstance(node, (Relational, sp.And, sp.Or, sp.Not, ITE, Xor, Equivalent, fn.StopGradient)):
            return None
        row = row_for(node)
        if row is None or is_flat_atom(row):
            return None
        if row.jvp is not None:
            jvp = row.jvp
            return lambda arguments, tangents, value, piece: jvp(arguments, tangents, value)
        return _elementwise_tangent(type(node), len(node.args), row.zero_gradient)

    def _cone(self, value_slots: Iterable[int], piece_slots: Iterable[int]) -> list[_Step]:
        """The steps of the schedule that the values of `value_slots` and the pieces of the
        Piecewise steps `piece_slots` depend on, in schedule order. A piece depends only on the
        conditions: a Piecewise whose value is not needed gets a step that computes its piece alone
        (kind -2), so that the branches are not computed."""
        key = (frozenset(value_slots), frozenset(piece_slots))
        cone = self._cones.get(key)
        if cone is not None:
            return cone
        needed: set[int] = set()
        stack = list(key[0])
        for slot in key[1]:
            stack.extend(self.steps[slot][1][1::2])
        while stack:
            slot = stack.pop()
            if slot not in needed:
                needed.add(slot)
                stack.extend(self.steps[slot][1])
        cone = []
        for entry in self._schedule:
            slot = entry[0]
            if slot in needed:
                cone.append(entry)
            elif slot in key[1]:
                conditions = self.steps[slot][1][1::2]
                cone.append((slot, _piece_op(len(conditions)), conditions, -2))
        self._cones[key] = cone
        return cone

    def _start(
        self, env: Mapping[str, Any], frozen: Mapping[int, Any] | None, schedule: Sequence[_Step]
    ) -> tuple[list[Any], Sequence[_Step]]:
        """The values before a run (constants, the variables of `env`, the frozen steps) and the
        steps left to run."""
        values = list(self._initial)
        for name, slot in self._variables:
            values[slot] = env[name]
        if frozen:
            for slot, value in frozen.items():
                values[slot] = value
            schedule = [entry for entry in schedule if entry[0] not in frozen]
        return values, schedule

    def _execute(
        self, env: Mapping[str, Any], frozen: Mapping[int, Any] | None, schedule: Sequence[_Step]
    ) -> tuple[list[Any], dict[int, Any]]:
        """The steps of `schedule`; a frozen step keeps its given value."""
        values, schedule = self._start(env, frozen, schedule)
        pieces: dict[int, Any] = {}
        for slot, op, children, kind in schedule:
            if kind == 2:
                values[slot] = op(values[children[0]], values[children[1]])
            elif kind == 1:
                values[slot] = op(values[children[0]])
            elif kind == 0:
                values[slot] = op(*[values[child] for child in children])
            elif kind == -1:
                selected = op(*[values[child] for child in children])
                values[slot] = selected.value
                pieces[slot] = selected.piece
            else:
                pieces[slot] = op(*[values[child] for child in children])
        return values, pieces

    def singular_values(
        self,
        env: Mapping[str, Any],
        frozen: Mapping[int, Any] | None = None,
        indices: Iterable[int] | None = None,
    ) -> list[Any]:
        """For each switch, the quantity whose zero is singular (None for other switches, and for
        singular switches outside `indices` when given)."""
        chosen = [i for i, switch in enumerate(self.switches) if switch.singular]
        if indices is not None:
            wanted = set(indices)
            chosen = [i for i in chosen if i in wanted]
        out: list[Any] = [None] * len(self.switches)
        if not chosen:
            return out
        slots = sorted({child for i in chosen for child in self.steps[self.switches[i].slot][1]})
        values = dict(zip(slots, self.values_of(env, slots, frozen)))
        for i in chosen:
            switch = self.switches[i]
            assert switch.row is not None and switch.row.singular_at is not None
            with np.errstate(all="ignore"):
                out[i] = np.asarray(
                    switch.row.singular_at(*[values[c] for c in self.steps[switch.slot][1]]), dtype=float
                )
        return out

    def child_slots(self, slot: int) -> tuple[int, ...]:
        return self.steps[slot][1]

    def _reader(self, switch: Switch) -> Callable[[list[Any], Mapping[int, Any]], Any]:
        """How to read the state of `switch` from the values (and pieces) of one run."""
        node, slot = switch.node, switch.slot
        children = self.steps[slot][1]
        if isinstance(node, sp.Piecewise):
            return lambda values, pieces: np.asarray(pieces[slot], dtype=np.int64)
        if isinstance(node, Relational):
            if isinstance(node, (sp.Eq, sp.Ne)):
                left, right = children
                return lambda values, pieces: np.sign(
                    np.asarray(values[left], dtype=float) - values[right]
                ).astype(np.int64)
            return lambda values, pieces: np.asarray(values[slot], dtype=np.int64)
        row = switch.row
        assert row is not None
        if switch.singular:
            singular_at = row.singular_at
            assert singular_at is not None
            return lambda values, pieces: np.sign(
                np.asarray(singular_at(*[np.asarray(values[child]) for child in children]), dtype=float)
            ).astype(np.int64)
        state = row.switch
        assert state is not None
        # arrays, even for constant arguments (a Python float has no `.astype`: clip(-1, p, 2))
        return lambda values, pieces: np.asarray(
            state(*[np.asarray(values[child]) for child in children]), dtype=np.int64
        )


class _Selected:
    __slots__ = ("piece", "value")

    def __init__(self, value: Any, piece: Any):
        self.value = value
        self.piece = piece


def _piecewise_op(pairs: int) -> Callable[..., Any]:
    def op(*parts: Any) -> _Selected:
        value, piece = _select([(parts[2 * k], parts[2 * k + 1]) for k in range(pairs)])
        return _Selected(value, piece)

    return op


def _piece_op(conditions: int) -> Callable[..., Any]:
    """The piece `_select` chooses, from the conditions alone (the last piece where none holds)."""

    def op(*parts: Any) -> Any:
        last = conditions - 1
        piece = np.asarray(last, dtype=np.int64)
        for index in range(last - 1, -1, -1):
            piece = np.where(np.asarray(parts[index], dtype=bool), index, piece)
        return piece

    return op


def _identity(value: Any) -> Any:
    """stop_gradient's value: the value itself (the probe freezes it, see LineProbe.stopped)."""
    return value


_UNSET: Any = object()


def _add_tangent(arguments: Sequence[Any], tangents: Sequence[Any], value: Any, piece: Any) -> Any:
    total: Any = None
    for tangent in tangents:
        if tangent is not None:
            total = tangent if total is None else total + tangent
    return total


def _mul_tangent(arguments: Sequence[Any], tangents: Sequence[Any], value: Any, piece: Any) -> Any:
    total: Any = None
    for index, tangent in enumerate(tangents):
        if tangent is None:
            continue
        term = tangent
        for other, factor in enumerate(arguments):
            if other != index:
                term = term * factor
        total = term if total is None else total + term
    return total


def _pow_tangent(arguments: Sequence[Any], tangents: Sequence[Any], value: Any, piece: Any) -> Any:
    base, exponent = arguments
    base_tangent, exponent_tangent = tangents
    total: Any = None
    if base_tangent is not None:
        if np.ndim(exponent) == 0:
            slope = float(exponent) * _power(base, float(exponent) - 1.0)
        else:
            slope = exponent * np.power(np.asarray(base, dtype=float), exponent - 1.0)
        total = slope * base_tangent
    if exponent_tangent is not None:
        term = value * np.log(np.asarray(base, dtype=float)) * exponent_tangent
        total = term if total is None else total + term
    return total


def _piecewise_tangent(arguments: Sequence[Any], tangents: Sequence[Any], value: Any, piece: Any) -> Any:
    branches = tangents[0::2]
    if all(tangent is None for tangent in branches):
        return None
    out: Any = np.zeros(np.shape(value))
    for index, tangent in enumerate(branches):
        if tangent is not None:
            out = np.where(piece == index, tangent, out)
    return out


_DERIVATIVES: dict[tuple[type, int, frozenset[int]], list[Program | None]] = {}


def _elementwise_tangent(cls: type, arity: int, without: frozenset[int] = frozenset()) -> Callable[..., Any]:
    """The chain rule through an elementwise function, its partial derivatives compiled from its
    SymPy class's `fdiff` (the fact functions.py states beside the class) over stand-in symbols."""
    key = (cls, arity, without)
    if key not in _DERIVATIVES:
        stand_ins = [sp.Symbol(f"_a{k}", real=True) for k in range(arity)]
        expr = cls(*stand_ins)
        partials: list[Program | None] = []
        for index in range(arity):
            if index in without:  # the row registers a zero derivative in this argument
                partials.append(None)
                continue
            try:
                partial = expr.fdiff(index + 1) if expr.func is cls else sp.diff(expr, stand_ins[index])
            except ArgumentIndexError:
                partials.append(None)  # SymPy states no derivative in this argument (Heaviside's h0)
                continue
            if partial.has(sp.Derivative, sp.Subs):
                raise EvaluationError(f"cannot differentiate {cls.__name__}")
            partials.append(None if partial == 0 else Program(partial))
        _DERIVATIVES[key] = partials
    partials = _DERIVATIVES[key]

    def rule(arguments: Sequence[Any], tangents: Sequence[Any], value: Any, piece: Any) -> Any:
        total: Any = None
        for index, (partial, tangent) in enumerate(zip(partials, tangents)):
            if partial is None or tangent is None:
                continue
            env = {f"_a{k}": argument for k, argument in enumerate(arguments) if f"_a{k}" in partial.symbols}
            slope, _ = partial.run(env, states=False)
            term = slope * tangent
            total = term if total is None else total + term
        return total

    return rule
