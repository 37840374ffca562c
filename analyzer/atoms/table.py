"""The atom table: every function of the language, its aliases, and its local facts, as data rows.

Like CVXPY's atoms, a row states only local facts about one function applied to its arguments: where
it kinks, where it jumps, where it is flat, where it is singular, whether its derivative is zero
almost everywhere (JAX's `defjvp_zero`), how TensorFlow computes it, what TensorFlow's gradient is
at the kink, and which differentiable surrogate replaces it. One function, `classify`, composes
these facts over a whole definition; no row knows about any other.

Locations are templates over the arguments' source text (`{0}`, `{1}`): the checker fills them in
with the caller's own expressions so a finding reads `1 - y * s == 0`, not `_arg0 == 0`.

The numeric facts used to confirm candidates are two functions per row:
- `numeric(*values)` evaluates the atom on float64 arrays whose last axis is the vector axis;
- `switch(*values)` returns the integer state of the atom's piece (which side of the kink, which
  argument wins, which integer `floor` returns). The value is smooth while every state is fixed,
  so the places where a state changes are the only candidates for kinks and jumps.

The table is built once at import and is immutable (`MappingProxyType`).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import sympy as sp
from sympy.logic.boolalg import Boolean, BooleanFunction

from . import functions as fn

NO_DEFAULT: Any = object()
# The value a builder gets for an "optional" parameter that was not given (`torch.clamp(x, min=0)`).
ABSENT: Any = sp.Symbol("_absent_argument")

# ------------------------------------------------------------------ row types


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    default: Any = NO_DEFAULT
    keywords: tuple[str, ...] = ()
    kind: str = "expr"  # "expr", "condition", "axis", "flag", "dtype", "int", "optional" (an expr or ABSENT)

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.keywords)


@dataclass(frozen=True, slots=True)
class Surrogate:
    """A differentiable stand-in: `template` over the argument texts and the temperature `t`."""

    name: str
    template: str
    temperature: float | None = None
    # The same surrogate when argument {1} is the number 0 (`max(1 - y*s, 0)`), which reads far
    # better without the `0 + ... - 0` the general template would print.
    against_zero: str | None = None

    def render(self, args: Sequence[str]) -> str:
        """Fill the template; an argument gets parentheses unless it stands alone in a call."""
        template = self.template
        if self.against_zero is not None and len(args) > 1:
            if _is_zero(args[0]) and not _is_zero(args[1]):
                args = [args[1], args[0], *args[2:]]  # max and min do not care about the order
            if _is_zero(args[1]):
                template = self.against_zero
        return _fill(template, args, _not_alone_in_a_call, self.temperature)


def fill_location(template: str, args: Sequence[str]) -> str:
    """Fill a location template (`{0} / {1} is an integer`) with the arguments' texts, grouping an
    argument that sits beside an operator binding tighter than its own (`(x + x) / m`)."""
    return _fill(template, args, _beside_a_tight_operator)


def _not_alone_in_a_call(before: str, after: str) -> bool:
    return not (before.rstrip().endswith(("(", ",")) and after.lstrip().startswith((")", ",")))


def _beside_a_tight_operator(before: str, after: str) -> bool:
    return before.rstrip().endswith(("*", "/", "^", "-", "%")) or after.lstrip().startswith(
        ("*", "/", "^", "%")
    )


def _fill(
    template: str,
    args: Sequence[str],
    needs_group: Callable[[str, str], bool],
    temperature: float | None = None,
) -> str:
    """Fill `{0}`, `{1}`, ... with the argument texts (grouped where `needs_group(text before, text
    after)` says so) and `{t}` with the temperature."""
    pieces = list(string.Formatter().parse(template))
    out = []
    for index, (literal, name, _, _) in enumerate(pieces):
        out.append(literal)
        if name is None:
            continue
        if name == "t":
            out.append(str(temperature))
            continue
        text = args[int(name)]
        following = pieces[index + 1][0] if index + 1 < len(pieces) else ""
        out.append(_grouped(text) if needs_group(literal, following) else text)
    return "".join(out)


def _is_zero(text: str) -> bool:
    return re.fullmatch(r"[+-]?0*\.?0*", text.strip()) is not None and any(c == "0" for c in text)


def _grouped(text: str) -> str:
    """Parenthesise an argument's text unless it is a name, a number or a call."""
    if re.fullmatch(r"[\w.]+", text):
        return text
    if re.fullmatch(r"[\w.]+\(.*\)", text):
        depth = 0
        for position, char in enumerate(text):
            depth += char == "("
            depth -= char == ")"
            if depth == 0 and char == ")" and position != len(text) - 1:
                return f"({text})"
        return text
    return f"({text})" if text else text


# What a function does to the vector axis (the last one, LANGUAGE.md §2): a row's `shape`. Every
# list of classes the rest of the package needs (the vector functions, those that take an axis,
# those that reduce it) is derived from it, below the rows.
ELEMENTWISE = "elementwise"  # entry by entry, arguments broadcast (exp, relu, max of several)
REDUCTION = "reduction"  # the axis reduced to one entry (sum, reduce_max, norm, dot, all)
ALONG = "along"  # a vector from the whole axis, each entry depending on all of it (softmax, sort)
INDEX = "index"  # the position of an entry along the axis, reduced to one (argmax, argmin)
GATHER = "gather"  # entries chosen by a position or an index (take, x[..., 1:], one_hot)
SIZE = "size"  # a function of the axis' length only (size, range_like)
SHAPES = (ELEMENTWISE, REDUCTION, ALONG, INDEX, GATHER, SIZE)


@dataclass(frozen=True, slots=True)
class Atom:
    name: str
    params: tuple[Param, ...]
    build: Callable[..., Any]
    aliases: tuple[str, ...] = ()
    variadic: bool = False
    node: type | None = None  # the SymPy class whose nodes this row describes
    shape: str = ELEMENTWISE  # what it does to the vector axis (SHAPES)
    summary: str = "smooth"
    numeric: Callable[..., Any] | None = None
    switch: Callable[..., Any] | None = None
    kinks: tuple[str, ...] = ()
    jumps: tuple[str, ...] = ()
    flat: tuple[str, ...] = ()
    singular: tuple[str, ...] = ()
    singular_at: Callable[..., Any] | None = None  # the quantity whose zero is singular
    singular_if: Callable[..., bool] | None = None  # for rows singular only for some arguments
    slope_infinite_if: Callable[..., bool] | None = None  # its own slope is infinite at its singular zero
    zero_gradient: frozenset[int] = frozenset()  # argument positions with zero derivative a.e.
    smoothness: int = 2
    # How `kinks tf` writes the node (the TensorFlow column): `tf`, a template over the arguments'
    # code that the printer fills, exactly what is printed; or, where the code depends on the
    # arguments (which of them move, a tie, a dtype), `tf_method`, the name of the
    # `TensorFlowPrinter` method that writes it (tensorflow/tf_printer.py). A row without a node
    # has neither: its formula's functions are printed.
    tf: str = ""
    tf_method: str = ""
    surrogates: tuple[Surrogate, ...] = ()
    state_surfaces: Callable[[int, int], int] | None = None  # (state, state) -> index into kinks/jumps
    flat_states: Mapping[int, int] = field(default_factory=dict)  # state -> index into flat
    # Griewank's switching variables: quantities whose zero sets are where `switch` changes (the
    # solver looks for their zeros; a quantity that never changes sign is minimised instead).
    crossings: Callable[..., tuple[Any, ...]] | None = None
    # Where its pieces meet, one template per crossing, for rows whose meeting is neither a kink
    # nor a jump (huber is C1 there): the places a constant piece is said to begin.
    surfaces: tuple[str, ...] = ()
    # The SymPy expression of the atom on one piece (`state` as `switch` numbers it), for the
    # certificate that a piece is flat: the body with every switch fixed has a zero derivative.
    piece: Callable[..., Any] | None = None
    # Forward-mode rule, for functions whose derivative is not elementwise (reductions, vector
    # functions) or not given by `fdiff`: (argument values, their tangents or None, value) -> tangent.
    # Other rows are differentiated through their SymPy class's `fdiff`.
    jvp: Callable[[Sequence[Any], Sequence[Any], Any], Any] | None = None
    # A vector function written entry by entry in SymPy, for the exact reference of `kinks verify`:
    # (the entries of each argument, one entry broadcasting; the vector's length) -> the entries
    # of the value. Elementwise rows need none.
    entries: Callable[[Sequence[Sequence[Any]], int], list[Any]] | None = None
    # Facts the code generator's rewrites read (tensorflow/rewrite.py): the value is never
    # negative (relu, abs, var: sqrt of it gets slope 0 at 0); linear in its one argument (sum,
    # mean: f(-x) == -f(x), and f(x) >= 0 where x >= 0); it overflows for a large argument (exp,
    # cosh: guarded in a branch that is not taken).
    nonnegative: bool = False
    linear: bool = False
    overflows: bool = False

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def takes_axis(self) -> bool:
        return any(param.kind == "axis" for param in self.params)

    @property
    def is_condition(self) -> bool:
        """Its node is a condition (a comparison, `and`, `all`, `isnan`), not a number."""
        return self.node is not None and issubclass(self.node, Boolean)


def _p(*names: str) -> tuple[Param, ...]:
    return tuple(Param(name) for name in names)


# ------------------------------------------------------------------ numeric helpers


def _band(*edges: float) -> Callable[..., Any]:
    """The state of a function with corners at fixed edges: 0 below the first, 1 after it, ..."""

    def state(x: Any, *_: Any) -> Any:
        return sum((x > edge).astype(np.int64) for edge in edges)

    return state


def _between(x: Any, lo: Any, hi: Any) -> Any:
    return (x > lo).astype(np.int64) + (x > hi).astype(np.int64)


def _sign(x: Any, *_: Any) -> Any:
    return np.sign(x).astype(np.int64)


def _positive(x: Any, *_: Any) -> Any:
    return (x > 0).astype(np.int64)


def _adjacent(a: int, b: int) -> int:
    """Which corner lies between two band states (0|1 -> corner 0, 1|2 -> corner 1)."""
    return min(a, b)


def _sigmoid(x: Any) -> Any:
    # exp(x) / (1 + exp(x)) below 0 and 1 / (1 + exp(-x)) above: accurate in relative terms in the
    # tail (sigmoid(-500) is 7e-218, where 0.5 * (1 + tanh(x / 2)) gives 0 from x = -40 on, and a
    # jump of a tail, sigmoid(1e4 * (x % 0.25 - 0.3)), was lost)
    x = np.asarray(x, dtype=float)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x: Any) -> Any:
    return np.logaddexp(0.0, x)


def _last(fn_: Callable[..., Any]) -> Callable[..., Any]:
    def reduce(x: Any, *_: Any) -> Any:
        return fn_(np.asarray(x, dtype=float), axis=-1, keepdims=True)

    return reduce


def _softmax(x: Any) -> Any:
    x = np.asarray(x, dtype=float)
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


def _logsumexp(x: Any) -> Any:
    x = np.asarray(x, dtype=float)
    peak = np.max(x, axis=-1, keepdims=True)
    finite_peak = np.where(np.isfinite(peak), peak, 0.0)
    return finite_peak + np.log(np.sum(np.exp(x - finite_peak), axis=-1, keepdims=True))


def _erf(x: Any) -> Any:
    return np.vectorize(math.erf, otypes=[float])(x)


def _erfc(x: Any) -> Any:
    return np.vectorize(math.erfc, otypes=[float])(x)


def _argmax(x: Any, *_: Any) -> Any:
    return np.argmax(np.asarray(x, dtype=float), axis=-1)[..., None]


def _argmin(x: Any, *_: Any) -> Any:
    return np.argmin(np.asarray(x, dtype=float), axis=-1)[..., None]


def _permutation_code(x: Any, *_: Any) -> Any:
    order = np.argsort(np.asarray(x, dtype=float), axis=-1, kind="stable")
    width = order.shape[-1]
    weights = width ** np.arange(width)
    return np.sum(order * weights, axis=-1, keepdims=True)


def _take(v: Any, index: Any) -> Any:
    v = np.asarray(v, dtype=float)
    index = np.asarray(index, dtype=float)
    v, index = np.broadcast_arrays(v, index)
    positions = np.clip(np.nan_to_num(index).astype(np.int64), 0, v.shape[-1] - 1)
    return np.take_along_axis(v, positions, axis=-1)


def _one_hot(index: Any, depth: Any) -> Any:
    index = np.asarray(index, dtype=float)
    width = max(index.shape[-1], 3) if index.ndim else 3
    classes = np.arange(width)
    return (
        (np.asarray(index)[..., :1] == classes).astype(float)
        if index.shape[-1] == 1
        else (index == classes[: index.shape[-1]]).astype(float)
    )


def _in_top_k(v: Any, index: Any, k: Any) -> Any:
    v = np.asarray(v, dtype=float)
    k_int = int(np.max(k)) if np.ndim(k) else int(k)
    target = _take(v, index)
    larger = np.sum(v > target, axis=-1, keepdims=True)
    return larger < k_int


def _top_k(v: Any, k: Any) -> Any:
    k_int = max(1, int(np.max(k)) if np.ndim(k) else int(k))
    ordered = -np.sort(-np.asarray(v, dtype=float), axis=-1)
    return ordered[..., :k_int]


def _norm(v: Any, order: Any) -> Any:
    v = np.asarray(v, dtype=float)
    order = float(np.max(order))  # (a constant's order arrives as a vector of one entry)
    if order == 1:
        return np.sum(np.abs(v), axis=-1, keepdims=True)
    if math.isinf(order):
        return np.max(np.abs(v), axis=-1, keepdims=True)
    return np.sqrt(np.sum(v * v, axis=-1, keepdims=True))


def _norm_state(v: Any, order: Any) -> Any:
    v = np.asarray(v, dtype=float)
    order = float(np.max(order))
    if order == 1:
        return np.sign(v).astype(np.int64)
    if math.isinf(order):
        return np.argmax(np.abs(v), axis=-1)[..., None] * 3 + np.sign(
            _take(v, np.argmax(np.abs(v), axis=-1)[..., None])
        ).astype(np.int64)
    # The 2-norm kinks only at v == 0: a line through the origin changes this sign there.
    return np.sign(np.sum(v, axis=-1, keepdims=True)).astype(np.int64)


def _rint(x: Any) -> Any:
    return np.rint(x)


def _max_state(*args: Any) -> Any:
    stacked = np.stack(np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in args]))
    return np.argmax(stacked, axis=0)


def _min_state(*args: Any) -> Any:
    stacked = np.stack(np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in args]))
    return np.argmin(stacked, axis=0)


def _maximum(*args: Any) -> Any:
    out = np.asarray(args[0], dtype=float)
    for arg in args[1:]:
        out = np.maximum(out, arg)
    return out


def _minimum(*args: Any) -> Any:
    out = np.asarray(args[0], dtype=float)
    for arg in args[1:]:
        out = np.minimum(out, arg)
    return out


def _gelu(x: Any, approximate: Any) -> Any:
    if float(np.max(approximate)) != 0.0:
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _huber(x: Any, delta: Any) -> Any:
    ax = np.abs(x)
    return np.where(ax <= delta, 0.5 * x * x, delta * (ax - 0.5 * delta))


def _elu(x: Any, alpha: Any) -> Any:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _celu(x: Any, alpha: Any) -> Any:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / alpha))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _selu(x: Any) -> Any:
    return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def _sparse_plus(x: Any) -> Any:
    return np.where(x <= -1, 0.0, np.where(x >= 1, x, 0.25 * (x + 1) ** 2))


def _soft_shrink(x: Any, threshold: Any) -> Any:
    return np.where(x > threshold, x - threshold, np.where(x < -threshold, x + threshold, 0.0))


def _hard_shrink(x: Any, threshold: Any) -> Any:
    return np.where(np.abs(x) > threshold, x, 0.0)


def _divide_no_nan(a: Any, b: Any) -> Any:
    safe = np.where(b == 0, 1.0, b)
    return np.where(b == 0, 0.0, a / safe)


def _xlogy(a: Any, b: Any) -> Any:
    return np.where(a == 0, 0.0, a * np.log(np.where(a == 0, 1.0, b)))


def _heaviside(x: Any, h0: Any) -> Any:
    return np.where(x > 0, 1.0, np.where(x < 0, 0.0, h0))


def _floor_mod(x: Any, m: Any) -> Any:
    return np.mod(x, m)


def _mish(x: Any) -> Any:
    return x * np.tanh(_softplus(x))


def _softsign(x: Any) -> Any:
    return x / (1 + np.abs(x))


def _squareplus(x: Any, b: Any) -> Any:
    return 0.5 * (x + np.sqrt(x * x + b))


def _range_like(x: Any) -> Any:
    x = np.asarray(x, dtype=float)
    return np.broadcast_to(np.arange(x.shape[-1], dtype=float), x.shape).copy() if x.ndim else 0.0


def _size(x: Any) -> Any:
    x = np.asarray(x, dtype=float)
    return float(x.shape[-1]) if x.ndim else 1.0


def _var(x: Any) -> Any:
    return np.var(np.asarray(x, dtype=float), axis=-1, keepdims=True)


def _dot(a: Any, b: Any) -> Any:
    return np.sum(np.asarray(a, dtype=float) * b, axis=-1, keepdims=True)


# ------------------------------------------------------------------ forward-mode rules
# (argument values, argument tangents with None for a zero tangent, the value) -> the tangent.


def _tangent(tangent: Any, like: Any) -> Any:
    return np.zeros_like(np.asarray(like, dtype=float)) if tangent is None else tangent


def _jvp_reduce(reduce: Callable[..., Any]) -> Callable[..., Any]:
    return lambda args, tangents, value: reduce(
        np.asarray(_tangent(tangents[0], args[0]), dtype=float), axis=-1, keepdims=True
    )


def _jvp_prod(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
    x = np.asarray(args[0], dtype=float)
    t = np.broadcast_to(_tangent(tangents[0], x), x.shape)
    total = np.zeros(x.shape[:-1] + (1,))
    for entry in range(x.shape[-1]):
        others = np.prod(np.delete(x, entry, axis=-1), axis=-1, keepdims=True)
        total = total + t[..., entry : entry + 1] * others
    return total


def _jvp_var(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
    x = np.asarray(args[0], dtype=float)
    t = _tangent(tangents[0], x)
    centred = x - np.mean(x, axis=-1, keepdims=True)
    return np.mean(2 * centred * (t - np.mean(t, axis=-1, keepdims=True)), axis=-1, keepdims=True)


def _jvp_logsumexp(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
    return np.sum(_softmax(args[0]) * _tangent(tangents[0], args[0]), axis=-1, keepdims=True)


def _jvp_softmax(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
    s, t = _softmax(args[0]), _tangent(tangents[0], args[0])
    return s * (t - np.sum(s * t, axis=-1, keepdims=True))


def _jvp_log_softmax(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
    s, t = _softmax(args[0]), _tangent(tangents[0], args[0])
    return t - np.sum(s * t, axis=-1, keepdims=True)


def _jvp_at(index_of: Callable[[Any], Any]) -> Callable[..., Any]:
    """The tangent of the entries the function picks (max, min, sort, top_k)."""

    def jvp(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
        x = np.asarray(args[0], dtype=float)
        t = np.broadcast_to(_tangent(tangents[0], x), x.shape)
        return np.take_along_axis(t, index_of(args), axis=-1)

    return jvp


def _jvp_norm(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
    v = np.asarray(args[0], dtype=float)
    t = np.broadcast_to(_tangent(tangents[0], v), v.shape)
    order = float(np.max(args[1]))
    if order == 1:
        return np.sum(np.sign(v) * t, axis=-1, keepdims=True)
    if math.isinf(order):
        index = np.argmax(np.abs(v), axis=-1)[..., None]
        return np.take_along_axis(np.sign(v) * t, index, axis=-1)
    return np.sum(v * t, axis=-1, keepdims=True) / value


def _jvp_dot(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
    a, b = (np.asarray(arg, dtype=float) for arg in args)
    return np.sum(_tangent(tangents[0], a) * b + a * _tangent(tangents[1], b), axis=-1, keepdims=True)


def _jvp_take(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
    return _take(_tangent(tangents[0], args[0]), args[1])


def _jvp_chosen(state: Callable[..., Any]) -> Callable[..., Any]:
    """max and min of several arguments: the tangent of the argument that wins."""

    def jvp(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
        winner = state(*args)
        out = np.zeros(np.shape(winner))
        for index, (arg, tangent) in enumerate(zip(args, tangents)):
            if tangent is not None:
                out = np.where(winner == index, tangent, out)
        return out

    return jvp


def _jvp_divide_no_nan(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
    """a / b where b != 0, and the constant 0 where b == 0: the tangent of the piece taken (the
    quotient rule would put 1 / 0 there)."""
    a, b = (np.asarray(arg, dtype=float) for arg in args)
    safe = np.where(b == 0, 1.0, b)
    with np.errstate(all="ignore"):
        tangent = _tangent(tangents[0], a) / safe - a * _tangent(tangents[1], b) / (safe * safe)
    return np.where(b == 0, 0.0, tangent)


def _jvp_mod(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
    x, m = (np.asarray(arg, dtype=float) for arg in args)
    return _tangent(tangents[0], x) - np.floor(x / m) * _tangent(tangents[1], m)


# ------------------------------------------------------------------ switching quantities
# Each returns a tuple of arrays: the switch changes state where one of them crosses (or touches) 0.


def _argument(x: Any, *_: Any) -> tuple[Any, ...]:
    return (x,)


def _divisor(a: Any, b: Any) -> tuple[Any, ...]:
    return (b,)


def _at_edges(*edges: float) -> Callable[..., tuple[Any, ...]]:
    return lambda x, *_: tuple(x - edge for edge in edges)


def _at_bounds(x: Any, lo: Any, hi: Any) -> tuple[Any, ...]:
    return (x - lo, x - hi)


def _at_threshold(x: Any, threshold: Any) -> tuple[Any, ...]:
    return (x + threshold, x - threshold)


def _at_integers(x: Any, *_: Any) -> tuple[Any, ...]:
    x = np.asarray(x, dtype=float)
    return (x - np.round(x),)


def _at_half_integers(x: Any) -> tuple[Any, ...]:
    x = np.asarray(x, dtype=float)
    return (x - np.floor(x) - 0.5,)


def _at_integer_quotients(x: Any, m: Any) -> tuple[Any, ...]:
    return _at_integers(np.asarray(x, dtype=float) / m)


def _pairs(*args: Any) -> tuple[Any, ...]:
    """max and min of several arguments: where two of them tie (signed differences, so that a
    root finder converges on them; a pair that never leads changes no state and is dropped)."""
    values = [np.asarray(a, dtype=float) for a in args]
    return tuple(values[i] - values[j] for i in range(len(values)) for j in range(i + 1, len(values)))


def _entry_pairs(v: Any, *_: Any) -> tuple[Any, ...]:
    """Reductions, sorts and indices: where two entries of the vector tie."""
    v = np.asarray(v, dtype=float)
    width = v.shape[-1] if v.ndim else 1
    pairs = tuple(v[..., i : i + 1] - v[..., j : j + 1] for i in range(width) for j in range(i + 1, width))
    return pairs or (np.ones_like(v[..., :1]) if v.ndim else np.ones(1),)


def _norm_crossings(v: Any, order: Any) -> tuple[Any, ...]:
    v = np.asarray(v, dtype=float)
    order = float(np.max(order))
    if order == 1:
        return (v,)
    if math.isinf(order):
        return _entry_pairs(np.abs(v)) + (v,)
    return (np.sum(v * v, axis=-1, keepdims=True),)  # the cone point v == 0: touched, never crossed


def _index_steps(index: Any, width: int, first: int = 1) -> tuple[Any, ...]:
    """An index truncated to an integer and clipped to the entries changes the entry it picks only
    at the integers first .. width - 1 (from 0 for a one-hot that is all zeros below 0)."""
    index = np.asarray(index, dtype=float)
    return tuple(index - k for k in range(first, max(width, first + 1)))


def _take_crossings(v: Any, index: Any) -> tuple[Any, ...]:
    return _index_steps(index, _width_of(v))


def _one_hot_crossings(index: Any, depth: Any) -> tuple[Any, ...]:
    return _index_steps(index, int(np.max(depth)) + 1, first=0)


def _width_of(v: Any) -> int:
    v = np.asarray(v)
    return int(v.shape[-1]) if v.ndim else 1


def _top_k_crossings(v: Any, index: Any, k: Any) -> tuple[Any, ...]:
    """in_top_k: where entries tie (the target's rank changes only there), or the index moves."""
    return _entry_pairs(v) + _take_crossings(v, index)


# ------------------------------------------------------------------ pieces (SymPy)
# `piece(state, *args)`: the atom on the piece that `switch` numbers `state`.


def _pieces(*values: Callable[..., Any]) -> Callable[..., Any]:
    """Pieces numbered 0, 1, ... (a band's states), each a function of the arguments."""
    return lambda state, *args: values[min(max(int(state), 0), len(values) - 1)](*args)


def _signed_piece(state: int, x: Any, *_: Any) -> Any:
    return int(state) * x


def _chosen_argument(state: int, *args: Any) -> Any:
    return args[min(max(int(state), 0), len(args) - 1)]


def _constant_piece(state: int, *_: Any) -> Any:
    return sp.Integer(int(state))


# ------------------------------------------------------------------ entry by entry (SymPy)
# `entries(arguments, size)`: the value's entries from each argument's entries (one entry stands
# for a vector of `size` equal entries). ValueError where there is no closed form here.


def _whole(v: Sequence[Any], size: int) -> list[Any]:
    return list(v) if len(v) > 1 else list(v) * size


def _entries_reduced(reduce: Callable[[list[Any]], Any]) -> Callable[..., list[Any]]:
    """A reduction of the first argument's entries to one."""
    return lambda args, size: [reduce(_whole(args[0], size))]


def _entries_along(along: Callable[[list[Any]], list[Any]]) -> Callable[..., list[Any]]:
    """A vector of the first argument's entries, each entry from all of them."""
    return lambda args, size: along(_whole(args[0], size))


def _sorted_entries(v: Sequence[Any]) -> list[Any]:
    if len(v) == 1:
        return list(v)
    if len(v) == 2:
        return [sp.Min(*v), sp.Max(*v)]
    if len(v) == 3:
        low, high = sp.Min(*v), sp.Max(*v)
        return [low, sp.Add(*v) - low - high, high]
    raise ValueError("sort of more than 3 entries")


def _picked(values: Sequence[Any], index: Any) -> Any:
    """The entry at a (float) index, truncated and clipped to the entries as `take` does."""
    pairs = [(values[k], index < k + 1) for k in range(len(values) - 1)]
    return sp.Piecewise(*pairs, (values[-1], True))


def _softmax_entries(v: list[Any]) -> list[Any]:
    total = sp.Add(*[sp.exp(x) for x in v])
    return [sp.exp(x) / total for x in v]


def _log_softmax_entries(v: list[Any]) -> list[Any]:
    log_total = sp.log(sp.Add(*[sp.exp(x) for x in v]))
    return [x - log_total for x in v]


def _variance_entries(v: list[Any]) -> Any:
    mean = sp.Add(*v) / len(v)
    return sp.Add(*[(x - mean) ** 2 for x in v]) / len(v)


def _arg_extremum_entries(better: Callable[[Any, Any], Any]) -> Callable[..., list[Any]]:
    """argmax (`better` is >=) or argmin (<=): the first index that beats every other entry."""

    def entries(args: Sequence[Sequence[Any]], size: int) -> list[Any]:
        full = _whole(args[0], size)
        pairs = []
        for i in range(len(full) - 1):
            condition = sp.And(*[better(full[i], full[j]) for j in range(len(full)) if j != i])
            pairs.append((sp.Integer(i), condition))
        return [sp.Piecewise(*pairs, (sp.Integer(len(full) - 1), True))]

    return entries


def _argsort_entries(args: Sequence[Sequence[Any]], size: int) -> list[Any]:
    """The stable sorting permutation: entry k is the i whose rank (entries below it, ties by
    index) is k."""
    full = _whole(args[0], size)
    count = len(full)
    ranks = [
        sp.Add(
            *[
                sp.Piecewise((1, full[j] < full[i] if j > i else full[j] <= full[i]), (0, True))
                for j in range(count)
                if j != i
            ]
        )
        for i in range(count)
    ]
    return [
        sp.Add(*[i * sp.Piecewise((1, sp.Eq(ranks[i], k)), (0, True)) for i in range(count)])
        for k in range(count)
    ]


def _subscript_entries(args: Sequence[Sequence[Any]], size: int) -> list[Any]:
    full = _whole(args[0], size)
    start, stop, step, drop = (int(arg[0]) for arg in args[1:])
    if drop:
        return [full[start]]
    return full[start:stop:step] or full[:1]


def _top_k_entries(args: Sequence[Sequence[Any]], size: int) -> list[Any]:
    ordered = list(reversed(_sorted_entries(args[0])))
    return ordered[: max(1, int(args[1][0]))]


def _norm_entries(args: Sequence[Sequence[Any]], size: int) -> list[Any]:
    v, order = args[0], args[1][0]
    if order == 1:
        return [sp.Add(*[sp.Abs(x) for x in v])]
    if order == 2:
        return [sp.sqrt(sp.Add(*[x**2 for x in v]))]
    return [sp.Max(*[sp.Abs(x) for x in v])]


def _dot_entries(args: Sequence[Sequence[Any]], size: int) -> list[Any]:
    a, b = args
    if len(a) != len(b) and 1 not in (len(a), len(b)):
        raise ValueError("arguments of different lengths")
    width = max(len(a), len(b))
    a, b = (list(v) * width if len(v) == 1 else list(v) for v in (a, b))
    return [sp.Add(*[x * y for x, y in zip(a, b)])]


def _one_hot_entries(args: Sequence[Sequence[Any]], size: int) -> list[Any]:
    index = args[0]
    if len(index) != 1:
        raise ValueError("one_hot of a vector of indices")
    return [sp.Piecewise((1, sp.Eq(index[0], k)), (0, True)) for k in range(size)]


def _take_entries(args: Sequence[Sequence[Any]], size: int) -> list[Any]:
    """One entry per index, as tf.gather gives (the analysis broadcasts a single index instead)."""
    v = args[0]
    values = list(v) if len(v) > 1 else [v[0]] * size
    return [_picked(values, index) for index in args[1]]


def _in_top_k_entries(args: Sequence[Sequence[Any]], size: int) -> list[Any]:
    v, index, k = args[0], args[1], int(args[2][0])
    out = []
    for position in index:
        target = _picked(v, position)
        larger = sp.Add(*[sp.Piecewise((1, x > target), (0, True)) for x in v])
        out.append(sp.StrictLessThan(larger, k))
    return out


def _never(args: Sequence[Sequence[Any]], size: int) -> list[Any]:
    """isnan and isinf of real (finite) entries."""
    return [sp.false]


# ------------------------------------------------------------------ builders


def _unary(cls: Any) -> Callable[..., Any]:
    return lambda x: cls(x)


def _relational(cls: Any) -> Callable[..., Any]:
    return lambda a, b: cls(a, b)


def _as_number(condition: Any) -> Any:
    """A boolean used as a number: 1 where true and 0 where false (a cast, as in TensorFlow)."""
    if condition is sp.true:
        return sp.S.One
    if condition is sp.false:
        return sp.S.Zero
    return sp.Piecewise((sp.S.One, condition), (sp.S.Zero, True))


def _modulo(x: Any, m: Any) -> Any:
    """`x % m`, refused where the divisor can be 0 as a condition used as a number (`x % (w > 1)`):
    SymPy would distribute the modulo into that piece and divide by zero."""
    if isinstance(m, sp.Piecewise) and any(piece.expr.is_zero for piece in m.args):
        raise ValueError("is undefined where its divisor is 0 (as x % (w > 1) where w <= 1)")
    return sp.Mod(x, m)


def _max_build(*args: Any) -> Any:
    return fn.ReduceMax(args[0]) if len(args) == 1 else sp.Max(*args)


def _min_build(*args: Any) -> Any:
    return fn.ReduceMin(args[0]) if len(args) == 1 else sp.Min(*args)


def _hard_sigmoid(x: Any) -> Any:
    return fn.Relu6(x + 3) / 6


def _sigmoid_ce(labels: Any, logits: Any) -> Any:
    # TensorFlow's stable form: max(x, 0) - x * z + log(1 + exp(-abs(x)))
    return sp.Max(logits, 0) - logits * labels + fn.Log1p(sp.exp(-sp.Abs(logits)))


def _softmax_ce(labels: Any, logits: Any) -> Any:
    return -fn.ReduceSum(labels * fn.LogSoftmax(logits))


_KERAS_EPSILON = sp.Rational(1, 10**7)


def _binary_ce(y: Any, p: Any, from_logits: Any) -> Any:
    if from_logits != 0:
        return fn.ReduceMean(_sigmoid_ce(y, p))
    q = fn.Clip(p, _KERAS_EPSILON, 1 - _KERAS_EPSILON)
    return -fn.ReduceMean(y * sp.log(q) + (1 - y) * sp.log(1 - q))


def _categorical_ce(y: Any, p: Any, from_logits: Any) -> Any:
    if from_logits != 0:
        return _softmax_ce(y, p)
    q = p / fn.ReduceSum(p)
    return -fn.ReduceSum(y * sp.log(fn.Clip(q, _KERAS_EPSILON, 1 - _KERAS_EPSILON)))


# ------------------------------------------------------------------ indexing, argsort, new builders

_OPEN_END = 2**31 - 1  # a slice bound left out, resolved to a concrete end by the lowering (fits int32)


def _subscript(x: Any, start: Any, stop: Any, step: Any, drop: Any) -> Any:
    """`x[..., start:stop:step]` along the last axis (an entry keeps its axis, of width 1)."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        return x
    first, last, stride = (int(np.max(v)) for v in (start, stop, step))
    width = x.shape[-1]
    if int(np.max(drop)):
        position = min(max(first if first >= 0 else width + first, 0), width - 1)
        return x[..., position : position + 1]
    picked = x[..., first:last:stride]
    return picked if picked.shape[-1] else x[..., :1]


def _jvp_subscript(args: Sequence[Any], tangents: Sequence[Any], value: Any) -> Any:
    x = np.asarray(args[0], dtype=float)
    return _subscript(np.broadcast_to(_tangent(tangents[0], x), x.shape), *args[1:])


def _argsort(x: Any) -> Any:
    return np.argsort(np.asarray(x, dtype=float), axis=-1, kind="stable").astype(float)


def _given(value: Any) -> bool:
    return value is not ABSENT


def _clamp(x: Any, lo: Any, hi: Any) -> Any:
    """PyTorch's clamp: one-sided when only `min` or only `max` is given."""
    if _given(lo) and _given(hi):
        return fn.Clip(x, lo, hi)
    if _given(lo):
        return sp.Max(x, lo)
    if _given(hi):
        return sp.Min(x, hi)
    raise ValueError("needs at least one of min and max")


def _logsumexp_build(x: Any, axis: Any, keepdims: Any, b: Any) -> Any:
    if _given(b):
        return sp.log(fn.ReduceSum(b * sp.exp(x)))  # scipy / JAX: log(sum(b * exp(x)))
    return fn.LogSumExp(x)


def _l2_normalize(x: Any, axis: Any, epsilon: Any) -> Any:
    """Keras / TensorFlow: x * rsqrt(max(sum(x^2), epsilon))."""
    return x / sp.sqrt(sp.Max(fn.ReduceSum(x**2), epsilon))


def _sparse_categorical_ce(y: Any, p: Any, from_logits: Any, axis: Any) -> Any:
    if from_logits != 0:
        return fn.LogSumExp(p) - fn.Take(p, y)
    q = fn.Take(p / fn.ReduceSum(p), y)
    return -sp.log(fn.Clip(q, _KERAS_EPSILON, 1 - _KERAS_EPSILON))


# ------------------------------------------------------------------ families


def _tf_column(tf: str) -> dict[str, str]:
    """A family's TensorFlow argument: a template, or the printer method (`_print_...`) that writes
    the node."""
    return {"tf_method": tf} if tf.startswith("_print_") else {"tf": tf}


def _smooth(
    name: str,
    cls: Any,
    numeric: Callable[..., Any],
    tf: str,
    *aliases: str,
    params: tuple[Param, ...] = _p("x"),
    build: Callable[..., Any] | None = None,
    smoothness: int = 2,
    switch: Callable[..., Any] | None = None,
    crossings: Callable[..., Any] | None = None,
    piece: Callable[..., Any] | None = None,
    surfaces: tuple[str, ...] = (),
    **facts: Any,
) -> Atom:
    """A smooth row; C1-only rows also name the switch where their curvature changes."""
    return Atom(
        name=name,
        aliases=aliases,
        params=params,
        build=build or _unary(cls),
        node=cls,
        numeric=numeric,
        **_tf_column(tf),
        smoothness=smoothness,
        summary="smooth",
        switch=switch,
        crossings=crossings,
        piece=piece,
        surfaces=surfaces,
        **facts,
    )


def _rounding(
    name: str,
    cls: Any,
    numeric: Callable[..., Any],
    where: str,
    tf: str,
    *aliases: str,
    crossings: Callable[..., Any] = _at_integers,
) -> Atom:
    """floor, ceil, round: piecewise constant, jumping where the integer they return changes."""
    return Atom(
        name=name,
        aliases=aliases,
        params=_p("x"),
        build=_unary(cls),
        node=cls,
        numeric=numeric,
        crossings=crossings,
        piece=_constant_piece,
        switch=lambda x: numeric(x).astype(np.int64),
        jumps=(where,),
        zero_gradient=frozenset({0}),
        smoothness=-1,
        **_tf_column(tf),
        summary="piecewise constant: its derivative is zero almost everywhere",
        state_surfaces=lambda a, b: 0,
        surrogates=(
            Surrogate("straight-through", "{0} + stop_gradient(" + name + "({0}) - {0})"),
            Surrogate("soft rounding", "{0} - sin(2 * pi * {0}) / (2 * pi)"),
        ),
    )


def _comparison(name: str, cls: Any, op: str, *aliases: str) -> Atom:
    measure_zero = op in ("==", "!=")
    return Atom(
        name=name,
        aliases=aliases,
        params=_p("x", "y"),
        build=_relational(cls),
        node=cls,
        numeric=None,
        switch=(lambda a, b: np.sign(np.asarray(a, dtype=float) - b).astype(np.int64))
        if measure_zero
        else None,
        crossings=lambda a, b: (np.asarray(a, dtype=float) - b,),
        jumps=("{0} == {1}",),
        zero_gradient=frozenset({0, 1}),
        smoothness=-1,
        tf_method="_print_Relational",
        summary="a comparison: as a number it is 0 or 1, so its derivative is zero almost everywhere",
        state_surfaces=lambda a, b: 0,
        surrogates=(_COMPARISON_SURROGATES[op],),
    )


# A soft indicator of each comparison: 1 well inside the region where it holds, 0 well outside.
_COMPARISON_SURROGATES = {
    ">": Surrogate("sigmoid", "sigmoid(({0} - {1}) / {t})", 0.1),
    ">=": Surrogate("sigmoid", "sigmoid(({0} - {1}) / {t})", 0.1),
    "<": Surrogate("sigmoid", "sigmoid(({1} - {0}) / {t})", 0.1),
    "<=": Surrogate("sigmoid", "sigmoid(({1} - {0}) / {t})", 0.1),
    "==": Surrogate("gaussian bump", "exp(-(({0} - {1}) / {t})^2)", 0.1),
    "!=": Surrogate("gaussian dip", "1 - exp(-(({0} - {1}) / {t})^2)", 0.1),
}


def _corners(
    name: str,
    cls: Any,
    numeric: Callable[..., Any],
    edges: tuple[float, ...],
    kinks: tuple[str, ...],
    flat: tuple[str, ...],
    flat_states: dict[int, int],
    tf: str,
    surrogate: Surrogate,
    *aliases: str,
    params: tuple[Param, ...] = _p("x"),
    build: Callable[..., Any] | None = None,
    jumps: tuple[str, ...] = (),
    smoothness: int = 0,
    switch: Callable[..., Any] | None = None,
    crossings: Callable[..., Any] | None = None,
    piece: Callable[..., Any] | None = None,
    **facts: Any,
) -> Atom:
    """relu6, hard_tanh, leaky_relu, ...: fixed corners, constant pieces beyond some of them."""
    return Atom(
        name=name,
        aliases=aliases,
        params=params,
        build=build or (lambda x, *rest: cls(x, *rest)),
        node=cls,
        numeric=numeric,
        switch=switch or _band(*edges),
        kinks=kinks,
        jumps=jumps,
        flat=flat,
        crossings=crossings or _at_edges(*edges),
        piece=piece,
        flat_states=flat_states,
        state_surfaces=_adjacent,
        smoothness=smoothness,
        **_tf_column(tf),
        summary="piecewise linear or smooth, with corners" + (" and jumps" if jumps else ""),
        surrogates=(surrogate,),
        **facts,
    )


CONDITION_REDUCTION_PARAMS = (
    Param("x", kind="condition"),
    Param("axis", default=-1, keywords=("dim", "reduction_indices"), kind="axis"),
    Param("keepdims", default=False, keywords=("keep_dims", "keepdim"), kind="flag"),
)
REDUCTION_PARAMS = (
    Param("x"),
    Param("axis", default=-1, keywords=("dim", "reduction_indices"), kind="axis"),
    Param("keepdims", default=False, keywords=("keep_dims", "keepdim"), kind="flag"),
)


def _reduction(
    name: str, cls: Any, numeric: Callable[..., Any], tf: str, *aliases: str, **facts: Any
) -> Atom:
    return Atom(
        name=name,
        aliases=aliases,
        params=REDUCTION_PARAMS,
        build=lambda x, axis, keepdims: cls(x),
        node=cls,
        shape=REDUCTION,
        numeric=numeric,
        **_tf_column(tf),
        **facts,
    )


def _along_axis(
    name: str, cls: Any, numeric: Callable[..., Any], tf: str, *aliases: str, **facts: Any
) -> Atom:
    params = (Param("x"), Param("axis", default=-1, keywords=("dim",), kind="axis"))
    return Atom(
        name=name,
        aliases=aliases,
        params=params,
        build=lambda x, axis: cls(x),
        node=cls,
        shape=ALONG,
        numeric=numeric,
        **_tf_column(tf),
        **facts,
    )


# ------------------------------------------------------------------ the rows

_ROWS: tuple[Atom, ...] = (
    # smooth elementwise
    _smooth("exp", sp.exp, np.exp, "_print_exp", overflows=True),
    _smooth("expm1", fn.Expm1, np.expm1, "tf.math.expm1({0})", overflows=True),
    _smooth("square", None, np.square, "", build=lambda x: x**2),
    _smooth("sin", sp.sin, np.sin, "tf.sin({0})"),
    _smooth("cos", sp.cos, np.cos, "tf.cos({0})"),
    _smooth("tanh", sp.tanh, np.tanh, "tf.tanh({0})"),
    _smooth("sinh", sp.sinh, np.sinh, "tf.sinh({0})", overflows=True),
    _smooth("cosh", sp.cosh, np.cosh, "tf.cosh({0})", overflows=True),
    _smooth("atan", sp.atan, np.arctan, "tf.atan({0})", "arctan"),
    _smooth("erf", sp.erf, _erf, "tf.math.erf({0})"),
    _smooth("erfc", sp.erfc, _erfc, "tf.math.erfc({0})"),
    _smooth("sigmoid", fn.Sigmoid, _sigmoid, "tf.sigmoid({0})", "expit", nonnegative=True),
    _smooth("softplus", fn.Softplus, _softplus, "tf.nn.softplus({0})", nonnegative=True),
    _smooth("log_sigmoid", fn.LogSigmoid, lambda x: -_softplus(-x), "tf.math.log_sigmoid({0})", "logsigmoid"),
    _smooth("silu", fn.Silu, lambda x: x * _sigmoid(x), "tf.nn.silu({0})", "swish"),
    _smooth(
        "gelu",
        fn.Gelu,
        _gelu,
        "_print_Gelu",
        params=(Param("x"), Param("approximate", default=False, kind="flag")),
        build=lambda x, approximate: fn.Gelu(x, approximate),
    ),
    _smooth("mish", fn.Mish, _mish, "{0} * tf.tanh(tf.nn.softplus({0}))"),
    _smooth(
        "softsign",
        fn.Softsign,
        _softsign,
        "tf.nn.softsign({0})",
        smoothness=1,
        switch=_positive,
        crossings=_argument,
        surfaces=("{0} == 0",),
        piece=_pieces(lambda x: x / (1 - x), lambda x: x / (1 + x)),
    ),
    _smooth(
        "squareplus",
        fn.Squareplus,
        _squareplus,
        "0.5 * ({0} + tf.sqrt(tf.square({0}) + {1}))",
        params=(Param("x"), Param("b", default=4)),
        build=lambda x, b: fn.Squareplus(x, b),
    ),
    _smooth(
        "squared_difference",
        None,
        lambda a, b: (a - b) ** 2,
        "",
        params=_p("x", "y"),
        build=lambda a, b: (a - b) ** 2,
    ),
    _smooth("ones_like", None, np.ones_like, "", build=lambda x: sp.S.One),
    _smooth("zeros_like", None, np.zeros_like, "", build=lambda x: sp.S.Zero),
    _smooth(
        "range_like",
        fn.RangeLike,
        _range_like,
        "_print_RangeLike",
        shape=SIZE,
        entries=lambda args, size: [sp.Integer(i) for i in range(size)],
    ),
    _smooth(
        "size",
        fn.Size,
        _size,
        "_print_Size",
        params=(Param("x"), Param("axis", default=-1, keywords=("dim",), kind="axis")),
        build=lambda x, axis: fn.Size(x),
        shape=SIZE,
        entries=lambda args, size: [sp.Integer(len(args[0]) if len(args[0]) > 1 else size)],
    ),
    _smooth(
        "huber",
        fn.Huber,
        _huber,
        "_print_Huber",
        params=(Param("x"), Param("delta", default=1)),
        build=lambda x, delta: fn.Huber(x, delta),
        smoothness=1,
        switch=lambda x, delta: _between(x, -delta, delta),
        crossings=_at_threshold,
        surfaces=("{0} == -{1}", "{0} == {1}"),
        piece=_pieces(lambda x, d: d * (-x - d / 2), lambda x, d: x**2 / 2, lambda x, d: d * (x - d / 2)),
    ),
    _smooth(
        "celu",
        fn.Celu,
        _celu,
        "_print_Celu",
        params=(Param("x"), Param("alpha", default=1)),
        build=lambda x, alpha: fn.Celu(x, alpha),
        smoothness=1,
        switch=_positive,
        crossings=_argument,
        surfaces=("{0} == 0",),
        piece=_pieces(lambda x, a: a * (sp.exp(x / a) - 1), lambda x, a: x),
    ),
    # reductions and vector functions (last axis)
    _reduction(
        "sum",
        fn.ReduceSum,
        _last(np.sum),
        "tf.reduce_sum({0}, axis=-1)",
        "reduce_sum",
        jvp=_jvp_reduce(np.sum),
        entries=_entries_reduced(lambda v: sp.Add(*v)),
        linear=True,
    ),
    _reduction(
        "mean",
        fn.ReduceMean,
        _last(np.mean),
        "tf.reduce_mean({0}, axis=-1)",
        "reduce_mean",
        "average",
        jvp=_jvp_reduce(np.mean),
        entries=_entries_reduced(lambda v: sp.Add(*v) / len(v)),
        linear=True,
    ),
    _reduction(
        "prod",
        fn.ReduceProd,
        _last(np.prod),
        "tf.reduce_prod({0}, axis=-1)",
        "reduce_prod",
        "product",
        jvp=_jvp_prod,
        entries=_entries_reduced(lambda v: sp.Mul(*v)),
    ),
    _reduction(
        "var",
        fn.ReduceVar,
        _var,
        "tf.math.reduce_variance({0}, axis=-1)",
        "reduce_variance",
        "variance",
        jvp=_jvp_var,
        entries=_entries_reduced(_variance_entries),
        nonnegative=True,
    ),
    Atom(
        name="std",
        aliases=("reduce_std",),
        params=REDUCTION_PARAMS,
        build=lambda x, axis, keepdims: sp.sqrt(fn.ReduceVar(x)),
        shape=REDUCTION,
        summary="the square root of the variance: see sqrt",
    ),
    Atom(
        name="logsumexp",
        aliases=("reduce_logsumexp",),
        params=(*REDUCTION_PARAMS, Param("b", default=None, kind="optional")),
        build=_logsumexp_build,
        node=fn.LogSumExp,
        shape=REDUCTION,
        numeric=_logsumexp,
        entries=_entries_reduced(lambda v: sp.log(sp.Add(*[sp.exp(x) for x in v]))),
        tf="tf.reduce_logsumexp({0}, axis=-1)",
        jvp=_jvp_logsumexp,
        summary="log(sum(exp(x))); with weights b=, log(sum(b * exp(x)))",
    ),
    _reduction(
        "reduce_max",
        fn.ReduceMax,
        _last(np.max),
        "tf.reduce_max({0}, axis=-1)",
        "amax",
        switch=_argmax,
        crossings=_entry_pairs,
        kinks=("ties among the largest entries of {0}",),
        jvp=_jvp_at(lambda args: _argmax(args[0])),
        entries=_entries_reduced(lambda v: sp.Max(*v)),
        state_surfaces=lambda a, b: 0,
        smoothness=0,
        summary="the largest entry: piecewise linear, with kinks at ties",
        surrogates=(Surrogate("logsumexp", "{t} * logsumexp({0} / {t})", 0.1),),
    ),
    _reduction(
        "reduce_min",
        fn.ReduceMin,
        _last(np.min),
        "tf.reduce_min({0}, axis=-1)",
        "amin",
        switch=_argmin,
        crossings=_entry_pairs,
        kinks=("ties among the smallest entries of {0}",),
        jvp=_jvp_at(lambda args: _argmin(args[0])),
        entries=_entries_reduced(lambda v: sp.Min(*v)),
        state_surfaces=lambda a, b: 0,
        smoothness=0,
        summary="the smallest entry: piecewise linear, with kinks at ties",
        surrogates=(Surrogate("soft minimum", "-{t} * logsumexp(-{0} / {t})", 0.1),),
    ),
    _along_axis(
        "softmax",
        fn.Softmax,
        _softmax,
        "tf.nn.softmax({0}, axis=-1)",
        jvp=_jvp_softmax,
        entries=_entries_along(_softmax_entries),
    ),
    _along_axis(
        "log_softmax",
        fn.LogSoftmax,
        lambda x: np.log(_softmax(x)),
        "tf.nn.log_softmax({0}, axis=-1)",
        jvp=_jvp_log_softmax,
        entries=_entries_along(_log_softmax_entries),
    ),
    _along_axis(
        "cumsum",
        fn.CumSum,
        lambda x: np.cumsum(np.asarray(x, dtype=float), axis=-1),
        "tf.math.cumsum({0}, axis=-1)",
        jvp=lambda args, tangents, value: np.cumsum(_tangent(tangents[0], args[0]), axis=-1),
        entries=_entries_along(lambda v: [sp.Add(*v[: i + 1]) for i in range(len(v))]),
        linear=True,
    ),
    _along_axis(
        "sort",
        fn.Sort,
        lambda x: np.sort(np.asarray(x, dtype=float), axis=-1),
        "_print_Sort",
        switch=_permutation_code,
        crossings=_entry_pairs,
        kinks=("ties among the entries of {0}",),
        jvp=_jvp_at(lambda args: np.argsort(np.asarray(args[0], dtype=float), axis=-1, kind="stable")),
        entries=_entries_along(_sorted_entries),
        state_surfaces=lambda a, b: 0,
        smoothness=0,
        summary="a permutation of its input: piecewise linear, with kinks at ties",
        surrogates=(
            Surrogate(
                "soft sort",
                "softsort({0}, {t}) with softsort a relaxed sort such as NeuralSort (not part of TensorFlow)",
                0.1,
            ),
        ),
    ),
    Atom(
        name="top_k_values",
        params=(Param("v"), Param("k", default=1, kind="int")),
        build=lambda v, k: fn.TopKValues(v, k),
        node=fn.TopKValues,
        shape=ALONG,
        numeric=_top_k,
        entries=_top_k_entries,
        switch=lambda v, k: _permutation_code(v),
        crossings=_entry_pairs,
        jvp=_jvp_at(
            lambda args: np.argsort(-np.asarray(args[0], dtype=float), axis=-1, kind="stable")[
                ..., : max(1, int(np.max(args[1])))
            ]
        ),
        kinks=("ties among the largest entries of {0}",),
        state_surfaces=lambda a, b: 0,
        smoothness=0,
        tf_method="_print_TopKValues",
        summary="the k largest entries: piecewise linear, with kinks at ties",
    ),
    Atom(
        name="norm",
        aliases=("euclidean_norm",),
        params=(
            Param("v"),
            Param("ord", default=2, keywords=("p",)),
            Param("axis", default=-1, keywords=("dim",), kind="axis"),
            Param("keepdims", default=False, keywords=("keep_dims", "keepdim"), kind="flag"),
        ),
        build=lambda v, order, axis, keepdims: fn.Norm(v, order),
        node=fn.Norm,
        shape=REDUCTION,
        numeric=_norm,
        entries=_norm_entries,
        switch=_norm_state,
        crossings=_norm_crossings,
        jvp=_jvp_norm,
        kinks=("{0} == 0",),
        state_surfaces=lambda a, b: 0,
        smoothness=0,
        tf_method="_print_Norm",
        summary="a norm: kinks where the entries involved vanish",
        surrogates=(Surrogate("smoothed norm", "sqrt(sum({0}^2) + {t})", 1e-6),),
    ),
    Atom(
        name="dot",
        aliases=("tensordot", "inner"),
        params=_p("x", "y"),
        build=lambda a, b: fn.Dot(a, b),
        node=fn.Dot,
        shape=REDUCTION,
        numeric=_dot,
        entries=_dot_entries,
        jvp=_jvp_dot,
        tf="tf.reduce_sum({0} * {1}, axis=-1)",
    ),
    # singular on part of their domain
    Atom(
        name="log",
        aliases=("ln",),
        params=_p("x"),
        build=_unary(sp.log),
        node=sp.log,
        numeric=np.log,
        singular=("{0} == 0",),
        singular_at=lambda x, *_: x,
        tf="tf.math.log({0})",
        summary="smooth for a positive argument; -inf at 0",
        surrogates=(Surrogate("clamped", "log(max({0}, 1e-7))"),),
    ),
    Atom(
        name="log1p",
        params=_p("x"),
        build=_unary(fn.Log1p),
        node=fn.Log1p,
        numeric=np.log1p,
        singular=("{0} == -1",),
        singular_at=lambda x: x + 1,
        tf="tf.math.log1p({0})",
        summary="smooth above -1; -inf at -1",
    ),
    Atom(
        name="sqrt",
        params=_p("x"),
        build=_unary(sp.sqrt),
        summary="smooth for a positive argument; infinite slope at 0",
        surrogates=(Surrogate("epsilon", "sqrt({0} + {t})", 1e-12),),
    ),
    Atom(
        name="rsqrt",
        params=_p("x"),
        build=lambda x: 1 / sp.sqrt(x),
        summary="1 / sqrt(x): infinite at 0",
    ),
    Atom(
        name="reciprocal",
        aliases=("inv",),
        params=_p("x"),
        build=lambda x: 1 / x,
        summary="1 / x: infinite at 0",
    ),
    Atom(
        name="divide",
        aliases=("div", "truediv", "true_divide"),
        params=_p("x", "y"),
        build=lambda a, b: a / b,
        summary="a quotient: infinite where the divisor is 0",
    ),
    Atom(
        name="pow",
        aliases=("power",),
        params=_p("x", "y"),
        build=lambda a, b: a**b,
        node=sp.Pow,
        numeric=np.power,
        singular=("{0} == 0",),
        singular_at=lambda base, exponent: base,
        tf_method="_print_Pow",
        singular_if=lambda base, exponent: not (exponent.is_Integer and exponent >= 0),
        slope_infinite_if=lambda base, exponent: bool(
            exponent.is_number and exponent.is_comparable and 0 < float(exponent) < 1
        ),
        summary="a power: smooth, but infinite (negative exponent) or with an infinite slope "
        "(exponent between 0 and 1) where the base is 0",
    ),
    Atom(
        name="xlogy",
        params=_p("x", "y"),
        build=lambda a, b: fn.Xlogy(a, b),
        node=fn.Xlogy,
        numeric=_xlogy,
        singular=("{1} == 0",),
        singular_at=lambda a, b: b,
        tf="tf.math.xlogy({0}, {1})",
        summary="x * log(y), 0 where x == 0: -inf slope where y == 0",
    ),
    Atom(
        name="tan",
        params=_p("x"),
        build=_unary(sp.tan),
        node=sp.tan,
        numeric=np.tan,
        singular=("cos({0}) == 0",),
        singular_at=lambda x: np.cos(x),
        tf="tf.tan({0})",
        summary="smooth between its poles, infinite at odd multiples of pi / 2",
    ),
    Atom(
        name="acos",
        aliases=("arccos",),
        params=_p("x"),
        build=_unary(sp.acos),
        node=sp.acos,
        numeric=np.arccos,
        singular=("abs({0}) == 1",),
        singular_at=lambda x: 1 - np.asarray(x, dtype=float) ** 2,
        slope_infinite_if=lambda x: True,
        tf="tf.math.acos({0})",
        summary="defined on [-1, 1]: its slope is infinite at -1 and 1",
    ),
    Atom(
        name="asin",
        aliases=("arcsin",),
        params=_p("x"),
        build=_unary(sp.asin),
        node=sp.asin,
        numeric=np.arcsin,
        singular=("abs({0}) == 1",),
        singular_at=lambda x: 1 - np.asarray(x, dtype=float) ** 2,
        slope_infinite_if=lambda x: True,
        tf="tf.math.asin({0})",
        summary="defined on [-1, 1]: its slope is infinite at -1 and 1",
    ),
    Atom(
        name="log2",
        params=_p("x"),
        build=lambda x: sp.log(x) / sp.log(2),
        summary="log(x) / log(2): see log",
    ),
    Atom(
        name="log10",
        params=_p("x"),
        build=lambda x: sp.log(x) / sp.log(10),
        summary="log(x) / log(10): see log",
    ),
    Atom(
        name="l2_normalize",
        aliases=("l2_normalise",),
        params=(
            Param("x"),
            Param("axis", default=-1, keywords=("dim",), kind="axis"),
            Param("epsilon", default=sp.Rational(1, 10**12), keywords=("eps",)),
        ),
        build=_l2_normalize,
        shape=ALONG,
        summary="x / sqrt(max(sum(x^2), epsilon)) (Keras's guarded form): a kink where sum(x^2) == epsilon, "
        "no singularity",
    ),
    Atom(
        name="divide_no_nan",
        params=_p("x", "y"),
        build=lambda a, b: fn.DivideNoNan(a, b),
        node=fn.DivideNoNan,
        numeric=_divide_no_nan,
        switch=lambda a, b: _sign(b),
        jumps=("{1} == 0",),
        smoothness=-1,
        crossings=_divisor,
        piece=lambda state, a, b: a / b if int(state) else sp.S.Zero,
        jvp=_jvp_divide_no_nan,
        state_surfaces=lambda a, b: 0,
        tf="tf.math.divide_no_nan({0}, {1})",
        summary="a / b, and 0 where b == 0: it jumps there",
        surrogates=(Surrogate("epsilon", "{0} / ({1} + {t})", 1e-7),),
    ),
    # kinks
    Atom(
        name="abs",
        aliases=("absolute", "fabs"),
        params=_p("x"),
        build=_unary(sp.Abs),
        node=sp.Abs,
        numeric=np.abs,
        nonnegative=True,
        switch=_sign,
        crossings=_argument,
        piece=_signed_piece,
        kinks=("{0} == 0",),
        state_surfaces=lambda a, b: 0,
        smoothness=0,
        tf="tf.abs({0})",
        summary="piecewise linear, with a kink at 0",
        surrogates=(
            Surrogate("huber", "huber({0}, {t})", 1.0),
            Surrogate("smoothed", "sqrt({0}^2 + {t})", 1e-6),
        ),
    ),
    Atom(
        name="relu",
        params=_p("x"),
        build=_unary(fn.Relu),
        node=fn.Relu,
        numeric=lambda x: np.maximum(x, 0.0),
        nonnegative=True,
        switch=_positive,
        crossings=_argument,
        piece=_pieces(lambda x: sp.S.Zero, lambda x: x),
        kinks=("{0} == 0",),
        flat=("{0} < 0",),
        flat_states={0: 0},
        state_surfaces=lambda a, b: 0,
        smoothness=0,
        tf_method="_print_Relu",
        summary="0 below 0 and x above: a kink at 0 and a constant piece below it",
        surrogates=(
            Surrogate("softplus", "{t} * softplus({0} / {t})", 0.1),
            Surrogate("leaky", "leaky_relu({0}, alpha=0.01)"),
        ),
    ),
    _corners(
        "relu6",
        fn.Relu6,
        lambda x: np.clip(x, 0.0, 6.0),
        (0.0, 6.0),
        ("{0} == 0", "{0} == 6"),
        ("{0} < 0", "{0} > 6"),
        {0: 0, 2: 1},
        "_print_Relu6",
        Surrogate("softplus", "softplus({0}) - softplus({0} - 6)"),
        piece=_pieces(lambda x: sp.S.Zero, lambda x: x, lambda x: sp.Integer(6)),
        nonnegative=True,
    ),
    _corners(
        "hard_tanh",
        fn.HardTanh,
        lambda x: np.clip(x, -1.0, 1.0),
        (-1.0, 1.0),
        ("{0} == -1", "{0} == 1"),
        ("{0} < -1", "{0} > 1"),
        {0: 0, 2: 1},
        "_print_HardTanh",
        Surrogate("tanh", "tanh({0})"),
        "hardtanh",
        piece=_pieces(lambda x: sp.S.NegativeOne, lambda x: x, lambda x: sp.S.One),
    ),
    Atom(
        name="hard_sigmoid",
        aliases=("hardsigmoid",),
        params=_p("x"),
        build=_hard_sigmoid,
        summary="relu6(x + 3) / 6 (Keras 3)",
    ),
    Atom(
        name="hard_silu",
        aliases=("hard_swish", "hardswish"),
        params=_p("x"),
        build=lambda x: x * _hard_sigmoid(x),
        summary="x * hard_sigmoid(x)",
    ),
    Atom(
        name="clip",
        aliases=("clip_by_value", "clamp"),
        params=(
            Param("x", keywords=("t",)),
            Param("lo", keywords=("clip_value_min", "a_min", "min", "x_min")),
            Param("hi", keywords=("clip_value_max", "a_max", "max", "x_max")),
        ),
        build=lambda x, lo, hi: fn.Clip(x, lo, hi),
        node=fn.Clip,
        numeric=lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
        switch=_between,
        crossings=_at_bounds,
        piece=_pieces(lambda x, lo, hi: lo, lambda x, lo, hi: x, lambda x, lo, hi: hi),
        kinks=("{0} == {1}", "{0} == {2}"),
        flat=("{0} < {1}", "{0} > {2}"),
        flat_states={0: 0, 2: 1},
        state_surfaces=_adjacent,
        smoothness=0,
        tf_method="_print_Clip",
        summary="clamps to [lo, hi]: kinks at the corners, constant pieces beyond them",
        surrogates=(
            Surrogate("sigmoid", "{1} + ({2} - {1}) * sigmoid((2 * {0} - {1} - {2}) / ({2} - {1}) * 4)"),
        ),
    ),
    _corners(
        "leaky_relu",
        fn.LeakyRelu,
        lambda x, a: np.where(x > 0, x, a * x),
        (0.0,),
        ("{0} == 0",),
        (),
        {},
        "_print_LeakyRelu",
        Surrogate("softplus", "{1} * {0} + (1 - {1}) * softplus({0})"),
        params=(Param("x"), Param("alpha", default=sp.Rational(1, 5), keywords=("negative_slope",))),
        piece=_pieces(lambda x, a: a * x, lambda x, a: x),
    ),
    Atom(
        name="elu",
        params=(Param("x"), Param("alpha", default=1)),
        build=lambda x, alpha: fn.Elu(x, alpha),
        node=fn.Elu,
        numeric=_elu,
        switch=_positive,
        crossings=_argument,
        piece=_pieces(lambda x, a: a * (sp.exp(x) - 1), lambda x, a: x),
        kinks=("{0} == 0",),
        state_surfaces=lambda a, b: 0,
        smoothness=0,
        tf_method="_print_Elu",
        summary="x above 0, alpha * (exp(x) - 1) below: C1 only when alpha == 1",
        surrogates=(Surrogate("celu", "celu({0}, {1})"),),
    ),
    _corners(
        "selu",
        fn.Selu,
        _selu,
        (0.0,),
        ("{0} == 0",),
        (),
        {},
        "_print_Selu",
        Surrogate("celu", "celu({0}, 1.6733)"),
        piece=_pieces(lambda x: fn.SELU_SCALE * fn.SELU_ALPHA * (sp.exp(x) - 1), lambda x: fn.SELU_SCALE * x),
    ),
    Atom(
        name="sparse_plus",
        params=_p("x"),
        build=_unary(fn.SparsePlus),
        node=fn.SparsePlus,
        numeric=_sparse_plus,
        switch=_band(-1.0, 1.0),
        crossings=_at_edges(-1.0, 1.0),
        surfaces=("{0} == -1", "{0} == 1"),
        flat=("{0} < -1",),
        flat_states={0: 0},
        state_surfaces=_adjacent,
        smoothness=1,
        piece=_pieces(lambda x: sp.S.Zero, lambda x: (x + 1) ** 2 / 4, lambda x: x),
        tf_method="_print_SparsePlus",
        summary="0 below -1, (x + 1)^2 / 4 on [-1, 1], x above 1: C1, with a constant piece below -1",
        surrogates=(Surrogate("softplus", "softplus({0})"),),
    ),
    _corners(
        "soft_shrink",
        fn.SoftShrink,
        _soft_shrink,
        (),
        ("{0} == -{1}", "{0} == {1}"),
        ("abs({0}) < {1}",),
        {1: 0},
        "_print_SoftShrink",
        Surrogate("smooth shrink", "{0} - {1} * tanh({0} / {1})"),
        "softshrink",
        params=(Param("x"), Param("threshold", default=sp.Rational(1, 2), keywords=("lambd", "lambda_"))),
        build=lambda x, threshold: fn.SoftShrink(x, threshold),
        switch=lambda x, t: _between(x, -t, t),
        crossings=_at_threshold,
        piece=_pieces(lambda x, t: x + t, lambda x, t: sp.S.Zero, lambda x, t: x - t),
    ),
    _corners(
        "hard_shrink",
        fn.HardShrink,
        _hard_shrink,
        (),
        (),
        ("abs({0}) < {1}",),
        {1: 0},
        "_print_HardShrink",
        Surrogate("soft shrink", "soft_shrink({0}, {1})"),
        "hardshrink",
        params=(Param("x"), Param("threshold", default=sp.Rational(1, 2), keywords=("lambd", "lambda_"))),
        build=lambda x, threshold: fn.HardShrink(x, threshold),
        jumps=("{0} == -{1}", "{0} == {1}"),
        smoothness=-1,
        switch=lambda x, t: _between(x, -t, t),
        crossings=_at_threshold,
        piece=_pieces(lambda x, t: x, lambda x, t: sp.S.Zero, lambda x, t: x),
    ),
    Atom(
        name="max",
        aliases=("maximum", "fmax"),
        params=_p("x"),
        variadic=True,
        build=_max_build,
        node=sp.Max,
        numeric=_maximum,
        switch=_max_state,
        crossings=_pairs,
        jvp=_jvp_chosen(_max_state),
        piece=_chosen_argument,
        kinks=("{a} == {b}",),
        flat=("{other} < {winner}",),
        state_surfaces=lambda a, b: 0,
        smoothness=0,
        tf_method="_print_Max",
        summary="the larger argument: kinks where the arguments tie",
        surrogates=(
            Surrogate(
                "softplus",
                "{1} + {t} * softplus(({0} - {1}) / {t})",
                0.1,
                against_zero="{t} * softplus({0} / {t})",
            ),
        ),
    ),
    Atom(
        name="min",
        aliases=("minimum", "fmin"),
        params=_p("x"),
        variadic=True,
        build=_min_build,
        node=sp.Min,
        numeric=_minimum,
        switch=_min_state,
        crossings=_pairs,
        jvp=_jvp_chosen(_min_state),
        piece=_chosen_argument,
        kinks=("{a} == {b}",),
        flat=("{other} > {winner}",),
        state_surfaces=lambda a, b: 0,
        smoothness=0,
        tf_method="_print_Min",
        summary="the smaller argument: kinks where the arguments tie",
        surrogates=(
            Surrogate(
                "soft minimum",
                "{1} - {t} * softplus(({1} - {0}) / {t})",
                0.1,
                against_zero="-{t} * softplus(-{0} / {t})",
            ),
        ),
    ),
    # jumps
    Atom(
        name="mod",
        aliases=("floormod", "floor_mod", "remainder", "fmod"),
        params=_p("x", "m"),
        build=_modulo,
        node=sp.Mod,
        numeric=_floor_mod,
        switch=lambda x, m: np.floor(x / m).astype(np.int64),
        jumps=("{0} / {1} is an integer",),
        crossings=_at_integer_quotients,
        piece=lambda state, x, m: x - m * int(state),
        jvp=_jvp_mod,
        state_surfaces=lambda a, b: 0,
        smoothness=-1,
        tf="tf.math.floormod({0}, {1})",
        summary="x - m * floor(x / m): slope 1, jumps where x / m is an integer",
        surrogates=(Surrogate("periodic", "sin(2 * pi * {0} / {1})"),),
    ),
    _rounding("floor", sp.floor, np.floor, "{0} is an integer", "tf.floor({0})"),
    _rounding("ceil", sp.ceiling, np.ceil, "{0} is an integer", "tf.math.ceil({0})", "ceiling"),
    _rounding(
        "round",
        fn.Round,
        _rint,
        "{0} is a half-integer",
        "tf.round({0})",
        "rint",
        crossings=_at_half_integers,
    ),
    Atom(
        name="sign",
        params=_p("x"),
        build=_unary(sp.sign),
        node=sp.sign,
        numeric=np.sign,
        switch=_sign,
        crossings=_argument,
        piece=_constant_piece,
        jumps=("{0} == 0",),
        zero_gradient=frozenset({0}),
        state_surfaces=lambda a, b: 0,
        smoothness=-1,
        tf="tf.sign({0})",
        summary="-1, 0 or 1: piecewise constant, jumping at 0",
        surrogates=(
            Surrogate("tanh", "tanh({0} / {t})", 0.1),
            Surrogate("straight-through", "{0} + stop_gradient(sign({0}) - {0})"),
        ),
    ),
    Atom(
        name="heaviside",
        aliases=("step",),
        params=(Param("x"), Param("h0", default=sp.Rational(1, 2), keywords=("values",))),
        build=lambda x, h0: sp.Heaviside(x, h0),
        node=sp.Heaviside,
        numeric=_heaviside,
        switch=lambda x, h0: _sign(x),
        jumps=("{0} == 0",),
        zero_gradient=frozenset({0}),
        crossings=_argument,
        piece=lambda state, x, h0: sp.S.One if int(state) > 0 else sp.S.Zero if int(state) < 0 else h0,
        state_surfaces=lambda a, b: 0,
        smoothness=-1,
        tf_method="_print_Heaviside",
        summary="0 below 0, 1 above: piecewise constant, jumping at 0",
        surrogates=(Surrogate("sigmoid", "sigmoid({0} / {t})", 0.1),),
    ),
    Atom(
        name="argmax",
        params=(Param("v"), Param("axis", default=-1, keywords=("dim",), kind="axis")),
        build=lambda v, axis: fn.ArgMax(v),
        node=fn.ArgMax,
        shape=INDEX,
        numeric=lambda v: _argmax(v).astype(float),
        entries=_arg_extremum_entries(lambda a, b: a >= b),
        switch=_argmax,
        jumps=("ties among the largest entries of {0}",),
        zero_gradient=frozenset({0}),
        crossings=_entry_pairs,
        piece=_constant_piece,
        state_surfaces=lambda a, b: 0,
        smoothness=-1,
        tf_method="_print_ArgMax",
        summary="an index: piecewise constant, jumping where the largest entries tie",
        surrogates=(
            Surrogate("softargmax", "sum(softmax({0} / {t}) * range_like({0}))", 0.1),
            Surrogate("softmax", "softmax({0} / {t})", 0.1),
        ),
    ),
    Atom(
        name="argmin",
        params=(Param("v"), Param("axis", default=-1, keywords=("dim",), kind="axis")),
        build=lambda v, axis: fn.ArgMin(v),
        node=fn.ArgMin,
        shape=INDEX,
        numeric=lambda v: _argmin(v).astype(float),
        entries=_arg_extremum_entries(lambda a, b: a <= b),
        switch=_argmin,
        jumps=("ties among the smallest entries of {0}",),
        zero_gradient=frozenset({0}),
        crossings=_entry_pairs,
        piece=_constant_piece,
        state_surfaces=lambda a, b: 0,
        smoothness=-1,
        tf_method="_print_ArgMin",
        summary="an index: piecewise constant, jumping where the smallest entries tie",
        surrogates=(Surrogate("softargmin", "sum(softmax(-{0} / {t}) * range_like({0}))", 0.1),),
    ),
    Atom(
        name="argsort",
        params=(Param("v"), Param("axis", default=-1, keywords=("dim",), kind="axis")),
        build=lambda v, axis: fn.ArgSort(v),
        node=fn.ArgSort,
        shape=ALONG,
        numeric=_argsort,
        entries=_argsort_entries,
        switch=_permutation_code,
        jumps=("ties among the entries of {0}",),
        zero_gradient=frozenset({0}),
        crossings=_entry_pairs,
        piece=lambda state, v: fn.ArgSort(v),
        jvp=lambda args, tangents, value: np.zeros_like(value),
        state_surfaces=lambda a, b: 0,
        smoothness=-1,
        tf="tf.cast(tf.argsort({0}, axis=-1), {0}.dtype)",
        summary="the sorting permutation: piecewise constant, jumping where entries tie",
        surrogates=(
            Surrogate(
                "soft rank", "softsort({0}, {t}) with softsort a relaxed sort (not part of TensorFlow)", 0.1
            ),
        ),
    ),
    Atom(
        name="subscript",
        params=(
            Param("x"),
            Param("start", kind="int"),
            Param("stop", kind="int"),
            Param("step", kind="int"),
            Param("drop", kind="int"),
        ),
        build=lambda x, start, stop, step, drop: fn.Subscript(x, start, stop, step, drop),
        node=fn.Subscript,
        shape=GATHER,
        numeric=_subscript,
        entries=_subscript_entries,
        jvp=_jvp_subscript,
        tf_method="_print_Subscript",
        summary="NumPy indexing x[..., k] or x[..., a:b:c] along the last axis (written with brackets): "
        "linear in x",
    ),
    Atom(
        name="one_hot",
        params=(Param("i"), Param("n", keywords=("depth", "num_classes"), kind="int")),
        build=lambda i, n: fn.OneHot(i, n),
        node=fn.OneHot,
        shape=GATHER,
        numeric=_one_hot,
        entries=_one_hot_entries,
        switch=lambda i, n: np.nan_to_num(np.asarray(i, dtype=float)).astype(np.int64),
        crossings=_one_hot_crossings,
        piece=lambda state, i, n: fn.OneHot(sp.Integer(int(state)), n),
        jumps=("{0} changes",),
        zero_gradient=frozenset({0}),
        state_surfaces=lambda a, b: 0,
        smoothness=-1,
        tf_method="_print_OneHot",
        summary="a one-hot vector: piecewise constant in its index",
        surrogates=(
            Surrogate("softmax", "softmax(z / {t}) with z the scores that {0} is the argmax of", 0.1),
        ),
    ),
    Atom(
        name="in_top_k",
        params=(
            Param("v", keywords=("predictions",)),
            Param("i", keywords=("targets",)),
            Param("k", kind="int"),
        ),
        build=lambda v, i, k: _as_number(fn.InTopK(v, i, k)),
        node=fn.InTopK,
        shape=GATHER,
        numeric=_in_top_k,
        entries=_in_top_k_entries,
        switch=lambda v, i, k: _in_top_k(v, i, k).astype(np.int64),
        jumps=("the top {2} entries of {0} change",),
        crossings=_top_k_crossings,
        zero_gradient=frozenset({0, 1}),
        state_surfaces=lambda a, b: 0,
        smoothness=-1,
        tf_method="_print_InTopK",
        summary="true when entry i is among the k largest: piecewise constant",
        surrogates=(Surrogate("softmax", "take(softmax({0} / {t}), {1})", 0.1),),
    ),
    Atom(
        name="take",
        aliases=("gather", "take_along_axis"),
        params=(
            Param("v", keywords=("params", "arr")),
            Param("i", keywords=("indices",)),
            Param("axis", default=-1, kind="axis"),
        ),
        build=lambda v, i, axis: fn.Take(v, i),
        node=fn.Take,
        shape=GATHER,
        numeric=_take,
        entries=_take_entries,
        switch=lambda v, i: np.nan_to_num(np.asarray(i, dtype=float)).astype(np.int64),
        crossings=_take_crossings,
        piece=lambda state, v, i: fn.Take(v, sp.Integer(int(state))),
        jvp=_jvp_take,
        jumps=("{1} changes",),
        zero_gradient=frozenset({1}),
        state_surfaces=lambda a, b: 0,
        smoothness=-1,
        tf_method="_print_Take",
        summary="picks entries of v: linear in v, piecewise constant in the index",
        surrogates=(
            Surrogate(
                "soft selection",
                "sum(softmax(z / {t}) * {0}) with z the scores that {1} is the argmax of",
                0.1,
            ),
        ),
    ),
    # logic and comparisons
    _comparison("less", sp.StrictLessThan, "<"),
    _comparison("less_equal", sp.LessThan, "<="),
    _comparison("greater", sp.StrictGreaterThan, ">"),
    _comparison("greater_equal", sp.GreaterThan, ">="),
    _comparison("equal", sp.Eq, "=="),
    _comparison("not_equal", sp.Ne, "!="),
    Atom(
        name="logical_and",
        params=(Param("x", kind="condition"), Param("y", kind="condition")),
        build=lambda a, b: sp.And(a, b),
        node=sp.And,
        zero_gradient=frozenset({0, 1}),
        smoothness=-1,
        tf_method="_print_And",
        summary="a boolean: as a number, piecewise constant",
    ),
    Atom(
        name="logical_or",
        params=(Param("x", kind="condition"), Param("y", kind="condition")),
        build=lambda a, b: sp.Or(a, b),
        node=sp.Or,
        zero_gradient=frozenset({0, 1}),
        smoothness=-1,
        tf_method="_print_Or",
        summary="a boolean: as a number, piecewise constant",
    ),
    Atom(
        name="logical_not",
        params=(Param("x", kind="condition"),),
        build=lambda a: sp.Not(a),
        node=sp.Not,
        zero_gradient=frozenset({0}),
        smoothness=-1,
        tf_method="_print_Not",
        summary="a boolean: as a number, piecewise constant",
    ),
    Atom(
        name="all",
        aliases=("reduce_all",),
        params=CONDITION_REDUCTION_PARAMS,
        build=lambda x, axis, keepdims: fn.ReduceAll(x),
        node=fn.ReduceAll,
        shape=REDUCTION,
        numeric=lambda x: np.all(np.asarray(x, dtype=bool), axis=-1, keepdims=True),
        entries=_entries_reduced(lambda v: sp.And(*v)),
        zero_gradient=frozenset({0}),
        smoothness=-1,
        tf_method="_print_ReduceAll",
        summary="a boolean: as a number, piecewise constant",
    ),
    Atom(
        name="any",
        aliases=("reduce_any",),
        params=CONDITION_REDUCTION_PARAMS,
        build=lambda x, axis, keepdims: fn.ReduceAny(x),
        node=fn.ReduceAny,
        shape=REDUCTION,
        numeric=lambda x: np.any(np.asarray(x, dtype=bool), axis=-1, keepdims=True),
        entries=_entries_reduced(lambda v: sp.Or(*v)),
        zero_gradient=frozenset({0}),
        smoothness=-1,
        tf_method="_print_ReduceAny",
        summary="a boolean: as a number, piecewise constant",
    ),
    Atom(
        name="isnan",
        aliases=("is_nan",),
        params=_p("x"),
        build=lambda x: fn.IsNan(x),
        node=fn.IsNan,
        numeric=np.isnan,
        entries=_never,
        zero_gradient=frozenset({0}),
        smoothness=-1,
        tf_method="_print_IsNan",
        summary="false for every real input: constant",
    ),
    Atom(
        name="isinf",
        aliases=("is_inf",),
        params=_p("x"),
        build=lambda x: fn.IsInf(x),
        node=fn.IsInf,
        numeric=np.isinf,
        entries=_never,
        zero_gradient=frozenset({0}),
        smoothness=-1,
        tf_method="_print_IsInf",
        summary="false for every finite input: constant",
    ),
    Atom(
        name="where",
        params=(Param("condition", keywords=("cond", "c"), kind="condition"), Param("x"), Param("y")),
        build=lambda c, a, b: sp.Piecewise((a, c), (b, True)),
        node=sp.Piecewise,
        kinks=("{boundary}",),
        jumps=("{boundary}",),
        flat=("{condition}",),
        smoothness=-1,
        tf_method="_print_Piecewise",
        summary="a choice between branches: whatever they do, plus what happens on the boundary",
        surrogates=(
            Surrogate(
                "sigmoid blend",
                "s * {1} + (1 - s) * {2} with s = sigmoid(margin / {t}), "
                "margin > 0 where the condition holds",
                0.1,
            ),
        ),
    ),
    # gradient control and casts
    Atom(
        name="stop_gradient",
        aliases=("detach", "lax_stop_gradient"),
        params=_p("x"),
        build=lambda x: fn.StopGradient(x),
        node=fn.StopGradient,
        numeric=lambda x: x,
        zero_gradient=frozenset({0}),
        tf="tf.stop_gradient({0})",
        summary="treated as data: constant for the gradient, and nothing inside it is a finding",
    ),
    Atom(name="multiply", params=_p("x", "y"), build=lambda a, b: a * b, summary="x * y"),
    Atom(name="add", params=_p("x", "y"), build=lambda a, b: a + b, summary="x + y"),
    Atom(name="subtract", params=_p("x", "y"), build=lambda a, b: a - b, summary="x - y"),
    Atom(name="negative", params=_p("x"), build=lambda a: -a, summary="-x"),
    Atom(name="identity", params=_p("x"), build=lambda x: x, summary="x"),
    Atom(
        name="cast",
        params=(Param("x"), Param("dtype", kind="dtype")),
        build=lambda x, dtype: x,
        summary="x for a float dtype, x != 0 for bool",
    ),
    Atom(name="epsilon", params=(), build=lambda: _KERAS_EPSILON, summary="Keras's epsilon, 1e-7"),
    # composite losses, as their formulas in TensorFlow / Keras
    Atom(
        name="sigmoid_cross_entropy_with_logits",
        params=(Param("labels"), Param("logits")),
        build=_sigmoid_ce,
        summary="TensorFlow's stable form max(x, 0) - x * z + log(1 + exp(-abs(x)))",
    ),
    Atom(
        name="softmax_cross_entropy_with_logits",
        shape=REDUCTION,
        params=(Param("labels"), Param("logits")),
        build=_softmax_ce,
        summary="-sum(labels * log_softmax(logits))",
    ),
    Atom(
        name="binary_crossentropy",
        shape=REDUCTION,
        aliases=("binary_cross_entropy",),
        params=(
            Param("y", keywords=("y_true", "target")),
            Param("p", keywords=("y_pred", "output", "input")),
            Param("from_logits", default=False, kind="flag"),
        ),
        build=_binary_ce,
        summary="Keras's binary cross-entropy: probabilities clipped to [1e-7, 1 - 1e-7]",
    ),
    Atom(
        name="categorical_crossentropy",
        shape=REDUCTION,
        aliases=("categorical_cross_entropy",),
        params=(
            Param("y", keywords=("y_true", "target")),
            Param("p", keywords=("y_pred", "output", "input")),
            Param("from_logits", default=False, kind="flag"),
        ),
        build=_categorical_ce,
        summary="Keras's categorical cross-entropy: probabilities normalised and clipped",
    ),
    Atom(
        name="sparse_categorical_crossentropy",
        shape=REDUCTION,
        aliases=("sparse_categorical_cross_entropy",),
        params=(
            Param("y", keywords=("y_true", "target")),
            Param("p", keywords=("y_pred", "output")),
            Param("from_logits", default=False, kind="flag"),
            Param("axis", default=-1, kind="axis"),
        ),
        build=_sparse_categorical_ce,
        summary="Keras's sparse categorical cross-entropy: the labels are class indices "
        "(zero-gradient in them)",
    ),
    Atom(
        name="sparse_softmax_cross_entropy_with_logits",
        shape=REDUCTION,
        params=(Param("labels"), Param("logits")),
        build=lambda labels, logits: fn.LogSumExp(logits) - fn.Take(logits, labels),
        summary="logsumexp(logits) - logits[labels]",
    ),
)


# ------------------------------------------------------------------ library spellings
# LANGUAGE.md §2: the argument order and keywords follow the library the spelling comes from. A
# name spelled with one of a library's prefixes is looked up in that library's rows first; these
# rows are data like the others (parameters in the library's order, its keywords and defaults, the
# formula it computes), and their names are not names of the language without the prefix.


def _torch_mean(x: Any) -> Any:
    return fn.ReduceMean(x)  # PyTorch's default reduction="mean"


def _torch_bce(p: Any, y: Any) -> Any:
    # PyTorch clamps each log to be at least -100
    return _torch_mean(-(y * sp.Max(sp.log(p), -100) + (1 - y) * sp.Max(sp.log(1 - p), -100)))


def _torch_cross_entropy(z: Any, y: Any, label_smoothing: Any) -> Any:
    nll = fn.LogSumExp(z) - fn.Take(z, y)  # target holds class indices
    if label_smoothing != 0:
        nll = (1 - label_smoothing) * nll - label_smoothing * fn.ReduceMean(fn.LogSoftmax(z))
    return _torch_mean(nll)


def _torch_distance(a: Any, b: Any, order: Any, eps: Any) -> Any:
    return fn.Norm(a - b + eps, order)  # F.pairwise_distance


def _torch_kl_div(x: Any, y: Any, log_target: Any) -> Any:
    if log_target != 0:
        return _torch_mean(sp.exp(y) * (y - x))
    return _torch_mean(fn.Xlogy(y, y) - y * x)


def _torch_cosine(a: Any, b: Any, dim: Any, eps: Any) -> Any:
    return fn.Dot(a, b) / sp.Max(fn.Norm(a, 2) * fn.Norm(b, 2), eps)


_INPUT_TARGET = (Param("input"), Param("target"))

TORCH_ROWS: tuple[Atom, ...] = (
    Atom(
        name="mse_loss",
        shape=REDUCTION,
        params=_INPUT_TARGET,
        build=lambda p, y: _torch_mean((p - y) ** 2),
        summary="PyTorch: mean((input - target)^2)",
    ),
    Atom(
        name="l1_loss",
        shape=REDUCTION,
        params=_INPUT_TARGET,
        build=lambda p, y: _torch_mean(sp.Abs(p - y)),
        summary="PyTorch: mean(abs(input - target))",
    ),
    Atom(
        name="smooth_l1_loss",
        shape=REDUCTION,
        params=(*_INPUT_TARGET, Param("beta", default=1)),
        build=lambda p, y, beta: _torch_mean(fn.Huber(p - y, beta) / beta if beta != 0 else sp.Abs(p - y)),
        summary="PyTorch: huber(input - target, beta) / beta, averaged",
    ),
    Atom(
        name="huber_loss",
        shape=REDUCTION,
        params=(*_INPUT_TARGET, Param("delta", default=1)),
        build=lambda p, y, delta: _torch_mean(fn.Huber(p - y, delta)),
        summary="PyTorch: huber(input - target, delta), averaged",
    ),
    Atom(
        name="binary_cross_entropy",
        shape=REDUCTION,
        params=_INPUT_TARGET,
        build=_torch_bce,
        summary="PyTorch: -mean(target * log(input) + (1 - target) * log(1 - input)), "
        "each log clamped to >= -100",
    ),
    Atom(
        name="binary_cross_entropy_with_logits",
        shape=REDUCTION,
        params=_INPUT_TARGET,
        build=lambda z, y: _torch_mean(_sigmoid_ce(y, z)),
        summary="PyTorch: the stable sigmoid cross-entropy of logits input against target, averaged",
    ),
    Atom(
        name="cross_entropy",
        shape=REDUCTION,
        params=(*_INPUT_TARGET, Param("label_smoothing", default=0)),
        build=_torch_cross_entropy,
        summary="PyTorch: logsumexp(input) - input[target] (target: class indices), averaged",
    ),
    Atom(
        name="nll_loss",
        shape=REDUCTION,
        params=_INPUT_TARGET,
        build=lambda x, y: _torch_mean(-fn.Take(x, y)),
        summary="PyTorch: -input[target] (log-probabilities at class indices), averaged",
    ),
    Atom(
        name="kl_div",
        shape=REDUCTION,
        params=(*_INPUT_TARGET, Param("log_target", default=False, kind="flag")),
        build=_torch_kl_div,
        summary="PyTorch: target * (log(target) - input) (input: log-probabilities), averaged",
    ),
    Atom(
        name="soft_margin_loss",
        shape=REDUCTION,
        params=_INPUT_TARGET,
        build=lambda x, y: _torch_mean(fn.Softplus(-y * x)),
        summary="PyTorch: mean(log(1 + exp(-target * input)))",
    ),
    Atom(
        name="hinge_embedding_loss",
        shape=REDUCTION,
        params=(*_INPUT_TARGET, Param("margin", default=1)),
        build=lambda x, y, margin: _torch_mean(sp.Piecewise((x, sp.Eq(y, 1)), (sp.Max(0, margin - x), True))),
        summary="PyTorch: input where target == 1, max(0, margin - input) elsewhere, averaged",
    ),
    Atom(
        name="margin_ranking_loss",
        shape=REDUCTION,
        params=(Param("input1"), Param("input2"), Param("target"), Param("margin", default=0)),
        build=lambda a, b, y, margin: _torch_mean(sp.Max(0, -y * (a - b) + margin)),
        summary="PyTorch: mean(max(0, -target * (input1 - input2) + margin))",
    ),
    Atom(
        name="triplet_margin_loss",
        shape=REDUCTION,
        params=(
            Param("anchor"),
            Param("positive"),
            Param("negative"),
            Param("margin", default=1),
            Param("p", default=2),
            Param("eps", default=sp.Rational(1, 10**6)),
        ),
        build=lambda a, pos, neg, margin, order, eps: _torch_mean(
            sp.Max(_torch_distance(a, pos, order, eps) - _torch_distance(a, neg, order, eps) + margin, 0)
        ),
        summary="PyTorch: max(d(anchor, positive) - d(anchor, negative) + margin, 0), "
        "d the p-norm of a - b + eps",
    ),
    Atom(
        name="pairwise_distance",
        shape=REDUCTION,
        params=(Param("x1"), Param("x2"), Param("p", default=2), Param("eps", default=sp.Rational(1, 10**6))),
        build=_torch_distance,
        summary="PyTorch: norm(x1 - x2 + eps, p)",
    ),
    Atom(
        name="cosine_similarity",
        shape=REDUCTION,
        params=(
            Param("x1"),
            Param("x2"),
            Param("dim", default=1, kind="axis"),
            Param("eps", default=sp.Rational(1, 10**8)),
        ),
        build=_torch_cosine,
        summary="PyTorch: dot(x1, x2) / max(norm(x1) * norm(x2), eps)",
    ),
    Atom(
        name="normalize",
        shape=ALONG,
        params=(
            Param("input"),
            Param("p", default=2),
            Param("dim", default=1, kind="axis"),
            Param("eps", default=sp.Rational(1, 10**12)),
        ),
        build=lambda x, order, dim, eps: x / sp.Max(fn.Norm(x, order), eps),
        summary="PyTorch: input / max(norm(input, p), eps)",
    ),
    Atom(
        name="clamp",
        aliases=("clip",),
        params=(
            Param("input"),
            Param("min", default=None, kind="optional"),
            Param("max", default=None, kind="optional"),
        ),
        build=_clamp,
        summary="PyTorch: clamp to [min, max]; one-sided (max(x, min) or min(x, max)) when only one is given",
    ),
    Atom(
        name="clamp_min",
        params=(Param("input"), Param("min")),
        build=lambda x, lo: sp.Max(x, lo),
        summary="PyTorch: max(input, min)",
    ),
    Atom(
        name="clamp_max",
        params=(Param("input"), Param("max")),
        build=lambda x, hi: sp.Min(x, hi),
        summary="PyTorch: min(input, max)",
    ),
    Atom(
        name="float",
        aliases=("double", "half"),
        params=_p("input"),
        build=lambda x: x,
        summary="PyTorch: a cast to a float type, x",
    ),
)


def _keras_mean(x: Any) -> Any:
    return fn.ReduceMean(x)  # over the last axis, as Keras's loss functions do


def _keras_cosine(y: Any, p: Any, axis: Any) -> Any:
    eps = sp.Rational(1, 10**12)
    return -fn.ReduceSum(_l2_normalize(y, axis, eps) * _l2_normalize(p, axis, eps))


_YP = (Param("y_true", keywords=("y",)), Param("y_pred", keywords=("p",)))

KERAS_ROWS: tuple[Atom, ...] = (
    Atom(
        name="mean_squared_error",
        shape=REDUCTION,
        aliases=("mse", "MSE"),
        params=_YP,
        build=lambda y, p: _keras_mean((p - y) ** 2),
        summary="Keras: mean(square(y_pred - y_true))",
    ),
    Atom(
        name="mean_absolute_error",
        shape=REDUCTION,
        aliases=("mae", "MAE"),
        params=_YP,
        build=lambda y, p: _keras_mean(sp.Abs(p - y)),
        summary="Keras: mean(abs(y_pred - y_true))",
    ),
    Atom(
        name="mean_absolute_percentage_error",
        shape=REDUCTION,
        aliases=("mape", "MAPE"),
        params=_YP,
        build=lambda y, p: 100 * _keras_mean(sp.Abs((y - p) / sp.Max(sp.Abs(y), _KERAS_EPSILON))),
        summary="Keras: 100 * mean(abs((y_true - y_pred) / max(abs(y_true), 1e-7)))",
    ),
    Atom(
        name="mean_squared_logarithmic_error",
        shape=REDUCTION,
        aliases=("msle", "MSLE"),
        params=_YP,
        build=lambda y, p: _keras_mean(
            (sp.log(sp.Max(p, _KERAS_EPSILON) + 1) - sp.log(sp.Max(y, _KERAS_EPSILON) + 1)) ** 2
        ),
        summary="Keras: mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2)",
    ),
    Atom(
        name="huber",
        shape=REDUCTION,
        params=(*_YP, Param("delta", default=1)),
        build=lambda y, p, delta: _keras_mean(fn.Huber(p - y, delta)),
        summary="Keras: mean(huber(y_pred - y_true, delta))",
    ),
    Atom(
        name="log_cosh",
        shape=REDUCTION,
        aliases=("logcosh",),
        params=_YP,
        build=lambda y, p: _keras_mean((p - y) + fn.Softplus(-2 * (p - y)) - sp.log(2)),
        summary="Keras: mean(x + softplus(-2x) - log(2)), x = y_pred - y_true",
    ),
    Atom(
        name="hinge",
        shape=REDUCTION,
        params=_YP,
        build=lambda y, p: _keras_mean(sp.Max(1 - y * p, 0)),
        summary="Keras: mean(max(1 - y_true * y_pred, 0))",
    ),
    Atom(
        name="squared_hinge",
        shape=REDUCTION,
        params=_YP,
        build=lambda y, p: _keras_mean(sp.Max(1 - y * p, 0) ** 2),
        summary="Keras: mean(max(1 - y_true * y_pred, 0)^2)",
    ),
    Atom(
        name="categorical_hinge",
        shape=REDUCTION,
        params=_YP,
        build=lambda y, p: sp.Max(fn.ReduceMax((1 - y) * p) - fn.ReduceSum(y * p) + 1, 0),
        summary="Keras: max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)",
    ),
    Atom(
        name="kl_divergence",
        shape=REDUCTION,
        aliases=("kld", "KLD", "kullback_leibler_divergence"),
        params=_YP,
        build=lambda y, p: fn.ReduceSum(
            fn.Clip(y, _KERAS_EPSILON, 1)
            * sp.log(fn.Clip(y, _KERAS_EPSILON, 1) / fn.Clip(p, _KERAS_EPSILON, 1))
        ),
        summary="Keras: sum(y * log(y / p)), both clipped to [1e-7, 1]",
    ),
    Atom(
        name="poisson",
        shape=REDUCTION,
        params=_YP,
        build=lambda y, p: _keras_mean(p - y * sp.log(p + _KERAS_EPSILON)),
        summary="Keras: mean(y_pred - y_true * log(y_pred + 1e-7))",
    ),
    Atom(
        name="cosine_similarity",
        shape=REDUCTION,
        params=(*_YP, Param("axis", default=-1, kind="axis")),
        build=_keras_cosine,
        summary="Keras: -sum(l2_normalize(y_true) * l2_normalize(y_pred))",
    ),
)


def _index(rows: tuple[Atom, ...]) -> tuple[Mapping[str, Atom], Mapping[type, Atom]]:
    by_name: dict[str, Atom] = {}
    by_node: dict[type, Atom] = {}
    for row in rows:
        for spelling in row.spellings:
            if spelling in by_name:
                raise ValueError(
                    f"the atom table spells {spelling!r} twice ({row.name}, {by_name[spelling].name})"
                )
            by_name[spelling] = row
        if row.node is not None and row.node not in by_node:
            by_node[row.node] = row
    return MappingProxyType(by_name), MappingProxyType(by_node)


ATOMS: tuple[Atom, ...] = _ROWS
ATOM_BY_NAME, ATOM_BY_NODE = _index(_ROWS)
TORCH_BY_NAME, _ = _index(TORCH_ROWS)
KERAS_BY_NAME, _ = _index(KERAS_ROWS)


def nodes(test: Callable[[Atom], bool]) -> tuple[type, ...]:
    """The SymPy classes of the rows that pass `test`, in table order: how a module derives the
    classes it treats alike from the rows' facts (once, at import) instead of listing them."""
    return tuple(row.node for row in ATOM_BY_NODE.values() if test(row))


# The lists of classes the package needs, from each row's `shape` (an immutable tuple each).
VECTOR_NODES = nodes(lambda row: row.shape != ELEMENTWISE)  # a function of the whole vector axis
# The classes that take `axis=` (the code generator keeps it), values and conditions apart.
AXIS_NODES = nodes(
    lambda row: row.shape in (REDUCTION, ALONG, INDEX) and row.takes_axis and not row.is_condition
)
CONDITION_AXIS_NODES = nodes(lambda row: row.shape == REDUCTION and row.takes_axis and row.is_condition)
REDUCTION_NODES = nodes(lambda row: row.shape == REDUCTION and not row.is_condition)  # one entry left
# The float64 function of each elementwise class, for SymPy's evalf of a function of numbers.
fn.use_numerics(
    {row.node: row.numeric for row in ATOM_BY_NODE.values() if row.shape == ELEMENTWISE and row.numeric}
)

# Library spellings (LANGUAGE.md §2), longest prefix first: a name with one of these prefixes is
# looked up in the library's own rows before the language's. Methods (`x.clamp(min=0)`) use PyTorch's.
LIBRARIES: Mapping[str, Mapping[str, Atom]] = MappingProxyType(
    {"torch": TORCH_BY_NAME, "keras": KERAS_BY_NAME}
)
LIBRARY_PREFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        (
            ("torch.nn.functional.", "torch"),
            ("nn.functional.", "torch"),
            ("torch.", "torch"),
            ("F.", "torch"),
            ("tf.keras.losses.", "keras"),
            ("keras.losses.", "keras"),
            ("tf.losses.", "keras"),
            ("losses.", "keras"),
        ),
        key=lambda item: len(item[0]),
        reverse=True,
    )
)

# Prefixes dropped from pasted code (LANGUAGE.md §2), longest first so `tf.math.` wins over `tf.`.
PREFIXES = tuple(
    sorted(
        (
            "tf.",
            "tf.math.",
            "tf.nn.",
            "tf.keras.backend.",
            "K.",
            "np.",
            "jnp.",
            "jax.nn.",
            "keras.ops.",
            "ops.",
            "torch.",
            "F.",
            "tf.keras.activations.",
            "keras.activations.",
            "tf.keras.losses.",
            "keras.losses.",
            "jax.numpy.",
            "numpy.",
            "torch.nn.functional.",
            "jax.lax.",
            "lax.",
            "tf.linalg.",
            "jnp.linalg.",
            "np.linalg.",
            "torch.linalg.",
            "linalg.",
            "jax.numpy.linalg.",
            "numpy.linalg.",
            "tf.losses.",
            "losses.",
            "nn.functional.",
            "jax.scipy.special.",
            "scipy.special.",
            "tf.keras.ops.",
            "keras.backend.",
            "tfa.losses.",
            "optax.",
        ),
        key=len,
        reverse=True,
    )
)

CONSTANTS: Mapping[str, Any] = MappingProxyType({"pi": sp.pi, "inf": sp.oo, "e": sp.E, "nan": sp.nan})
FLOAT_DTYPES = frozenset({"float16", "float32", "float64", "bfloat16", "double", "float", "half"})
BOOL_DTYPES = frozenset({"bool", "bool_"})
INT_DTYPES = frozenset({"int32", "int64", "int8", "int16", "uint8", "int", "long"})


def strip_prefix(name: str) -> str:
    for prefix in PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def library_of(name: str) -> tuple[str, str] | None:
    """(library, bare name) for a name spelled with a library prefix, else None."""
    for prefix, library in LIBRARY_PREFIXES:
        if name.startswith(prefix):
            return library, name[len(prefix) :]
    return None


def lookup(name: str, method: bool = False) -> Atom | None:
    """The row a spelling resolves to: the library's own row for a library prefix (`F.mse_loss`,
    `keras.losses.huber`), PyTorch's for a method (`x.clamp(min=0)`), else the language's."""
    if method:
        return TORCH_BY_NAME.get(name) or ATOM_BY_NAME.get(name)
    library = library_of(name)
    if library is not None:
        row = LIBRARIES[library[0]].get(library[1])
        if row is not None:
            return row
    return ATOM_BY_NAME.get(strip_prefix(name))


def spellings_of(row: Atom) -> tuple[str, ...]:
    """How a row is written: its names, with the library's prefix for a library row."""
    if any(row is other for other in TORCH_ROWS):
        return tuple(f"F.{name}" for name in row.spellings)
    if any(row is other for other in KERAS_ROWS):
        return tuple(f"keras.losses.{name}" for name in row.spellings)
    return row.spellings


def row_for(node: Any) -> Atom | None:
    """The row whose facts describe a SymPy node, by the node's class."""
    cls = type(node)
    row = ATOM_BY_NODE.get(cls)
    if row is None and isinstance(node, BooleanFunction):
        return None
    return row


def is_flat_atom(row: Atom) -> bool:
    """JAX's `defjvp_zero`: the derivative is zero almost everywhere in every argument."""
    return bool(row.zero_gradient) and all(
        index in row.zero_gradient for index, param in enumerate(row.params) if param.kind == "expr"
    )
