"""The syntax tree of the loss language: our own nodes, each with the span it was parsed from.

SymPy rewrites and shares its nodes, so source positions live here and never on SymPy objects.
Every node is immutable; a `Span` is 1-based and its `end_column` is exclusive (LANGUAGE.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Union


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


@dataclass(frozen=True, slots=True)
class Number:
    value: Fraction
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Boolean:
    value: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Name:
    """A name as written; dotted names (`tf.float32`, `np.pi`) keep their dots."""

    id: str
    span: Span


@dataclass(frozen=True, slots=True)
class Keyword:
    name: str
    name_span: Span
    value: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    """`func(args, key=value)`; `func` is the callee as written, prefixes (`tf.math.`) included.

    A method call `r.m(a, k=v)` (`x.mean()`, `(a - b).norm()`, `x.sum(dim=1)`) is the call of `m`
    with the receiver `r` as its first argument and `method=True`: `Call("m", span of m, (r, a),
    (k=v,), span, method=True)`. Methods resolve through PyTorch's spellings first (LANGUAGE.md §2),
    so `x.clamp(min=0)` is the one-sided clamp.
    """

    func: str
    func_span: Span
    args: tuple[Expr, ...]
    keywords: tuple[Keyword, ...]
    span: Span
    method: bool = False


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "+"
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # "+", "-", "*", "/", "%", "^" (`**` is read as "^")
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Compare:
    """A comparison chain: `0 < x < 1` has operands (0, x, 1) and ops ("<", "<")."""

    operands: tuple[Expr, ...]
    ops: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Membership:
    """`element in {members}`."""

    element: Expr
    members: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" or "or"
    operands: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Conditional:
    """`then if condition else otherwise`."""

    then: Expr
    condition: Expr
    otherwise: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class TupleExpr:
    """`(1, 2)`: only valid as an `axis`."""

    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Slice:
    """`start:stop:step` inside an index; a part left out is None (`1:` is Slice(1, None, None))."""

    start: Expr | None
    stop: Expr | None
    step: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class EllipsisIndex:
    """`...` inside an index."""

    span: Span


@dataclass(frozen=True, slots=True)
class Index:
    """NumPy indexing `value[items]`: `p[..., 0]` is Index(p, (EllipsisIndex, Number 0));
    each item is an expression, a `Slice` or an `EllipsisIndex`."""

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
