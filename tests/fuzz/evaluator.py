"""The oracle's own evaluator of a body: in float64 (NumPy) or in mpmath at any precision.

It shares no code with the engine's numeric evaluator (analyzer/analysis/evaluate.py) or with the
numeric functions of the atom table: every function is written here again from its meaning in
LANGUAGE.md, once, over a backend that is either float64 arrays or arrays of mpmath numbers. So
a judgement made in high precision is made on the same definition of the body as a float64 one,
and a mistake in the engine's numerics cannot hide in the oracle's.

Values are arrays shaped (batch, entries): the last axis is the vector axis of the language
(reductions reduce it and keep it with width 1), scalars broadcast. Alongside the value `run`
returns the state of every switch (which piece of `abs`, `max`, `where`, `floor`, ... is active,
and the side of a singular point), so that a change of piece along a line can be found.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.logic.boolalg import ITE, BooleanFalse, BooleanTrue, Equivalent, Xor

from analyzer.atoms import functions as fn

SELU_ALPHA = "1.6732632423543772848170429916717"
SELU_SCALE = "1.0507009873554804934193349852946"


class Unsupported(Exception):
    """The body holds a node this evaluator does not know."""


# ---------------------------------------------------------------- backends


class Float64:
    """float64 arrays; undefined operations give NaN or inf, as NumPy does."""

    name = "float64"

    def number(self, value: Any) -> Any:
        try:
            return float(value)
        except (TypeError, ValueError):
            return math.nan  # zoo, nan

    def array(self, value: Any) -> np.ndarray:
        return np.asarray(value, dtype=float)

    def to_float(self, value: Any) -> np.ndarray:
        return np.asarray(value, dtype=float)

    def __init__(self) -> None:
        erf = np.vectorize(math.erf, otypes=[float])
        erfc = np.vectorize(math.erfc, otypes=[float])
        self.functions = {
            "exp": np.exp,
            "expm1": np.expm1,
            "log": np.log,
            "log1p": np.log1p,
            "sqrt": np.sqrt,
            "sin": np.sin,
            "cos": np.cos,
            "tan": np.tan,
            "tanh": np.tanh,
            "sinh": np.sinh,
            "cosh": np.cosh,
            "atan": np.arctan,
            "asin": np.arcsin,
            "acos": np.arccos,
            "erf": lambda x: erf(np.asarray(x, dtype=float)),
            "erfc": lambda x: erfc(np.asarray(x, dtype=float)),
            "floor": np.floor,
            "ceil": np.ceil,
            "rint": np.rint,
        }
        self.pi = math.pi

    def call(self, name: str, x: Any) -> Any:
        return self.functions[name](np.asarray(x, dtype=float))

    def divide(self, a: Any, b: Any) -> Any:
        return np.asarray(a, dtype=float) / np.asarray(b, dtype=float)

    def power(self, base: Any, exponent: Any) -> Any:
        base = np.asarray(base, dtype=float)
        exponent = np.asarray(exponent, dtype=float)
        if exponent.ndim == 0 and float(exponent).is_integer() and float(exponent) < 0:
            return 1.0 / base ** int(-float(exponent))
        return np.power(base, exponent)

    def isnan(self, x: Any) -> Any:
        return np.isnan(np.asarray(x, dtype=float))

    def isinf(self, x: Any) -> Any:
        return np.isinf(np.asarray(x, dtype=float))


def _real(function: Callable[[Any], Any], lo: float | None = None, hi: float | None = None) -> Any:
    """An mpmath function made real: NaN outside [lo, hi], its limit (an infinity) at an edge
    where mpmath raises, never a complex number."""

    def real(x: Any) -> Any:
        if mpmath.isnan(x):
            return mpmath.nan
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            return mpmath.nan
        try:
            value = function(x)
        except (ZeroDivisionError, ValueError):
            return mpmath.nan
        if isinstance(value, mpmath.mpc):
            return mpmath.nan if value.imag != 0 else value.real
        return value

    return np.frompyfunc(real, 1, 1)


def _mp_log(x: Any) -> Any:
    if x == 0:
        return mpmath.ninf
    return mpmath.log(x)


def _mp_log1p(x: Any) -> Any:
    if x == -1:
        return mpmath.ninf
    return mpmath.log1p(x)


def _mp_divide(a: Any, b: Any) -> Any:
    if b == 0:
        if a == 0 or mpmath.isnan(a):
            return mpmath.nan
        return mpmath.inf if a > 0 else mpmath.ninf
    return a / b


def _mp_power(base: Any, exponent: Any) -> Any:
    if mpmath.isnan(base) or mpmath.isnan(exponent):
        return mpmath.nan
    integral = mpmath.isint(exponent)
    if base == 0:
        if exponent < 0:
            return mpmath.inf  # (0 has no sign here: the limit from the positive side)
        return mpmath.mpf(1) if exponent == 0 else mpmath.mpf(0)
    if base < 0 and not integral:
        return mpmath.nan
    try:
        value = mpmath.power(base, int(exponent) if integral and abs(exponent) < 2**62 else exponent)
    except (ZeroDivisionError, ValueError, OverflowError):
        return mpmath.nan
    if isinstance(value, mpmath.mpc):
        return mpmath.nan if value.imag != 0 else value.real
    return value


def _mp_rint(x: Any) -> Any:
    """Round half to even, as numpy.rint."""
    if not mpmath.isfinite(x):
        return x
    floor = mpmath.floor(x)
    fraction = x - floor
    if fraction > 0.5 or (fraction == 0.5 and int(floor) % 2 == 1):
        return floor + 1
    return floor


class MultiPrecision:
    """Arrays of mpmath numbers at `dps` digits; undefined operations give NaN, poles infinities."""

    name = "mpmath"

    def __init__(self, dps: int = 60) -> None:
        self.dps = dps
        self.functions = {
            "exp": _real(mpmath.exp),
            "expm1": _real(mpmath.expm1),
            "log": _real(_mp_log, lo=0),
            "log1p": _real(_mp_log1p, lo=-1),
            "sqrt": _real(mpmath.sqrt, lo=0),
            "sin": _real(mpmath.sin),
            "cos": _real(mpmath.cos),
            "tan": _real(mpmath.tan),
            "tanh": _real(mpmath.tanh),
            "sinh": _real(mpmath.sinh),
            "cosh": _real(mpmath.cosh),
            "atan": _real(mpmath.atan),
            "asin": _real(mpmath.asin, lo=-1, hi=1),
            "acos": _real(mpmath.acos, lo=-1, hi=1),
            "erf": _real(mpmath.erf),
            "erfc": _real(mpmath.erfc),
            "floor": _real(mpmath.floor),
            "ceil": _real(mpmath.ceil),
            "rint": _real(_mp_rint),
        }
        self._divide = np.frompyfunc(_mp_divide, 2, 1)
        self._power = np.frompyfunc(_mp_power, 2, 1)
        self._isnan = np.frompyfunc(mpmath.isnan, 1, 1)
        self._isinf = np.frompyfunc(mpmath.isinf, 1, 1)
        self._to_float = np.frompyfunc(float, 1, 1)
        self._from_float = np.frompyfunc(mpmath.mpf, 1, 1)
        with mpmath.workdps(dps):
            self.pi = +mpmath.pi

    def number(self, value: Any) -> Any:
        if isinstance(value, (bool, np.bool_)):
            return value
        if isinstance(value, sp.Basic):
            if value is sp.oo:
                return mpmath.inf
            if value is sp.S.NegativeInfinity:
                return mpmath.ninf
            if value is sp.nan or value is sp.zoo:
                return mpmath.nan
            with mpmath.workdps(self.dps + 10):
                return mpmath.mpf(str(sp.N(value, self.dps + 10)))
        return mpmath.mpf(value)

    def array(self, value: Any) -> np.ndarray:
        array = np.asarray(value)
        if array.dtype == object:
            return array
        if array.dtype == bool:
            return array
        return np.asarray(self._from_float(array.astype(float)), dtype=object)

    def to_float(self, value: Any) -> np.ndarray:
        array = np.asarray(value)
        if array.dtype != object:
            return array.astype(float)
        return np.asarray(self._to_float(array), dtype=float)

    def call(self, name: str, x: Any) -> Any:
        return np.asarray(self.functions[name](_objects(x)), dtype=object)

    def divide(self, a: Any, b: Any) -> Any:
        return np.asarray(self._divide(_objects(a), _objects(b)), dtype=object)

    def power(self, base: Any, exponent: Any) -> Any:
        return np.asarray(self._power(_objects(base), _objects(exponent)), dtype=object)

    def isnan(self, x: Any) -> Any:
        return np.asarray(self._isnan(_objects(x)), dtype=bool)

    def isinf(self, x: Any) -> Any:
        return np.asarray(self._isinf(_objects(x)), dtype=bool)


def _objects(value: Any) -> np.ndarray:
    """A value as an object array of mpmath numbers (booleans become 0 and 1)."""
    array = np.asarray(value)
    if array.dtype == object:
        return array
    if array.dtype == bool:
        array = array.astype(np.int64)
    return np.asarray(np.frompyfunc(mpmath.mpf, 1, 1)(array), dtype=object)


FLOAT64 = Float64()


# ---------------------------------------------------------------- the body


@dataclass(frozen=True, slots=True)
class Switch:
    """A node whose piece can change (or whose argument crosses a singular point)."""

    node: Any
    slot: int
    state: Callable[..., Any]  # (backend, argument values, value) -> integer state per entry


class Body:
    """A SymPy body compiled into steps, evaluated on a backend by `run`."""

    def __init__(self, expr: Any):
        self.expr = expr
        self.nodes: list[Any] = []
        self.children: list[tuple[int, ...]] = []
        self.switches: list[Switch] = []
        self.stop_slots: list[int] = []
        self.symbols: dict[str, int] = {}
        self._slot_of: dict[Any, int] = {}
        self._constants: dict[tuple[str, int], dict[int, Any]] = {}
        self.output = self._compile(expr)

    def _compile(self, root: Any) -> int:
        stack: list[tuple[Any, bool, bool]] = [(root, False, False)]
        while stack:
            node, stopped, ready = stack.pop()
            if node in self._slot_of:
                continue
            parts = _parts(node)
            if not ready:
                stack.append((node, stopped, True))
                inner = stopped or isinstance(node, fn.StopGradient)
                stack.extend((child, inner, False) for child in parts if child not in self._slot_of)
                continue
            slot = len(self.nodes)
            self.nodes.append(node)
            self.children.append(tuple(self._slot_of[child] for child in parts))
            self._slot_of[node] = slot
            if isinstance(node, sp.Symbol):
                self.symbols[node.name] = slot
            elif isinstance(node, fn.StopGradient):
                self.stop_slots.append(slot)
            elif _operation(node) is None:
                raise Unsupported(f"cannot evaluate {type(node).__name__}")
            state = None if stopped else _state_of(node)
            if state is not None:
                self.switches.append(Switch(node, slot, state))
        return self._slot_of[root]

    def child_slots(self, slot: int) -> tuple[int, ...]:
        return self.children[slot]

    def run(
        self,
        env: Mapping[str, Any],
        frozen: Mapping[int, Any] | None = None,
        backend: Any = FLOAT64,
        states: bool = True,
    ) -> tuple[Any, list[Any]]:
        """The value at every point of the batch and, if asked, the state of each switch."""
        values = self._values(env, frozen, backend)
        recorded = []
        if states:
            with np.errstate(all="ignore"):
                for switch in self.switches:
                    arguments = [values[child] for child in self.children[switch.slot]]
                    recorded.append(np.asarray(switch.state(backend, arguments, values[switch.slot])))
        return values[self.output], recorded

    def values_of(
        self,
        env: Mapping[str, Any],
        slots: Sequence[int],
        frozen: Mapping[int, Any] | None = None,
        backend: Any = FLOAT64,
    ) -> list[Any]:
        values = self._values(env, frozen, backend)
        return [values[slot] for slot in slots]

    def _values(self, env: Mapping[str, Any], frozen: Mapping[int, Any] | None, backend: Any) -> list[Any]:
        values: list[Any] = [None] * len(self.nodes)
        constants = self._constants.setdefault((backend.name, getattr(backend, "dps", 0)), {})
        context = mpmath.workdps(backend.dps) if backend is not FLOAT64 else contextlib.nullcontext()
        with np.errstate(all="ignore"), context:
            for slot, node in enumerate(self.nodes):
                if frozen and slot in frozen:
                    values[slot] = backend.array(frozen[slot])
                    continue
                if isinstance(node, sp.Symbol):
                    values[slot] = backend.array(env[node.name])
                    continue
                if slot in constants:
                    values[slot] = constants[slot]
                    continue
                operation = _operation(node)
                arguments = [values[child] for child in self.children[slot]]
                values[slot] = operation(backend, node, arguments)
                if operation is _number:
                    constants[slot] = values[slot]
        return values


def _parts(node: Any) -> tuple[Any, ...]:
    if isinstance(node, sp.Piecewise):
        return tuple(part for pair in node.args for part in pair)
    if isinstance(node, (sp.Symbol, sp.Number, sp.NumberSymbol, BooleanTrue, BooleanFalse)):
        return ()
    if node in (sp.oo, sp.S.NegativeInfinity, sp.nan, sp.zoo):
        return ()
    return tuple(node.args)


# ---------------------------------------------------------------- operations


def _number(backend: Any, node: Any, _: Sequence[Any]) -> Any:
    if backend is FLOAT64:
        return backend.array(backend.number(node))
    return np.asarray(backend.number(node), dtype=object)


def _boolean(backend: Any, node: Any, _: Sequence[Any]) -> Any:
    return np.asarray(bool(node))


def _numeric(backend: Any, value: Any) -> Any:
    """A boolean used as a number is 1 where true, 0 where false."""
    array = np.asarray(value)
    if array.dtype == bool:
        return backend.array(array.astype(float))
    return array


def _add(backend: Any, node: Any, arguments: Sequence[Any]) -> Any:
    total = _numeric(backend, arguments[0])
    for value in arguments[1:]:
        total = total + _numeric(backend, value)
    return total


def _mul(backend: Any, node: Any, arguments: Sequence[Any]) -> Any:
    total = _numeric(backend, arguments[0])
    for value in arguments[1:]:
        total = total * _numeric(backend, value)
    return total


def _pow(backend: Any, node: Any, arguments: Sequence[Any]) -> Any:
    base, exponent = (_numeric(backend, value) for value in arguments)
    if node.args[1] == -1:
        return backend.divide(backend.array(1.0), base)
    if node.args[1] == 2:
        return base * base
    return backend.power(base, exponent)


def _function(name: str) -> Callable[..., Any]:
    return lambda backend, node, arguments: backend.call(name, _numeric(backend, arguments[0]))


def _where(condition: Any, a: Any, b: Any) -> Any:
    condition = np.asarray(condition, dtype=bool)
    return np.where(condition, a, b)


def _piecewise(backend: Any, node: Any, arguments: Sequence[Any]) -> Any:
    pairs = list(zip(arguments[0::2], arguments[1::2]))
    value = _numeric(backend, pairs[-1][0])
    for expr, condition in reversed(pairs[:-1]):
        value = _where(condition, _numeric(backend, expr), value)
    return value


def _piece(backend: Any, arguments: Sequence[Any], value: Any) -> Any:
    conditions = [np.asarray(condition, dtype=bool) for condition in arguments[1::2]]
    piece = np.full(np.broadcast_shapes(*[c.shape for c in conditions]), len(conditions) - 1)
    for index in range(len(conditions) - 2, -1, -1):
        piece = np.where(conditions[index], index, piece)
    return piece


def _relation(compare: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    return lambda backend, node, arguments: np.asarray(
        compare(_numeric(backend, arguments[0]), _numeric(backend, arguments[1])), dtype=bool
    )


def _logic(combine: Callable[..., Any]) -> Callable[..., Any]:
    def run(backend: Any, node: Any, arguments: Sequence[Any]) -> Any:
        flags = np.broadcast_arrays(*[_truth(backend, value) for value in arguments])
        return np.asarray(combine(flags), dtype=bool)

    return run


def _truth(backend: Any, value: Any) -> Any:
    """A value used as a condition: a number means `!= 0`."""
    array = np.asarray(value)
    return array if array.dtype == bool else np.asarray(array != 0, dtype=bool)


def _sign(backend: Any, x: Any) -> Any:
    x = _numeric(backend, x)
    return backend.array((x > 0).astype(float) - (x < 0).astype(float))


def _abs(backend: Any, x: Any) -> Any:
    return np.where(np.asarray(x < 0, dtype=bool), -x, x)


def _maximum(backend: Any, values: Sequence[Any]) -> Any:
    values = [_numeric(backend, value) for value in values]
    out = values[0]
    for value in values[1:]:
        out = np.where(np.asarray(value > out, dtype=bool) | backend.isnan(value), value, out)
    return out


def _minimum(backend: Any, values: Sequence[Any]) -> Any:
    values = [_numeric(backend, value) for value in values]
    out = values[0]
    for value in values[1:]:
        out = np.where(np.asarray(value < out, dtype=bool) | backend.isnan(value), value, out)
    return out


def _sigmoid(backend: Any, x: Any) -> Any:
    # written so that neither side overflows: e^-|x| is at most 1
    e = backend.call("exp", -_abs(backend, x))
    one = backend.array(1.0)
    return np.where(np.asarray(x >= 0, dtype=bool), backend.divide(one, one + e), backend.divide(e, one + e))


def _softplus(backend: Any, x: Any) -> Any:
    zero = backend.array(0.0)
    return _maximum(backend, [x, zero]) + backend.call("log1p", backend.call("exp", -_abs(backend, x)))


def _last(value: Any) -> np.ndarray:
    array = np.asarray(value)
    return array[None] if array.ndim == 0 else array


def _reduce_sum(backend: Any, x: Any) -> Any:
    x = _last(_numeric(backend, x))
    total = x[..., :1]
    for index in range(1, x.shape[-1]):
        total = total + x[..., index : index + 1]
    return total


def _reduce_max(backend: Any, x: Any) -> Any:
    x = _last(_numeric(backend, x))
    return _maximum(backend, [x[..., index : index + 1] for index in range(x.shape[-1])])


def _reduce_min(backend: Any, x: Any) -> Any:
    x = _last(_numeric(backend, x))
    return _minimum(backend, [x[..., index : index + 1] for index in range(x.shape[-1])])


def _width(x: Any) -> int:
    array = np.asarray(x)
    return array.shape[-1] if array.ndim else 1


def _mean(backend: Any, x: Any) -> Any:
    return backend.divide(_reduce_sum(backend, x), backend.array(float(_width(x))))


def _var(backend: Any, x: Any) -> Any:
    x = _last(_numeric(backend, x))
    centred = x - _mean(backend, x)
    return _mean(backend, centred * centred)


def _prod(backend: Any, x: Any) -> Any:
    x = _last(_numeric(backend, x))
    total = x[..., :1]
    for index in range(1, x.shape[-1]):
        total = total * x[..., index : index + 1]
    return total


def _logsumexp(backend: Any, x: Any) -> Any:
    x = _last(_numeric(backend, x))
    peak = _reduce_max(backend, x)
    finite = np.where(
        np.asarray(backend.isinf(peak) | backend.isnan(peak), dtype=bool), backend.array(0.0), peak
    )
    return finite + backend.call("log", _reduce_sum(backend, backend.call("exp", x - finite)))


def _softmax(backend: Any, x: Any) -> Any:
    x = _last(_numeric(backend, x))
    e = backend.call("exp", x - _reduce_max(backend, x))
    return backend.divide(e, _reduce_sum(backend, e))


def _log_softmax(backend: Any, x: Any) -> Any:
    x = _last(_numeric(backend, x))
    return x - _logsumexp(backend, x)


def _cumsum(backend: Any, x: Any) -> Any:
    x = _last(_numeric(backend, x))
    columns = [x[..., :1]]
    for index in range(1, x.shape[-1]):
        columns.append(columns[-1] + x[..., index : index + 1])
    return np.concatenate(columns, axis=-1)


def _order(backend: Any, x: Any) -> np.ndarray:
    """The stable ascending order of the entries (NaN last), as integer positions."""
    x = _last(_numeric(backend, x))
    keys = backend.to_float(x)  # ties and order are decided in float64 only where float64 ties
    if x.dtype == object:
        rows = []
        flat = x.reshape(-1, x.shape[-1])
        for row in flat:
            rows.append(
                sorted(
                    range(len(row)),
                    key=lambda i, r=row: (mpmath.isnan(r[i]), r[i] if not mpmath.isnan(r[i]) else 0, i),
                )
            )
        return np.asarray(rows, dtype=np.int64).reshape(x.shape)
    return np.argsort(keys, axis=-1, kind="stable")


def _sort(backend: Any, x: Any) -> Any:
    x = _last(_numeric(backend, x))
    return np.take_along_axis(x, _order(backend, x), axis=-1)


def _argsort(backend: Any, x: Any) -> Any:
    return backend.array(_order(backend, x).astype(float))


def _argmax(backend: Any, x: Any) -> Any:
    x = _last(_numeric(backend, x))
    best = np.zeros(x.shape[:-1] + (1,), dtype=np.int64)
    top = x[..., :1]
    for index in range(1, x.shape[-1]):
        column = x[..., index : index + 1]
        better = np.asarray(column > top, dtype=bool)
        best = np.where(better, index, best)
        top = np.where(better, column, top)
    return best


def _argmin(backend: Any, x: Any) -> Any:
    return _argmax(backend, -_last(_numeric(backend, x)))


def _indices(backend: Any, index: Any, width: int) -> np.ndarray:
    """An index used to pick entries: truncated to an integer, NaN as 0, clipped to the axis."""
    as_float = np.nan_to_num(backend.to_float(_numeric(backend, index)))
    return np.clip(np.trunc(as_float).astype(np.int64), 0, width - 1)


def _take(backend: Any, v: Any, index: Any) -> Any:
    v = _last(_numeric(backend, v))
    index = _last(_numeric(backend, index))
    v, index = np.broadcast_arrays(v, index)
    return np.take_along_axis(v, _indices(backend, index, v.shape[-1]), axis=-1)


def _one_hot(backend: Any, index: Any) -> Any:
    index = _last(_numeric(backend, index))
    width = max(index.shape[-1], 3)
    if index.shape[-1] == 1:
        hits = np.concatenate([np.asarray(index == k, dtype=bool) for k in range(width)], axis=-1)
    else:
        hits = np.concatenate(
            [np.asarray(index[..., k : k + 1] == k, dtype=bool) for k in range(index.shape[-1])], axis=-1
        )
    return backend.array(hits.astype(float))


def _in_top_k(backend: Any, v: Any, index: Any, k: int) -> Any:
    v = _last(_numeric(backend, v))
    target = _take(backend, v, index)
    larger = np.sum(np.asarray(v > target, dtype=np.int64), axis=-1, keepdims=True)
    return np.asarray(larger < k, dtype=bool)


def _top_k(backend: Any, v: Any, k: int) -> Any:
    ordered = _sort(backend, -_last(_numeric(backend, v)))
    return -ordered[..., : max(1, k)]


def _norm(backend: Any, v: Any, order: float) -> Any:
    v = _last(_numeric(backend, v))
    if order == 1:
        return _reduce_sum(backend, _abs(backend, v))
    if math.isinf(order):
        return _reduce_max(backend, _abs(backend, v))
    return backend.call("sqrt", _reduce_sum(backend, v * v))


def _subscript(backend: Any, x: Any, first: int, last: int, stride: int, drop: int) -> Any:
    x = _last(_numeric(backend, x))
    width = x.shape[-1]
    if drop:
        position = min(max(first if first >= 0 else width + first, 0), width - 1)
        return x[..., position : position + 1]
    picked = x[..., first:last:stride]
    return picked if picked.shape[-1] else x[..., :1]


def _integer(node: Any) -> int:
    return int(float(node))


def _custom(backend: Any, node: Any, arguments: Sequence[Any]) -> Any:
    """The functions of the language that SymPy does not have, from their meaning."""
    b = backend
    a = [_numeric(b, value) for value in arguments]
    one, zero, half = b.array(1.0), b.array(0.0), b.array(0.5)
    kind = type(node)
    x = a[0] if a else None
    if kind is fn.Sigmoid:
        return _sigmoid(b, x)
    if kind is fn.Softplus:
        return _softplus(b, x)
    if kind is fn.LogSigmoid:
        return -_softplus(b, -x)
    if kind is fn.Silu:
        return x * _sigmoid(b, x)
    if kind is fn.Gelu:
        if float(node.args[1]) != 0:
            inner = b.call("sqrt", b.divide(b.array(2.0), b.array(b.pi))) * (
                x + b.number("0.044715") * x * x * x
            )
            return half * x * (one + b.call("tanh", inner))
        return half * x * (one + b.call("erf", b.divide(x, b.call("sqrt", b.array(2.0)))))
    if kind is fn.Mish:
        return x * b.call("tanh", _softplus(b, x))
    if kind is fn.Selu:
        negative = b.number(SELU_ALPHA) * b.call("expm1", _minimum(b, [x, zero]))
        return b.number(SELU_SCALE) * _where(x > 0, x, negative)
    if kind is fn.Softsign:
        return b.divide(x, one + _abs(b, x))
    if kind is fn.Squareplus:
        return half * (x + b.call("sqrt", x * x + a[1]))
    if kind is fn.Expm1:
        return b.call("expm1", x)
    if kind is fn.Log1p:
        return b.call("log1p", x)
    if kind is fn.Xlogy:
        safe = _where(a[0] == 0, one, a[1])
        return _where(a[0] == 0, zero, a[0] * b.call("log", safe))
    if kind is fn.Huber:
        delta = a[1]
        size = _abs(b, x)
        return _where(size <= delta, half * x * x, delta * (size - half * delta))
    if kind is fn.Elu:
        return _where(x > 0, x, a[1] * b.call("expm1", _minimum(b, [x, zero])))
    if kind is fn.Celu:
        return _where(x > 0, x, a[1] * b.call("expm1", b.divide(_minimum(b, [x, zero]), a[1])))
    if kind is fn.Relu:
        return _where(x > 0, x, zero)
    if kind is fn.Relu6:
        return _minimum(b, [_maximum(b, [x, zero]), b.array(6.0)])
    if kind is fn.HardTanh:
        return _minimum(b, [_maximum(b, [x, -one]), one])
    if kind is fn.Clip:
        return _minimum(b, [_maximum(b, [x, a[1]]), a[2]])
    if kind is fn.LeakyRelu:
        return _where(x > 0, x, a[1] * x)
    if kind is fn.SparsePlus:
        return _where(x <= -1, zero, _where(x >= 1, x, b.number("0.25") * (x + one) * (x + one)))
    if kind is fn.SoftShrink:
        t = a[1]
        return _where(x > t, x - t, _where(x < -t, x + t, zero))
    if kind is fn.HardShrink:
        return _where(_abs(b, x) > a[1], x, zero)
    if kind is fn.DivideNoNan:
        safe = _where(a[1] == 0, one, a[1])
        return _where(a[1] == 0, zero, b.divide(a[0], safe))
    if kind is fn.Round:
        return b.call("rint", x)
    if kind is fn.StopGradient:
        return x
    if kind is fn.ReduceSum:
        return _reduce_sum(b, x)
    if kind is fn.ReduceMean:
        return _mean(b, x)
    if kind is fn.ReduceProd:
        return _prod(b, x)
    if kind is fn.ReduceVar:
        return _var(b, x)
    if kind is fn.ReduceMax:
        return _reduce_max(b, x)
    if kind is fn.ReduceMin:
        return _reduce_min(b, x)
    if kind is fn.LogSumExp:
        return _logsumexp(b, x)
    if kind is fn.Softmax:
        return _softmax(b, x)
    if kind is fn.LogSoftmax:
        return _log_softmax(b, x)
    if kind is fn.CumSum:
        return _cumsum(b, x)
    if kind is fn.Sort:
        return _sort(b, x)
    if kind is fn.ArgSort:
        return _argsort(b, x)
    if kind is fn.TopKValues:
        return _top_k(b, x, _integer(node.args[1]))
    if kind is fn.Norm:
        return _norm(b, x, float(node.args[1]))
    if kind is fn.Dot:
        return _reduce_sum(b, _last(x) * _last(a[1]))
    if kind is fn.Size:
        return b.array(float(_width(x)))
    if kind is fn.RangeLike:
        width = _width(x)
        row = b.array(np.arange(width, dtype=float))
        return row + zero * _last(x) if np.asarray(x).ndim else zero
    if kind is fn.ArgMax:
        return b.array(_argmax(b, x).astype(float))
    if kind is fn.ArgMin:
        return b.array(_argmin(b, x).astype(float))
    if kind is fn.OneHot:
        return _one_hot(b, x)
    if kind is fn.Take:
        return _take(b, x, a[1])
    if kind is fn.Subscript:
        return _subscript(b, x, *(_integer(value) for value in node.args[1:]))
    if kind is fn.InTopK:
        return _in_top_k(b, x, a[1], _integer(node.args[2]))
    if kind is fn.ReduceAll:
        return np.all(_last(_truth(b, arguments[0])), axis=-1, keepdims=True)
    if kind is fn.ReduceAny:
        return np.any(_last(_truth(b, arguments[0])), axis=-1, keepdims=True)
    if kind is fn.IsNan:
        return b.isnan(x)
    if kind is fn.IsInf:
        return b.isinf(x)
    raise Unsupported(f"cannot evaluate {kind.__name__}")


_CUSTOM = frozenset(
    {
        fn.Sigmoid, fn.Softplus, fn.LogSigmoid, fn.Silu, fn.Gelu, fn.Mish, fn.Selu, fn.Softsign,
        fn.Squareplus, fn.Expm1, fn.Log1p, fn.Xlogy, fn.Huber, fn.Elu, fn.Celu, fn.Relu, fn.Relu6,
        fn.HardTanh, fn.Clip, fn.LeakyRelu, fn.SparsePlus, fn.SoftShrink, fn.HardShrink,
        fn.DivideNoNan, fn.Round, fn.StopGradient, fn.ReduceSum, fn.ReduceMean, fn.ReduceProd,
        fn.ReduceVar, fn.ReduceMax, fn.ReduceMin, fn.LogSumExp, fn.Softmax, fn.LogSoftmax,
        fn.CumSum, fn.Sort, fn.ArgSort, fn.TopKValues, fn.Norm, fn.Dot, fn.Size, fn.RangeLike,
        fn.ArgMax, fn.ArgMin, fn.OneHot, fn.Take, fn.Subscript, fn.InTopK, fn.ReduceAll,
        fn.ReduceAny, fn.IsNan, fn.IsInf,
    }
)  # fmt: skip

_ELEMENTARY = {
    sp.exp: "exp",
    sp.log: "log",
    sp.sin: "sin",
    sp.cos: "cos",
    sp.tan: "tan",
    sp.tanh: "tanh",
    sp.sinh: "sinh",
    sp.cosh: "cosh",
    sp.atan: "atan",
    sp.asin: "asin",
    sp.acos: "acos",
    sp.erf: "erf",
    sp.erfc: "erfc",
    sp.floor: "floor",
    sp.ceiling: "ceil",
}

_RELATIONS = {
    sp.StrictLessThan: np.less,
    sp.LessThan: np.less_equal,
    sp.StrictGreaterThan: np.greater,
    sp.GreaterThan: np.greater_equal,
    sp.Eq: np.equal,
    sp.Ne: np.not_equal,
}


def _mod(backend: Any, node: Any, arguments: Sequence[Any]) -> Any:
    x, m = (_numeric(backend, value) for value in arguments)
    return x - m * backend.call("floor", backend.divide(x, m))


def _heaviside(backend: Any, node: Any, arguments: Sequence[Any]) -> Any:
    x = _numeric(backend, arguments[0])
    h0 = _numeric(backend, arguments[1]) if len(arguments) > 1 else backend.array(0.5)
    return _where(x > 0, backend.array(1.0), _where(x < 0, backend.array(0.0), h0))


def _operation(node: Any) -> Callable[..., Any] | None:
    kind = type(node)
    if isinstance(node, (sp.Number, sp.NumberSymbol)) or node in (
        sp.oo,
        sp.S.NegativeInfinity,
        sp.nan,
        sp.zoo,
    ):
        return _number
    if isinstance(node, (BooleanTrue, BooleanFalse)):
        return _boolean
    if isinstance(node, sp.Add):
        return _add
    if isinstance(node, sp.Mul):
        return _mul
    if isinstance(node, sp.Pow):
        return _pow
    if kind in _ELEMENTARY:
        return _function(_ELEMENTARY[kind])
    if isinstance(node, sp.Abs):
        return lambda backend, node, arguments: _abs(backend, _numeric(backend, arguments[0]))
    if isinstance(node, sp.sign):
        return lambda backend, node, arguments: _sign(backend, arguments[0])
    if isinstance(node, sp.Heaviside):
        return _heaviside
    if isinstance(node, sp.Max):
        return lambda backend, node, arguments: _maximum(backend, arguments)
    if isinstance(node, sp.Min):
        return lambda backend, node, arguments: _minimum(backend, arguments)
    if isinstance(node, sp.Mod):
        return _mod
    if isinstance(node, sp.Piecewise):
        return _piecewise
    if kind in _RELATIONS:
        return _relation(_RELATIONS[kind])
    if isinstance(node, sp.And):
        return _logic(lambda flags: np.logical_and.reduce(flags))
    if isinstance(node, sp.Or):
        return _logic(lambda flags: np.logical_or.reduce(flags))
    if isinstance(node, Xor):
        return _logic(lambda flags: np.logical_xor.reduce(flags))
    if isinstance(node, Equivalent):
        return _logic(lambda flags: np.logical_and.reduce([flag == flags[0] for flag in flags]))
    if isinstance(node, sp.Not):
        return _logic(lambda flags: np.logical_not(flags[0]))
    if isinstance(node, ITE):
        return lambda backend, node, arguments: _where(
            _truth(backend, arguments[0]), _numeric(backend, arguments[1]), _numeric(backend, arguments[2])
        )
    if kind in _CUSTOM:
        return _custom
    return None


# ---------------------------------------------------------------- switch states


def _side(backend: Any, value: Any, *thresholds: Any) -> Any:
    """How many of the thresholds `value` is above, per entry (NaN counts as below all)."""
    value = _numeric(backend, value)
    count = np.zeros(np.shape(value), dtype=np.int64)
    for threshold in thresholds:
        count = count + np.asarray(value > threshold, dtype=np.int64)
    return count


def _signs(backend: Any, value: Any) -> Any:
    value = _numeric(backend, value)
    return np.asarray(value > 0, dtype=np.int64) - np.asarray(value < 0, dtype=np.int64)


def _integer_state(backend: Any, value: Any) -> Any:
    as_float = np.nan_to_num(backend.to_float(_numeric(backend, value)), posinf=2.0**62, neginf=-(2.0**62))
    return np.clip(as_float, -(2.0**62), 2.0**62).astype(np.int64)


def _state_of(node: Any) -> Callable[..., Any] | None:
    """The state of a switching node (its piece) or of a singular one (the side of its singular
    point): a function of the backend, the argument values and the node's value."""
    kind = type(node)
    if isinstance(node, sp.Piecewise):
        return lambda b, a, v: _piece(b, a, v)
    if kind in _RELATIONS:
        return lambda b, a, v: np.asarray(v, dtype=np.int64)
    if isinstance(node, (sp.Abs, sp.sign, sp.Heaviside)) or kind in (
        fn.Relu,
        fn.LeakyRelu,
        fn.Elu,
        fn.Celu,
        fn.Selu,
        fn.Softsign,
    ):
        return lambda b, a, v: _signs(b, a[0])
    if isinstance(node, (sp.Max, sp.Min)):
        choose = _argmax if isinstance(node, sp.Max) else _argmin
        return lambda b, a, v: choose(
            b, np.concatenate(np.broadcast_arrays(*[_last(_numeric(b, x))[..., None] for x in a]), axis=-1)
        )[..., 0]
    if isinstance(node, (sp.floor, sp.ceiling)) or kind is fn.Round:
        return lambda b, a, v: _integer_state(b, v)
    if isinstance(node, sp.Mod):
        return lambda b, a, v: _integer_state(
            b, b.call("floor", b.divide(_numeric(b, a[0]), _numeric(b, a[1])))
        )
    if kind is fn.Relu6:
        return lambda b, a, v: _side(b, a[0], b.array(0.0), b.array(6.0))
    if kind in (fn.HardTanh, fn.SparsePlus):
        return lambda b, a, v: _side(b, a[0], b.array(-1.0), b.array(1.0))
    if kind is fn.Clip:
        return lambda b, a, v: _side(b, a[0], _numeric(b, a[1]), _numeric(b, a[2]))
    if kind in (fn.Huber, fn.SoftShrink, fn.HardShrink):
        return lambda b, a, v: _side(b, a[0], -_numeric(b, a[1]), _numeric(b, a[1]))
    if kind is fn.DivideNoNan:
        return lambda b, a, v: _signs(b, a[1])
    if kind in (fn.ReduceMax, fn.ReduceMin, fn.ArgMax, fn.ArgMin):
        choose = _argmax if kind in (fn.ReduceMax, fn.ArgMax) else _argmin
        return lambda b, a, v: choose(b, a[0])
    if kind in (fn.Sort, fn.ArgSort, fn.TopKValues):
        return lambda b, a, v: _permutation(b, a[0])
    if kind is fn.Norm:
        order = float(node.args[1])
        if order == 1:
            return lambda b, a, v: _signs(b, a[0])
        if math.isinf(order):
            return lambda b, a, v: (
                _argmax(b, _abs(b, _last(_numeric(b, a[0])))) * 3
                + _signs(b, _take(b, a[0], _argmax(b, _abs(b, _last(_numeric(b, a[0]))))))
            )
        return lambda b, a, v: _signs(b, _reduce_sum(b, _last(_numeric(b, a[0]))))
    if kind is fn.Take:
        return lambda b, a, v: _indices(b, _last(_numeric(b, a[1])), max(_width(a[0]), 1))
    if kind in (fn.OneHot,):
        return lambda b, a, v: _integer_state(b, v)
    if kind is fn.InTopK:
        return lambda b, a, v: np.asarray(v, dtype=np.int64)
    # singular points: the side of the quantity whose zero is singular
    if isinstance(node, sp.Pow) and not (node.args[1].is_Integer and node.args[1] >= 0):
        return lambda b, a, v: _signs(b, a[0])
    if isinstance(node, sp.log):
        return lambda b, a, v: _signs(b, a[0])
    if kind is fn.Log1p:
        return lambda b, a, v: _signs(b, _numeric(b, a[0]) + b.array(1.0))
    if kind is fn.Xlogy:
        return lambda b, a, v: _signs(b, a[1])
    if isinstance(node, sp.tan):
        return lambda b, a, v: _integer_state(
            b, b.call("floor", b.divide(_numeric(b, a[0]), b.array(b.pi)) + b.array(0.5))
        )
    if isinstance(node, (sp.asin, sp.acos)):
        return lambda b, a, v: _signs(b, b.array(1.0) - _numeric(b, a[0]) * _numeric(b, a[0]))
    return None


def _permutation(backend: Any, x: Any) -> Any:
    order = _order(backend, x)
    width = order.shape[-1]
    return np.sum(order * width ** np.arange(width), axis=-1, keepdims=True)
