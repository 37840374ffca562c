"""Lower a `.loss` text for code generation: the analysis lowering, keeping what code needs.

`analyzer.analysis.lowering.Lowerer` drops `axis=` and `keepdims=` (they do not move kinks) and inlines
everything. The code generator subclasses it to keep:

- the axes of reductions, as `Along` markers (only where they differ from the default: the last
  axis, reduced axes dropped, as LANGUAGE.md §2 says);
- `keepdims` inside the composite atoms that need it (`categorical_crossentropy` normalises the
  probabilities by their sum along the last axis);
- the names of the definition's own locals, so the generated code can reuse them;
- the straight-through pattern `soft + stop_gradient(hard - soft)` as one `StraightThrough` node,
  so the forward value is exactly `hard`;
- constants named in `symbolic_constants` (the temperatures of smooth variants) as symbols, so
  they become keyword arguments.

The analysis reports of the same text come from `analyzer.analysis.api.analyze_text`; definitions it finds
invalid are left out here.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import sympy as sp

from ..analysis.api import (
    AnalysisTimeout,
    analyze_text,
    deep_stack,
    expression_report,
    hard_limit,
    hard_limit_for,
    internal_error_finding,
    invalid_report,
)
from ..analysis.lowering import (
    Binding,
    FileContext,
    Lowerer,
    LoweringError,
    Scope,
    _bind,
    _flag,
    constant_binding,
    free_names,
    lower_constant,
)
from ..analysis.report import INVALID, Finding, Report
from ..analysis.statements import StatementWalk
from ..atoms import table as atoms
from ..language import syntax as ast
from ..language.parser import parse_expression, parse_source
from .nodes import ALL_AXES, Along, AlongCondition, OnesLike, StraightThrough, ZerosLike

# Nodes that take an axis (from the rows' shapes): the marker goes on the outermost of these in
# what a row builds.
AXIS_NODES = atoms.AXIS_NODES
CONDITION_AXIS_NODES = atoms.CONDITION_AXIS_NODES
DEFAULT_AXES = (-1,)


@dataclass(slots=True)
class CodegenDefinition:
    """One definition, ready for printing."""

    name: str
    line: int
    params: tuple[str, ...]
    wrt: tuple[str, ...]
    body: Any  # the SymPy body with the code generator's markers
    local_names: dict[Any, str]  # value of a local of the definition itself -> its name
    report: Report
    keyword_constants: tuple[str, ...] = ()  # symbolic constants the body uses, in file order
    origins: dict[Any, Any] = field(default_factory=dict)  # SymPy node -> Origin (its span in the file)
    marker: str | None = None  # "higher" or "lower": a `# kinks: higher-is-better` comment on the definition


@dataclass(slots=True)
class CodegenSource:
    path: str
    definitions: list[CodegenDefinition] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    line_offset: int = 0  # a variant: its lines are this many further down than the input's
    named_constants: dict[str, Any] = field(
        default_factory=dict
    )  # the file's constants kept as names -> value


def lower_source(
    text: str,
    path: str = "<string>",
    symbolic_constants: Mapping[str, float] | None = None,
    reports: Sequence[Report] | None = None,
    *,
    named_constants: bool = True,
) -> CodegenSource:
    """Every valid definition of `text`, lowered for code generation, with its analysis report.

    With `named_constants`, the file's positive constants (`label_smoothing = 0.1`) stay names
    (module-level constants in the code); a definition that cannot be lowered so is lowered with
    their values.
    """
    if reports is None:
        reports = analyze_text(text, path)
    walk = _CodegenWalk(text, path, dict(symbolic_constants or {}), reports, named_constants)
    walk.run(parse_source(text, path).statements)
    walk.out.named_constants = walk.named
    return walk.out


class _CodegenWalk(StatementWalk):
    """The analysis' statement walk again, lowering each definition its report found valid."""

    def __init__(
        self,
        text: str,
        path: str,
        symbolic_constants: dict[str, float],
        reports: Sequence[Report],
        named_constants: bool,
    ) -> None:
        super().__init__()
        self.text = text
        self.path = path
        self.symbolic_constants = symbolic_constants
        self.named_constants = named_constants
        self.by_line = {report.line: report for report in reports if report.name is not None}
        context = self.context
        # the same file seen with every constant a number: the fallback of a definition
        self.numeric = FileContext(
            definitions=context.definitions, broken=context.broken, later=context.later
        )
        self.named: dict[str, Any] = {}
        self.out = CodegenSource(path, reports=list(reports))

    def constant(self, statement: ast.Constant) -> str | None:
        value = _bind_constant(statement, self.numeric, self.symbolic_constants)
        if value is not None:
            named = self.named if self.named_constants else None
            _bind_value(statement.name, value, self.context, self.symbolic_constants, named)
        return None  # the analysis reports a constant that failed

    def definition(self, statement: ast.Definition) -> str | None:
        report = self.by_line.get(statement.span.line)
        if report is None or report.classification == INVALID or report.name != statement.name:
            return "it is invalid"
        lowerer = CodegenLowerer(self.context, statement.name)
        try:
            # SymPy can spend minutes building one body (folding a Piecewise into a condition):
            # the same hard limit as the analysis, and the definition gets no code.
            with deep_stack(), hard_limit(hard_limit_for(None)):
                try:
                    lowered = lowerer.definition(statement)
                except (LoweringError, ValueError, TypeError, AttributeError):
                    if not self.named:
                        raise
                    lowerer = CodegenLowerer(self.numeric, statement.name)  # a name where a number is needed
                    lowered = lowerer.definition(statement)
        except (AnalysisTimeout, Exception) as error:  # noqa: BLE001 - one definition's failure must not cost the others their code
            finding = _failure(error, statement)
            self.out.reports[self.out.reports.index(report)] = invalid_report(
                statement.name, statement.span.line, self.path, finding
            )
            return "it is invalid"
        used = (
            {symbol.name for symbol in lowered.body.free_symbols}
            if isinstance(lowered.body, sp.Basic)
            else set()
        )
        keywords = tuple(name for name in self.symbolic_constants if name in used)
        keywords += tuple(name for name in self.named if name in used and name not in self.symbolic_constants)
        self.out.definitions.append(
            CodegenDefinition(
                name=statement.name,
                line=statement.span.line,
                params=tuple(param.name for param in statement.params),
                wrt=lowered.wrt,
                body=lowered.body,
                local_names=lowerer.local_names,
                report=report,
                keyword_constants=keywords,
                origins=lowered.origins,
                marker=_marker(self.text, statement.span),
            )
        )
        return None


def _failure(error: BaseException, statement: ast.Definition) -> Finding:
    """The finding of a definition the analysis found valid but that got no code."""
    if isinstance(error, AnalysisTimeout):
        return Finding.of(
            "E005",
            f"building its expression for the code took longer than {error.seconds:g} s",
            statement.span,
        )
    if isinstance(error, LoweringError):  # it calls a definition that got no code
        return Finding.of(error.code, error.message, error.span or statement.span)
    if isinstance(error, RecursionError):
        return Finding.of("E005", "the definition is nested too deeply to generate code for", statement.span)
    return internal_error_finding(error, statement.span)


_MARKER = re.compile(r"#.*\bkinks:\s*(higher|lower)-is-better\b")


def _marker(text: str, span: Any) -> str | None:
    """`# kinks: higher-is-better` (or `lower-is-better`) on the definition's lines or the line above."""
    lines = text.split("\n")
    above = lines[span.line - 2 : span.line - 1] if span.line >= 2 else []
    for line in [*[a for a in above if a.lstrip().startswith("#")], *lines[span.line - 1 : span.end_line]]:
        found = _MARKER.search(line)
        if found:
            return found.group(1)
    return None


def _bind_constant(
    statement: ast.Constant,
    context: FileContext,
    symbolic: Mapping[str, float],
    named: dict[str, Any] | None = None,
) -> Any:
    """Bind the constant in `context`; its value (None when it has none)."""
    try:
        with deep_stack(), hard_limit(hard_limit_for(None)):
            value = lower_constant(statement, context)
    except (LoweringError, AnalysisTimeout):
        return None  # the analysis reports it; a reference to it makes the definition invalid there too
    _bind_value(statement.name, value, context, symbolic, named)
    return value


def _bind_value(
    name: str, value: Any, context: FileContext, symbolic: Mapping[str, float], named: dict[str, Any] | None
) -> None:
    if name in symbolic:
        context.constants[name] = Binding(sp.Symbol(name, positive=True), None, None, "constant")
    elif (
        named is not None and isinstance(value, sp.Number) and value.is_real and value.is_finite and value > 0
    ):
        context.constants[name] = Binding(sp.Symbol(name, positive=True), None, None, "constant")
        named[name] = value
    else:
        named.pop(name, None) if named is not None else None
        context.constants[name] = constant_binding(value)


class CodegenLowerer(Lowerer):
    """The analysis lowering, plus axes, straight-through pairs and the names of locals."""

    def __init__(self, context: FileContext, current: str | None):
        super().__init__(context, current)
        self.local_names: dict[Any, str] = {}
        self._depth = 0

    def _body(self, definition: ast.Definition, scope: Scope) -> Any:
        self._depth += 1
        try:
            return super()._body(definition, scope)
        finally:
            self._depth -= 1

    def _bound_local(self, name: str, value: Any) -> None:
        if self._depth == 1 and isinstance(value, sp.Basic) and value.free_symbols:
            self.local_names.setdefault(value, name)

    def _Binary(self, node: ast.Binary, scope: Scope) -> Any:
        parts = straight_through_parts(node)
        if parts is not None:
            hard_tree, soft_tree = parts
            return StraightThrough(self.expr(hard_tree, scope), self.expr(soft_tree, scope))
        return super()._Binary(node, scope)

    def _apply(self, row: atoms.Atom, node: ast.Call, scope: Scope) -> Any:
        result = super()._apply(row, node, scope)
        if row.name in ("ones_like", "zeros_like") and len(node.args) == 1 and not node.keywords:
            # The analysis builds the number 1 (or 0): the code keeps the shape, so that a sum of
            # it is a count (`sum(ones_like(p))` is the length of the last axis of p).
            like = self.expr(node.args[0], scope)
            if isinstance(like, sp.Expr) and like.free_symbols:
                return (OnesLike if row.name == "ones_like" else ZerosLike)(like)
        # A reduction that a composite row builds itself and combines with an unreduced tensor
        # keeps its axis, so that it broadcasts (Keras normalises p by its sum, l2_normalize
        # divides x by its norm); what the user wrote keeps the contract's default (dropped).
        written: set[Any] = set()
        if any(isinstance(e, AXIS_NODES) for e in sp.preorder_traversal(result)):
            for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
                with contextlib.suppress(LoweringError, TypeError, ValueError):
                    written.add(self.expr(argument, scope))
        result = _broadcast_built_reductions(result, written)
        axis_tree = _given(row, node, "axis")
        keep_tree = _given(row, node, "keepdims")
        axes = _axes(axis_tree) if axis_tree is not None else DEFAULT_AXES
        keepdims = _flag(keep_tree) if keep_tree is not None else False
        if axes == DEFAULT_AXES and not keepdims:
            return result
        if row.name == "take":
            raise LoweringError(
                "E003",
                "take() along an axis other than the last is not supported in TensorFlow code",
                node.span,
            )
        return _mark(result, axes, keepdims, node)


def _given(row: atoms.Atom, node: ast.Call, name: str) -> ast.Expr | None:
    if row.variadic:
        return None
    for param, tree in zip(row.params, _bind(row, node)):
        if param.name == name:
            return tree
    return None


def _axes(tree: ast.Expr) -> tuple[int, ...] | None:
    if isinstance(tree, ast.Name) and tree.id == "None":
        return None
    if isinstance(tree, ast.TupleExpr):
        found: list[int] = []
        for item in tree.items:
            axes = _axes(item)
            found.extend(axes or ())
        return tuple(found)
    if isinstance(tree, ast.Unary) and isinstance(tree.operand, ast.Number):
        value = int(tree.operand.value)
        return (-value if tree.op == "-" else value,)
    if isinstance(tree, ast.Number):
        return (int(tree.value),)
    raise LoweringError("E003", "an axis is an integer, a tuple of integers, or None", tree.span)


def _vector_valued(expr: Any) -> bool:
    """Does a variable reach `expr` other than through a reduction (so it has the input's shape)?"""
    if isinstance(expr, AXIS_NODES + CONDITION_AXIS_NODES + (Along, AlongCondition)):
        return False
    if isinstance(expr, sp.Symbol):
        return True
    return any(_vector_valued(arg) for arg in getattr(expr, "args", ()))


def _broadcast_built_reductions(result: Any, written: set[Any]) -> Any:
    """Reductions in `result` that are not one of the written arguments, and that some node on
    their way to the top combines with a vector-valued operand, wrapped to keep their axis."""
    replacements: dict[Any, Any] = {}

    def visit(expr: Any, beside_a_vector: bool) -> None:
        if expr in written or not isinstance(expr, sp.Basic):
            return
        if isinstance(expr, atoms.REDUCTION_NODES):
            if beside_a_vector and expr.args and _vector_valued(expr.args[0]):
                replacements[expr] = Along(expr, sp.Tuple(-1), sp.S.One)
            if expr.args:
                visit(expr.args[0], False)  # inside it, a context of its own
            return
        if isinstance(expr, AXIS_NODES + CONDITION_AXIS_NODES + (Along, AlongCondition)):
            return
        args = getattr(expr, "args", ())
        for index, arg in enumerate(args):
            siblings = any(_vector_valued(other) for k, other in enumerate(args) if k != index)
            visit(
                arg,
                beside_a_vector
                or (siblings and isinstance(expr, sp.Add | sp.Mul | sp.Pow | sp.Max | sp.Min)),
            )

    visit(result, False)
    return result.xreplace(replacements) if replacements else result


def _mark(result: Any, axes: tuple[int, ...] | None, keepdims: bool, node: ast.Call) -> Any:
    axes_arg = ALL_AXES if axes is None else sp.Tuple(*[sp.Integer(axis) for axis in axes])
    keep_arg = sp.S.One if keepdims else sp.S.Zero
    for candidate in sp.preorder_traversal(result):
        if isinstance(candidate, AXIS_NODES):
            return result.xreplace({candidate: Along(candidate, axes_arg, keep_arg)})
        if isinstance(candidate, CONDITION_AXIS_NODES):
            return result.xreplace({candidate: AlongCondition(candidate, axes_arg, keep_arg)})
    raise LoweringError("E003", "this function takes no axis in TensorFlow code", node.span)


# ------------------------------------------------------------------ straight-through pairs


def straight_through_parts(node: ast.Binary) -> tuple[ast.Expr, ast.Expr] | None:
    """(hard, soft) when `node` is `soft + stop_gradient(hard - soft)` (either order)."""
    if node.op != "+":
        return None
    for soft, other in ((node.left, node.right), (node.right, node.left)):
        if not isinstance(other, ast.Call) or len(other.args) != 1 or other.keywords:
            continue
        row = atoms.lookup(other.func)
        if row is None or row.name != "stop_gradient":
            continue
        inner = other.args[0]
        if isinstance(inner, ast.Binary) and inner.op == "-" and same_tree(inner.right, soft):
            return inner.left, soft
    return None


_POSITION_FIELDS = frozenset({"span", "func_span", "name_span"})


def same_tree(a: Any, b: Any) -> bool:
    """Syntax trees equal up to their positions in the file."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b))
    if is_dataclass(a):
        return all(
            same_tree(getattr(a, item.name), getattr(b, item.name))
            for item in fields(a)
            if item.name not in _POSITION_FIELDS
        )
    return bool(a == b)


def lower_expression(text: str, name: str = "loss") -> CodegenSource:
    """A lone expression (every free name a differentiated parameter), as `analyze` reads it."""
    report = expression_report(text)
    out = CodegenSource("<expression>", reports=[report])
    if report.classification == INVALID:
        return out
    tree = parse_expression(text)
    params = tuple(ast.Param(param, tree.span) for param in free_names(tree))
    definition = ast.Definition(name, tree.span, params, None, None, (), tree, tree.span)
    lowerer = CodegenLowerer(FileContext(), name)
    lowered = lowerer.definition(definition)
    report.name = name
    out.definitions.append(
        CodegenDefinition(
            name=name,
            line=1,
            params=tuple(p.name for p in params),
            wrt=lowered.wrt,
            body=lowered.body,
            local_names={},
            report=report,
        )
    )
    return out
