"""From syntax trees to SymPy: resolve names, aliases and keywords, expand calls, keep origins.

SymPy objects are built directly from the tree: numbers become exact `Rational`s, names become real
`Symbol`s, calls go through the atom table's builders. No user text is ever handed to `eval`,
`sympify` or `parse_expr`.

Spans stay on our own nodes. While building, each atom application records an `Origin` keyed by
the SymPy node it produced: the span in the file as written (for an expanded call, the call site),
the atom's name, and its arguments as syntax trees with the scope to print them in.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanAtom, BooleanFunction

from ..atoms import functions as fn
from ..atoms import table as atoms
from ..language import syntax as ast
from ..language.printer import level, render
from ..language.python_source import DATA_NAMES as PYTHON_DATA_NAMES
from ..language.syntax import Span


class LoweringError(Exception):
    def __init__(self, code: str, message: str, span: Span | None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.span = span


# ------------------------------------------------------------------ scopes


@dataclass(frozen=True, slots=True)
class Binding:
    """What a name stands for: a SymPy value, and the tree to print in its place (None: the name)."""

    value: Any
    tree: ast.Expr | None = None
    scope: Scope | None = None
    kind: str = "param"  # "param", "local", "constant", "argument"


@dataclass(slots=True)
class Scope:
    names: dict[str, Binding] = field(default_factory=dict)
    via: tuple[str, ...] = ()  # the chain of expanded calls, outermost first
    call_span: Span | None = None  # the call site in the file as written, for expanded bodies
    # A binding prints the same whichever scope asks (it prints in its own scope), so its text is
    # worked out once for all the scopes of a definition; else a chain of locals, each using the
    # one before, prints the chain again for every link. Keyed by id, the binding kept alive.
    rendered: dict[int, tuple[Binding, tuple[str, int]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def child(self) -> Scope:
        return Scope(dict(self.names), self.via, self.call_span, self.rendered)

    def render_name(self, name: ast.Name) -> tuple[str, int] | None:
        binding = self.names.get(name.id)
        if binding is None or binding.tree is None or binding.kind == "local" and not self.via:
            # the definition's own locals print as the names the user gave them (`2*tp + fp + fn`);
            # those of an expanded call mean nothing at the call site, and print as their values
            return None
        known = self.rendered.get(id(binding))
        if known is not None:
            return known[1]
        inner_scope = binding.scope or Scope()
        text = render(binding.tree, inner_scope.render_name), level(binding.tree)
        self.rendered[id(binding)] = (binding, text)
        return text

    def text(self, tree: ast.Expr) -> str:
        return render(tree, self.render_name)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an atom of the SymPy body comes from."""

    atom: str
    span: Span
    args: tuple[ast.Expr, ...]
    scope: Scope
    tree: ast.Expr
    via: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()  # the arguments as lowered, in the order of `args` where known

    def arg_texts(self) -> list[str]:
        return [self.scope.text(arg) for arg in self.args]

    def text(self) -> str:
        return self.scope.text(self.tree)


@dataclass(slots=True)
class Lowered:
    """One definition, lowered."""

    definition: ast.Definition
    symbols: dict[str, sp.Symbol]
    wrt: tuple[str, ...]
    body: Any
    given: Any
    origins: dict[Any, Origin]
    given_tree: ast.Expr | None = None


@dataclass(slots=True)
class FileContext:
    """What a definition can see: the constants and definitions above it."""

    constants: dict[str, Binding] = field(default_factory=dict)
    definitions: dict[str, ast.Definition] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # definitions above that failed: name -> why
    later: dict[str, int] = field(default_factory=dict)  # definitions below: name -> line


# LANGUAGE.md §1: without `wrt`, parameters with these names are data (the linter's `data-names`);
# one list, kept with the Python front end, which needs it below the analysis.
DATA_NAMES: tuple[str, ...] = PYTHON_DATA_NAMES


def default_wrt(definition: ast.Definition, data_names: Iterable[str] | None = None) -> tuple[str, ...]:
    """The parameters differentiated: those of `wrt`, or without it every one not named as data."""
    if definition.wrt is not None:
        return tuple(p.name for p in definition.wrt)
    data = frozenset(DATA_NAMES if data_names is None else data_names)
    return tuple(p.name for p in definition.params if p.name not in data)


def reserved_names() -> set[str]:
    return set(atoms.ATOM_BY_NAME) | set(atoms.CONSTANTS)


# ------------------------------------------------------------------ the lowering


class Lowerer:
    """Lowers the bodies of one file; one instance per definition being lowered."""

    def __init__(
        self,
        context: FileContext,
        current: str | None,
        max_nodes: int = 200_000,
        data_names: Iterable[str] | None = None,
    ):
        self.context = context
        self.data_names = frozenset(DATA_NAMES if data_names is None else data_names)
        self.current = current
        self.origins: dict[Any, Origin] = {}
        self.budget = max_nodes
        self.depth = 0  # how many nodes deep the lowering is, calls to other definitions expanded

    # -- entry points

    def definition(self, definition: ast.Definition) -> Lowered:
        self._check_signature(definition)
        symbols = {param.name: sp.Symbol(param.name, real=True) for param in definition.params}
        scope = Scope({name: Binding(symbol) for name, symbol in symbols.items()})
        scope.names.update(self.context.constants)
        for name, symbol in symbols.items():
            scope.names[name] = Binding(symbol)
        body = self._body(definition, scope)
        given = None
        if definition.given is not None:
            given = self.condition(definition.given, scope)
        wrt = default_wrt(definition, self.data_names)
        return Lowered(definition, symbols, wrt, body, given, self.origins, definition.given)

    def _body(self, definition: ast.Definition, scope: Scope) -> Any:
        inner = scope.child()
        for local in definition.locals:
            value = self.expr(local.value, inner)
            # A fresh scope for the lines below: the origins recorded in this line keep the scope
            # they were read in, so a local that rebinds a parameter (`x = abs(x - 1)`) does not
            # reprint its own line in terms of itself.
            binding = Binding(value, local.value, inner, "local")
            inner = inner.child()
            inner.names[local.name] = binding
            self._bound_local(local.name, value)
        return self.expr(definition.body, inner)

    def _bound_local(self, name: str, value: Any) -> None:
        """A local of a body got its value (the code generator keeps the names of its own)."""

    def _check_signature(self, definition: ast.Definition) -> None:
        seen: set[str] = set()
        for param in definition.params:
            if param.name in seen:
                raise LoweringError("E005", f"the parameter `{param.name}` is repeated", param.span)
            seen.add(param.name)
        for name in definition.wrt or ():
            if name.name not in seen:
                hint = _did_you_mean(name.name, seen)
                raise LoweringError(
                    "E005", f"`wrt {name.name}` names no parameter of `{definition.name}`{hint}", name.span
                )

    # -- expressions

    def expr(self, node: ast.Expr, scope: Scope) -> Any:
        value = self._any(node, scope)
        if not is_condition(value):
            return value
        try:
            return _as_number(value)
        except KeyError:
            # SymPy rewrites a Piecewise nested in the condition and fails on an inner condition
            # without variables that it cannot decide (`in_top_k(0.25, 10, 3)`)
            raise LoweringError(
                "E003",
                f"`{_brief(scope.text(node))}` cannot be used as a number: a condition in it has no "
                "variables and no value that can be computed",
                node.span,
            ) from None
        except (TypeError, ValueError) as error:
            raise LoweringError(
                "E003",
                f"`{_brief(scope.text(node))}` cannot be used as a number: SymPy cannot build it ({error})",
                node.span,
            ) from None

    def condition(self, node: ast.Expr, scope: Scope) -> Any:
        value = self._any(node, scope)
        return value if is_condition(value) else sp.Ne(value, 0)

    def _spend(self, node: ast.Expr) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise LoweringError(
                "E005",
                "the definition is too large to analyse (more than 200,000 nodes after expanding calls)",
                node.span,
            )

    def _any(self, node: ast.Expr, scope: Scope) -> Any:
        self._spend(node)
        self.depth += 1
        try:
            if self.depth > MAX_EXPANDED_DEPTH:
                raise LoweringError(
                    "E005",
                    "the definition is nested too deeply to analyse (more than "
                    f"{MAX_EXPANDED_DEPTH} levels of operators and calls, with the calls to other "
                    "definitions expanded); split it into local names or shorter chains of calls",
                    scope.call_span or node.span,
                )
            method = getattr(self, "_" + type(node).__name__)
            try:
                value = method(node, scope)
            except ZeroDivisionError:
                raise LoweringError(
                    "E003",
                    f"`{_brief(scope.text(node))}` is undefined: it divides by zero",
                    scope.call_span or node.span,
                ) from None
        finally:
            self.depth -= 1
        return self._settled(value, node, scope)

    def _settled(self, value: Any, node: ast.Expr, scope: Scope) -> Any:
        """Check what SymPy made of a node: an operation on numbers that is undefined (0 / 0,
        inf - inf, 1 / 0) or beyond float64 is an error where it is written, and a condition on
        numbers alone is decided now (SymPy cannot always build a `Piecewise` on one)."""
        if isinstance(node, ast.Name):
            return value  # a name stands for what it was bound to (`nan` and `inf` as written)
        if is_condition(value):
            if isinstance(value, BooleanAtom) or value.free_symbols:
                return value
            return _decided(value)
        problem = _undefined(value)
        if problem is None:
            problem = _beyond_float64(value)
        if problem is not None:
            raise LoweringError(
                "E003", f"`{_brief(scope.text(node))}` {problem}", scope.call_span or node.span
            )
        return value

    def _Number(self, node: ast.Number, scope: Scope) -> Any:
        value = Fraction(node.value)
        return sp.Rational(value.numerator, value.denominator)

    def _Boolean(self, node: ast.Boolean, scope: Scope) -> Any:
        return sp.true if node.value else sp.false

    def _Name(self, node: ast.Name, scope: Scope) -> Any:
        name = node.id
        binding = scope.names.get(name)
        if binding is not None:
            return binding.value
        bare = atoms.strip_prefix(name)
        if bare in atoms.CONSTANTS and "." not in bare:
            return atoms.CONSTANTS[bare]
        if bare in atoms.ATOM_BY_NAME or name in self.context.definitions:
            raise LoweringError("E002", f"`{name}` is a function: call it, as in `{name}(...)`", node.span)
        if name == self.current:
            raise LoweringError("E004", f"`{name}` refers to the definition itself", node.span)
        if name in self.context.broken:
            raise LoweringError("E004", f"`{name}` has an error: {self.context.broken[name]}", node.span)
        if name in self.context.later:
            raise LoweringError(
                "E004",
                f"`{name}` is defined below, on line {self.context.later[name]}: move it above this line",
                node.span,
            )
        attribute = _attribute_hint(name, scope)
        if attribute is not None:
            raise LoweringError("E003", attribute, node.span)
        candidates = list(scope.names) + list(atoms.CONSTANTS)
        raise LoweringError(
            "E002", f"undefined name `{_brief(name)}`{_did_you_mean(name, candidates)}", node.span
        )

    def _TupleExpr(self, node: ast.TupleExpr, scope: Scope) -> Any:
        raise LoweringError("E003", "a tuple is only allowed as an `axis`", node.span)

    def _Unary(self, node: ast.Unary, scope: Scope) -> Any:
        operand = self.expr(node.operand, scope)
        return -operand if node.op == "-" else operand

    def _Binary(self, node: ast.Binary, scope: Scope) -> Any:
        if node.op in ("+", "-"):
            return self._sum(node, scope)
        left = self.expr(node.left, scope)
        right = self.expr(node.right, scope)
        op = node.op
        if op == "*":
            return left * right
        if op == "/":
            # the reciprocal the quotient is singular at, read as the denominator the user wrote
            # (`2*tp + fp + fn + smooth`), not as SymPy prints it with its locals and constants expanded
            self._record(sp.Pow(right, -1), "divide", node, (node.right,), scope)
            return left / right
        if op == "%":
            try:
                result = atoms.ATOM_BY_NAME["mod"].build(left, right)
            except ValueError as error:
                raise LoweringError("E003", f"`{_brief(scope.text(node))}` {error}", node.span) from None
            self._record(result, "mod", node, (node.left, node.right), scope)
            return result
        if op == "^":
            _check_power(left, right, node, scope)
            return sp.Pow(left, right)
        raise LoweringError("E001", f"unknown operator {op}", node.span)

    def _sum(self, node: ast.Binary, scope: Scope) -> Any:
        """A chain `a + b - c + ...` (left-associated, as parsed) as one SymPy Add.

        Adding the terms one at a time re-flattens and re-sorts the growing sum at every step,
        which is quadratic in the number of terms; one Add of all of them gives the same canonical
        sum (`a - b` is `Add(a, -b)` in SymPy too). Nodes are visited, and values built, in the
        order of the step-by-step lowering, so budgets and recorded origins are unchanged.
        """
        chain = [node]
        while isinstance(chain[-1].left, ast.Binary) and chain[-1].left.op in ("+", "-"):
            self._spend(chain[-1].left)
            chain.append(chain[-1].left)
        terms = [self.expr(chain[-1].left, scope)]
        for link in reversed(chain):
            value = self.expr(link.right, scope)
            terms.append(value if link.op == "+" else -value)
        return sp.Add(*terms)

    def _Compare(self, node: ast.Compare, scope: Scope) -> Any:
        values = [self.expr(operand, scope) for operand in node.operands]
        parts = []
        for index, op in enumerate(node.ops):
            relation = _relation(op, values[index], values[index + 1])
            self._record(
                relation, "comparison", node, (node.operands[index], node.operands[index + 1]), scope
            )
            parts.append(relation)
        return sp.And(*parts) if len(parts) > 1 else parts[0]

    def _Membership(self, node: ast.Membership, scope: Scope) -> Any:
        element = self.expr(node.element, scope)
        members = [self.expr(member, scope) for member in node.members]
        options = []
        for tree, member in zip(node.members, members):
            relation = sp.Eq(element, member)
            self._record(relation, "comparison", node, (node.element, tree), scope)
            options.append(relation)
        return sp.Or(*options)

    def _BoolOp(self, node: ast.BoolOp, scope: Scope) -> Any:
        parts = [self.condition(operand, scope) for operand in node.operands]
        return sp.And(*parts) if node.op == "and" else sp.Or(*parts)

    def _Not(self, node: ast.Not, scope: Scope) -> Any:
        return sp.Not(self.condition(node.operand, scope))

    def _Conditional(self, node: ast.Conditional, scope: Scope) -> Any:
        condition = self.condition(node.condition, scope)
        then = self.expr(node.then, scope)
        otherwise = self.expr(node.otherwise, scope)
        try:
            result = sp.Piecewise((then, condition), (otherwise, True))
        except (TypeError, ValueError) as error:
            # SymPy compares the branches while it folds them (an infinity it cannot order)
            raise LoweringError(
                "E003", f"`{_brief(scope.text(node))}` cannot be built: {error}", node.span
            ) from None
        self._record(result, "where", node, (node.condition, node.then, node.otherwise), scope)
        return result

    def _Call(self, node: ast.Call, scope: Scope) -> Any:
        name = node.func
        if node.method:
            row = atoms.lookup(name, method=True)
            if row is None:
                raise LoweringError(
                    "E002",
                    f"unknown method `.{_brief(name)}()`"
                    + _did_you_mean_function(name, self.context, method=True),
                    node.func_span,
                )
            return self._apply(row, node, scope)
        if name in self.context.definitions:
            return self._expand(node, self.context.definitions[name], scope)
        if name == self.current:
            raise LoweringError("E004", f"`{name}` calls itself: recursion is not allowed", node.func_span)
        if name in self.context.broken:
            raise LoweringError("E004", f"`{name}` has an error: {self.context.broken[name]}", node.func_span)
        if name in self.context.later:
            raise LoweringError(
                "E004",
                f"`{name}` is defined below, on line {self.context.later[name]}: move it above this line",
                node.func_span,
            )
        row = atoms.lookup(name)
        if row is None:
            if name in scope.names:
                raise LoweringError("E003", f"`{name}` is not a function", node.func_span)
            attribute = _attribute_hint(name, scope)
            if attribute is not None:
                raise LoweringError("E003", attribute, node.func_span)
            raise LoweringError(
                "E002",
                f"undefined function `{_brief(name)}`{_did_you_mean_function(name, self.context)}",
                node.func_span,
            )
        return self._apply(row, node, scope)

    def _Index(self, node: ast.Index, scope: Scope) -> Any:
        if isinstance(node.value, ast.Name) and node.value.id.rsplit(".", 1)[-1] in ("shape", "ndim"):
            base = node.value.id.rsplit(".", 1)[0]
            raise LoweringError(
                "E003",
                f"`{_brief(node.value.id)}[...]` is a shape, which the language does not have: write "
                f"size({base}, axis) for the length of an axis (e.g. size({base}, 0))",
                node.span,
            )
        items = [item for item in node.items if not isinstance(item, ast.EllipsisIndex)]
        chosen = [item for item in items if not _full_slice(item)]
        value = self.expr(node.value, scope)
        if not chosen:
            return value
        if len(chosen) > 1:
            raise LoweringError(
                "E003",
                "an index on more than one axis (p[0, 1]) is not supported: index one axis, as p[..., 1]",
                node.span,
            )
        item = chosen[0]
        if isinstance(item, ast.Slice):
            start, stop, step = (
                self._index_number(part, scope) if part is not None else None
                for part in (item.start, item.stop, item.step)
            )
            step = 1 if step is None else step
            if step == 0:
                raise LoweringError("E003", "a slice step cannot be 0", item.span)
            if start is None:
                start = 0 if step > 0 else atoms._OPEN_END
            if stop is None:
                stop = atoms._OPEN_END if step > 0 else -atoms._OPEN_END
            result = fn.Subscript(value, sp.Integer(start), sp.Integer(stop), sp.Integer(step), sp.S.Zero)
        else:
            index = self.expr(item, scope)
            if index.free_symbols:
                result = fn.Take(value, index)  # an index that is a variable: a take
                self._record(result, "take", node, (node.value, item), scope)
                return result
            position = self._index_number(item, scope)
            stop = position + 1 if position != -1 else atoms._OPEN_END
            result = fn.Subscript(value, sp.Integer(position), sp.Integer(stop), sp.S.One, sp.S.One)
        self._record(result, "subscript", node, (node.value,), scope)
        return result

    def _index_number(self, tree: ast.Expr, scope: Scope) -> int:
        value = self.expr(tree, scope)
        if not (isinstance(value, sp.Integer)):
            raise LoweringError(
                "E003",
                f"an index or a slice bound is an integer or a parameter, not `{_brief(scope.text(tree))}`",
                tree.span,
            )
        return int(value)

    # -- calls

    def _apply(self, row: atoms.Atom, node: ast.Call, scope: Scope) -> Any:
        if row.variadic:
            return self._apply_variadic(row, node, scope)
        bound = _bind(row, node)
        values = []
        for param, tree in zip(row.params, bound):
            values.append(self._argument(row, param, tree, node, scope))
        if row.name == "cast":
            return self._cast(values[0], bound[1], node)
        if row.name == "pow":
            _check_power(values[0], values[1], node, scope)
        try:
            result = row.build(*values)
        except (TypeError, ValueError, KeyError) as error:
            raise LoweringError("E003", f"{node.func}(): {error}", node.span) from None
        expr_args = tuple(
            tree if tree is not None else _default_tree(param, node.span)
            for param, tree in zip(row.params, bound)
            if param.kind in ("expr", "int", "condition") or (param.kind == "optional" and tree is not None)
        )
        if row.node is None or isinstance(result, row.node):
            # a row that built another function (weighted logsumexp is a log) leaves it to that one's facts
            self._record(result, row.name, node, expr_args, scope)
        return result

    def _apply_variadic(self, row: atoms.Atom, node: ast.Call, scope: Scope) -> Any:
        reduce_keywords = {"axis", "dim", "keepdims", "keep_dims", "keepdim"}
        for keyword in node.keywords:
            if keyword.name not in reduce_keywords:
                raise LoweringError(
                    "E003",
                    f"{row.name}() has no keyword `{keyword.name}`"
                    + _did_you_mean(keyword.name, reduce_keywords),
                    keyword.name_span,
                )
        if not node.args:
            raise LoweringError("E003", f"{row.name}() needs at least one argument", node.span)
        if len(node.args) == 1:
            reducer = atoms.ATOM_BY_NAME["reduce_" + row.name]
            return self._apply(reducer, node, scope)
        if node.keywords:
            raise LoweringError(
                "E003", f"{row.name}() of several arguments takes no `axis`", node.keywords[0].span
            )
        values = [self.expr(arg, scope) for arg in node.args]
        try:
            result = row.build(*values)
        except (TypeError, ValueError):
            # SymPy's Max and Min compare their number arguments, and cannot compare an opaque
            # function of numbers (`prod(0)`): give those their value and build again.
            values = [_numeric_value(value) for value in values]
            result = row.build(*values)
        self._record(result, row.name, node, tuple(node.args), scope, tuple(values))
        return result

    def _argument(
        self, row: atoms.Atom, param: atoms.Param, tree: ast.Expr | None, call: ast.Call, scope: Scope
    ) -> Any:
        if tree is None:
            return atoms.ABSENT if param.kind == "optional" else _default(param.default)
        if param.kind == "axis":
            _check_axis(tree)
            return None
        if param.kind == "flag":
            return sp.Integer(1 if _flag(tree) else 0)
        if param.kind == "dtype":
            return None
        if param.kind == "condition":
            return self.condition(tree, scope)
        return self.expr(tree, scope)

    def _cast(self, value: Any, dtype_tree: ast.Expr | None, call: ast.Call) -> Any:
        if not isinstance(dtype_tree, ast.Name):
            raise LoweringError("E003", "cast() needs a dtype such as tf.float32 or bool", call.span)
        dtype = atoms.strip_prefix(dtype_tree.id).split(".")[-1]
        if dtype in atoms.FLOAT_DTYPES:
            return value
        if dtype in atoms.BOOL_DTYPES:
            return _as_number(sp.Ne(value, 0))
        if dtype in atoms.INT_DTYPES:
            return sp.sign(value) * sp.floor(sp.Abs(value))
        raise LoweringError("E003", f"unknown dtype `{dtype_tree.id}`", dtype_tree.span)

    def _expand(self, node: ast.Call, callee: ast.Definition, scope: Scope) -> Any:
        params = [param.name for param in callee.params]
        if len(node.args) > len(params):
            raise LoweringError(
                "E003", f"`{callee.name}` takes {len(params)} argument(s), {len(node.args)} given", node.span
            )
        trees: dict[str, ast.Expr] = dict(zip(params, node.args))
        for keyword in node.keywords:
            if keyword.name not in params:
                raise LoweringError(
                    "E003",
                    f"`{callee.name}` has no parameter `{keyword.name}`{_did_you_mean(keyword.name, params)}",
                    keyword.name_span,
                )
            if keyword.name in trees:
                raise LoweringError("E003", f"`{keyword.name}` is given twice", keyword.span)
            trees[keyword.name] = keyword.value
        missing = [name for name in params if name not in trees]
        if missing:
            raise LoweringError("E003", f"`{callee.name}` is missing the argument `{missing[0]}`", node.span)
        inner = Scope(dict(self.context.constants), scope.via + (callee.name,), scope.call_span or node.span)
        for name in params:
            inner.names[name] = Binding(self.expr(trees[name], scope), trees[name], scope, "argument")
        return self._body(callee, inner)

    # -- origins

    def _record(
        self,
        value: Any,
        atom: str,
        node: ast.Expr,
        args: tuple[ast.Expr, ...],
        scope: Scope,
        values: tuple[Any, ...] = (),
    ) -> None:
        if value in self.origins or isinstance(value, (sp.Number, sp.logic.boolalg.BooleanAtom)):
            return
        span = scope.call_span or node.span
        self.origins[value] = Origin(atom, span, args, scope, node, scope.via, values)


# ------------------------------------------------------------------ helpers

# Deeper bodies are rejected with a clear error rather than by Python's recursion limit, whose
# reach depends on how deep the caller's own stack is. The parser allows 200 levels in one
# statement; expanded calls may add as many again.
MAX_EXPANDED_DEPTH = 400
_FLOAT64_MAX = sp.Rational(int(1.7976931348623157e308))
_FLOAT64_DIGITS = 308.25  # log10 of the largest float64


def _brief(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _undefined(value: Any) -> str | None:
    """Why a value SymPy built is undefined (NaN, or an infinity of no sign from a division by zero)."""
    parts = (value, *value.args) if isinstance(value, (sp.Add, sp.Mul, sp.Pow)) else (value,)
    # SymPy distributes an operation into the pieces of a boolean used as a number:
    # `(x >= p) ^ -2` is 1 where x >= p and 1 / 0 elsewhere, and `0.5 / (x >= p)` is half of that
    for part in parts:
        if isinstance(part, sp.Piecewise) and any(
            piece.expr is sp.nan or piece.expr is sp.zoo for piece in part.args
        ):
            return (
                "is undefined where a condition in it is 0 as a number: it divides by zero there "
                "(as 1 / (x > 0))"
            )
    if isinstance(value, sp.Piecewise):
        return None
    if any(part is sp.nan for part in parts):
        return "is undefined: it is not a number (as 0 / 0 or inf - inf)"
    if any(part is sp.zoo for part in parts):
        return "is undefined: it is infinite with no sign (as 1 / 0 or log(0))"
    if any(part is sp.I for part in parts) or (
        not value.free_symbols and value.is_number and value.is_extended_real is False
    ):
        return (
            "is not a real number (as a negative number to a fractional power, sqrt(-1), log(-2) or acos(3))"
        )
    return None


def _beyond_float64(value: Any) -> str | None:
    """A number (or a number factor or term) too large for float64: every computation would give inf."""
    parts = (value, *value.args) if isinstance(value, (sp.Add, sp.Mul)) else (value,)
    for part in parts:
        if isinstance(part, sp.Rational) and abs(part) > _FLOAT64_MAX:
            return f"is too large for float64 (it has a number of about 10^{_digits(part):,.0f})"
    return None


def _digits(number: sp.Rational) -> float:
    return math.log10(abs(number.p)) - math.log10(number.q)


def _check_power(base: Any, exponent: Any, node: ast.Expr, scope: Scope) -> None:
    """A power of two numbers is computed exactly by SymPy: refuse it before it is, when the result
    is beyond float64 (2^(2^65536) would take forever and all the memory)."""
    if not (isinstance(base, sp.Rational) and isinstance(exponent, sp.Rational)) or base == 0:
        return
    digits = float(exponent) * _digits(base)
    if digits > _FLOAT64_DIGITS:
        raise LoweringError(
            "E003",
            f"`{_brief(scope.text(node))}` is too large for float64 (about 10^{digits:,.0f})",
            scope.call_span or node.span,
        )
    if digits < -_FLOAT64_DIGITS - 16:
        raise LoweringError(
            "E003",
            f"`{_brief(scope.text(node))}` is too small for float64 (about 10^{digits:,.0f}): it would be 0",
            scope.call_span or node.span,
        )


def _numeric_value(value: Any) -> Any:
    """A value without variables that SymPy keeps unevaluated (`prod(0)`), as a number; anything
    else unchanged."""
    if isinstance(value, sp.Number) or not isinstance(value, sp.Basic) or value.free_symbols:
        return value
    from .evaluate import EvaluationError, Program

    try:
        number, _ = Program(value).run({}, states=False)
        number = float(np.asarray(number, dtype=float).reshape(-1)[0])
    except (EvaluationError, TypeError, ValueError, ArithmeticError, IndexError):
        return value
    return sp.Rational(number) if math.isfinite(number) else value


def _decided(condition: Any) -> Any:
    """A condition without variables, decided by evaluating it (true, false)."""
    from .evaluate import EvaluationError, Program

    try:
        holds, _ = Program(condition).run({}, states=False)
    except (EvaluationError, TypeError, ValueError, ArithmeticError):
        return condition
    return sp.true if bool(np.all(np.asarray(holds, dtype=bool))) else sp.false


def is_condition(value: Any) -> bool:
    """A truth value (SymPy also counts a bare Symbol as a Boolean; we do not)."""
    return isinstance(value, (Relational, BooleanFunction, BooleanAtom))


def _relation(op: str, left: Any, right: Any) -> Any:
    if op == "<":
        return sp.Lt(left, right)
    if op == "<=":
        return sp.Le(left, right)
    if op == ">":
        return sp.Gt(left, right)
    if op == ">=":
        return sp.Ge(left, right)
    if op == "==":
        return sp.Eq(left, right)
    return sp.Ne(left, right)


def _as_number(condition: Any) -> Any:
    return atoms._as_number(condition)


def _default(value: Any) -> Any:
    if isinstance(value, bool):
        return sp.Integer(int(value))
    if isinstance(value, (int, float)):
        return (
            sp.Rational(Fraction(value).limit_denominator(10**12))
            if isinstance(value, float)
            else sp.Integer(value)
        )
    return value


def _default_tree(param: atoms.Param, span: Span) -> ast.Expr:
    """A default argument as a number node, so a finding can print it (`abs(x) < 0.5`)."""
    value = (
        Fraction(str(param.default)) if not isinstance(param.default, bool) else Fraction(int(param.default))
    )
    text = str(float(value)) if value.denominator != 1 else str(value.numerator)
    return ast.Number(value, text, span)


def _flag(tree: ast.Expr) -> bool:
    if isinstance(tree, ast.Boolean):
        return tree.value
    if isinstance(tree, ast.Number):
        return tree.value != 0
    if isinstance(tree, ast.Name) and tree.id in ("True", "False"):
        return tree.id == "True"
    raise LoweringError("E003", "expected true or false", tree.span)


def _check_axis(tree: ast.Expr) -> None:
    if isinstance(tree, ast.Number) and tree.value.denominator == 1:
        return
    if isinstance(tree, ast.Unary) and isinstance(tree.operand, ast.Number):
        return
    if isinstance(tree, ast.Name) and tree.id == "None":
        return
    if isinstance(tree, ast.TupleExpr):
        for item in tree.items:
            _check_axis(item)
        return
    raise LoweringError("E003", "an axis is an integer, a tuple of integers, or None", tree.span)


def _bind(row: atoms.Atom, call: ast.Call) -> list[ast.Expr | None]:
    params = row.params
    if len(call.args) > len(params):
        raise LoweringError(
            "E003", f"{row.name}() takes at most {len(params)} argument(s), {len(call.args)} given", call.span
        )
    bound: list[ast.Expr | None] = list(call.args) + [None] * (len(params) - len(call.args))
    for keyword in call.keywords:
        position = next((i for i, p in enumerate(params) if keyword.name in p.spellings), None)
        if position is None:
            spellings = [s for p in params for s in p.spellings]
            expected = ", ".join(p.name for p in params) or "no arguments"
            raise LoweringError(
                "E003",
                f"{row.name}() has no keyword `{keyword.name}`{_did_you_mean(keyword.name, spellings)} "
                f"(its parameters: {expected})",
                keyword.name_span,
            )
        if bound[position] is not None:
            raise LoweringError("E003", f"{row.name}() got `{params[position].name}` twice", keyword.span)
        bound[position] = keyword.value
    for param, tree in zip(params, bound):
        if tree is None and param.default is atoms.NO_DEFAULT:
            raise LoweringError("E003", f"{row.name}() is missing the argument `{param.name}`", call.span)
    return bound


def _did_you_mean(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=cutoff)
    return f"; did you mean `{matches[0]}`?" if matches else ""


def _did_you_mean_function(name: str, context: FileContext, method: bool = False) -> str:
    """A suggestion that resolves when written in place of `name`: the same spelling in a library
    that has it (`mae` -> `keras.losses.mae`), else the closest spelling with the user's own prefix."""
    library = atoms.library_of(name)
    bare = library[1] if library is not None else atoms.strip_prefix(name)
    prefix = name[: len(name) - len(bare)]
    if not method and not prefix:
        for library_name, prefix_text in (("keras", "keras.losses."), ("torch", "F.")):
            if bare in atoms.LIBRARIES[library_name]:
                return f"; did you mean `{prefix_text}{bare}`?"
    candidates = [
        spelling
        for spelling in (list(atoms.ATOM_BY_NAME) + (list(atoms.TORCH_BY_NAME) if method or prefix else []))
        if (atoms.lookup(spelling, method=True) if method else atoms.lookup(prefix + spelling)) is not None
    ]
    if not prefix and not method:
        candidates += list(context.definitions)
    matches = difflib.get_close_matches(bare, sorted(set(candidates)), n=1, cutoff=0.6)
    if not matches:
        return ""
    return f"; did you mean `.{matches[0]}()`?" if method else f"; did you mean `{prefix}{matches[0]}`?"


_UNSUPPORTED_ATTRIBUTES = {
    "shape": "a shape, which the language does not have: write size({0}, axis) for the length of an axis",
    "ndim": "a rank, which the language does not have",
    "T": "a transpose, which the language does not have: reductions take axis=",
    "dtype": "a dtype: write cast(x, tf.float32) to convert",
}


def _attribute_hint(name: str, scope: Scope) -> str | None:
    """`x.shape`, `x.T`: an attribute of a variable, which the language does not have."""
    if "." not in name:
        return None
    base, attribute = name.rsplit(".", 1)
    if base.split(".", 1)[0] not in scope.names:
        return None
    what = _UNSUPPORTED_ATTRIBUTES.get(attribute, "an attribute, which the language does not have")
    return f"`{_brief(name)}` is {what.format(base)}"


def _full_slice(item: Any) -> bool:
    return isinstance(item, ast.Slice) and item.start is None and item.stop is None and item.step is None


def free_names(tree: ast.Expr) -> list[str]:
    """Names a lone expression uses as variables, in order of first appearance."""
    found: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            bare = atoms.strip_prefix(node.id)
            if (
                bare not in atoms.CONSTANTS
                and node.id not in found
                and node.id != "None"
                and "." not in node.id
            ):
                found.append(node.id)
            continue
        stack.extend(reversed(_children(node)))
    return found


def _children(node: ast.Expr) -> list[ast.Expr]:
    if isinstance(node, ast.Call):
        row = atoms.lookup(node.func, method=node.method)
        out = list(node.args)
        if row is not None and not row.variadic:
            out = [
                arg
                for arg, param in zip(node.args, row.params)
                if param.kind not in ("axis", "dtype", "flag")
            ]
        for keyword in node.keywords:
            param = next((p for p in (row.params if row else ()) if keyword.name in p.spellings), None)
            if param is None or param.kind not in ("axis", "dtype", "flag"):
                out.append(keyword.value)
        return out
    return list(node.children())


def lower_constant(constant: ast.Constant, context: FileContext) -> Any:
    lowerer = Lowerer(context, constant.name)
    scope = Scope(dict(context.constants))
    value = lowerer.expr(constant.value, scope)
    if value.atoms(sp.Symbol):
        raise LoweringError(
            "E002", f"the constant `{constant.name}` depends on a variable", constant.value.span
        )
    return value


def constant_binding(value: Any) -> Binding:
    return Binding(value, None, None, "constant")


__all__ = [
    "DATA_NAMES",
    "Binding",
    "FileContext",
    "Lowered",
    "Lowerer",
    "LoweringError",
    "Origin",
    "Scope",
    "constant_binding",
    "default_wrt",
    "free_names",
    "lower_constant",
    "reserved_names",
]
