"""Generate a TensorFlow module from `.loss` definitions.

One function per definition, taking tensors (broadcasting, and reductions over the last axis with
the reduced axis dropped, as LANGUAGE.md §2 says), and one `keras.losses.Loss` subclass for each
definition with exactly one `wrt` parameter and one data parameter, in Keras's `(y_true, y_pred)`
order. Each body goes through:

1. `rewrite.stable_forms` (log_softmax, log_sigmoid, log1p, logsumexp, softplus, the fused softmax
   cross-entropy, ...) and `rewrite.guard_branches` (the double-`where` guard);
2. a common-sub-expression plan: a sub-expression used twice is computed once, under the name of
   the user's local when it is one;
3. `printer.TensorFlowPrinter`, which follows kinks's convention at kinks.

The output is deterministic: the same input gives the same bytes. It contains no user text but
identifiers (checked, and renamed when they are Python keywords or clash) and numbers.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy as sp
from sympy.logic.boolalg import BooleanAtom

from ..analysis.api import deep_stack
from ..analysis.compose import compose
from ..analysis.report import Report
from .codegen_lowering import CodegenDefinition, CodegenSource, lower_expression, lower_source
from .nodes import Along, AlongCondition, OnesLike, StraightThrough, ZerosLike
from .rewrite import guard_branches, normalized_labels, stable_forms
from .tf_printer import (
    HELPERS,
    KINK_CONVENTION,
    MIDPOINT_NODES,
    TIE_NODES,
    Code,
    TensorFlowPrinter,
    UnsupportedError,
    identifier,
    literal,
)

MODES = {"plain": "", "smooth": "smooth variant", "ste": "straight-through variant"}


class CodegenError(Exception):
    """A definition kinks cannot write as TensorFlow code; the message says where and why."""


class CodegenWarning(UserWarning):
    """`to_tensorflow` left a definition out (the others are written); the message says where and why."""


@dataclass(slots=True)
class GeneratedFunction:
    name: str  # the Python name
    source_name: str
    lines: list[str]
    helpers: set[str]
    imports: set[str]
    keras_class: str | None = None
    keras_lines: list[str] = field(default_factory=list)
    constants: set[str] = field(default_factory=set)  # the named constants of the file it uses
    note: CodegenNote | None = None  # why it got no Keras loss class, when that is worth saying


@dataclass(frozen=True, slots=True)
class CodegenFailure:
    """A definition that got no code: where (in the file) and why, in the user's terms."""

    name: str
    line: int
    column: int
    message: str

    def text(self, path: str) -> str:
        return f"{path}:{self.line}:{self.column}: {self.name}: {self.message} (no code written for it)"


@dataclass(frozen=True, slots=True)
class CodegenNote:
    """Something the user should know about a definition's code (printed on standard error)."""

    name: str
    line: int
    message: str

    def text(self, path: str) -> str:
        return f"{path}:{self.line}: {self.name}: {self.message}"


@dataclass(frozen=True, slots=True)
class GeneratedModule:
    text: str
    functions: dict[str, str]  # definition name -> Python function name
    classes: dict[str, str]  # definition name -> Keras loss class name
    failures: tuple[CodegenFailure, ...] = ()  # definitions that got no code, in file order
    notes: tuple[CodegenNote, ...] = ()  # zero-gradient definitions left without a Keras loss class, ...


def generate_module(
    source: CodegenSource,
    *,
    mode: str = "plain",
    keyword_defaults: Mapping[str, float] | None = None,
    select: Sequence[str] | None = None,
) -> str:
    """The text of a Python module for the definitions of `source` (only `select`ed ones if given).

    A definition that cannot be written is left out with a `CodegenWarning` saying where and why.
    """
    module = generate(source, mode=mode, keyword_defaults=keyword_defaults, select=select)
    for failure in module.failures:
        warnings.warn(failure.text(source.path), CodegenWarning, stacklevel=3)
    return module.text


def generate(
    source: CodegenSource,
    *,
    mode: str = "plain",
    keyword_defaults: Mapping[str, float] | None = None,
    select: Sequence[str] | None = None,
) -> GeneratedModule:
    """The module for `source`, with the Python names given to its definitions."""
    keyword_defaults = dict(keyword_defaults or {})
    definitions = [d for d in source.definitions if select is None or d.name in select]
    taken: set[str] = set(HELPERS)
    functions: list[GeneratedFunction] = []
    failures: list[CodegenFailure] = []
    keras = _KerasContext(keras_package(source.path, mode), mode, source.path)
    constants: dict[str, str] = {}  # the file's named constants: source name -> module-level name
    for name in source.named_constants:
        constants[name] = identifier(re.sub(r"\W", "_", name).upper(), taken)
        taken.add(constants[name])
    keras.constants.update(constants)
    for definition in definitions:
        before = set(taken)
        try:
            with deep_stack():
                try:
                    functions.append(_generate_function(definition, taken, keyword_defaults, keras))
                except Exception:
                    numeric = _with_constant_values(definition, source.named_constants)
                    if numeric is None:
                        raise
                    taken.clear()
                    taken.update(before)  # a name where a number is needed (one_hot's depth): the values
                    functions.append(_generate_function(numeric, taken, keyword_defaults, keras))
        except UnsupportedError as error:  # one definition's failure never costs the others their code
            failures.append(_failure(definition, error.node, str(error)))
        except RecursionError:
            failures.append(
                _failure(definition, None, "the definition is nested too deeply to generate code for")
            )
        except Exception as error:  # noqa: BLE001 - a bug of the generator: reported, the rest still written
            failures.append(
                _failure(
                    definition,
                    None,
                    f"internal error of the code generator ({type(error).__name__}); "
                    "this is a bug in kinks: please report it with the definition",
                )
            )
        else:
            continue
        taken.clear()
        taken.update(before)
    if source.line_offset:  # a variant: failures at the lines of the input
        failures = [_shifted(failure, source.line_offset) for failure in failures]
    used = set().union(*(f.constants for f in functions)) if functions else set()
    module_constants = [(constants[name], source.named_constants[name]) for name in constants if name in used]
    return GeneratedModule(
        _assemble(source.path, functions, mode, failures, module_constants),
        {f.source_name: f.name for f in functions},
        {f.source_name: f.keras_class for f in functions if f.keras_class},
        tuple(failures),
        tuple(f.note for f in functions if f.note is not None),
    )


def _with_constant_values(
    definition: CodegenDefinition, named: Mapping[str, Any]
) -> CodegenDefinition | None:
    """The definition with the file's named constants it uses replaced by their values (None if it
    uses none)."""
    used = [name for name in definition.keyword_constants if name in named]
    if not used or not isinstance(definition.body, sp.Basic):
        return None
    values = {sp.Symbol(name, positive=True): named[name] for name in used}
    return dataclasses.replace(
        definition,
        body=definition.body.xreplace(values),
        keyword_constants=tuple(name for name in definition.keyword_constants if name not in named),
        local_names={
            key.xreplace(values) if isinstance(key, sp.Basic) else key: value
            for key, value in definition.local_names.items()
        },
    )


def _shifted(failure: CodegenFailure, offset: int) -> CodegenFailure:
    return CodegenFailure(failure.name, max(failure.line - offset, 1), failure.column, failure.message)


def _failure(definition: CodegenDefinition, node: Any, message: str) -> CodegenFailure:
    """The failure at the innermost atom of the source that holds `node` (else at the definition)."""
    origin = _origin_of(definition, node)
    span = origin.span if origin is not None else getattr(definition.report, "span", None)
    line = span.line if span is not None else definition.line
    column = span.column if span is not None else 1
    if origin is not None:
        message = f"`{_short(origin.text())}`: {message}"
    return CodegenFailure(definition.name, int(line), int(column), message)


def _origin_of(definition: CodegenDefinition, node: Any) -> Any:
    if node is None or not definition.origins:
        return None
    if node in definition.origins:
        return definition.origins[node]
    best, best_size = None, None
    for candidate, origin in definition.origins.items():
        if isinstance(candidate, sp.Basic) and candidate.has(node):
            size = sp.count_ops(candidate, visual=False) if best is not None else 0
            if best is None or size < best_size:
                best, best_size = origin, size
    return best


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(path: str, definition: CodegenDefinition, node: Any) -> str:
    """`file:line:column: name: ` of the node that could not be printed (else of the definition)."""
    failure = _failure(definition, node, "")
    return f"{path}:{failure.line}:{failure.column}: {definition.name}: "


# ------------------------------------------------------------------ one function


# Generated lines stay this short (ruff's default line length): a long expression is split into
# named parts.
MAX_LINE = 88
MAX_DOC = 88  # docstrings and comments, as ruff's default line length


def _generate_function(
    definition: CodegenDefinition,
    taken: set[str],
    keyword_defaults: Mapping[str, float],
    keras: _KerasContext | None = None,
) -> GeneratedFunction:
    keras = keras or _KerasContext("kinks", "plain", "<string>")
    function_name = identifier(definition.name, taken)
    taken.add(function_name)
    assigned: set[str] = {function_name}
    params: dict[str, str] = {}
    for name in (*definition.params, *definition.keyword_constants):
        params[name] = identifier(name, assigned)
        assigned.add(params[name])
    keywords = {
        name: params.pop(name) for name in definition.keyword_constants if name not in keras.constants
    }
    named = {name: params.pop(name) for name in definition.keyword_constants if name in keras.constants}
    names = {**params, **keywords, **named}
    given = definition.report.given if definition.report is not None else None
    body = guard_branches(stable_forms(definition.body, normalized_labels(given)))
    block = _Block(names, frozenset(definition.wrt), definition.local_names, "tmp", {function_name, "value"})
    token = MIDPOINT_NODES.set(_midpoint_nodes(definition, body))
    try:
        statements, result, printer = block.render(body)
    finally:
        MIDPOINT_NODES.reset(token)

    # ones_like(x) and zeros_like(x) carry the shape of x, not its gradient
    shapes = (
        {
            node: sp.S.One if isinstance(node, OnesLike) else sp.S.Zero
            for node in sp.preorder_traversal(body)
            if isinstance(node, (OnesLike, ZerosLike))
        }
        if isinstance(body, sp.Basic)
        else {}
    )
    live = compose(body.xreplace(shapes)).live if isinstance(body, sp.Basic) else frozenset()
    disconnected = [params[name] for name in definition.wrt if name not in live]
    if disconnected:
        printer.helpers.add("_with_zero_gradient")
        wrapped = f"_with_zero_gradient({result}, {', '.join(disconnected)})"
        if len(wrapped) + 11 > MAX_LINE:
            statements.append(f"value = {result}")
            wrapped = f"_with_zero_gradient(value, {', '.join(disconnected)})"
        result = wrapped

    ordered = [params[name] for name in definition.wrt] + [
        params[name] for name in definition.params if name not in definition.wrt
    ]
    lines = _signature(function_name, [params[p] for p in definition.params], keywords, keyword_defaults)
    if _is_keras_loss_shape(
        definition
    ):  # passed as a loss or a metric, a saved model reloads without custom_objects
        lines.insert(0, f'@keras.saving.register_keras_serializable(package="{keras.package}")')
        printer.imports.add("keras")
    lines.append(f'    """{_docstring(definition, params)}"""')
    if ordered:
        printer.helpers.add("_as_float_tensors")
        targets = ", ".join(ordered) if len(ordered) > 1 else f"({ordered[0]},)"
        lines.append(f"    {targets} = _as_float_tensors({', '.join(ordered)})")
    if printer.needs_dtype:
        lines.append(f"    dtype = {ordered[0]}.dtype" if ordered else "    dtype = tf.float32")
    conversions = [(python, python) for python in keywords.values()]
    conversions += [(python, keras.constants[name]) for name, python in named.items()]
    for python, value in conversions:  # a Python float would become a float32 tensor
        printer.helpers.add("_as_dtype")
        lines.append(
            f"    {python} = _as_dtype({value}, {'dtype' if printer.needs_dtype else ordered[0] + '.dtype'})"
        )
    body_lines = _indented(statements, "    ")
    if body_lines and body_lines[0].startswith("    def "):
        body_lines.insert(0, "")
    lines += body_lines
    lines.append(f"    return {result}")
    lines = _wrapped(lines)

    generated = GeneratedFunction(
        function_name, definition.name, lines, printer.helpers, printer.imports, constants=set(named)
    )
    _add_keras_class(generated, definition, params, keywords, keyword_defaults, taken, keras)
    return generated


def _midpoint_nodes(definition: CodegenDefinition, body: Any) -> frozenset[Any]:
    """The ties of the body (max, min, relu, clip) where the analysis found no kink nor jump.

    There the body is C1 (a cancellation, as in `relu(z) - relu(-z)` or a pasted
    `sigmoid_cross_entropy_with_logits`): the slope 1/2 at each tie gives the common one-sided
    gradient, where slope 0 (the convention at a kink) would not.
    """
    if not isinstance(body, sp.Basic) or definition.report is None:
        return frozenset()
    spans = [
        f.span
        for f in definition.report.findings
        if f.kind in ("kink", "discontinuity") and f.span is not None
    ]
    ties = [node for node in sp.preorder_traversal(body) if isinstance(node, TIE_NODES)]
    if not spans:
        return frozenset(ties)
    chosen = []
    for node in ties:
        origin = _origin_of(definition, node)
        if origin is None:
            continue  # inside an atom whose row we cannot place: keep the convention
        if not any(_overlaps(origin.span, span) for span in spans):
            chosen.append(node)
    return frozenset(chosen)


def _overlaps(a: Any, b: Any) -> bool:
    start_a, end_a = (a.line, a.column), (a.end_line, a.end_column)
    start_b, end_b = (b.line, b.column), (b.end_line, b.end_column)
    return start_a < end_b and start_b < end_a


def _indented(statements: list[str], indent: str) -> list[str]:
    """Statement lines under a function header; a nested function gets blank lines around it."""
    lines: list[str] = []
    for statement in statements:
        nested = statement.startswith("def ")
        if nested and lines and lines[-1] != "":
            lines.append("")
        lines += [indent + line if line else "" for line in statement.split("\n")]
        if nested:
            lines.append("")
    return lines


class _Block:
    """Prints one body as statements and a result, short lines, parts used twice computed once.

    A straight-through estimator's hard and soft parts become nested functions, printed by blocks of
    their own (a nested function recomputes its part from its inputs, so the gradient tape sees it).
    """

    def __init__(
        self,
        names: Mapping[str, str],
        moving: frozenset[str],
        local_names: Mapping[Any, str],
        prefix: str,
        reserved: set[str],
        depth: int = 0,
    ):
        self.names = names
        self.moving = moving
        self.local_names = local_names
        self.prefix = prefix
        self.reserved = reserved
        self.depth = depth

    def render(self, body: Any) -> tuple[list[str], str, TensorFlowPrinter]:
        planned = _plan(body, self.local_names)
        while True:
            printer, statements, result, long_node = self._print(body, planned)
            if long_node is None:
                break
            planned = [node for node in _plan_order(body) if node in set(planned) | {long_node}]
        statements, result = _without_dead_statements(statements, result, self.prefix)
        return statements, result, printer

    def _print(self, body: Any, planned: list[Any]) -> tuple[TensorFlowPrinter, list[str], str, Any]:
        """Print the statements and the result; also the longest part of the first line too long."""
        used_names = set(self.names.values()) | set(self.reserved)
        statements: list[str] = []
        temporaries: dict[Any, str] = {}
        counters: dict[str, int] = {}
        width = MAX_LINE - 4 * (self.depth + 1)

        def fresh(preferred: str | None = None, prefix: str | None = None) -> str:
            if preferred is not None:
                candidate = identifier(preferred, used_names)
                used_names.add(candidate)
                return candidate
            prefix = prefix or self.prefix
            while True:
                counters[prefix] = counters.get(prefix, 0) + 1
                candidate = f"{prefix}{counters[prefix]}"
                if candidate not in used_names:
                    used_names.add(candidate)
                    return candidate

        def emit(item: tuple[Any, Code]) -> Code:
            expr, code = item
            name = fresh()
            statements.append(f"{name} = {code}")
            temporaries[expr] = name
            return Code(name)

        def define(kind: str, expr: Any, inputs: list[str]) -> str:
            name = fresh(prefix=kind)
            inner = _Block(self.names, self.moving, {}, "part", {name, *inputs}, self.depth + 1)
            inner_statements, inner_result, inner_printer = inner.render(expr)
            printer.merge(inner_printer)
            lines = [
                f"def {name}({', '.join(inputs)}):",
                *_indented(inner_statements, "    "),
                f"    return {inner_result}",
            ]
            statements.append("\n".join(lines))
            return name

        printer = TensorFlowPrinter(self.names, self.moving, temporaries, emit, define)
        long_node = None
        for node in planned:
            code = printer.statement(node)
            name = fresh(self.local_names.get(node))
            statements.append(f"{name} = {code}")
            if long_node is None and len(statements[-1]) > width:
                long_node = _longest_part(node, printer)
            temporaries[node] = name
        if isinstance(body, sp.Basic) and not body.free_symbols:
            result = f"tf.constant({printer.statement(body)}, {printer._dtype()})"
        else:
            result = str(printer.statement(body))
            if long_node is None and len(result) + 7 > width:
                long_node = _longest_part(body, printer)
        return printer, statements, result, long_node


def _without_dead_statements(
    statements: list[str], result: str, prefix: str = "tmp"
) -> tuple[list[str], str]:
    """Drop statements whose name nothing uses (printing found a shorter form), renumber temporaries."""
    kept: list[str] = []
    used = set(re.findall(r"[A-Za-z_]\w*", result))
    for statement in reversed(statements):
        if statement.startswith("def "):
            name = statement[4 : statement.index("(")]
        else:
            name = statement.partition(" = ")[0]
        if name in used:
            kept.append(statement)
            used |= set(re.findall(r"[A-Za-z_]\w*", statement))
    kept.reverse()
    numbering: dict[str, str] = {}
    for statement in kept:
        name = statement.partition(" = ")[0]
        if re.fullmatch(re.escape(prefix) + r"\d+", name):
            numbering[name] = f"{prefix}{len(numbering) + 1}"
    pattern = re.compile(r"\b" + re.escape(prefix) + r"\d+\b")

    def renumber(text: str) -> str:
        return pattern.sub(lambda match: numbering.get(match.group(0), match.group(0)), text)

    return [
        statement if statement.startswith("def ") else renumber(statement) for statement in kept
    ], renumber(result)


def _longest_part(expr: Any, printer: TensorFlowPrinter) -> Any:
    """The sub-expression of `expr` with the longest code that is not named yet (None if none is left)."""
    best, best_length = None, 0
    for node in _plan_order(expr):
        if node is expr or node in printer.temporaries or _trivial(node):
            continue
        length = len(
            TensorFlowPrinter(printer.names, printer.moving, dict(printer.temporaries)).statement(node)
        )
        if length > best_length:
            best, best_length = node, length
    return best


def _plan_order(body: Any) -> list[Any]:
    """Every sub-expression once, children first (the order statements are written in)."""
    order: list[Any] = []
    visited: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(body, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)) if child not in visited)
    return order


def _signature(
    name: str, params: list[str], keywords: Mapping[str, str], defaults: Mapping[str, float]
) -> list[str]:
    parts = list(params)
    if keywords:
        parts.append("*")
        parts += [f"{python}={literal(defaults.get(source, 0.1))}" for source, python in keywords.items()]
    return _def_lines(name, parts, "")


def _call_lines(prefix: str, function: str, arguments: str) -> list[str]:
    """`prefix + function(arguments)`, its arguments on lines of their own when too long (as ruff format)."""
    line = f"{prefix}{function}({arguments})"
    if len(line) <= MAX_LINE:
        return [line]
    indent = " " * (len(prefix) - len(prefix.lstrip())) + "    "
    if len(indent) + len(arguments) <= MAX_LINE:
        return [f"{prefix}{function}(", f"{indent}{arguments}", f"{indent[:-4]})"]
    return [
        f"{prefix}{function}(",
        *[f"{indent}{part}," for part in arguments.split(", ")],
        f"{indent[:-4]})",
    ]


def _wrapped(lines: list[str]) -> list[str]:
    """A statement still too long (one atom's code, nothing left to name) split as ruff format does:
    the arguments of its outermost call on a line of their own."""
    out: list[str] = []
    for line in lines:
        stripped = line.lstrip()
        if len(line) <= MAX_LINE or stripped.startswith(("#", '"""', "def ", "@")) or not line.endswith(")"):
            out.append(line)
            continue
        opening = _outer_call(line)
        indent = line[: len(line) - len(stripped)] + "    "
        if opening is None or len(indent) + len(line) - opening - 2 > MAX_LINE:
            out.append(line)
            continue
        out += [line[: opening + 1], indent + line[opening + 1 : -1], indent[:-4] + ")"]
    return out


def _outer_call(line: str) -> int | None:
    """The index of the `(` whose `)` ends the line, when that call starts the expression's last part."""
    depth, opening = 0, None
    for index in range(len(line) - 1, -1, -1):
        char = line[index]
        if char == ")":
            depth += 1
        elif char == "(":
            depth -= 1
            if depth == 0:
                opening = index
                break
        elif char in "\"'":
            return None
    if opening is None or opening == 0 or not (line[opening - 1].isalnum() or line[opening - 1] in "_."):
        return None
    return opening


def _def_lines(name: str, parts: list[str], indent: str) -> list[str]:
    """`def name(parts):`, one parameter a line when it would be too long (as ruff format does)."""
    line = f"{indent}def {name}({', '.join(parts)}):"
    if len(line) <= MAX_LINE:
        return [line]
    return [f"{indent}def {name}(", *[f"{indent}    {part}," for part in parts], f"{indent}):"]


def _docstring(definition: CodegenDefinition, params: Mapping[str, str]) -> str:
    arguments = ", ".join(params[p] for p in definition.params)
    wrt = ", ".join(params[p] for p in definition.wrt) or "nothing"
    report = definition.report
    classification = report.classification if report is not None else "unknown"
    line = int(definition.line)
    return (
        f"{identifier(definition.name)}({arguments}) wrt {wrt}: {classification}; line {line} of the source."
    )


def _trivial(node: Any) -> bool:
    if isinstance(node, (sp.Symbol, BooleanAtom, sp.Tuple)):
        return True
    if isinstance(node, sp.Basic) and node.is_number:
        return True
    return (
        isinstance(node, sp.Mul)
        and len(node.args) == 2
        and node.args[0] == -1
        and isinstance(node.args[1], sp.Symbol)
    )


def _children(node: Any) -> tuple[Any, ...]:
    if isinstance(node, StraightThrough):
        return ()  # printed inline, inside the estimator's own functions
    if isinstance(node, (Along, AlongCondition)):
        return tuple(node.node.args)
    if isinstance(node, sp.Piecewise):
        return tuple(part for pair in node.args for part in pair)
    if isinstance(node, sp.Basic) and not _trivial(node):
        return tuple(node.args)
    return ()


def _plan(body: Any, local_names: Mapping[Any, str]) -> list[Any]:
    """Sub-expressions to compute once, children first: those used twice, and the user's locals."""
    uses: dict[Any, int] = {}
    order: list[Any] = []
    visited: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(body, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for child in reversed(_children(node)):
            uses[child] = uses.get(child, 0) + 1
            if child not in visited:
                stack.append((child, False))
    return [
        node
        for node in order
        if node is not body and not _trivial(node) and (uses.get(node, 0) >= 2 or node in local_names)
    ]


# ------------------------------------------------------------------ Keras


def _camel(name: str) -> str:
    parts = [part for part in name.split("_") if part]
    text = "".join(part[:1].upper() + part[1:] for part in parts) or "Definition"
    return text if text.endswith("Loss") else text + "Loss"


# Names of metrics where higher is better (a name's words, split at `_`); a word of _LOSS_WORDS
# in the name says it is already a loss (`dice_loss`, `one_minus_iou`...).
HIGHER_IS_BETTER_WORDS = frozenset(
    {
        "accuracy",
        "acc",
        "f1",
        "fbeta",
        "dice",
        "iou",
        "jaccard",
        "precision",
        "recall",
        "auc",
        "sensitivity",
        "specificity",
        "r2",
    }
)
_LOSS_WORDS = frozenset({"loss", "error", "distance", "minus", "complement"})
HIGHER_IS_BETTER_MARKER = "kinks: higher-is-better"
LOWER_IS_BETTER_MARKER = "kinks: lower-is-better"


@dataclass(frozen=True, slots=True)
class _KerasContext:
    package: str  # the package its objects are registered under: one per source file and variant
    mode: str
    path: str
    constants: dict[str, str] = field(default_factory=dict)  # named constants: source name -> module name


def keras_package(path: str, mode: str = "plain") -> str:
    """`kinks.<file stem>[.smooth|.ste]`: the plain, smooth and straight-through modules of a file,
    and modules of different files, never register the same Keras name."""
    stem = re.sub(r"\W+", "_", Path(path).stem).strip("_") if not path.startswith("<") else ""
    parts = ["kinks", *([stem] if stem else []), *([mode] if mode != "plain" else [])]
    return ".".join(parts)


def higher_is_better(definition: CodegenDefinition) -> bool:
    """A metric where higher is better: by a marker comment, else by its name."""
    marker = getattr(definition, "marker", None)
    if marker is not None:
        return marker == "higher"
    words = set(definition.name.lower().split("_"))
    return (
        bool(words & HIGHER_IS_BETTER_WORDS)
        and not words & _LOSS_WORDS
        and not _complemented(definition.body)
    )


def _complemented(body: Any) -> bool:
    """Is the body `1 - metric` already (`hard_dice = 1 - dice`): a loss, whatever its name says?"""
    if not isinstance(body, sp.Add):
        return False
    constant, terms = body.as_coeff_add()
    return constant == 1 and bool(terms) and all(term.could_extract_minus_sign() for term in terms)


def _is_keras_loss_shape(definition: CodegenDefinition) -> bool:
    wrt = list(definition.wrt)
    data = [p for p in definition.params if p not in wrt]
    return len(wrt) == 1 and len(data) == 1 and len(definition.params) == 2


def _add_keras_class(
    generated: GeneratedFunction,
    definition: CodegenDefinition,
    params: Mapping[str, str],
    keywords: Mapping[str, str],
    defaults: Mapping[str, float],
    taken: set[str],
    keras: _KerasContext,
) -> None:
    if not _is_keras_loss_shape(definition):
        return
    wrt = list(definition.wrt)
    data = [p for p in definition.params if p not in wrt]
    class_name = _camel(generated.name)
    if definition.report is not None and definition.report.classification == "zero-gradient":
        shown = _comment_text(_shown_path(keras.path))
        if keras.mode == "plain":
            hint = (
                f"for a loss, use {class_name} of `kinks tf --smooth {shown}` (surrogates) or of "
                f"`kinks tf --ste {shown}` (hard forward pass, surrogate gradient)"
            )
        else:
            hint = "no surrogate removes the zero gradient here: change the definition"
        text = (
            f"No Keras loss class for {generated.name}: its gradient is zero almost everywhere, so training "
            f"with it would not learn; {hint}."
        )
        generated.keras_lines = ["# " + line for line in textwrap.wrap(text, MAX_DOC - 2)]
        generated.note = CodegenNote(
            definition.name,
            int(definition.line),
            f"the gradient is zero almost everywhere: no Keras loss class written; {hint}",
        )
        return
    class_name = identifier(class_name, taken)
    taken.add(class_name)
    better = higher_is_better(definition)
    call_args = ", ".join("y_pred" if p == wrt[0] else "y_true" for p in definition.params)
    call_args += "".join(f", {python}=self.{python}" for python in keywords.values())
    init_keywords = "".join(
        f", {python}={literal(defaults.get(source, 0.1))}" for source, python in keywords.items()
    )
    if better:
        summary = (
            f"1 - `{generated.name}` as a Keras loss ({generated.name} is a metric where higher is better): "
            f"y_true is {params[data[0]]}, y_pred is {params[wrt[0]]}."
        )
    else:
        summary = (
            f"`{generated.name}` as a Keras loss: y_true is {params[data[0]]}, y_pred is {params[wrt[0]]}."
        )
    lines = [
        f'@keras.saving.register_keras_serializable(package="{keras.package}")',
        f"class {class_name}(keras.losses.Loss):",
        *_docstring_lines(summary, "    "),
        "",
        *_def_lines(
            "__init__",
            [
                "self",
                f'name="{generated.name}"',
                'reduction="sum_over_batch_size"',
                "dtype=None",
                *[item.strip() for item in init_keywords.split(",") if item.strip()],
            ],
            "    ",
        ),
        "        super().__init__(name=name, reduction=reduction, dtype=dtype)",
    ]
    lines += [f"        self.{python} = {python}" for python in keywords.values()]
    lines += [
        "",
        "    def call(self, y_true, y_pred):",
        *_call_lines("        return 1.0 - " if better else "        return ", generated.name, call_args),
    ]
    if keywords:
        updates = ", ".join(f"{python}=self.{python}" for python in keywords.values())
        lines += [
            "",
            "    def get_config(self):",
            "        config = super().get_config()",
            f"        config.update({updates})",
            "        return config",
        ]
    generated.keras_class = class_name
    generated.keras_lines = lines
    generated.imports.add("keras")


# ------------------------------------------------------------------ the module


def _docstring_lines(text: str, indent: str) -> list[str]:
    """A docstring, its lines short enough for ruff's defaults."""
    width = MAX_DOC - len(indent)
    wrapped = textwrap.wrap(text, width)
    if len(text) + 6 <= width or len(wrapped) == 1:
        return [f'{indent}"""{text}"""']
    return [f'{indent}"""{wrapped[0]}', *[indent + line for line in wrapped[1:]], f'{indent}"""']


def _shown_path(path: str) -> str:
    """The path as given when relative; an absolute one relative to the working directory when inside it,
    else its file name: a generated module never embeds where it was made."""
    import os

    if path.startswith("<") or not os.path.isabs(path):
        return path
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return Path(path).name
    return relative if not relative.startswith("..") else Path(path).name


def _comment_text(text: str) -> str:
    """A path as comment text: control and non-ASCII characters escaped, so it cannot end the comment."""
    return text.encode("unicode_escape").decode("ascii").replace('"""', '\\"\\"\\"')


def _constant_text(value: Any) -> str:
    if isinstance(value, sp.Integer):
        return str(int(value))
    return str(literal(value))


def _all_order(name: str) -> tuple[int, tuple[tuple[int, int, str], ...]]:
    """The order ruff's RUF022 wants in `__all__`: constants, then classes, then the rest."""
    natural = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part
    )
    if name.isupper() and len(name) > 1:
        return 0, natural
    if name[:1].isupper():
        return 1, natural
    return 2, natural


def _assemble(
    path: str,
    functions: list[GeneratedFunction],
    mode: str,
    failures: Sequence[CodegenFailure] = (),
    constants: Sequence[tuple[str, Any]] = (),
) -> str:
    from .._version import __version__

    shown = _comment_text(_shown_path(path))
    variant = f" ({MODES[mode]})" if MODES.get(mode) else ""
    flag = {"smooth": " --smooth", "ste": " --ste"}.get(mode, "")
    out: list[str] = [
        f"# Generated by kinks {__version__} from {shown}{variant}.",
        f"# Edit the .loss file, not this one, and regenerate with: kinks tf{flag} {shown}",
        *[
            f"# No code for {identifier(failure.name)} (line {failure.line}): "
            "see the diagnostics of kinks tf."
            for failure in failures
        ],
        '"""TensorFlow code generated by kinks from a .loss file.',
        "",
        *textwrap.wrap(KINK_CONVENTION, 96),
        '"""',
        "",
    ]
    imports: set[str] = set().union(*(f.imports for f in functions)) if functions else {"tensorflow"}
    helpers: set[str] = set().union(*(f.helpers for f in functions)) if functions else set()
    if "math" in imports or any("math." in HELPERS[h].replace("tf.math.", "") for h in helpers):
        out += ["import math", ""]
    third_party = []
    if "keras" in imports:
        third_party.append("import keras")
    third_party.append("import tensorflow as tf")
    out += third_party
    exported = []
    for function in functions:
        exported.append(function.name)
        if function.keras_class:
            exported.append(function.keras_class)
    exported.sort(key=_all_order)
    listed = ", ".join(f'"{name}"' for name in exported)
    if len(listed) < 84:
        out += ["", f"__all__ = [{listed}]"]
    else:
        out += ["", "__all__ = [", *[f'    "{name}",' for name in exported], "]"]
    if constants:  # the constants of the .loss file, by their names
        out += ["", *[f"{name} = {_constant_text(value)}" for name, value in constants]]
    for helper in sorted(helpers):
        out += ["", "", *HELPERS[helper].strip("\n").split("\n")]
    for function in functions:
        out += ["", "", *function.lines]
        if function.keras_lines:
            out += ["", "", *function.keras_lines]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ entry points


def _is_expression(text: str) -> bool:
    from ..language import syntax as ast
    from ..language.parser import LossSyntaxError, parse_expression, parse_source

    statements = parse_source(text).statements
    if any(isinstance(s, (ast.Definition, ast.Constant)) for s in statements):
        return False
    try:
        parse_expression(text)
    except LossSyntaxError:
        return False
    return True


def lower_any(
    text: str, path: str = "<string>", symbolic_constants: Mapping[str, float] | None = None
) -> CodegenSource:
    """A `.loss` text, or a lone expression (then one definition named `loss`)."""
    if _is_expression(text):
        return lower_expression(text)
    return lower_source(text, path, symbolic_constants)


def lower_variant(text: str, path: str, mode: str) -> tuple[CodegenSource, Any]:
    """The smooth or straight-through variant of a `.loss` text, lowered; and the `Rewritten`.

    Definitions keep the line of the input (their docstrings cite it), and failures are reported there.
    """
    from .smooth import rewrite_source

    rewritten = rewrite_source(text, path, mode=mode)
    source = lower_source(rewritten.text, path, rewritten.temperatures)
    source.line_offset = rewritten.offset
    for definition in source.definitions:
        definition.line = rewritten.lines.get(definition.name, definition.line - rewritten.offset)
    return source, rewritten


def to_tensorflow(
    text_or_reports: str | Report | Iterable[Report], path: str | None = None, *, mode: str = "plain"
) -> str:
    """TensorFlow code for a `.loss` text, a lone expression, or reports of `analyze`/`analyze_file`.

    Reports that name a readable file are generated from that file, so `axis=` and `keepdims=` are
    kept; a report without a file (from `analyze(expression)`) is generated from its SymPy body,
    where reductions are over the last axis.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if isinstance(text_or_reports, str):
        return _from_text(text_or_reports, path or "<string>", mode)
    reports = [text_or_reports] if isinstance(text_or_reports, Report) else list(text_or_reports)
    return _from_reports(reports, mode)


def _from_text(text: str, path: str, mode: str) -> str:
    if mode == "plain":
        return generate_module(lower_any(text, path))
    source, rewritten = lower_variant(text, path, mode)
    return generate_module(source, mode=mode, keyword_defaults=rewritten.temperatures)


def _from_reports(reports: list[Report], mode: str) -> str:
    by_file: dict[str, list[str]] = {}
    loose: list[Report] = []
    for report in reports:
        if report.file and report.name and Path(report.file).is_file():
            by_file.setdefault(report.file, []).append(report.name)
        elif report.expression is not None:
            loose.append(report)
    if len(by_file) == 1 and not loose:
        file, names = next(iter(by_file.items()))
        text = Path(file).read_text(encoding="utf-8")
        if mode == "plain":
            return generate_module(lower_source(text, file), select=names)
        source, rewritten = lower_variant(text, file, mode)
        return generate_module(source, mode=mode, keyword_defaults=rewritten.temperatures, select=names)
    if by_file:
        raise ValueError("reports from several files: generate one module per file")
    if mode != "plain":
        raise ValueError(
            "smooth and straight-through variants need the .loss text, not reports without a file"
        )
    source = CodegenSource("<reports>")
    for index, report in enumerate(loose):
        name = report.name or ("loss" if len(loose) == 1 else f"loss{index + 1}")
        source.definitions.append(
            CodegenDefinition(
                name=name,
                line=report.line,
                params=tuple(report.params),
                wrt=tuple(report.wrt),
                body=report.expression,
                local_names={},
                report=report,
            )
        )
    return generate_module(source)


def tf_function(text: str, name: str | None = None, *, mode: str = "plain") -> Any:
    """The TensorFlow function for definition `name` of a `.loss` text (or for a lone expression).

    Imports TensorFlow (through the generated code). Without `name`, the text must define exactly
    one function.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if mode == "plain":
        module = generate(lower_any(text, "<string>"))
    else:
        source, rewritten = lower_variant(text, "<string>", mode)
        module = generate(source, mode=mode, keyword_defaults=rewritten.temperatures)
    from .runtime import function_from, load_module

    loaded = load_module(module.text)
    if name is None and len(module.functions) != 1:
        defined = ", ".join(module.functions) or "nothing"
        raise ValueError(f"the text defines {len(module.functions)} functions ({defined}): pass name=")
    failed = {failure.name: failure for failure in module.failures}
    if name is not None and name in failed:
        raise ValueError(failed[name].text("<string>"))
    if name is None and not module.functions and len(failed) == 1:
        raise ValueError(next(iter(failed.values())).text("<string>"))
    chosen = name if name is not None else next(iter(module.functions))
    if chosen not in module.functions:
        raise ValueError(
            f"no valid definition named {chosen!r}; "
            f"the text defines {', '.join(module.functions) or 'nothing'}"
        )
    return function_from(loaded, list(module.functions.values()), module.functions[chosen])
