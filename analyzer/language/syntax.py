"""The syntax tree of the loss language: our own nodes, each with the span it was parsed from.

SymPy rewrites and shares its nodes, so source positions live here and never on SymPy objects.
Every node is immutable; a `Span` is 1-based and its `end_column` is exclusive (LANGUAGE.md §5).

Every expression node has `children()`, the expressions directly inside it in source order, and
`transform(visit)`, the tree rebuilt bottom-up with `visit` free to replace any expression: the
walks of the package (free names, dependence on a parameter, substitution) use them rather than
knowing each node's fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar, Union, get_args


@dataclass(frozen=True, slots=True)
class Span:
    line: int
    column: int
    end_line: int
    end_column: int

    def to_dict(self) -> dict[str, int]:
        return {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }

    def shifted(self, lines: int) -> Span:
        return Span(self.line + lines, self.column, self.end_line + lines, self.end_column)

    @staticmethod
    def point(line: int, column: int) -> Span:
        return Span(line, column, line, column + 1)


# ---------------------------------------------------------------- expressions


class Node:
    """What the nodes of expressions share. `_CHILDREN` names the fields that hold expressions (or
    tuples of them, keywords, slices)."""

    __slots__ = ()
    _CHILDREN: ClassVar[tuple[str, ...]] = ()

    def children(self) -> tuple[Expr, ...]:
        """The expressions directly inside, in source order: a call's arguments then its keywords'
        values, an index's value then the expressions of its items (a slice's parts)."""
        found: list[Any] = []
        for name in self._CHILDREN:
            _collect(getattr(self, name), found)
        return tuple(found)

    def transform(self, visit: Callable[[Any], Any]) -> Any:
        """The tree rebuilt bottom-up: each expression's children first, then `visit` of the
        rebuilt expression, which may return it or a replacement (a keyword or a slice is rebuilt
        around its expressions, not visited itself). Unchanged parts are the same objects."""
        changes = {}
        for name in self._CHILDREN:
            value = getattr(self, name)
            rebuilt = _rebuilt(value, visit)
            if rebuilt is not value:
                changes[name] = rebuilt
        node = dataclasses.replace(self, **changes) if changes else self  # type: ignore[type-var]
        return visit(node) if isinstance(node, EXPRESSIONS) else node


def walk(node: Expr) -> Iterator[Expr]:
    """`node` and every expression inside it, parents first, in source order."""
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(reversed(current.children()))


def _collect(value: Any, found: list[Any]) -> None:
    if isinstance(value, tuple):
        for item in value:
            _collect(item, found)
    elif isinstance(value, (Keyword, Slice)):
        found.extend(value.children())
    elif isinstance(value, Node) and not isinstance(value, EllipsisIndex):
        found.append(value)


def _rebuilt(value: Any, visit: Callable[[Any], Any]) -> Any:
    if isinstance(value, tuple):
        items = tuple(_rebuilt(item, visit) for item in value)
        return value if all(new is old for new, old in zip(items, value)) else items
    if isinstance(value, Node):
        return value.transform(visit)
    return value


@dataclass(frozen=True, slots=True)
class Number(Node):
    value: Fraction
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Boolean(Node):
    value: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A name as written; dotted names (`tf.float32`, `np.pi`) keep their dots."""

    id: str
    span: Span


@dataclass(frozen=True, slots=True)
class Keyword(Node):
    _CHILDREN = ("value",)

    name: str
    name_span: Span
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Call(Node):
    """`func(args, key=value)`; `func` is the callee as written, prefixes (`tf.math.`) included.

    A method call `r.m(a, k=v)` (`x.mean()`, `(a - b).norm()`, `x.sum(dim=1)`) is the call of `m`
    with the receiver `r` as its first argument and `method=True`: `Call("m", span of m, (r, a),
    (k=v,), span, method=True)`. Methods resolve through PyTorch's spellings first (LANGUAGE.md §2),
    so `x.clamp(min=0)` is the one-sided clamp.
    """

    _CHILDREN = ("args", "keywords")

    func: str
    func_span: Span
    args: tuple[Expr, ...]
    keywords: tuple[Keyword, ...]
    span: Span
    method: bool = False


@dataclass(frozen=True, slots=True)
class Unary(Node):
    _CHILDREN = ("operand",)

    op: str  # "-" or "+"
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Binary(Node):
    _CHILDREN = ("left", "right")

    op: str  # "+", "-", "*", "/", "%", "^" (`**` is read as "^")
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """A comparison chain: `0 < x < 1` has operands (0, x, 1) and ops ("<", "<")."""

    _CHILDREN = ("operands",)

    operands: tuple[Expr, ...]
    ops: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Membership(Node):
    """`element in {members}`."""

    _CHILDREN = ("element", "members")

    element: Expr
    members: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    _CHILDREN = ("operands",)

    op: str  # "and" or "or"
    operands: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Not(Node):
    _CHILDREN = ("operand",)

    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    """`then if condition else otherwise`."""

    _CHILDREN = ("then", "condition", "otherwise")

    then: Expr
    condition: Expr
    otherwise: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class TupleExpr(Node):
    """`(1, 2)`: only valid as an `axis`."""

    _CHILDREN = ("items",)

    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Slice(Node):
    """`start:stop:step` inside an index; a part left out is None (`1:` is Slice(1, None, None))."""

    _CHILDREN = ("start", "stop", "step")

    start: Expr | None
    stop: Expr | None
    step: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class EllipsisIndex(Node):
    """`...` inside an index."""

    span: Span


@dataclass(frozen=True, slots=True)
class Index(Node):
    """NumPy indexing `value[items]`: `p[..., 0]` is Index(p, (EllipsisIndex, Number 0));
    each item is an expression, a `Slice` or an `EllipsisIndex`."""

    _CHILDREN = ("value", "items")

    value: Expr
    items: tuple[Expr | Slice | EllipsisIndex, ...]
    span: Span


Expr = Union[  # noqa: UP007 - a runtime alias, also read by isinstance-free dispatch
    Number,
    Boolean,
    Name,
    Call,
    Unary,
    Binary,
    Compare,
    Membership,
    BoolOp,
    Not,
    Conditional,
    TupleExpr,
    Index,
]
EXPRESSIONS: tuple[type, ...] = get_args(Expr)  # the classes of Expr, for isinstance


# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Noqa:
    """`# noqa` (codes is None: silence everything) or `# noqa: K201, K301`; `problem` says why a
    malformed one (`# noqa K201`, `# noqa:` alone) silences nothing (rule K904)."""

    codes: frozenset[str] | None
    span: Span
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Local:
    name: str
    name_span: Span
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Constant:
    name: str
    name_span: Span
    value: Expr
    span: Span
    noqa: Noqa | None = None


@dataclass(frozen=True, slots=True)
class Definition:
    """`name(params) wrt ... given ... = body`, or the block form with locals and `return body`.

    `wrt` is None when the statement has no `wrt` clause (every parameter is differentiated).
    """

    name: str
    name_span: Span
    params: tuple[Param, ...]
    wrt: tuple[Param, ...] | None
    given: Expr | None
    locals: tuple[Local, ...]
    body: Expr
    span: Span
    noqa: Noqa | None = None


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """A statement that could not be parsed: where, what was found, and what was expected."""

    message: str
    span: Span
    expected: tuple[str, ...] = ()
    statement_line: int = 0
    name: str | None = None
    noqa: Noqa | None = None


Statement = Union[Constant, Definition, SyntaxProblem]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A parsed `.loss` file: its text and its statements in file order."""

    path: str
    text: str
    statements: tuple[Statement, ...] = field(default_factory=tuple)

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""
