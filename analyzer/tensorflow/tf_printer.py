"""Print SymPy bodies as TensorFlow code, in SymPy's printer style.

`TensorFlowPrinter` dispatches on the class of each node (`_print_Add`, `_print_Piecewise`,
`_print_Along`, ...). A function of the atom table is printed as its row says: from its `tf`
template (`_print_Function` fills it; `TEMPLATES`, keyed by the row's SymPy class), or by the
method its `tf_method` names, where the code depends on the arguments (tests/test_architecture.py
checks that the two agree with SymPy's dispatch). Anything else is refused with `UnsupportedError`,
never printed approximately. The printer records what the code needs: imports,
helper functions, the `dtype` of the inputs.

The convention at kinks (documented in the generated module and in `KINK_CONVENTION`): at a kink,
the gradient is the subgradient of smallest magnitude of the kinked atom with respect to its
arguments that move with the differentiated parameters. So a tie of `max(x, c)` (a constant or
data `c`) or a corner of `relu`/`clip` gives slope 0, `abs` has slope 0 at 0, a tie between two
moving arguments of `max`/`min` splits the gradient evenly, `leaky_relu` keeps `alpha`, and the
2-norm and the standard deviation have gradient 0 where they are 0. It never depends on the order
in which arguments are written or stored (TensorFlow gives a tie of `tf.maximum` to its first
argument; SymPy sorts `Max` arguments). At the boundary of a `where`, the branch its condition
selects gives the gradient.
"""

from __future__ import annotations

import ast as python_ast
import builtins
import keyword
import math
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanFalse, BooleanTrue
from sympy.printing.printer import Printer

from ..atoms import functions as fn
from ..atoms.table import _OPEN_END, ATOMS, AXIS_NODES, CONDITION_AXIS_NODES, REDUCTION_NODES
from .nodes import (
    Along,
    AlongCondition,
    Guarded,
    KinkSqrt,
    LogCosh,
    OnesLike,
    SoftmaxCrossEntropy,
    StraightThrough,
    ZerosLike,
)

KINK_CONVENTION = (
    "At a kink, the gradient is the subgradient of smallest magnitude of the kinked function with "
    "respect to its arguments that move: slope 0 at a tie of max(x, c) with a constant c and at the "
    "corners of relu and clip, slope 0 for abs at 0, an even split between tied moving arguments of "
    "max and min, gradient 0 for a norm or a standard deviation at 0. At the boundary of a where, the "
    "branch its condition selects gives the gradient. Where the kinks cancel (the function is C1 "
    "there), a tie of relu, max, min or clip has slope 1/2, so the gradient is the common one-sided value."
)

# Kinked nodes of the body being printed across whose switch the analysis found the body C1 (no kink
# or jump finding there, as in `relu(z) - relu(-z)`): their slope at the tie is the midpoint of the
# one-sided slopes, so the gradient of the whole body is the common one-sided value there.
MIDPOINT_NODES: ContextVar[frozenset[Any]] = ContextVar("MIDPOINT_NODES", default=frozenset())

# Binding strength of printed Python, loosest first.
COMPARE, SUM, PRODUCT, UNARY, POWER, ATOM = 30, 40, 50, 55, 60, 100

# The atom table's templates, by SymPy class (rows without a class are built from others).
TEMPLATES: Mapping[type, str] = MappingProxyType(
    {row.node: row.tf for row in ATOMS if row.node is not None and row.tf}
)

RESERVED = frozenset({"tf", "math", "keras", "dtype", "upstream", "tensor", "value", "values"}) | frozenset(
    dir(builtins)
)

_ASCII_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class UnsupportedError(Exception):
    """A node the printer cannot turn into TensorFlow code; `node` is the SymPy node."""

    def __init__(self, message: str, node: Any = None):
        super().__init__(message)
        self.node = node


def identifier(name: str, taken: frozenset[str] | set[str] = frozenset()) -> str:
    """A Python identifier for a name of the language: ASCII, not a keyword, not one of ours."""
    if _ASCII_IDENTIFIER.match(name):
        safe = name
    else:
        safe = "".join(c if c.isascii() and (c.isalnum() or c == "_") else f"u{ord(c):04x}" for c in name)
        if not safe or safe[0].isdigit():
            safe = "v_" + safe
    if safe.startswith("_"):
        safe = "v" + safe
    while keyword.iskeyword(safe) or keyword.issoftkeyword(safe) or safe in RESERVED or safe in taken:
        safe += "_"
    return safe


class Code(str):
    """Printed code and how tightly it binds (so parentheses go only where Python needs them)."""

    level: int

    def __new__(cls, text: str, level: int = ATOM) -> Code:  # noqa: PYI034 - always a Code, never a subclass
        code = super().__new__(cls, text)
        code.level = level
        return code


def literal(value: Any) -> Code:
    """A number as a Python float literal (exact rationals rounded once, to float64)."""
    number = float(value)
    if math.isnan(number):
        return Code("math.nan")
    if math.isinf(number):
        return Code("math.inf" if number > 0 else "-math.inf", ATOM if number > 0 else UNARY)
    text = repr(number)
    return Code(text, UNARY if number < 0 else ATOM)


# Helper functions a generated module may need, by name: each is emitted once, only when used.
HELPERS: Mapping[str, str] = {
    "_clip": '''
def _clip(x, lo, hi):
    """clip_by_value(x, lo, hi) for fixed lo and hi, with slope 0 at the corners."""

    @tf.custom_gradient
    def clip(x):
        def gradient(upstream):
            inside = tf.where((x > lo) & (x < hi), upstream, tf.zeros_like(upstream))
            return _sum_to_shape(inside, tf.shape(x))

        return tf.minimum(tf.maximum(x, lo), hi), gradient

    return clip(x)
''',
    "_max_fixed": '''
def _max_fixed(x, bound):
    """max(x, bound) for a bound that takes no gradient; at a tie, x has slope 0."""

    @tf.custom_gradient
    def maximum(x):
        def gradient(upstream):
            passed = tf.where(x > bound, upstream, tf.zeros_like(upstream))
            return _sum_to_shape(passed, tf.shape(x))

        return tf.maximum(x, bound), gradient

    return maximum(x)
''',
    "_min_fixed": '''
def _min_fixed(x, bound):
    """min(x, bound) for a bound that takes no gradient; at a tie, x has slope 0."""

    @tf.custom_gradient
    def minimum(x):
        def gradient(upstream):
            passed = tf.where(x < bound, upstream, tf.zeros_like(upstream))
            return _sum_to_shape(passed, tf.shape(x))

        return tf.minimum(x, bound), gradient

    return minimum(x)
''',
    "_max_tie": '''
def _max_tie(x, bound):
    """max(x, bound) for a bound that takes no gradient; at a tie, x has slope 1/2."""

    @tf.custom_gradient
    def maximum(x):
        def gradient(upstream):
            slope = tf.where(x > bound, 1.0, tf.where(x < bound, 0.0, 0.5))
            return _sum_to_shape(upstream * tf.cast(slope, upstream.dtype), tf.shape(x))

        return tf.maximum(x, bound), gradient

    return maximum(x)
''',
    "_clip_tie": '''
def _clip_tie(x, lo, hi):
    """clip_by_value(x, lo, hi) for fixed lo and hi, with slope 1/2 at the corners."""

    @tf.custom_gradient
    def clip(x):
        def gradient(upstream):
            inside = tf.where((x > lo) & (x < hi), 1.0, tf.where((x < lo) | (x > hi), 0.0, 0.5))
            return _sum_to_shape(upstream * tf.cast(inside, upstream.dtype), tf.shape(x))

        return tf.minimum(tf.maximum(x, lo), hi), gradient

    return clip(x)
''',
    "_sum_to_shape": '''
def _sum_to_shape(gradient, shape):
    """A gradient of a broadcast result, summed back to the shape of the input."""
    axes, _ = tf.raw_ops.BroadcastGradientArgs(s0=shape, s1=tf.shape(gradient))
    return tf.reshape(tf.reduce_sum(gradient, axis=axes), shape)
''',
    "_maximum": '''
def _maximum(*args):
    """The largest argument; a tie splits the gradient evenly between the tied arguments."""
    shape = tf.shape(args[0])
    for arg in args[1:]:
        shape = tf.broadcast_dynamic_shape(shape, tf.shape(arg))
    stacked = tf.stack([tf.broadcast_to(arg, shape) for arg in args])
    return tf.reduce_max(stacked, axis=0)
''',
    "_minimum": '''
def _minimum(*args):
    """The smallest argument; a tie splits the gradient evenly between the tied arguments."""
    shape = tf.shape(args[0])
    for arg in args[1:]:
        shape = tf.broadcast_dynamic_shape(shape, tf.shape(arg))
    stacked = tf.stack([tf.broadcast_to(arg, shape) for arg in args])
    return tf.reduce_min(stacked, axis=0)
''',
    "_kink_sqrt": '''
def _kink_sqrt(x):
    """sqrt of a quantity that is never negative, with slope 0 where it is 0 (a norm's kink)."""
    positive = x > 0
    safe = tf.where(positive, x, tf.ones_like(x))
    return tf.where(positive, tf.sqrt(safe), tf.zeros_like(x))
''',
    "_take": '''
def _take(values, indices):
    """The entries of `values` at `indices` (floats, as kinks has them) along the last axis."""
    indices = tf.cast(indices, tf.int32)
    batch_dims = min(indices.shape.rank, values.shape.rank - 1)
    return tf.gather(values, indices, axis=-1, batch_dims=batch_dims)
''',
    "_straight_through": '''
def _straight_through(hard, soft, *inputs):
    """hard(*inputs) forward, the gradient of soft(*inputs) backward: straight-through."""

    @tf.custom_gradient
    def estimator(*xs):
        def gradient(upstream):
            with tf.GradientTape() as tape:
                tape.watch(xs)
                surrogate = soft(*xs)
            grads = tape.gradient(surrogate, xs, output_gradients=upstream)
            pairs = zip(grads, xs, strict=True)
            return [tf.zeros_like(x) if g is None else g for g, x in pairs]

        return hard(*xs), gradient

    return estimator(*inputs)
''',
    "_with_zero_gradient": '''
def _with_zero_gradient(value, *inputs):
    """value, with a zero gradient (not None) for inputs it depends on only through flat steps."""

    @tf.custom_gradient
    def attach(value, *xs):
        def gradient(upstream):
            return [upstream] + [tf.zeros_like(x) for x in xs]

        return tf.identity(value), gradient

    return attach(value, *inputs)
''',
    "_huber": '''
def _huber(x, delta):
    """Huber's function of x with a threshold delta that is a tensor (a temperature)."""
    magnitude = tf.abs(x)
    linear = delta * magnitude - 0.5 * tf.square(delta)
    return tf.where(magnitude <= delta, 0.5 * tf.square(x), linear)
''',
    "_as_dtype": '''
def _as_dtype(value, dtype):
    """A keyword argument (a Python number or a tensor) as a tensor of the inputs' dtype."""
    return tf.cast(value, dtype) if tf.is_tensor(value) else tf.constant(value, dtype)
''',
    "_as_float_tensors": '''
def _as_float_tensors(*values):
    """The arguments as tensors of one floating dtype: the first floating one's, else float32."""
    tensors = [tf.convert_to_tensor(value) for value in values]
    floating = (tensor.dtype for tensor in tensors if tensor.dtype.is_floating)
    dtype = next(floating, tf.float32)
    return [tf.cast(tensor, dtype) for tensor in tensors]
''',
}

_FLOAT_FORM = re.compile(r"-?\d")


def _tie_aware(method: Callable[..., Code]) -> Callable[..., Code]:
    """Marks a printer method that writes the slope 1/2 at a tie for a node of `MIDPOINT_NODES`
    (the code generator finds the ties of a body by it: `TIE_NODES`)."""
    method.tie_aware = True  # type: ignore[attr-defined]
    return method


class TensorFlowPrinter(Printer):
    """Prints one function body. `emit` receives statements hoisted out of long expressions."""

    printmethod = "_tensorflow"

    def __init__(
        self,
        names: Mapping[str, str],
        moving: frozenset[str],
        temporaries: dict[Any, str] | None = None,
        emit: Callable[[Any], Code] | None = None,
        define: Callable[[str, Any, list[str]], str] | None = None,
    ):
        super().__init__()
        self.define = define  # writes a nested function for a part (None: print it as a lambda)
        self.names = dict(names)  # symbol name -> Python identifier
        self.moving = moving  # names of the differentiated parameters
        self.temporaries = temporaries if temporaries is not None else {}
        self.emit = emit  # None: print everything inline (lambdas)
        self.helpers: set[str] = set()
        self.imports: set[str] = {"tensorflow"}
        self.needs_dtype = False
        self._root: Any = None
        self._current: Any = None  # the node being printed
        self._moving_memo: dict[Any, bool] = {}

    # -------------------------------------------------------------- entry points

    def merge(self, other: TensorFlowPrinter) -> None:
        """Take over what another printer's code needs (helpers, imports, the dtype)."""
        self.helpers |= other.helpers
        self.imports |= other.imports
        self.needs_dtype |= other.needs_dtype

    def statement(self, expr: Any) -> Code:
        """Print `expr` as the right-hand side of one statement (long parts hoisted before it)."""
        previous, self._root = self._root, expr
        try:
            return self._print(expr)
        finally:
            self._root = previous

    def _print(self, expr: Any, **kwargs: Any) -> Code:
        name = self.temporaries.get(expr) if expr is not self._root else None
        if name is not None:
            return Code(name)
        if isinstance(expr, (BooleanTrue, BooleanFalse)):
            return Code("True" if expr else "False")
        if isinstance(expr, sp.Basic) and not isinstance(expr, (Relational, sp.Tuple)) and expr.is_number:
            number = literal(_number(expr))
            self._track_imports(number)
            return number
        previous, self._current = self._current, expr
        try:
            code = super()._print(expr, **kwargs)
        finally:
            self._current = previous
        if not isinstance(code, Code):
            code = Code(str(code))
        return code

    def emptyPrinter(self, expr: Any) -> str:
        raise UnsupportedError(f"kinks cannot write TensorFlow code for {type(expr).__name__}", expr)

    # -------------------------------------------------------------- helpers

    def _operand(self, expr: Any, level: int, strict: bool = False) -> str:
        code = self._print(expr)
        if code.level < level or (strict and code.level == level):
            return f"({code})"
        return str(code)

    def _arg(self, expr: Any) -> str:
        """An argument inside a call's parentheses: no parentheses of its own needed."""
        return str(self._print(expr))

    def _hoist(self, expr: Any, code: Code) -> Code:
        assert self.emit is not None
        return self.emit((expr, code))

    def _shared(self, expr: Any) -> str:
        """An argument a template uses more than once: a name, computed once."""
        if self.emit is None or isinstance(expr, (sp.Symbol, sp.Number)) or expr in self.temporaries:
            return self._operand(expr, ATOM)
        if isinstance(expr, sp.Basic) and expr.is_number:
            return self._operand(expr, ATOM)
        code = self._print(expr)
        if code.level == ATOM and re.fullmatch(r"[A-Za-z_]\w*", code):
            return str(code)
        return str(self._hoist(expr, code))

    def _dtype(self) -> str:
        self.needs_dtype = True
        return "dtype"

    def moves(self, expr: Any) -> bool:
        """Does `expr` move with a differentiated parameter (outside stop_gradient)?"""
        if expr in self._moving_memo:
            return self._moving_memo[expr]
        if isinstance(expr, sp.Symbol):
            result = expr.name in self.moving
        elif isinstance(expr, (fn.StopGradient, OnesLike, ZerosLike)) or not isinstance(expr, sp.Basic):
            result = False
        else:
            result = any(self.moves(arg) for arg in expr.args)
        self._moving_memo[expr] = result
        return result

    def _template(self, template: str, args: tuple[Any, ...], extra: Mapping[str, str] | None = None) -> Code:
        """Fill a `tf` template of the atom table; an argument used twice is computed once."""
        uses = {int(index): template.count("{" + index + "}") for index in re.findall(r"\{(\d+)\}", template)}
        pieces = re.split(r"(\{\d+\}|\{dtype\})", template)
        out = []
        for position, piece in enumerate(pieces):
            match = re.fullmatch(r"\{(\d+)\}", piece)
            if piece == "{dtype}":
                out.append(self._dtype())
            elif match:
                index = int(match.group(1))
                before = pieces[position - 1] if position else ""
                after = pieces[position + 1] if position + 1 < len(pieces) else ""
                alone = before.rstrip().endswith(("(", ",", "=")) and after.lstrip().startswith((")", ","))
                if uses[index] > 1:
                    out.append(self._shared(args[index]))
                else:
                    out.append(self._arg(args[index]) if alone else self._operand(args[index], ATOM))
            else:
                out.append(piece)
        text = "".join(out)
        for key, value in (extra or {}).items():
            text = text.replace(key, value)
        self._track_imports(text)
        return Code(text, _template_level(template))

    def _track_imports(self, text: str) -> None:
        if "keras." in text:
            self.imports.add("keras")
        if "math." in text.replace("tf.math.", ""):
            self.imports.add("math")

    # -------------------------------------------------------------- atoms

    def _print_Symbol(self, expr: sp.Symbol) -> Code:
        return Code(self.names.get(expr.name, expr.name))

    def _print_Function(self, expr: Any) -> Code:
        template = TEMPLATES.get(type(expr))
        if template is None:
            raise UnsupportedError(
                f"`{type(expr).__name__}` has no TensorFlow lowering in the atom table", expr
            )
        return self._template(template, expr.args)

    # -------------------------------------------------------------- arithmetic

    def _print_Add(self, expr: sp.Add) -> Code:
        terms = expr.as_ordered_terms()
        positive = [term for term in terms if not _negative(term)]
        negative = [term for term in terms if _negative(term)]
        ordered = positive + negative
        first = ordered[0]
        if _negative(first):
            text = str(self._print(first))
        else:
            text = self._operand(first, SUM)
        for term in ordered[1:]:
            if _negative(term):
                text += " - " + self._operand(-term, SUM, strict=True)
            else:
                text += " + " + self._operand(term, SUM, strict=True)
        return Code(text, SUM)

    def _print_Mul(self, expr: sp.Mul) -> Code:
        coefficient, rest = expr.as_coeff_Mul()
        if coefficient.is_negative:
            inner = self._print(-expr)
            if inner.level < PRODUCT:
                return Code(f"-({inner})", UNARY)
            return Code("-" + inner, min(inner.level, PRODUCT) if inner.level < ATOM else UNARY)
        numerator: list[str] = []
        denominator: list[str] = []
        if coefficient != 1:
            p, q = sp.fraction(coefficient)
            if coefficient.is_Rational and q != 1 and len(repr(float(coefficient))) > 8:
                if p != 1:
                    numerator.append(literal(p))
                denominator.append(literal(q))
            else:
                numerator.append(literal(coefficient))
        for factor in rest.as_ordered_factors():
            if isinstance(factor, sp.Pow) and factor.exp.is_number and factor.exp.is_negative:
                flipped = sp.Pow(factor.base, -factor.exp)
                denominator.append(
                    self._operand(flipped, PRODUCT, strict=True)
                    if len(denominator) == 0
                    else self._operand(flipped, PRODUCT)
                )
            else:
                numerator.append(self._operand(factor, PRODUCT))
        text = " * ".join(numerator) if numerator else "1.0"
        if not denominator:
            return Code(text, PRODUCT)
        if len(denominator) == 1:
            return Code(f"{text} / {denominator[0]}", PRODUCT)
        return Code(f"{text} / ({' * '.join(denominator)})", PRODUCT)

    def _print_Pow(self, expr: sp.Pow) -> Code:
        base, exponent = expr.args
        if exponent == 2:
            return Code(f"tf.square({self._arg(base)})")
        if exponent == sp.Rational(1, 2):
            return Code(f"tf.sqrt({self._arg(base)})")
        if exponent == sp.Rational(-1, 2):
            return Code(f"tf.math.rsqrt({self._arg(base)})")
        if exponent.is_number and exponent.is_negative:
            return Code(f"1.0 / {self._operand(sp.Pow(base, -exponent), PRODUCT, strict=True)}", PRODUCT)
        if exponent.is_Integer and 3 <= exponent <= 8:
            base_text = self._operand(base, POWER, strict=True)
            simple = re.fullmatch(r"[A-Za-z_][\w.]*|\d[\d.e+-]*", base_text)  # ruff format hugs x**3
            return Code(f"{base_text}{'**' if simple else ' ** '}{int(exponent)}", POWER)
        if base.is_number and not exponent.is_number:
            return Code(f"tf.pow(tf.cast({literal(_number(base))}, {self._dtype()}), {self._arg(exponent)})")
        return Code(f"tf.pow({self._arg(base)}, {self._arg(exponent)})")

    def _print_exp(self, expr: Any) -> Code:
        return Code(f"tf.exp({self._arg(expr.args[0])})")

    # -------------------------------------------------------------- conditions

    def _print_Relational(self, expr: Relational) -> Code:
        left, right = expr.args
        if isinstance(expr, (sp.Eq, sp.Ne)) and left.is_number and not right.is_number:
            left, right = right, left  # the tensor first: a Python float first would fix the dtype
        if isinstance(expr, sp.Eq):
            return Code(f"tf.equal({self._arg(left)}, {self._arg(right)})")
        if isinstance(expr, sp.Ne):
            return Code(f"tf.not_equal({self._arg(left)}, {self._arg(right)})")
        if left.is_number and right.is_number:
            raise UnsupportedError(
                "a condition without variables (a condition on a reduction of a condition, "
                "such as sum(p > 0) > 0, is folded into its entries): not supported in "
                "TensorFlow code",
                expr,
            )
        if left.is_number:  # Python compares a tensor on the left best
            left, right = right, left
            op = {">": "<", "<": ">", ">=": "<=", "<=": ">="}[expr.rel_op]
        else:
            op = expr.rel_op
        return Code(f"{self._operand(left, SUM)} {op} {self._operand(right, SUM)}", COMPARE)

    def _print_And(self, expr: Any) -> Code:
        return self._fold("tf.logical_and", expr.args)

    def _print_Or(self, expr: Any) -> Code:
        return self._fold("tf.logical_or", expr.args)

    def _print_Not(self, expr: Any) -> Code:
        return Code(f"tf.logical_not({self._arg(expr.args[0])})")

    def _print_Xor(self, expr: Any) -> Code:
        return self._fold("tf.math.logical_xor", expr.args)

    def _print_ITE(self, expr: Any) -> Code:
        condition, then, otherwise = expr.args
        return Code(f"tf.where({self._arg(condition)}, {self._arg(then)}, {self._arg(otherwise)})")

    def _print_Equivalent(self, expr: Any) -> Code:
        return self._fold("tf.equal", expr.args)

    def _fold(self, function: str, args: tuple[Any, ...]) -> Code:
        ordered = list(sp.ordered(args))
        text = self._arg(ordered[0])
        for arg in ordered[1:]:
            text = f"{function}({text}, {self._arg(arg)})"
        return Code(text)

    def _print_Piecewise(self, expr: sp.Piecewise) -> Code:
        pairs = list(expr.args)
        if pairs[-1][1] is not sp.true:
            raise UnsupportedError("a where without an otherwise branch", expr)
        if len(pairs) == 2 and pairs[0][0] == 1 and pairs[1][0] == 0:
            return Code(f"tf.cast({self._arg(pairs[0][1])}, {self._dtype()})")
        if len(pairs) == 2 and pairs[0][0] == 0 and pairs[1][0] == 1:
            return Code(f"tf.cast(tf.logical_not({self._arg(pairs[0][1])}), {self._dtype()})")
        text = self._branch(pairs[-1][0], force_tensor=all(value.is_number for value, _ in pairs))
        for value, condition in reversed(pairs[:-1]):
            # a number as the first value of tf.where would fix the dtype to float32
            branch = self._branch(value, force_tensor=value.is_number)
            text = f"tf.where({self._arg(condition)}, {branch}, {text})"
        return Code(text)

    def _branch(self, value: Any, force_tensor: bool = False) -> str:
        if force_tensor:
            return f"tf.constant({literal(_number(value))}, {self._dtype()})"
        return self._arg(value)

    # -------------------------------------------------------------- kinks, by the convention

    def _midpoint(self) -> bool:
        return self._current in MIDPOINT_NODES.get()

    @_tie_aware
    def _print_Relu(self, expr: Any) -> Code:
        if self._midpoint() and self.moves(expr.args[0]):
            self.helpers |= {"_max_tie", "_sum_to_shape"}
            return Code(f"_max_tie({self._arg(expr.args[0])}, 0.0)")
        return Code(f"tf.nn.relu({self._arg(expr.args[0])})")

    @_tie_aware
    def _print_Relu6(self, expr: Any) -> Code:
        if self._midpoint() and self.moves(expr.args[0]):
            return self._clip(expr.args[0], sp.S.Zero, sp.Integer(6))
        return Code(f"tf.nn.relu6({self._arg(expr.args[0])})")

    @_tie_aware
    def _print_Max(self, expr: Any) -> Code:
        return self._extremum(expr.args, largest=True)

    @_tie_aware
    def _print_Min(self, expr: Any) -> Code:
        return self._extremum(expr.args, largest=False)

    def _extremum(self, args: tuple[Any, ...], largest: bool) -> Code:
        ordered = list(sp.ordered(args))
        moving = [arg for arg in ordered if self.moves(arg)]
        fixed = [arg for arg in ordered if not self.moves(arg)]
        pair = "tf.maximum" if largest else "tf.minimum"
        if not moving:  # no gradient flows: any order gives the same value; a tensor first fixes the dtype
            fixed = sorted(fixed, key=lambda arg: bool(isinstance(arg, sp.Basic) and arg.is_number))
            text = self._arg(fixed[0])
            for arg in fixed[1:]:
                text = f"{pair}({text}, {self._arg(arg)})"
            return Code(text)
        if len(moving) == 1:
            core = self._print(moving[0])
        else:
            helper = "_maximum" if largest else "_minimum"
            self.helpers.add(helper)
            core = Code(f"{helper}({', '.join(self._arg(arg) for arg in moving)})")
        if not fixed:
            return core
        bound: Any = fixed[0] if len(fixed) == 1 else (sp.Max(*fixed) if largest else sp.Min(*fixed))
        if self._midpoint():  # the body is C1 across this tie: slope 1/2 (min(x, c) == -max(-x, -c))
            self.helpers |= {"_max_tie", "_sum_to_shape"}
            if largest:
                return Code(f"_max_tie({core}, {self._arg(bound)})")
            return Code(f"-_max_tie(-{_parenthesize(core, UNARY)}, {self._operand(-bound, UNARY)})", UNARY)
        if bound == 0:
            if largest:
                return Code(f"tf.nn.relu({core})")
            return Code(f"-tf.nn.relu(-{_parenthesize(core, UNARY)})", UNARY)
        helper = "_max_fixed" if largest else "_min_fixed"
        self.helpers |= {helper, "_sum_to_shape"}
        return Code(f"{helper}({core}, {self._arg(bound)})")

    @_tie_aware
    def _print_Clip(self, expr: Any) -> Code:
        x, lo, hi = expr.args
        return self._clip(x, lo, hi)

    @_tie_aware
    def _print_HardTanh(self, expr: Any) -> Code:
        return self._clip(expr.args[0], sp.S.NegativeOne, sp.S.One)

    def _clip(self, x: Any, lo: Any, hi: Any) -> Code:
        if self.moves(lo) or self.moves(hi):
            return self._print(sp.Min(sp.Max(x, lo, evaluate=False), hi, evaluate=False))
        if not self.moves(x):
            return Code(f"tf.clip_by_value({self._arg(x)}, {self._arg(lo)}, {self._arg(hi)})")
        if self._midpoint():
            self.helpers |= {"_clip_tie", "_sum_to_shape"}
            return Code(f"_clip_tie({self._arg(x)}, {self._arg(lo)}, {self._arg(hi)})")
        self.helpers |= {"_clip", "_sum_to_shape"}
        return Code(f"_clip({self._arg(x)}, {self._arg(lo)}, {self._arg(hi)})")

    def _print_LeakyRelu(self, expr: Any) -> Code:
        x, alpha = expr.args
        shared = self._shared(x)  # not tf.nn.leaky_relu: its alpha is a float32 attribute
        op = ">=" if alpha.is_number and alpha > 1 else ">"
        return Code(f"tf.where({shared} {op} 0.0, {shared}, {self._operand(alpha, PRODUCT)} * {shared})")

    def _print_Elu(self, expr: Any) -> Code:
        x, alpha = expr.args
        if alpha == 1:
            return Code(f"tf.nn.elu({self._arg(x)})")
        shared = self._shared(x)
        op = ">=" if alpha.is_number and abs(alpha) > 1 else ">"
        scale = self._operand(alpha, PRODUCT)
        return Code(
            f"tf.where({shared} {op} 0.0, {shared}, {scale} * tf.math.expm1(tf.minimum({shared}, 0.0)))"
        )

    def _print_Celu(self, expr: Any) -> Code:
        x, alpha = expr.args
        shared = self._shared(x)
        a = self._operand(alpha, PRODUCT, strict=True)
        scale = self._operand(alpha, PRODUCT)
        return Code(
            f"tf.where({shared} > 0.0, {shared}, {scale} * tf.math.expm1(tf.minimum({shared}, 0.0) / {a}))"
        )

    def _print_Selu(self, expr: Any) -> Code:
        return Code(f"tf.nn.selu({self._arg(expr.args[0])})")

    def _print_SparsePlus(self, expr: Any) -> Code:
        shared = self._shared(expr.args[0])
        return Code(
            f"tf.where({shared} >= 1.0, {shared}, "
            f"0.25 * tf.square(tf.clip_by_value({shared}, -1.0, 1.0) + 1.0))"
        )

    def _print_SoftShrink(self, expr: Any) -> Code:
        x, threshold = expr.args
        shared = self._shared(x)
        t = self._operand(threshold, UNARY)
        return Code(f"{shared} - tf.clip_by_value({shared}, -{t}, {self._arg(threshold)})", SUM)

    def _print_HardShrink(self, expr: Any) -> Code:
        x, threshold = expr.args
        shared = self._shared(x)
        return Code(
            f"tf.where(tf.abs({shared}) > {self._operand(threshold, SUM)}, {shared}, tf.zeros_like({shared}))"
        )

    def _print_Huber(self, expr: Any) -> Code:
        x, delta = expr.args
        shared = self._shared(x)
        d = self._operand(delta, PRODUCT)
        if delta.is_number:
            tail = literal(_number(delta * delta / 2))
            linear = f"tf.abs({shared})" if delta == 1 else f"{d} * tf.abs({shared})"
            return Code(f"tf.where(tf.abs({shared}) <= {d}, 0.5 * tf.square({shared}), {linear} - {tail})")
        self.helpers.add("_huber")
        return Code(f"_huber({shared}, {self._arg(delta)})")

    def _print_Heaviside(self, expr: Any) -> Code:
        x = expr.args[0]
        h0 = expr.args[1] if len(expr.args) > 1 else sp.Rational(1, 2)
        shared = self._shared(x)
        dtype = self._dtype()
        if h0 == sp.Rational(1, 2):
            return Code(f"0.5 * (tf.sign({shared}) + 1.0)", PRODUCT)
        return Code(
            f"tf.cast({shared} > 0.0, {dtype}) "
            f"+ {self._operand(h0, PRODUCT)} * tf.cast(tf.equal({shared}, 0.0), {dtype})",
            SUM,
        )

    def _print_Gelu(self, expr: Any) -> Code:
        # Written out rather than tf.nn.gelu, whose constants are float32 even for float64 inputs.
        x, approximate = expr.args
        shared = self._shared(x)
        if approximate != 0:
            cube = f"{shared}**3" if re.fullmatch(r"[A-Za-z_]\w*", shared) else f"{shared} ** 3"
            inner = f"{literal(math.sqrt(2 / math.pi))} * ({shared} + 0.044715 * {cube})"
            return Code(f"0.5 * {shared} * (1.0 + tf.tanh({inner}))", PRODUCT)
        return Code(f"0.5 * {shared} * (1.0 + tf.math.erf({shared} * {literal(math.sqrt(0.5))}))", PRODUCT)

    # -------------------------------------------------------------- vectors

    def _axis_text(self, axes: tuple[int, ...] | None, keepdims: bool) -> str:
        if axes is None:
            text = "axis=None"
        elif len(axes) == 1:
            text = f"axis={axes[0]}"
        else:
            text = f"axis=({', '.join(str(a) for a in axes)})"
        return text + (", keepdims=True" if keepdims else "")

    def _along(self, node: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Code:
        method = _AXIS_AWARE.get(type(node))
        if method is not None:
            return getattr(self, method)(node, axes=axes, keepdims=keepdims)
        template = TEMPLATES.get(type(node))
        if template is None or "axis=-1" not in template:
            raise UnsupportedError(f"`{type(node).__name__}` along other axes", node)
        if keepdims and not _reduces(node):
            keepdims = False
        return self._template(template, node.args, {"axis=-1": self._axis_text(axes, keepdims)})

    def _print_Along(self, expr: Along) -> Code:
        return self._along(expr.node, expr.axes, expr.keepdims)

    def _print_AlongCondition(self, expr: AlongCondition) -> Code:
        return self._along(expr.node, expr.axes, expr.keepdims)

    def _print_ReduceAll(
        self, expr: Any, axes: tuple[int, ...] | None = (-1,), keepdims: bool = False
    ) -> Code:
        return Code(f"tf.reduce_all({self._arg(expr.args[0])}, {self._axis_text(axes, keepdims)})")

    def _print_ReduceAny(
        self, expr: Any, axes: tuple[int, ...] | None = (-1,), keepdims: bool = False
    ) -> Code:
        return Code(f"tf.reduce_any({self._arg(expr.args[0])}, {self._axis_text(axes, keepdims)})")

    def _print_Norm(self, expr: Any, axes: tuple[int, ...] | None = (-1,), keepdims: bool = False) -> Code:
        v, order = expr.args
        where = self._axis_text(axes, keepdims)
        if order == 1:
            return Code(f"tf.reduce_sum(tf.abs({self._arg(v)}), {where})")
        if order == 2:
            self.helpers.add("_kink_sqrt")
            return Code(f"_kink_sqrt(tf.reduce_sum(tf.square({self._arg(v)}), {where}))")
        if order is sp.oo:
            return Code(f"tf.reduce_max(tf.abs({self._arg(v)}), {where})")
        raise UnsupportedError("norm of an order other than 1, 2 or inf", expr)

    def _print_ArgMax(self, expr: Any, axes: tuple[int, ...] | None = (-1,), keepdims: bool = False) -> Code:
        return self._arg_extremum("tf.argmax", expr, axes, keepdims)

    def _print_ArgMin(self, expr: Any, axes: tuple[int, ...] | None = (-1,), keepdims: bool = False) -> Code:
        return self._arg_extremum("tf.argmin", expr, axes, keepdims)

    def _arg_extremum(self, function: str, expr: Any, axes: tuple[int, ...] | None, keepdims: bool) -> Code:
        v = self._arg(expr.args[0])
        if axes is None:
            text = f"{function}(tf.reshape({v}, [-1]), axis=0)"
        elif len(axes) == 1:
            text = f"{function}({v}, axis={axes[0]})"
        else:
            raise UnsupportedError(f"{function} over several axes", expr)
        text = f"tf.cast({text}, {self._dtype()})"
        if keepdims and axes is not None:
            text = f"tf.expand_dims({text}, axis={axes[0]})"
        return Code(text)

    def _print_Size(self, expr: Any) -> Code:
        return Code(f"tf.cast(tf.shape({self._arg(expr.args[0])})[-1], {self._dtype()})")

    def _print_RangeLike(self, expr: Any) -> Code:
        return Code(f"tf.cast(tf.range(tf.shape({self._arg(expr.args[0])})[-1]), {self._dtype()})")

    def _print_TopKValues(self, expr: Any) -> Code:
        v, k = expr.args
        if not k.is_Integer:
            raise UnsupportedError("top_k_values with a k that is not an integer", expr)
        return Code(f"tf.math.top_k({self._arg(v)}, k={int(k)}).values")

    def _print_OneHot(self, expr: Any) -> Code:
        index, depth = expr.args
        if not depth.is_Integer:
            raise UnsupportedError("one_hot with a depth that is not an integer", expr)
        return Code(f"tf.one_hot(tf.cast({self._arg(index)}, tf.int32), {int(depth)}, dtype={self._dtype()})")

    def _print_InTopK(self, expr: Any) -> Code:
        v, index, k = expr.args
        if not k.is_Integer:
            raise UnsupportedError("in_top_k with a k that is not an integer", expr)
        return Code(
            f"tf.math.in_top_k(tf.cast({self._arg(index)}, tf.int32), "
            f"tf.cast({self._arg(v)}, tf.float32), {int(k)})"
        )

    def _print_Take(self, expr: Any) -> Code:
        self.helpers.add("_take")
        return Code(f"_take({self._arg(expr.args[0])}, {self._arg(expr.args[1])})")

    def _print_Subscript(self, expr: Any) -> Code:
        """`x[..., k]` or `x[..., a:b:c]` as written (an open end of the slice is left out)."""
        x, start, stop, step, drop = expr.args
        if int(drop):
            return Code(f"{self._arg(x)}[..., {int(start)}]")
        parts = ["" if abs(int(bound)) >= _OPEN_END else str(int(bound)) for bound in (start, stop)]
        stride = f":{int(step)}" if int(step) != 1 else ""
        return Code(f"{self._arg(x)}[..., {parts[0]}:{parts[1]}{stride}]")

    def _print_IsNan(self, expr: Any) -> Code:
        return Code(f"tf.math.is_nan({self._arg(expr.args[0])})")

    def _print_IsInf(self, expr: Any) -> Code:
        return Code(f"tf.math.is_inf({self._arg(expr.args[0])})")

    def _print_Sort(self, expr: Any, axes: tuple[int, ...] | None = (-1,), keepdims: bool = False) -> Code:
        if axes is None or len(axes) != 1:
            raise UnsupportedError("sort over several axes", expr)
        return Code(f"tf.sort({self._arg(expr.args[0])}, axis={axes[0]})")

    # -------------------------------------------------------------- the code generator's own nodes

    def _print_Guarded(self, expr: Guarded) -> Code:
        condition, value, safe = expr.args
        return Code(f"tf.where({self._arg(condition)}, {self._arg(value)}, {literal(_number(safe))})")

    def _print_OnesLike(self, expr: OnesLike) -> Code:
        return Code(f"tf.ones_like({self._arg(expr.args[0])})")

    def _print_ZerosLike(self, expr: ZerosLike) -> Code:
        return Code(f"tf.zeros_like({self._arg(expr.args[0])})")

    def _print_KinkSqrt(self, expr: KinkSqrt) -> Code:
        self.helpers.add("_kink_sqrt")
        return Code(f"_kink_sqrt({self._arg(expr.args[0])})")

    def _print_LogCosh(self, expr: LogCosh) -> Code:
        x = self._shared(expr.args[0])
        return Code(f"{x} + tf.nn.softplus(-2.0 * {x}) - {literal(math.log(2.0))}", SUM)

    def _print_SoftmaxCrossEntropy(self, expr: SoftmaxCrossEntropy) -> Code:
        labels, logits = expr.args
        return Code(
            f"tf.nn.softmax_cross_entropy_with_logits(labels={self._arg(labels)}, logits={self._arg(logits)})"
        )

    def _print_StraightThrough(self, expr: StraightThrough) -> Code:
        hard, soft = expr.args
        inputs = sorted(
            (symbol for symbol in (hard.free_symbols | soft.free_symbols) if symbol.name in self.moving),
            key=lambda symbol: symbol.name,
        )
        if not inputs:
            return self._print(hard)
        self.helpers.add("_straight_through")
        arguments = [self.names.get(symbol.name, symbol.name) for symbol in inputs]
        names = ", ".join(arguments)
        if self.define is not None:
            hard_name = self.define("hard", hard, arguments)
            soft_name = self.define("soft", soft, arguments)
            return Code(f"_straight_through({hard_name}, {soft_name}, {names})")
        inline = TensorFlowPrinter(self.names, self.moving)
        hard_text = inline._print(hard)
        soft_text = inline._print(soft)
        self.merge(inline)
        return Code(f"_straight_through(lambda {names}: {hard_text}, lambda {names}: {soft_text}, {names})")


# ------------------------------------------------------------------ module helpers


def _number(expr: Any) -> float:
    value = sp.N(expr, 17)
    try:
        return float(value)
    except TypeError:
        raise UnsupportedError(
            "a value without variables that is not a real number (a reduction of a "
            "constant, whose shape is lost: use ones_like(x) or size(x))",
            expr,
        ) from None


def _negative(term: Any) -> bool:
    coefficient, _ = term.as_coeff_Mul()
    return bool(coefficient.is_negative)


def _parenthesize(code: Code, level: int, strict: bool = False) -> str:
    if code.level < level or (strict and code.level == level):
        return f"({code})"
    return str(code)


def _reduces(node: Any) -> bool:
    return isinstance(node, REDUCTION_NODES)


def printer_method(cls: type) -> Callable[..., Code] | None:
    """The method SymPy's dispatch prints a node of `cls` with (`_print_` and a class name of its
    method resolution order); `_print_Function` fills the row's template."""
    return next(
        (
            getattr(TensorFlowPrinter, f"_print_{base.__name__}")
            for base in cls.__mro__
            if hasattr(TensorFlowPrinter, f"_print_{base.__name__}")
        ),
        None,
    )


# The printer methods of the classes taking an axis that print it themselves (the others' templates
# have `axis=-1`, replaced).
_AXIS_AWARE: Mapping[type, str] = MappingProxyType(
    {
        row.node: row.tf_method
        for row in ATOMS
        if row.node in AXIS_NODES + CONDITION_AXIS_NODES and row.tf_method
    }
)
# The kinked classes whose printer method writes the slope 1/2 at a tie where the body is C1 there.
TIE_NODES: tuple[type, ...] = tuple(
    row.node for row in ATOMS if getattr(getattr(TensorFlowPrinter, row.tf_method, None), "tie_aware", False)
)
_LEVELS: dict[str, int] = {}


def _template_level(template: str) -> int:
    """How tightly a filled template binds, read from the template's own Python syntax tree."""
    if template in _LEVELS:
        return _LEVELS[template]
    probe = re.sub(
        r"\{(\d+|dtype)\}", lambda m: "_a" + (m.group(1) if m.group(1) != "dtype" else "d"), template
    )
    try:
        node = python_ast.parse(probe, mode="eval").body
    except SyntaxError:
        level = SUM
    else:
        if isinstance(
            node,
            (
                python_ast.Call,
                python_ast.Name,
                python_ast.Attribute,
                python_ast.Constant,
                python_ast.Subscript,
            ),
        ):
            level = ATOM
        elif isinstance(node, python_ast.BinOp):
            level = {python_ast.Add: SUM, python_ast.Sub: SUM, python_ast.Pow: POWER}.get(
                type(node.op), PRODUCT
            )
        elif isinstance(node, python_ast.UnaryOp):
            level = UNARY
        else:
            level = COMPARE
    _LEVELS[template] = level
    return level
