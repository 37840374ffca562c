"""Loss functions of Python modules, translated with Python's own `ast` into the syntax tree of
`.loss` files (`syntax.py`), so the rest of the pipeline is shared (issue 13).

The module is parsed, never imported nor executed: it may need packages that are not installed,
and no user text reaches `eval`, `exec` or SymPy's parsers. This module decides

- which functions are losses or metrics (`recognise`): a `def` whose name contains `loss` or
  `metric`, one listed by the `python-functions` setting (globs), one passed as `loss=` or
  `metrics=[...]` to a `compile(...)` of the module, the `call` of a `keras.losses.Loss` subclass,
  the `forward` of a `torch.nn.Module` subclass named `*Loss`, and a `def` marked
  `# kinks: analyse`;
- which parameters are differentiated: `# kinks: wrt=...` on the `def` line, else Keras's
  `(y_true, y_pred)` -> `y_pred`, PyTorch's `(input, target)` -> `input`, else every parameter
  without a default that is not a data name (LANGUAGE.md section 1);
- and how a body reads as a loss expression: assignments are local bindings, `return` is the body,
  an `if` over tensors (an early `return` under it included) is a `where`, a Python-side `if` that
  can be decided (on a default, `x is None`, a string) takes its branch, calls go by their dotted
  name as written with the import aliases resolved (`F.` for `torch.nn.functional`, `K.` for
  `keras.backend`, `jnp.` for `jax.numpy`, ...), so the atom table's aliases and argument orders
  apply as for `.loss` text; method calls `x.mean(dim=1)` are the language's method calls
  (`Call("mean", (x,), dim=1, method=True)`) and subscripts `p[..., 0]` its `Index` nodes;
  keyword defaults, module-level numeric constants and `self.x` set from `__init__` defaults are
  numbers; calls of other functions of the module are expanded in place, their findings pointing at
  the call site as for `.loss` calls.

What cannot be translated (a loop, a lambda, a call the atom table does not know, `x.shape`,
a string argument, a Python-side `if` that cannot be decided, ...) is an `Untranslatable` problem naming the
construct and where it is; the function is then skipped (rule K903) and the rest of the module is
still analysed. Nothing here raises on bad input.

This module knows no function of the language: `translate_module` is given `is_function(name,
method=False)` (the atom table's lookup, PyTorch's rows first for a method) by the analysis, as the
folders' import order requires.
"""

from __future__ import annotations

import ast as py
import fnmatch
import io
import re
import tokenize
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from . import syntax as lx
from .parser import LossSyntaxError, parse_condition
from .syntax import Span

__all__ = [
    "DATA_NAMES",
    "PythonFunction",
    "PythonModule",
    "Untranslatable",
    "is_python_path",
    "translate_module",
]

PYTHON_SUFFIXES = (".py", ".pyi")
# LANGUAGE.md section 1: the parameters that are data unless `wrt` says otherwise.
DATA_NAMES = ("y_true", "target", "targets", "label", "labels", "mask", "sample_weight")
MAX_INLINE_DEPTH = 20


def is_python_path(path: str | None) -> bool:
    return bool(path) and str(path).endswith(PYTHON_SUFFIXES)


# ================================================================ results


@dataclass(frozen=True, slots=True)
class Untranslatable:
    """Why a function cannot be read as a loss expression: the construct, and where it is."""

    message: str
    span: Span


class _Skip(Exception):
    def __init__(self, problem: Untranslatable) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Directives:
    """The `# kinks: ...` comments of a `def`'s signature lines."""

    analyse: bool = False
    wrt: tuple[lx.Param, ...] | None = None
    given: lx.Expr | None = None
    problem: Untranslatable | None = None


@dataclass(slots=True)
class PythonFunction:
    """One recognised function: its translation, or why it has none."""

    name: str  # `my_loss`, or `ClassName.method`
    line: int  # the `def` line
    end_line: int
    span: Span  # `def name`
    definition: lx.Definition | None = None
    problem: Untranslatable | None = None


@dataclass(slots=True)
class PythonModule:
    path: str
    text: str
    functions: list[PythonFunction] = field(default_factory=list)
    syntax_error: Untranslatable | None = None
    # line -> the noqa comment of that line (codes None: a bare one), with the span of the comment
    noqa: dict[int, lx.Noqa] = field(default_factory=dict)


# ================================================================ spans


class _Positions:
    """Python's ast gives UTF-8 byte offsets; spans count characters, 1-based, end exclusive."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")

    def column(self, line: int, offset: int) -> int:
        if not 0 < line <= len(self.lines):
            return offset + 1
        raw = self.lines[line - 1].encode("utf-8")
        return len(raw[:offset].decode("utf-8", errors="replace")) + 1

    def span(self, node: Any) -> Span:
        line = getattr(node, "lineno", 1) or 1
        end_line = getattr(node, "end_lineno", None) or line
        column = self.column(line, getattr(node, "col_offset", 0) or 0)
        end_offset = getattr(node, "end_col_offset", None)
        end_column = self.column(end_line, end_offset) if end_offset is not None else column + 1
        if end_line == line and end_column <= column:
            end_column = column + 1
        return Span(line, column, end_line, end_column)

    def header_span(self, node: py.stmt) -> Span:
        """A statement's first line: `for x in xs` of a loop, not its whole body."""
        whole = self.span(node)
        if whole.line == whole.end_line:
            return whole
        header = getattr(node, "iter", None) or getattr(node, "test", None) or getattr(node, "subject", None)
        if header is None and getattr(node, "items", None):
            header = node.items[-1].context_expr  # type: ignore[attr-defined]
        if isinstance(node, (py.FunctionDef, py.AsyncFunctionDef)):
            return self.def_span(node)
        if header is not None and getattr(header, "end_lineno", None) == whole.line:
            end = self.span(header)
            return Span(whole.line, whole.column, whole.line, end.end_column)
        text = self.lines[whole.line - 1] if 0 < whole.line <= len(self.lines) else ""
        return Span(whole.line, whole.column, whole.line, max(whole.column + 1, len(text.rstrip()) + 1))

    def def_span(self, node: py.FunctionDef | py.AsyncFunctionDef) -> Span:
        line = node.lineno
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        match = re.search(r"\bdef\s+" + re.escape(node.name) + r"\b", text)
        if match is None:
            return Span.point(line, self.column(line, node.col_offset))
        return Span(line, match.start() + 1, line, match.end() + 1)


# ================================================================ comments: noqa and directives

_NOQA = re.compile(r"#\s*noqa(?![\w-])(?::\s*(?P<codes>[a-z]+[0-9]+(?:[\s,]+[a-z]+[0-9]+)*))?", re.IGNORECASE)
_NOQA_CODE = re.compile(r"[a-z]+[0-9]+", re.IGNORECASE)
_DIRECTIVE = re.compile(r"#\s*kinks\s*:\s*(?P<body>.*)$")


def _comments(text: str) -> dict[int, tuple[int, str]]:
    """line -> (0-based column, text) of its comment, read with `tokenize` (never executed)."""
    found: dict[int, tuple[int, str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                found[token.start[0]] = (token.start[1], token.string)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return found


# A kinks code right after the directive, the colon left out.
_NOQA_WITHOUT_COLON = re.compile(r"\s+(?P<code>K[0-9]+)\b", re.IGNORECASE)


def _noqa_of(line: int, column: int, comment: str) -> lx.Noqa | None:
    """The `# noqa` of a comment, as ruff reads it. Malformed ones that concern kinks (`# noqa:` with
    no code, `# noqa K201` without the colon) silence nothing and carry their problem; `# noqa E501`
    without the colon is another tool's business, read as a bare `noqa` as flake8 does."""
    match = _NOQA.search(comment)
    if match is None:
        return None
    codes_text = match.group("codes")
    codes = frozenset(code.upper() for code in _NOQA_CODE.findall(codes_text)) if codes_text else None
    start = column + match.start() + 1
    span = Span(line, start, line, start + len(match.group()))
    if codes is None:
        rest = comment[match.end() :]
        if rest.lstrip().startswith(":"):
            return lx.Noqa(None, span, "expected a code after `# noqa:` (`# noqa: K201`)")
        missing_colon = _NOQA_WITHOUT_COLON.match(rest)
        if missing_colon:
            end = start + match.end() - match.start() + missing_colon.end()
            return lx.Noqa(
                None,
                Span(line, start, line, end),
                "missing `:` after `# noqa` (write `# noqa: CODE`); a malformed `noqa` silences nothing",
            )
    return lx.Noqa(codes, span)


def _shift(tree: Any, line: int, column: int) -> Any:
    """A tree parsed alone (line 1, column 1), moved to where its text sits in the file."""
    if isinstance(tree, Span):
        return Span(
            tree.line + line - 1,
            tree.column + column - 1,
            tree.end_line + line - 1,
            tree.end_column + column - 1,
        )
    if isinstance(tree, tuple):
        return tuple(_shift(item, line, column) for item in tree)
    if hasattr(tree, "__dataclass_fields__"):
        changes = {
            name: _shift(getattr(tree, name), line, column)
            for name in tree.__dataclass_fields__
            if isinstance(getattr(tree, name), (Span, tuple))
            or hasattr(getattr(tree, name), "__dataclass_fields__")
        }
        return replace(tree, **changes)
    return tree


def _directives(
    lines: Iterable[int], comments: Mapping[int, tuple[int, str]], params: Sequence[str]
) -> Directives:
    analyse = False
    wrt: tuple[lx.Param, ...] | None = None
    given: lx.Expr | None = None
    for line in lines:
        if line not in comments:
            continue
        column, comment = comments[line]
        # the comment may also hold a noqa directive after the kinks one: it is cut off below
        match = _DIRECTIVE.search(comment)
        if match is None:
            continue
        body = match.group("body")
        body_column = column + match.start("body") + 1  # 1-based column of the body's first character
        cut = _NOQA.search(body)
        if cut is not None:
            body = body[: cut.start()]
        offset = 0
        for part in body.split(";"):
            stripped = part.strip()
            start = body_column + offset + (len(part) - len(part.lstrip()))
            offset += len(part) + 1
            if not stripped:
                continue
            word = re.match(r"[a-z_]+", stripped)
            keyword = word.group() if word else ""
            rest = stripped[len(keyword) :]
            if keyword in ("analyse", "analyze") and not rest.strip():
                analyse = True
            elif keyword == "wrt":
                names_text = rest.lstrip(" =")
                names_start = start + len(stripped) - len(names_text)
                items = []
                for name_match in re.finditer(r"[^\s,]+", names_text):
                    begin = names_start + name_match.start()
                    items.append(
                        lx.Param(name_match.group(), Span(line, begin, line, begin + len(name_match.group())))
                    )
                wrt = tuple(items)
            elif keyword == "given":
                condition_text = rest.lstrip(" :=")
                condition_start = start + len(stripped) - len(condition_text)
                try:
                    given = _shift(parse_condition(condition_text), line, condition_start)
                except LossSyntaxError as error:
                    span = _shift(error.problem.span, line, condition_start)
                    return Directives(
                        analyse,
                        wrt,
                        None,
                        Untranslatable(
                            f"the `# kinks: given` condition does not parse: {error.problem.message}", span
                        ),
                    )
            else:
                span = Span(line, start, line, start + len(stripped))
                return Directives(
                    analyse,
                    wrt,
                    given,
                    Untranslatable(
                        f"unknown `# kinks:` directive `{stripped}` "
                        "(expected analyse, wrt=NAMES or given CONDITION)",
                        span,
                    ),
                )
    return Directives(analyse, wrt, given)


# ================================================================ import aliases and spellings

# A full module path -> the prefix the language spells it with (LANGUAGE.md section 2), longest first.
_CANONICAL = tuple(
    sorted(
        {
            "tensorflow.keras.backend": "tf.keras.backend",
            "tensorflow.keras.losses": "tf.keras.losses",
            "tensorflow.keras.activations": "tf.keras.activations",
            "tensorflow.keras.ops": "keras.ops",
            "tensorflow.math": "tf.math",
            "tensorflow.nn": "tf.nn",
            "tensorflow.dtypes": "tf",
            "tensorflow.experimental.numpy": "np",
            "tensorflow": "tf",
            "keras.backend": "K",
            "keras.src.backend": "K",
            "tf_keras.backend": "K",
            "keras.ops": "keras.ops",
            "keras.losses": "keras.losses",
            "keras.activations": "keras.activations",
            "jax.numpy": "jnp",
            "jax.nn": "jax.nn",
            "jax.lax": "jax.lax",
            "jax.scipy.special": "jnp",
            "jax": "jax",
            "numpy": "np",
            "scipy.special": "np",
            "math": "np",
            "torch.nn.functional": "F",
            "torch.special": "torch",
            "torch": "torch",
        }.items(),
        key=lambda item: -len(item[0]),
    )
)

# Calls that only convert: the value of their first argument (float data).
_CONVERSIONS = frozenset({"convert_to_tensor", "asarray", "as_tensor", "to_tensor"})
# The float dtype (`K.floatx()`).
_DTYPE_CALLS = frozenset({"floatx"})
# Operators spelled as functions, where the atom table has no row of that name.
_OPERATOR_FUNCTIONS = {
    "add": "+",
    "subtract": "-",
    "sub": "-",
    "multiply": "*",
    "mul": "*",
    "truediv": "/",
    "true_divide": "/",
    "div": "/",
}
# Methods that leave a float tensor as it is.
_IDENTITY_METHODS = frozenset({"float", "double", "contiguous", "clone", "cpu", "cuda", "to", "type_as"})
# Methods that read or change the shape, or leave the tensor world (`.size(k)` with an axis is the
# language's `size(x, k)`; `.size()` alone is the shape).
_SHAPE_METHODS = frozenset(
    {
        "view",
        "reshape",
        "flatten",
        "squeeze",
        "unsqueeze",
        "permute",
        "transpose",
        "expand",
        "expand_as",
        "repeat",
        "item",
        "numpy",
        "tolist",
        "dim",
        "append",
        "extend",
    }
)
# Calls made for their checks alone (the value is not used).
_CHECKS = re.compile(r"^(chex\.assert_|print$|warnings\.warn$|logging\.|logger\.|tf\.debugging\.|assert_)")
_BUILTINS = {"abs": "abs", "max": "max", "min": "min", "round": "round", "pow": "pow"}


def _canonical(full: str) -> str | None:
    """`tensorflow.math.log` -> `tf.math.log`; None for a module the language does not spell."""
    for module, prefix in _CANONICAL:
        if full == module:
            return prefix
        if full.startswith(module + "."):
            return prefix + full[len(module) :]
    return None


# The libraries of the language's prefixes: a call may keep the spelling it is written with when
# that spelling names the same library as its import (`K.` for `tensorflow.keras.backend`).
_FAMILY = {
    "tf": "tensorflow",
    "K": "tensorflow",
    "keras": "tensorflow",
    "ops": "tensorflow",
    "torch": "torch",
    "F": "torch",
    "np": "numpy",
    "numpy": "numpy",
    "jnp": "jax",
    "jax": "jax",
    "lax": "jax",
}


def _same_library(written: str, canonical: str) -> bool:
    first, last = written.split(".", 1)[0], written.rsplit(".", 1)[-1]
    family = _FAMILY.get(first)
    return (
        family is not None
        and family == _FAMILY.get(canonical.split(".", 1)[0])
        and last == canonical.rsplit(".", 1)[-1]
    )


def _imports(tree: py.Module) -> dict[str, str]:
    """Local name -> the full dotted path it stands for, from the module-level imports."""
    aliases: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, py.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    aliases[root] = root
        elif isinstance(node, py.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name != "*":
                    aliases[alias.asname or alias.name] = f"{module}.{alias.name}" if module else alias.name
    return aliases


def _dotted(node: py.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, py.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, py.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


# ================================================================ values during translation


class _Value:
    """A Python value that is not a tensor expression: None, a string, a tuple, a dtype."""


@dataclass(frozen=True, slots=True)
class _Static(_Value):
    value: Any  # None, str, or a tuple of translated items


@dataclass(frozen=True, slots=True)
class _Deferred(_Value):
    """A local whose value cannot be translated: an error only if it is used."""

    problem: Untranslatable


@dataclass(frozen=True, slots=True)
class _DType(_Value):
    name: str  # "float32", "bool", ...
    span: Span


@dataclass(slots=True)
class _Function:
    """A function of the module: where it is, and for a method, its class."""

    node: py.FunctionDef | None
    owner: _Class | None = None


@dataclass(slots=True)
class _Class:
    node: py.ClassDef
    methods: dict[str, py.FunctionDef]
    attributes: dict[str, Any] = field(default_factory=dict)  # self.x -> value, or Untranslatable


# ================================================================ the translator


class _Translator:
    def __init__(self, module: _ModuleInfo, positions: _Positions, is_function: Callable[..., bool]) -> None:
        self.module = module
        self.positions = positions
        self.is_function = is_function
        self.override: Span | None = None  # inside an expanded call: every node at the call site
        self.stack: list[str] = []  # the functions being translated, outermost first

    # -- spans and problems

    def span(self, node: Any) -> Span:
        return self.override or self.positions.span(node)

    def problem(self, message: str, node: Any) -> _Skip:
        span = self.positions.header_span(node) if isinstance(node, py.stmt) else self.positions.span(node)
        where = f"line {span.line}, column {span.column}"
        if self.override is not None:
            called = self.override
            where += f" (in `{self.stack[-1]}`, called at line {called.line}, column {called.column})"
        return _Skip(Untranslatable(f"{message} at {where}", self.override or span))

    # -- a function

    def function(self, function: _Function, env: dict[str, Any]) -> lx.Expr:
        """The value the function returns, its parameters bound in `env`."""
        name = _qualname(function)
        if name in self.stack:
            raise self.problem(f"a recursive call of `{name}`", function.node)
        if len(self.stack) >= MAX_INLINE_DEPTH:
            raise self.problem("calls nested too deeply", function.node)
        self.stack.append(name)
        try:
            result = self.block(function.node.body, env, function)
        finally:
            self.stack.pop()
        if result is None:
            raise self.problem(f"`{function.node.name}` does not return a value", function.node)
        return self.tensor(result, function.node)

    def block(self, statements: Sequence[py.stmt], env: dict[str, Any], function: _Function) -> Any:
        """The value returned by the statements, or None when they fall off the end."""
        env = dict(env)
        for index, statement in enumerate(statements):
            if isinstance(statement, py.Return):
                if statement.value is None:
                    raise self.problem("a `return` without a value", statement)
                if isinstance(statement.value, py.Tuple):
                    raise self.problem("a `return` of several values (a tuple)", statement.value)
                return self.expr(statement.value, env, function)
            if isinstance(statement, py.If):
                condition = self.expr(statement.test, env, function)
                decided = self.truth(condition)
                rest = list(statements[index + 1 :])
                if decided is not None:
                    return self.block(
                        list(statement.body if decided else statement.orelse) + rest, env, function
                    )
                if isinstance(condition, _Value):
                    raise self.problem("a Python-side `if` that cannot be decided", statement.test)
                then = self.block(list(statement.body) + rest, env, function)
                otherwise = self.block(list(statement.orelse) + rest, env, function)
                if then is None or otherwise is None:
                    return None
                return lx.Conditional(
                    self.tensor(then, statement),
                    self.tensor(condition, statement.test),
                    self.tensor(otherwise, statement),
                    self.span(statement),
                )
            self.statement(statement, env, function)
        return None

    def statement(self, statement: py.stmt, env: dict[str, Any], function: _Function) -> None:
        if isinstance(statement, py.Assign):
            value = self.deferred(statement.value, env, function)
            for target in statement.targets:
                self.assign(target, value, statement.value, env, function)
            return
        if isinstance(statement, py.AnnAssign):
            if statement.value is not None:
                self.assign(
                    statement.target,
                    self.deferred(statement.value, env, function),
                    statement.value,
                    env,
                    function,
                )
            return
        if isinstance(statement, py.AugAssign):
            if not isinstance(statement.target, py.Name):
                raise self.problem("an augmented assignment to something other than a name", statement.target)
            op = _BINARY.get(type(statement.op))
            if op is None:
                raise self.problem(f"the operator `{_OP_TEXT.get(type(statement.op), '?')}=`", statement)
            left = self.name(statement.target, env, function)
            right = self.expr(statement.value, env, function)
            env[statement.target.id] = self.binary(op, left, right, statement)
            return
        if isinstance(statement, (py.Pass, py.Assert)):
            return
        if isinstance(statement, py.Expr):
            value = statement.value
            if isinstance(value, py.Constant) and isinstance(value.value, (str, type(Ellipsis))):
                return  # a docstring, or `...`
            if isinstance(value, py.Call):
                dotted = _dotted(value.func)
                if dotted is not None and _CHECKS.match(".".join(dotted)):
                    return
            raise self.problem("a statement kept for its side effect", statement)
        raise self.problem(
            _STATEMENT_NAMES.get(type(statement), f"a `{type(statement).__name__}` statement"), statement
        )

    def assign(
        self, target: py.expr, value: Any, node: py.expr, env: dict[str, Any], function: _Function
    ) -> None:
        if isinstance(target, py.Name):
            env[target.id] = value
            return
        if (
            isinstance(target, (py.Tuple, py.List))
            and isinstance(node, (py.Tuple, py.List))
            and len(target.elts) == len(node.elts)
            and not any(isinstance(e, py.Starred) for e in target.elts)
        ):
            for item, item_node in zip(target.elts, node.elts):
                self.assign(item, self.deferred(item_node, env, function), item_node, env, function)
            return
        raise self.problem("an assignment to something other than a name", target)

    def deferred(self, node: py.expr, env: dict[str, Any], function: _Function) -> Any:
        try:
            return self.expr(node, env, function)
        except _Skip as skip:
            return _Deferred(skip.problem)

    # -- truth and conversions

    def truth(self, value: Any) -> bool | None:
        """The truth of a value known while translating; None for a tensor."""
        if isinstance(value, _Static):
            return bool(value.value)
        if isinstance(value, _DType):
            return True
        if isinstance(value, lx.Boolean):
            return value.value
        number = _number_value(value)
        if number is not None:
            return number != 0
        return None

    def tensor(self, value: Any, node: Any) -> lx.Expr:
        if isinstance(value, _Deferred):
            raise _Skip(value.problem)
        if isinstance(value, _Static):
            if value.value is None:
                raise self.problem("`None` used as a value", node)
            if isinstance(value.value, str):
                raise self.problem("a string used as a value", node)
            return lx.TupleExpr(tuple(self.tensor(item, node) for item in value.value), self.span(node))
        if isinstance(value, _DType):
            return lx.Name(value.name, value.span)
        return value

    def argument(self, value: Any, node: Any) -> lx.Expr:
        """A value as an argument of a library call: None is the name None (`axis=None`)."""
        if isinstance(value, _Static) and value.value is None:
            return lx.Name("None", self.span(node))
        if isinstance(value, _Static) and isinstance(value.value, str):
            raise self.problem(f"the string argument {value.value!r}", node)
        return self.tensor(value, node)

    # -- expressions

    def expr(self, node: py.expr, env: dict[str, Any], function: _Function) -> Any:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self.problem(
                _EXPRESSION_NAMES.get(type(node), f"the construct `{type(node).__name__}`"), node
            )
        return method(node, env, function)

    def _Constant(self, node: py.Constant, env: dict[str, Any], function: _Function) -> Any:
        value = node.value
        if value is None or isinstance(value, str):
            return _Static(value)
        if isinstance(value, bool):
            return lx.Boolean(value, self.span(node))
        if isinstance(value, (int, float)):
            text = py.get_source_segment(self.module.text, node) or repr(value)
            try:
                fraction = Fraction(text.replace("_", ""))
            except (ValueError, ZeroDivisionError):
                try:
                    fraction = Fraction(repr(value))
                except (ValueError, OverflowError):
                    raise self.problem(f"the number {text}", node) from None
            return lx.Number(fraction, text, self.span(node))
        raise self.problem(f"the constant {py.get_source_segment(self.module.text, node) or value!r}", node)

    def _Name(self, node: py.Name, env: dict[str, Any], function: _Function) -> Any:
        return self.name(node, env, function)

    def name(self, node: py.Name, env: dict[str, Any], function: _Function) -> Any:
        name = node.id
        if name in env:
            value = env[name]
            if isinstance(value, _Deferred):
                raise _Skip(value.problem)
            if isinstance(value, lx.Name):
                return replace(value, span=self.span(node))  # a parameter where it is used, as parsed
            return value
        if name in self.module.constants:
            return self.constant(name, node)
        if name in self.module.imports:
            canonical = _canonical(self.module.imports[name])
            if canonical is not None and canonical.rsplit(".", 1)[-1] in ("pi", "inf", "e", "nan"):
                return lx.Name(canonical, self.span(node))
            raise self.problem(f"the imported name `{name}` used as a value", node)
        if name in ("float", "bool", "int"):  # the builtins as dtypes: `x.astype(float)`
            return _DType(name, self.span(node))
        if name in ("True", "False"):
            return lx.Boolean(name == "True", self.span(node))
        if name in self.module.functions:
            raise self.problem(f"the function `{name}` used as a value", node)
        raise self.problem(
            f"the name `{name}`, which is neither a parameter, a local nor a module constant", node
        )

    def constant(self, name: str, node: py.expr) -> Any:
        value_node = self.module.constants[name]
        if name in self.module.constant_stack:
            raise self.problem(f"the module constant `{name}` refers to itself", node)
        self.module.constant_stack.append(name)
        saved = self.override
        self.override = self.override or self.positions.span(node)
        try:
            value = self.expr(value_node, {}, _MODULE_LEVEL)
        except _Skip:
            raise self.problem(f"the module-level name `{name}`, which is not a number", node) from None
        finally:
            self.override = saved
            self.module.constant_stack.pop()
        if _has_names(value):
            raise self.problem(f"the module-level name `{name}`, which is not a number", node)
        return value

    def _Attribute(self, node: py.Attribute, env: dict[str, Any], function: _Function) -> Any:
        dotted = _dotted(node)
        if dotted is not None and dotted[0] == "self" and len(dotted) == 2 and "self" in env:
            return self.attribute_of_self(dotted[1], node, function)
        if dotted is not None and dotted[0] not in env and dotted[0] in self.module.imports:
            full = ".".join([self.module.imports[dotted[0]], *dotted[1:]])
            canonical = _canonical(full)
            if canonical is None:
                raise self.problem(f"`{'.'.join(dotted)}` from a library kinks does not read", node)
            last = canonical.rsplit(".", 1)[-1]
            if last in _FLOAT_NAMES | _BOOL_NAMES | _INT_NAMES:
                return _DType(last, self.span(node))
            return lx.Name(canonical, self.span(node))
        if node.attr == "dtype":
            self.expr(node.value, env, function)
            return _DType("float32", self.span(node))
        if node.attr in ("shape", "ndim", "device", "size"):
            raise self.problem(
                f"`.{node.attr}`, the {'shape' if node.attr != 'device' else 'device'} of a tensor "
                "(the language has no shapes)",
                node,
            )
        raise self.problem(f"the attribute `.{node.attr}`", node)

    def attribute_of_self(self, attribute: str, node: py.expr, function: _Function) -> Any:
        owner = function.owner
        if owner is None or attribute not in owner.attributes:
            raise self.problem(f"`self.{attribute}`, which `__init__` does not set from a default", node)
        value = owner.attributes[attribute]
        if isinstance(value, Untranslatable):
            raise _Skip(
                Untranslatable(
                    f"{value.message} (used at line {self.positions.span(node).line})", self.span(node)
                )
            )
        if isinstance(value, (_Static, _DType)):
            return value
        return _respan(value, self.span(node))

    def _UnaryOp(self, node: py.UnaryOp, env: dict[str, Any], function: _Function) -> Any:
        operand = self.expr(node.operand, env, function)
        if isinstance(node.op, py.Not):
            decided = self.truth(operand)
            if decided is not None:
                return lx.Boolean(not decided, self.span(node))
            return lx.Not(self.tensor(operand, node.operand), self.span(node))
        if isinstance(node.op, py.Invert):
            return lx.Not(self.tensor(operand, node.operand), self.span(node))
        return lx.Unary(
            "-" if isinstance(node.op, py.USub) else "+", self.tensor(operand, node.operand), self.span(node)
        )

    def _BinOp(self, node: py.BinOp, env: dict[str, Any], function: _Function) -> Any:
        left = self.expr(node.left, env, function)
        right = self.expr(node.right, env, function)
        if isinstance(node.op, (py.BitAnd, py.BitOr)):
            return lx.BoolOp(
                "and" if isinstance(node.op, py.BitAnd) else "or",
                (self.tensor(left, node.left), self.tensor(right, node.right)),
                self.span(node),
            )
        if isinstance(node.op, py.FloorDiv):
            quotient = lx.Binary(
                "/", self.tensor(left, node.left), self.tensor(right, node.right), self.span(node)
            )
            return lx.Call("floor", self.span(node), (quotient,), (), self.span(node))
        op = _BINARY.get(type(node.op))
        if op is None:
            raise self.problem(f"the operator `{_OP_TEXT.get(type(node.op), '?')}`", node)
        return self.binary(op, left, right, node)

    def binary(self, op: str, left: Any, right: Any, node: Any) -> lx.Expr:
        if isinstance(left, _Static) and isinstance(right, _Static) and op == "+":
            raise self.problem("arithmetic on strings or tuples", node)
        return lx.Binary(op, self.tensor(left, node), self.tensor(right, node), self.span(node))

    def _BoolOp(self, node: py.BoolOp, env: dict[str, Any], function: _Function) -> Any:
        op = "and" if isinstance(node.op, py.And) else "or"
        operands = []
        for item in node.values:
            value = self.expr(item, env, function)
            decided = self.truth(value)
            if decided is not None:
                # Python's short circuit, where the value is known now
                if op == "and" and not decided or op == "or" and decided:
                    return value if not isinstance(value, _Value) else lx.Boolean(decided, self.span(node))
                continue
            operands.append(self.tensor(value, item))
        if not operands:
            return lx.Boolean(op == "and", self.span(node))
        if len(operands) == 1:
            return operands[0]
        return lx.BoolOp(op, tuple(operands), self.span(node))

    def _Compare(self, node: py.Compare, env: dict[str, Any], function: _Function) -> Any:
        values = [self.expr(node.left, env, function)]
        values += [self.expr(item, env, function) for item in node.comparators]
        nodes = [node.left, *node.comparators]
        if any(isinstance(op, (py.Is, py.IsNot)) for op in node.ops):
            if len(node.ops) != 1:
                raise self.problem("a chain of comparisons with `is`", node)
            same = _identical(values[0], values[1])
            if same is None:
                raise self.problem("an `is` comparison that cannot be decided", node)
            return lx.Boolean(same == isinstance(node.ops[0], py.Is), self.span(node))
        if any(isinstance(op, (py.In, py.NotIn)) for op in node.ops):
            if len(node.ops) != 1 or not isinstance(node.comparators[0], (py.Set, py.Tuple, py.List)):
                raise self.problem("an `in` test on something other than a literal set of numbers", node)
            members = tuple(
                self.tensor(self.expr(item, env, function), item) for item in node.comparators[0].elts
            )
            membership = lx.Membership(self.tensor(values[0], node.left), members, self.span(node))
            return membership if isinstance(node.ops[0], py.In) else lx.Not(membership, self.span(node))
        if all(isinstance(value, _Static) and isinstance(value.value, str) for value in values):
            result = True
            for op, a, b in zip(node.ops, values, values[1:]):
                if isinstance(op, py.Eq):
                    result = result and a.value == b.value
                elif isinstance(op, py.NotEq):
                    result = result and a.value != b.value
                else:
                    raise self.problem("an ordering of strings", node)
            return lx.Boolean(result, self.span(node))
        if any(isinstance(value, _Static) and isinstance(value.value, str) for value in values):
            raise self.problem("a comparison of a string with a tensor", node)
        ops = tuple(_COMPARE[type(op)] for op in node.ops)
        operands = tuple(self.tensor(value, item) for value, item in zip(values, nodes))
        return lx.Compare(operands, ops, self.span(node))

    def _IfExp(self, node: py.IfExp, env: dict[str, Any], function: _Function) -> Any:
        condition = self.expr(node.test, env, function)
        decided = self.truth(condition)
        if decided is not None:
            return self.expr(node.body if decided else node.orelse, env, function)
        if isinstance(condition, _Value):
            raise self.problem("a Python-side conditional expression that cannot be decided", node.test)
        then = self.tensor(self.expr(node.body, env, function), node.body)
        otherwise = self.tensor(self.expr(node.orelse, env, function), node.orelse)
        return lx.Conditional(then, self.tensor(condition, node.test), otherwise, self.span(node))

    def _Subscript(self, node: py.Subscript, env: dict[str, Any], function: _Function) -> Any:
        """`x[..., 0]`, `y[:, 1]`, `p[..., ::-1]`: the `Index` node the `.loss` parser builds, with
        `Slice` and `EllipsisIndex` items (LANGUAGE.md section 2); the lowering decides what it
        means (one axis, an index that is a variable a `take`)."""
        if isinstance(node.value, py.Attribute) and node.value.attr in ("shape", "size"):
            raise self.problem(
                f"`.{node.value.attr}[...]`, the length of an axis (the language has no shapes)", node
            )
        value = self.expr(node.value, env, function)
        if isinstance(value, _Value):
            raise self.problem("indexing a value that is not a tensor", node)
        parts = node.slice.elts if isinstance(node.slice, py.Tuple) else [node.slice]
        items = tuple(self.index_item(part, env, function) for part in parts)
        return lx.Index(value, items, self.span(node))

    def index_item(self, node: py.expr, env: dict[str, Any], function: _Function) -> Any:
        if isinstance(node, py.Constant) and node.value is Ellipsis:
            return lx.EllipsisIndex(self.span(node))
        if isinstance(node, py.Slice):
            bounds = (
                self.tensor(self.expr(part, env, function), part) if part is not None else None
                for part in (node.lower, node.upper, node.step)
            )
            return lx.Slice(*bounds, self.span(node))
        if isinstance(node, py.Starred):
            raise self.problem("a starred expression in an index", node)
        item = self.expr(node, env, function)
        if isinstance(item, _Static) and item.value is None:
            raise self.problem("`None` in an index (a new axis; the language has no shapes)", node)
        if isinstance(item, _Static) and isinstance(item.value, str):
            raise self.problem("a string in an index", node)
        return self.tensor(item, node)

    def _Tuple(self, node: py.Tuple, env: dict[str, Any], function: _Function) -> Any:
        return _Static(tuple(self.expr(item, env, function) for item in node.elts))

    # -- calls

    def _Call(self, node: py.Call, env: dict[str, Any], function: _Function) -> Any:
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.problem("a call with `**` arguments", keyword.value)
        for arg in node.args:
            if isinstance(arg, py.Starred):
                raise self.problem("a call with `*` arguments", arg)
        func = node.func
        if isinstance(func, py.Name):
            name = func.id
            if name in env:
                if isinstance(env[name], _Deferred):
                    raise _Skip(env[name].problem)
                raise self.problem(f"a call of the local `{name}`", func)
            if name in self.module.functions:
                return self.expand(self.module.functions[name], node, env, function, receiver=None)
            if name in self.module.imports:
                return self.library(self.module.imports[name], node, env, function)
            if name in _BUILTINS:
                return self.library_call(_BUILTINS[name], node, env, function)
            if name == "float":
                if len(node.args) != 1 or node.keywords:
                    raise self.problem("float() of something other than one value", node)
                return self.expr(node.args[0], env, function)
            if name in self.module.classes:
                raise self.problem(f"an instance of the class `{name}` built in the function", func)
            raise self.problem(f"a call of `{name}`, a function kinks does not know", func)
        if isinstance(func, py.Attribute):
            dotted = _dotted(func)
            if dotted is not None and dotted[0] == "self" and len(dotted) == 2 and "self" in env:
                owner = function.owner
                if owner is not None and dotted[1] in owner.methods:
                    method = _Function(owner.methods[dotted[1]], owner)
                    return self.expand(method, node, env, function, receiver=env["self"])
                raise self.problem(f"a call of `self.{dotted[1]}`, which is not a method of the class", func)
            if dotted is not None and dotted[0] not in env and dotted[0] in self.module.imports:
                return self.library(
                    ".".join([self.module.imports[dotted[0]], *dotted[1:]]), node, env, function
                )
            if dotted is not None and dotted[0] == "super":
                raise self.problem("a call through `super()`", func)
            return self.method(func, node, env, function)
        raise self.problem("a call of a computed function", func)

    def library(self, full: str, node: py.Call, env: dict[str, Any], function: _Function) -> Any:
        canonical = _canonical(full)
        written = ".".join(_dotted(node.func) or [])
        if (
            canonical is not None
            and written != canonical
            and _same_library(written, canonical)
            and self.is_function(written)
        ):
            canonical = written  # `K.round` as written, rather than `tf.keras.backend.round`
        if canonical is None:
            written = ".".join(_dotted(node.func) or [full])
            shown = f"`{written}` (`{full}`)" if written != full else f"`{full}`"
            raise self.problem(f"a call of {shown}, from a library kinks does not read", node.func)
        return self.library_call(canonical, node, env, function, full)

    def library_call(
        self, spelling: str, node: py.Call, env: dict[str, Any], function: _Function, full: str | None = None
    ) -> Any:
        last = spelling.rsplit(".", 1)[-1]
        if last in _CONVERSIONS:
            if not node.args:
                raise self.problem(f"{last}() without a value", node)
            return self.expr(node.args[0], env, function)
        if last in _DTYPE_CALLS:
            return _DType("float32", self.span(node))
        if (
            last in _OPERATOR_FUNCTIONS
            and not self.is_function(spelling)
            and len(node.args) == 2
            and not node.keywords
        ):
            left = self.expr(node.args[0], env, function)
            right = self.expr(node.args[1], env, function)
            return self.binary(_OPERATOR_FUNCTIONS[last], left, right, node)
        if not self.is_function(spelling):
            shown = ".".join(_dotted(node.func) or [spelling])
            raise self.problem(f"a call of `{shown}`, which kinks does not know", node.func)
        if last == "cast":
            cast = self.float_cast(node, env, function)
            if cast is not None:
                return cast
        args = tuple(self.argument(self.expr(arg, env, function), arg) for arg in node.args)
        return self.call(spelling, node, args, env, function)

    def float_cast(self, node: py.Call, env: dict[str, Any], function: _Function) -> Any:
        """`tf.cast(x, y.dtype)`, `tf.cast(x, tf.float32)`: x itself (LANGUAGE.md section 2), so the
        findings print `y_pred - y_true`, not the casts around them. None for another dtype."""
        dtype_node = (
            node.args[1]
            if len(node.args) > 1
            else next((keyword.value for keyword in node.keywords if keyword.arg == "dtype"), None)
        )
        if not node.args or dtype_node is None or len(node.args) + len(node.keywords) != 2:
            return None
        dtype = self.expr(dtype_node, env, function)
        if isinstance(dtype, _Static) and isinstance(dtype.value, str):  # Keras's `K.cast(x, "float32")`
            dtype = _DType(dtype.value, self.span(dtype_node))
        if isinstance(dtype, _DType) and dtype.name in _FLOAT_NAMES:
            return self.expr(node.args[0], env, function)
        if isinstance(dtype, _DType):
            value = self.argument(self.expr(node.args[0], env, function), node.args[0])
            return lx.Call(
                "cast", self.span(node.func), (value, lx.Name(dtype.name, dtype.span)), (), self.span(node)
            )
        return None

    def call(
        self,
        spelling: str,
        node: py.Call,
        args: tuple[lx.Expr, ...],
        env: dict[str, Any],
        function: _Function,
        *,
        method: bool = False,
        func_span: Span | None = None,
    ) -> lx.Call:
        keywords = []
        for keyword in node.keywords:
            value = self.argument(self.expr(keyword.value, env, function), keyword.value)
            span = self.span(keyword)
            name_span = self.override or Span(
                span.line, span.column, span.line, span.column + len(keyword.arg or "")
            )
            keywords.append(lx.Keyword(keyword.arg or "", name_span, value, span))
        return lx.Call(
            spelling, func_span or self.span(node.func), args, tuple(keywords), self.span(node), method=method
        )

    def method(self, func: py.Attribute, node: py.Call, env: dict[str, Any], function: _Function) -> Any:
        name = func.attr
        receiver = self.expr(func.value, env, function)
        if isinstance(receiver, _Value):
            raise self.problem(f"the method `.{name}()` of a value that is not a tensor", func)
        if name in _IDENTITY_METHODS and not self.is_function(name, method=True):
            return receiver  # `.to(device)`, `.contiguous()`: no row, and nothing to the values
        if name in _SHAPE_METHODS or name == "size" and not (node.args or node.keywords):
            raise self.problem(
                f"the method `.{name}()`, which works on shapes or Python values "
                "(the language has no shapes)",
                func,
            )
        if name == "astype" or name == "type":
            if len(node.args) != 1 or node.keywords:
                raise self.problem(f".{name}() of something other than one dtype", node)
            dtype_value = self.expr(node.args[0], env, function)
            if isinstance(dtype_value, _Static) and isinstance(dtype_value.value, str):
                dtype_value = _DType(dtype_value.value, self.span(node.args[0]))
            if isinstance(dtype_value, _DType) and dtype_value.name in _FLOAT_NAMES:
                return receiver
            dtype = self.argument(dtype_value, node.args[0])
            return lx.Call("cast", self.span(func), (receiver, dtype), (), self.span(node))
        if name == "bool":
            return lx.Call(
                "cast", self.span(func), (receiver, lx.Name("bool", self.span(func))), (), self.span(node)
            )
        if not self.is_function(name, method=True):
            raise self.problem(f"the method `.{name}()`, which kinks does not know", func)
        # `r.m(a, k=v)` as the `.loss` parser builds it: Call("m", span of m, (r, a), (k=v,), method=True),
        # resolved among PyTorch's rows first (`x.clamp(min=0)` one-sided, `.detach()`, `.float()`)
        args = (receiver, *(self.argument(self.expr(arg, env, function), arg) for arg in node.args))
        return self.call(name, node, args, env, function, method=True, func_span=self.attribute_span(func))

    def attribute_span(self, func: py.Attribute) -> Span:
        """The span of the method's name in `r.m`, as the `.loss` parser gives a method's `func_span`."""
        if self.override is not None:
            return self.override
        whole = self.positions.span(func)
        return Span(
            whole.end_line, max(1, whole.end_column - len(func.attr)), whole.end_line, whole.end_column
        )

    def expand(
        self, callee: _Function, node: py.Call, env: dict[str, Any], function: _Function, receiver: Any
    ) -> Any:
        """A call of a function of the module, expanded in place with its arguments bound; what it
        builds points at the call site, as an expanded `.loss` call does."""
        values = [self.expr(arg, env, function) for arg in node.args]
        keywords = {keyword.arg: self.expr(keyword.value, env, function) for keyword in node.keywords}
        arguments = callee.node.args
        if arguments.vararg is not None or arguments.kwarg is not None:
            raise self.problem(f"a call of `{_qualname(callee)}`, which takes `*args` or `**kwargs`", node)
        positional = [*arguments.posonlyargs, *arguments.args]
        names = [arg.arg for arg in positional]
        inner: dict[str, Any] = {}
        if callee.owner is not None and names and names[0] == "self":
            names = names[1:]
            positional = positional[1:]
            inner["self"] = receiver if receiver is not None else _Static(("self",))
        if len(values) > len(names):
            raise self.problem(
                f"`{_qualname(callee)}` takes {len(names)} argument(s), {len(values)} given", node
            )
        inner.update(zip(names, values))
        keyword_only = [arg.arg for arg in arguments.kwonlyargs]
        for key, value in keywords.items():
            if key not in names and key not in keyword_only:
                raise self.problem(f"`{_qualname(callee)}` has no parameter `{key}`", node)
            if key in inner:
                raise self.problem(f"the argument `{key}` given twice", node)
            inner[key] = value
        defaults = dict(zip(names[len(names) - len(arguments.defaults) :], arguments.defaults))
        defaults.update(
            {
                arg.arg: default
                for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults)
                if default is not None
            }
        )
        saved = self.override
        self.override = self.override or self.positions.span(node)
        try:
            for name in [*names, *keyword_only]:
                if name not in inner:
                    if name not in defaults:
                        raise self.problem(f"`{_qualname(callee)}` is missing the argument `{name}`", node)
                    inner[name] = self.expr(defaults[name], {}, callee)
            return self.function(callee, inner)
        finally:
            self.override = saved


def _respan(tree: Any, span: Span) -> Any:
    """A tree built elsewhere (a default of `__init__`), placed where it is used."""
    if isinstance(tree, Span):
        return span
    if isinstance(tree, tuple):
        return tuple(_respan(item, span) for item in tree)
    if hasattr(tree, "__dataclass_fields__"):
        changes = {
            name: _respan(getattr(tree, name), span)
            for name in tree.__dataclass_fields__
            if isinstance(getattr(tree, name), (Span, tuple))
            or hasattr(getattr(tree, name), "__dataclass_fields__")
        }
        return replace(tree, **changes)
    return tree


def _number_value(value: Any) -> Fraction | None:
    if isinstance(value, lx.Number):
        return value.value
    if isinstance(value, lx.Unary) and isinstance(value.operand, lx.Number):
        return -value.operand.value if value.op == "-" else value.operand.value
    return None


def _identical(a: Any, b: Any) -> bool | None:
    """`a is b` where it can be told while translating: a tensor is never None."""
    a_none = isinstance(a, _Static) and a.value is None
    b_none = isinstance(b, _Static) and b.value is None
    if a_none and b_none:
        return True
    if a_none or b_none:
        other = b if a_none else a
        if isinstance(other, (_Deferred,)):
            return None
        return False
    if isinstance(a, lx.Boolean) and isinstance(b, lx.Boolean):
        return a.value == b.value
    return None


def _has_names(tree: Any) -> bool:
    if isinstance(tree, lx.Name):
        return tree.id.rsplit(".", 1)[-1] not in ("pi", "inf", "e", "nan", "None")
    if isinstance(tree, tuple):
        return any(_has_names(item) for item in tree)
    if isinstance(tree, _Value):
        return False
    if hasattr(tree, "__dataclass_fields__"):
        return any(_has_names(getattr(tree, name)) for name in tree.__dataclass_fields__)
    return False


_FLOAT_NAMES = frozenset({"float16", "float32", "float64", "bfloat16", "double", "half", "float", "float_"})
_BOOL_NAMES = frozenset({"bool", "bool_"})
_INT_NAMES = frozenset({"int32", "int64", "int8", "int16", "uint8", "long", "int"})

_BINARY = {py.Add: "+", py.Sub: "-", py.Mult: "*", py.Div: "/", py.Mod: "%", py.Pow: "^"}
_OP_TEXT = {
    py.MatMult: "@",
    py.BitXor: "^",
    py.LShift: "<<",
    py.RShift: ">>",
    py.FloorDiv: "//",
    py.BitAnd: "&",
    py.BitOr: "|",
    py.Add: "+",
    py.Sub: "-",
    py.Mult: "*",
    py.Div: "/",
    py.Mod: "%",
    py.Pow: "**",
}
_COMPARE = {py.Lt: "<", py.LtE: "<=", py.Gt: ">", py.GtE: ">=", py.Eq: "==", py.NotEq: "!="}
_STATEMENT_NAMES = {
    py.For: "a `for` loop",
    py.AsyncFor: "an `async for` loop",
    py.While: "a `while` loop",
    py.With: "a `with` block",
    py.AsyncWith: "an `async with` block",
    py.Try: "a `try` block",
    py.Raise: "a `raise` that depends on the tensors",
    py.FunctionDef: "a nested function definition",
    py.AsyncFunctionDef: "a nested function definition",
    py.ClassDef: "a nested class definition",
    py.Import: "an import inside the function",
    py.ImportFrom: "an import inside the function",
    py.Global: "a `global` statement",
    py.Nonlocal: "a `nonlocal` statement",
    py.Delete: "a `del` statement",
}
if hasattr(py, "Match"):
    _STATEMENT_NAMES[py.Match] = "a `match` statement"
if hasattr(py, "TryStar"):
    _STATEMENT_NAMES[py.TryStar] = "a `try` block"
_EXPRESSION_NAMES = {
    py.Lambda: "a lambda",
    py.ListComp: "a list comprehension",
    py.SetComp: "a set comprehension",
    py.DictComp: "a dict comprehension",
    py.GeneratorExp: "a generator expression",
    py.List: "a list",
    py.Dict: "a dict",
    py.Set: "a set",
    py.JoinedStr: "an f-string",
    py.Starred: "a starred expression",
    py.NamedExpr: "an assignment expression",
    py.Await: "an `await`",
    py.Yield: "a `yield`",
    py.YieldFrom: "a `yield from`",
    py.Slice: "a slice",
}


_MODULE_LEVEL = _Function(None)


def _qualname(function: _Function) -> str:
    return f"{function.owner.node.name}.{function.node.name}" if function.owner else function.node.name


# ================================================================ the module


@dataclass(slots=True)
class _ModuleInfo:
    text: str
    imports: dict[str, str]
    functions: dict[str, _Function]
    classes: dict[str, _Class]
    constants: dict[str, py.expr]
    constant_stack: list[str] = field(default_factory=list)


def _module_info(tree: py.Module, text: str) -> _ModuleInfo:
    imports = _imports(tree)
    functions: dict[str, _Function] = {}
    classes: dict[str, _Class] = {}
    assigned: dict[str, list[py.expr]] = {}
    for node in tree.body:
        if isinstance(node, py.FunctionDef):
            functions[node.name] = _Function(node)
        elif isinstance(node, py.ClassDef):
            methods = {item.name: item for item in node.body if isinstance(item, py.FunctionDef)}
            classes[node.name] = _Class(node, methods)
        elif isinstance(node, (py.Assign, py.AnnAssign)):
            targets = node.targets if isinstance(node, py.Assign) else [node.target]
            for target in targets:
                if isinstance(target, py.Name) and node.value is not None:
                    assigned.setdefault(target.id, []).append(node.value)
        elif isinstance(node, py.AugAssign) and isinstance(node.target, py.Name):
            assigned.setdefault(node.target.id, []).extend([node.value, node.value])
    # A name assigned once at module level, not shadowed by a def or an import, may be a constant.
    constants = {
        name: values[0]
        for name, values in assigned.items()
        if len(values) == 1 and name not in functions and name not in imports and name not in classes
    }
    return _ModuleInfo(text, imports, functions, classes, constants)


def _class_attributes(translator: _Translator, owner: _Class) -> None:
    """`self.x = ...` in `__init__`, from a default of `__init__` or a number."""
    init = owner.methods.get("__init__")
    if init is None:
        return
    arguments = init.args
    positional = [*arguments.posonlyargs, *arguments.args]
    env: dict[str, Any] = {}
    defaults = dict(
        zip([a.arg for a in positional][len(positional) - len(arguments.defaults) :], arguments.defaults)
    )
    defaults.update(
        {
            arg.arg: default
            for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults)
            if default is not None
        }
    )
    function = _Function(init, owner)
    for arg in [*positional[1:], *arguments.kwonlyargs]:
        if arg.arg in defaults:
            env[arg.arg] = translator.deferred(defaults[arg.arg], {}, function)
        else:
            span = translator.positions.span(arg)
            env[arg.arg] = _Deferred(
                Untranslatable(
                    f"`{arg.arg}`, an argument of `{owner.node.name}.__init__` without a default, "
                    f"at line {span.line}, column {span.column}",
                    span,
                )
            )
    for statement in init.body:
        if not isinstance(statement, (py.Assign, py.AnnAssign)) or statement.value is None:
            continue
        targets = statement.targets if isinstance(statement, py.Assign) else [statement.target]
        for target in targets:
            dotted = _dotted(target) if isinstance(target, py.Attribute) else None
            if dotted is None or len(dotted) != 2 or dotted[0] != "self":
                continue
            if dotted[1] in owner.attributes:  # set twice: which one holds is not known
                span = translator.positions.span(target)
                owner.attributes[dotted[1]] = Untranslatable(
                    f"`self.{dotted[1]}`, set more than once in `__init__`, "
                    f"at line {span.line}, column {span.column}",
                    span,
                )
                continue
            value = translator.deferred(statement.value, env, function)
            if isinstance(value, _Deferred):
                owner.attributes[dotted[1]] = value.problem
            elif _has_names(value):
                span = translator.positions.span(statement.value)
                owner.attributes[dotted[1]] = Untranslatable(
                    f"`self.{dotted[1]}`, which `__init__` does not set to a number, at line {span.line}, "
                    f"column {span.column}",
                    span,
                )
            else:
                owner.attributes[dotted[1]] = value


def _bases(node: py.ClassDef, imports: Mapping[str, str]) -> list[str]:
    """The full dotted names of a class's bases (`tf.keras.losses.Loss` -> `tensorflow.keras.losses.Loss`)."""
    names = []
    for base in node.bases:
        dotted = _dotted(base)
        if dotted is None:
            continue
        if dotted[0] in imports:
            dotted = [*imports[dotted[0]].split("."), *dotted[1:]]
        names.append(".".join(dotted))
    return names


def _is_keras_loss(base: str) -> bool:
    return base.endswith("losses.Loss") and base.startswith(("keras", "tensorflow", "tf_keras"))


def _is_torch_module(base: str) -> bool:
    return base.startswith("torch.") and base.endswith((".Module", "Loss"))


def _compiled_names(tree: py.Module) -> set[str]:
    """Names passed as `loss=` or `metrics=[...]` to a `compile(...)` anywhere in the module."""
    names: set[str] = set()
    for node in py.walk(tree):
        if not isinstance(node, py.Call):
            continue
        func = node.func
        called = func.attr if isinstance(func, py.Attribute) else func.id if isinstance(func, py.Name) else ""
        if called != "compile":
            continue
        for keyword in node.keywords:
            if keyword.arg not in ("loss", "metrics", "weighted_metrics"):
                continue
            values = [keyword.value]
            while values:
                value = values.pop()
                if isinstance(value, py.Name):
                    names.add(value.id)
                elif isinstance(value, (py.List, py.Tuple, py.Set)):
                    values.extend(value.elts)
                elif isinstance(value, py.Dict):
                    values.extend(v for v in value.values if v is not None)
    return names


def _wants(name: str, qualname: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, glob) or fnmatch.fnmatchcase(qualname, glob) for glob in globs)


def _signature_lines(node: py.FunctionDef) -> range:
    last = node.body[0].lineno - 1 if node.body else node.lineno
    return range(node.lineno, max(node.lineno, last) + 1)


def translate_module(
    text: str,
    path: str = "<string>",
    *,
    is_function: Callable[..., bool],
    python_functions: Sequence[str] = (),
    data_names: Sequence[str] = DATA_NAMES,
) -> PythonModule:
    """The recognised functions of a Python module, each translated or with the reason it is not."""
    result = PythonModule(path, text)
    try:
        tree = py.parse(text, filename=path, type_comments=False)
    except SyntaxError as error:
        line = error.lineno or 1
        column = error.offset or 1
        result.syntax_error = Untranslatable(
            f"the file is not valid Python: {error.msg}", Span(line, column, line, column + 1)
        )
        return result
    except (ValueError, MemoryError, RecursionError) as error:
        result.syntax_error = Untranslatable(f"the file cannot be read as Python: {error}", Span(1, 1, 1, 2))
        return result
    positions = _Positions(text)
    comments = _comments(text)
    for line, (column, comment) in comments.items():
        noqa = _noqa_of(line, column, comment)
        if noqa is not None:
            result.noqa[line] = noqa
    module = _module_info(tree, text)
    translator = _Translator(module, positions, is_function)
    compiled = _compiled_names(tree)

    candidates: list[tuple[_Function, bool]] = []
    for node in tree.body:
        if isinstance(node, py.FunctionDef):
            lowered = node.name.lower()
            wanted = "loss" in lowered or "metric" in lowered or node.name in compiled
            candidates.append((module.functions[node.name], wanted))
        elif isinstance(node, (py.AsyncFunctionDef,)):
            continue
        elif isinstance(node, py.ClassDef):
            owner = module.classes[node.name]
            bases = _bases(node, module.imports)
            keras = any(_is_keras_loss(base) for base in bases)
            torch = any(_is_torch_module(base) for base in bases) and node.name.endswith("Loss")
            for name, method in owner.methods.items():
                wanted = keras and name == "call" or torch and name == "forward"
                candidates.append((_Function(method, owner), wanted))
    attributes_done: set[str] = set()
    for function, wanted in candidates:
        qualname = _qualname(function)
        node = function.node
        directives = _directives(_signature_lines(node), comments, [a.arg for a in node.args.args])
        if not (wanted or directives.analyse or _wants(node.name, qualname, python_functions)):
            continue
        if function.owner is not None and function.owner.node.name not in attributes_done:
            attributes_done.add(function.owner.node.name)
            _class_attributes(translator, function.owner)
        span = positions.def_span(node)
        entry = PythonFunction(qualname, node.lineno, node.end_lineno or node.lineno, span)
        if directives.problem is not None:
            entry.problem = directives.problem
        else:
            try:
                entry.definition = _definition(translator, function, qualname, span, directives, data_names)
            except _Skip as skip:
                entry.problem = skip.problem
            except RecursionError:
                entry.problem = Untranslatable("the function is nested too deeply to translate", span)
        result.functions.append(entry)
    return result


def _definition(
    translator: _Translator,
    function: _Function,
    qualname: str,
    span: Span,
    directives: Directives,
    data_names: Sequence[str],
) -> lx.Definition:
    node = function.node
    arguments = node.args
    if arguments.vararg is not None or arguments.kwarg is not None:
        star = arguments.vararg or arguments.kwarg
        raise translator.problem("`*args` or `**kwargs` parameters", star)
    positional = [*arguments.posonlyargs, *arguments.args]
    env: dict[str, Any] = {}
    if function.owner is not None and positional and positional[0].arg == "self":
        positional = positional[1:]
        env["self"] = _Static(("self",))
    defaults = dict(
        zip([a.arg for a in positional][len(positional) - len(arguments.defaults) :], arguments.defaults)
    )
    defaults.update(
        {
            arg.arg: default
            for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults)
            if default is not None
        }
    )
    params: list[lx.Param] = []
    optional: set[str] = set()
    for arg in [*positional, *arguments.kwonlyargs]:
        default = defaults.get(arg.arg)
        value = translator.expr(default, {}, function) if default is not None else None
        if value is None or isinstance(value, _Static) and value.value is None:
            # no default, or `None` (an optional tensor): a variable of the definition
            params.append(lx.Param(arg.arg, translator.positions.span(arg)))
            env[arg.arg] = lx.Name(arg.arg, translator.positions.span(arg))
            if value is not None:
                optional.add(arg.arg)
        else:
            env[arg.arg] = value  # a keyword default is a constant
    body = translator.function(function, env)
    names = [param.name for param in params]
    if directives.wrt is not None:
        wrt: tuple[lx.Param, ...] = directives.wrt
    elif names[:2] == ["y_true", "y_pred"]:
        wrt = (params[1],)
    elif names[:2] == ["input", "target"]:
        wrt = (params[0],)
    else:
        wrt = tuple(param for param in params if param.name not in data_names and param.name not in optional)
    return lx.Definition(qualname, span, tuple(params), wrt, directives.given, (), body, span)
