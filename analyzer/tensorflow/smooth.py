"""Smooth and straight-through variants of a `.loss` file, rewritten on the syntax tree.

`kinks smooth` replaces each non-differentiable atom that moves with a `wrt` parameter by its
surrogate from the atom table (softplus for relu, logsumexp for max, Huber for abs, a sigmoid for a
step or a comparison used as a number, tanh for sign, the softmax-weighted index for argmax, ...),
and comparisons used as numbers by soft truth values, so counts (accuracy, precision, recall, F1,
Jaccard, Dice) become soft counts. Each temperature becomes a constant at the top of the file
(`temperature = 0.1`); the code generator turns those constants into keyword arguments.

`--ste` keeps the hard value of each piecewise-constant atom (argmax, round, step, sign,
thresholds) and takes the gradient of its surrogate: the atom becomes
`soft + stop_gradient(hard - soft)`, which the code generator writes with `tf.custom_gradient`
so the forward value is exactly the hard one.

Atoms on data only (labels, masks) stay as they are: their gradient is never taken. The result is
a `.loss` text in the language of LANGUAGE.md, which kinks analyses again.

Only an atom that causes a finding of its definition is replaced (a C1 definition such as a smooth
L1 written with a conditional is left alone), and a finding silenced by `# noqa` is intended: its
atom stays. Each rewritten definition is put in place of its own lines, so comments and `# noqa`
are kept. The variant is analysed again: a definition whose variant has a finding the original
lacks (softplus(1) != 1 opens a jump in `relu(x) if x < 1 else x`) is kept as written and listed in
`Rewritten.refused` with the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..atoms import table as atoms
from ..language import syntax as ast
from ..language.parser import parse_expression, parse_source
from ..language.printer import render

DEFAULT_TEMPERATURE = 0.1
SOFT_TRUTH_TEMPERATURE = 0.1
MAX_ROUNDS = 3  # a surrogate may itself contain an atom with a surrogate (hard_shrink -> soft_shrink)

# Rows smoothed through a pattern rather than their own surrogate, or left alone.
_NOT_SMOOTHED = frozenset(
    {
        "where",
        "mod",
        "divide_no_nan",
        "take",
        "one_hot",
        "stop_gradient",
        "identity",
        "cast",
        "sort",
        "top_k_values",
        "logical_and",
        "logical_or",
        "logical_not",
        "all",
        "any",
        "isnan",
        "isinf",
    }
)
_COMPARISON_ATOMS = {
    "less": "<",
    "less_equal": "<=",
    "greater": ">",
    "greater_equal": ">=",
    "equal": "==",
    "not_equal": "!=",
}


@dataclass(slots=True)
class Refusal:
    """A definition whose variant was refused (it is kept as written): where, and why."""

    name: str
    line: int  # in the input
    reason: str

    def text(self, path: str) -> str:
        return f"{path}:{self.line}: {self.name}: no variant written: {self.reason}; kept as written"


@dataclass(slots=True)
class Rewritten:
    """A rewritten `.loss` text, its temperature constants (name -> default), and what changed.

    `lines` gives each definition's line in the input (the variant has a header and the
    temperatures above it); `refused` the definitions kept as written, with the reason.
    """

    text: str
    temperatures: dict[str, float] = field(default_factory=dict)
    replaced: list[tuple[int, str, str]] = field(default_factory=list)  # (line, atom, surrogate)
    refused: list[Refusal] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # definition name -> its line in the input
    offset: int = 0  # a line of the input is this many lines further down in the variant


# Codes a variant may gain without being worse: a noqa comment left with nothing to silence.
_IGNORED_IN_COMPARISON = frozenset({"K902"})
# Findings that no surrogate removes: they never allow a replacement.
_NOT_REPLACEABLE = frozenset({"K301", "K901", "K902"})


def rewrite_source(text: str, path: str = "<string>", *, mode: str = "smooth") -> Rewritten:
    """The variant of a `.loss` text: only atoms that cause a finding of their definition are replaced
    (a finding silenced by `# noqa` is intended and stays), comments and `# noqa` are kept, and a
    definition whose variant has a finding the original lacks is kept as written (`refused`)."""
    from ..analysis.api import analyze_text

    if mode not in ("smooth", "ste"):
        raise ValueError("mode is smooth or ste")
    original_reports = {r.name: r for r in analyze_text(text, path) if r.name is not None}
    temperatures: dict[str, float] = {}
    replaced: list[tuple[int, str, str]] = []
    body = text if text.endswith("\n") or not text else text + "\n"
    reports = original_reports
    for _ in range(MAX_ROUNDS):
        body, changed, names = _one_round(body, path, mode, temperatures, reports, replaced)
        if not changed:
            break
        reports = _reports(analyze_text, _with_constants(body, temperatures), path, len(temperatures), names)
    refused: list[Refusal] = []
    while True:
        variant = _reports(analyze_text, _with_constants(body, temperatures), path, len(temperatures), None)
        worse = []
        for name, report in variant.items():
            before = original_reports.get(name)
            if before is None or _statement_lines(body, name) == _statement_lines(text, name):
                continue
            reason = _worse(before, report)
            if reason is not None:
                worse.append(Refusal(name, before.line, reason))
        if not worse:
            break
        for refusal in worse:
            body = _put_statement(body, refusal.name, _statement_lines(text, refusal.name))
        refused += worse
    refused_names = {r.name for r in refused}
    # temperatures no definition uses any more (their definition was refused) are dropped
    used = set(re.findall(r"[A-Za-z_]\w*", _code_only(body)))
    temperatures = {name: value for name, value in temperatures.items() if name in used}
    lines = {name: report.line for name, report in original_reports.items()}
    replaced = [item for item in replaced if not any(lines.get(n) == item[0] for n in refused_names)]
    label = "smooth variant" if mode == "smooth" else "straight-through variant"
    how = (
        "surrogates for non-differentiable atoms"
        if mode == "smooth"
        else "hard forward pass, surrogate gradient"
    )
    header = f"# The {label} of {_comment_text(path)}, written by kinks ({how})."
    result = header + "\n" + _with_constants(body, temperatures)
    return Rewritten(
        result, temperatures, replaced, sorted(refused, key=lambda r: r.line), lines, 1 + len(temperatures)
    )


def _comment_text(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


def _with_constants(body: str, temperatures: Mapping[str, float]) -> str:
    return "".join(f"{name} = {_number_text(value)}\n" for name, value in temperatures.items()) + body


def _code_only(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.split("\n"))


def _reports(
    analyze_text: Callable[..., Any], text: str, path: str, offset: int, names: set[str] | None
) -> dict[str, Any]:
    """The reports of `text` by definition name, their spans moved up by `offset` lines."""
    out = {}
    for report in analyze_text(text, path):
        if report.name is None or (names is not None and report.name not in names):
            continue
        if offset:
            report.findings = [
                f
                if f.span is None
                else dataclasses.replace(
                    f,
                    span=dataclasses.replace(
                        f.span, line=f.span.line - offset, end_line=f.span.end_line - offset
                    ),
                )
                for f in report.findings
            ]
            report.line -= offset
        out[report.name] = report
    return out


def _codes(report: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in report.findings:
        if finding.code not in _IGNORED_IN_COMPARISON:
            counts[finding.code] = counts.get(finding.code, 0) + 1
    return counts


def _worse(original: Any, variant: Any) -> str | None:
    """Why the variant is worse than the original (a finding the original lacks), or None."""
    before, after = _codes(original), _codes(variant)
    new = [code for code, count in after.items() if count > before.get(code, 0)]
    if not new:
        return None
    finding = next(f for f in variant.findings if f.code == new[0])
    return (
        f"the variant would have {finding.code} ({finding.kind}: {finding.message}), which the original lacks"
    )


def _allowed_spans(report: Any) -> tuple[ast.Span, ...]:
    if report is None:
        return ()
    return tuple(
        f.span
        for f in report.findings
        if f.span is not None and f.code.startswith("K") and f.code not in _NOT_REPLACEABLE
    )


def _statement_lines(text: str, name: str) -> list[str] | None:
    """The lines of definition `name` in `text` (the whole lines, comments after it included)."""
    for statement in parse_source(text).statements:
        if isinstance(statement, ast.Definition) and statement.name == name:
            lines = text.split("\n")
            return lines[statement.span.line - 1 : statement.span.end_line]
    return None


def _put_statement(text: str, name: str, new_lines: list[str] | None) -> str:
    if new_lines is None:
        return text
    for statement in parse_source(text).statements:
        if isinstance(statement, ast.Definition) and statement.name == name:
            lines = text.split("\n")
            lines[statement.span.line - 1 : statement.span.end_line] = new_lines
            return "\n".join(lines)
    return text


def _one_round(
    text: str,
    path: str,
    mode: str,
    temperatures: dict[str, float],
    reports: Mapping[str, Any],
    replaced: list[tuple[int, str, str]],
) -> tuple[str, bool, set[str]]:
    """One pass over the definitions: the text with each rewritten definition put in place of its
    own lines (comments, `# noqa` and the other lines kept as written)."""
    source = parse_source(text, path)
    lines = text.split("\n")
    names_in_use = {s.name for s in source.statements if isinstance(s, (ast.Constant, ast.Definition))}
    names_in_use |= {p.name for s in source.statements if isinstance(s, ast.Definition) for p in s.params}
    names_in_use |= set(temperatures)
    definitions: dict[str, ast.Definition] = {}
    changes: list[tuple[ast.Definition, str]] = []
    for statement in source.statements:
        if not isinstance(statement, ast.Definition):
            continue
        allowed = _allowed_spans(reports.get(statement.name))
        if allowed:
            rewriter = _DefinitionRewriter(statement, definitions, mode, temperatures, names_in_use, allowed)
            rewritten = rewriter.rewrite()
            if rewriter.replaced:
                changes.append((statement, rewritten))
                line = statement.span.line
                replaced += [(line, atom, surrogate) for atom, surrogate in rewriter.replaced]
        definitions[statement.name] = statement
    for statement, rewritten in reversed(changes):
        span = statement.span
        first, last = lines[span.line - 1], lines[span.end_line - 1]
        new = (first[: span.column - 1] + rewritten + last[span.end_column - 1 :]).split("\n")
        lines[span.line - 1 : span.end_line] = new
    return "\n".join(lines), bool(changes), {statement.name for statement, _ in changes}


def _number_text(value: float) -> str:
    return repr(float(value))


# ------------------------------------------------------------------ trees


def _fill(template: str, args: list[ast.Expr], temperature: str | None) -> ast.Expr:
    """A surrogate template of the atom table as a tree, with the argument trees put in."""
    placeholders = {f"_kinks_arg{index}": arg for index, arg in enumerate(args)}
    text = re.sub(r"\{(\d+)\}", lambda m: f"_kinks_arg{m.group(1)}", template)
    text = text.replace("{t}", temperature or "1")
    tree = parse_expression(text)

    def substitute(node: Any) -> Any:
        if isinstance(node, ast.Name) and node.id in placeholders:
            return placeholders[node.id]
        return node

    return tree.transform(substitute)


def _parse(text: str, **trees: ast.Expr) -> ast.Expr:
    """Our own expression text (never the user's) with named sub-trees put in."""
    tree = parse_expression(text)

    def substitute(node: Any) -> Any:
        if isinstance(node, ast.Name) and node.id in trees:
            return trees[node.id]
        return node

    return tree.transform(substitute)


def _surrogate(row: atoms.Atom) -> atoms.Surrogate | None:
    """The row's first surrogate that is a function of its own arguments (not a straight-through)."""
    for surrogate in row.surrogates:
        if surrogate.name == "straight-through" or " with " in surrogate.template:
            continue
        names = set(re.findall(r"[A-Za-z_][\w.]*", re.sub(r"\{\w+\}", "", surrogate.template)))
        unknown = {
            name
            for name in names
            if name not in atoms.ATOM_BY_NAME and name not in atoms.CONSTANTS and atoms.lookup(name) is None
        }
        if unknown:
            continue
        return surrogate
    return None


class _DefinitionRewriter:
    def __init__(
        self,
        definition: ast.Definition,
        definitions: Mapping[str, ast.Definition],
        mode: str,
        temperatures: dict[str, float],
        names_in_use: set[str],
        allowed: tuple[ast.Span, ...] = (),
    ):
        self.definition = definition
        self.allowed = allowed  # the spans of the definition's findings: only atoms there are replaced
        self.free = False  # inside a replacement (the soft side of a surrogate) every atom may be
        self.definitions = definitions
        self.mode = mode
        self.temperatures = temperatures
        self.names_in_use = names_in_use
        params = [p.name for p in definition.params]
        self.wrt = {p.name for p in definition.wrt} if definition.wrt is not None else set(params)
        self.params = set(params)
        self.moving_locals: dict[str, bool] = {}
        self.condition_locals = self._locals_used_as_conditions()
        self.labels = _binary_labels(definition.given)
        self.replaced: list[tuple[str, str]] = []

    # -------------------------------------------------------------- output

    def rewrite(self) -> str:
        d = self.definition
        header = f"{d.name}({', '.join(p.name for p in d.params)})"
        if d.wrt is not None:
            header += f" wrt {', '.join(p.name for p in d.wrt)}"
        if d.given is not None:
            header += f" given {render(d.given)}"
        if not d.locals:
            return f"{header} = {render(self.expr(d.body))}"
        lines = [f"{header}:"]
        for local in d.locals:
            numeric = local.name not in self.condition_locals
            value = self.expr(local.value) if numeric else local.value
            self.moving_locals[local.name] = self.moves(local.value)
            lines.append(f"    {local.name} = {render(value)}")
        lines.append(f"    return {render(self.expr(d.body))}")
        return "\n".join(lines)

    def _locals_used_as_conditions(self) -> set[str]:
        found: set[str] = set()
        trees = [local.value for local in self.definition.locals] + [self.definition.body]

        def mark(condition: ast.Expr) -> None:
            if isinstance(condition, ast.Name):
                found.add(condition.id)
            elif isinstance(condition, ast.BoolOp):
                for operand in condition.operands:
                    mark(operand)
            elif isinstance(condition, ast.Not):
                mark(condition.operand)

        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Conditional):
                    mark(node.condition)
                if isinstance(node, ast.Call):
                    row = atoms.lookup(node.func)
                    if row is not None and row.name == "where" and node.args:
                        mark(node.args[0])
        return found

    def may(self, node: Any, *, inside: bool = False) -> bool:
        """May `node` be replaced: a finding is at it (`inside`: a finding is within it)?"""
        if self.free:
            return True
        span = getattr(node, "span", None)
        if span is None:
            return False
        if not inside:
            return any(s == span for s in self.allowed)
        return any(
            (span.line, span.column) <= (s.line, s.column)
            and (s.end_line, s.end_column) <= (span.end_line, span.end_column)
            for s in self.allowed
        )

    # -------------------------------------------------------------- dependence

    def moves(self, node: Any) -> bool:
        """Does the value move with a `wrt` parameter (outside stop_gradient)?"""
        if isinstance(node, ast.Name):
            if node.id in self.moving_locals:
                return self.moving_locals[node.id]
            return node.id in self.wrt
        if isinstance(node, ast.Call):
            row = atoms.lookup(node.func)
            if row is not None and row.name == "stop_gradient":
                return False
            return any(self.moves(arg) for arg in node.args) or any(
                self.moves(k.value) for k in node.keywords
            )
        if isinstance(node, ast.Node):
            return any(self.moves(child) for child in node.children())
        return False

    # -------------------------------------------------------------- temperatures

    def temperature(self, surrogate_name: str, default: float | None) -> str:
        value = DEFAULT_TEMPERATURE if default is None else float(default)
        base = (
            "temperature"
            if value == DEFAULT_TEMPERATURE
            else re.sub(r"\W+", "_", surrogate_name).strip("_") + "_temperature"
        )
        for existing, existing_value in self.temperatures.items():
            if re.fullmatch(re.escape(base) + r"(_\d+)?", existing) and existing_value == value:
                return existing
        name, counter = base, 1
        while name in self.names_in_use or name in self.temperatures or name in atoms.ATOM_BY_NAME:
            counter += 1
            name = f"{base}_{counter}"
        self.temperatures[name] = value
        return name

    # -------------------------------------------------------------- expressions

    def expr(self, node: ast.Expr) -> ast.Expr:
        """Rewrite an expression whose value is used as a number."""
        if isinstance(node, (ast.Compare, ast.BoolOp, ast.Not, ast.Membership)):
            return self.truth(node) if self.moves(node) and self.may(node, inside=True) else node
        if isinstance(node, ast.Conditional):
            return dataclasses.replace(node, then=self.expr(node.then), otherwise=self.expr(node.otherwise))
        if isinstance(node, ast.Unary):
            return dataclasses.replace(node, operand=self.expr(node.operand))
        if isinstance(node, ast.Binary):
            return dataclasses.replace(node, left=self.expr(node.left), right=self.expr(node.right))
        if isinstance(node, ast.Call):
            return self.call(node)
        return node

    def call(self, node: ast.Call) -> ast.Expr:
        row = atoms.lookup(node.func)
        if row is None:  # a call to a definition above: it is rewritten on its own
            return dataclasses.replace(
                node,
                args=tuple(self.expr(a) for a in node.args),
                keywords=tuple(dataclasses.replace(k, value=self.expr(k.value)) for k in node.keywords),
            )
        if row.name == "stop_gradient":
            return node
        if row.name in ("where",):  # the condition stays hard: only the branches are smoothed
            condition = row.params[0]
            kept = {condition.name, *condition.keywords}
            return dataclasses.replace(
                node,
                args=(*node.args[:1], *[self.expr(a) for a in node.args[1:]]),
                keywords=tuple(
                    k if k.name in kept else dataclasses.replace(k, value=self.expr(k.value))
                    for k in node.keywords
                ),
            )
        if row.name == "cast":
            return dataclasses.replace(node, args=(self.expr(node.args[0]), *node.args[1:]))
        if row.name in _COMPARISON_ATOMS and len(node.args) == 2 and not node.keywords:
            compare = ast.Compare(node.args, (_COMPARISON_ATOMS[row.name],), node.span)
            return self.truth(compare) if self.moves(compare) and self.may(node, inside=True) else node
        if row.name in ("all", "any"):  # a condition reduced, used as a number
            return (
                self.truth(node)
                if self.moves(node)
                and len(node.args) == 1
                and not node.keywords
                and self.may(node, inside=True)
                else node
            )
        if row.name in ("logical_and", "logical_or", "logical_not") and not node.keywords:
            if not self.moves(node) or not self.may(node, inside=True):
                return node
            if row.name == "logical_not":
                return self.truth(ast.Not(node.args[0], node.span))
            return self.truth(ast.BoolOp("and" if row.name == "logical_and" else "or", node.args, node.span))
        pattern = self.pattern(row, node)
        if pattern is not None:
            return pattern
        # a flat atom around a finding (in_top_k(x, argmax(y), 2)) is estimated as a whole, as before
        if (
            self.mode == "ste"
            and self.moves(node)
            and row.name not in _NOT_SMOOTHED
            and self.may(node, inside=True)
            and _is_flat(self._row_for_call(row, node))
        ):
            return self.straight_through(row, node)
        args = tuple(self.expr(a) for a in node.args)
        keywords = tuple(dataclasses.replace(k, value=self.expr(k.value)) for k in node.keywords)
        rebuilt = dataclasses.replace(node, args=args, keywords=keywords)
        if not self.moves(node) or row.name in _NOT_SMOOTHED or self.mode == "ste" or not self.may(node):
            return rebuilt  # in a straight-through variant, kinks keep their own gradient
        return self.smoothed(row, rebuilt)

    @contextlib.contextmanager
    def _smoothly(self) -> Iterator[None]:
        """Rewrite as the smooth variant does: the soft side of a straight-through estimator."""
        mode, self.mode = self.mode, "smooth"
        free, self.free = self.free, True
        try:
            yield
        finally:
            self.mode = mode
            self.free = free

    def _row_for_call(self, row: atoms.Atom, node: ast.Call) -> atoms.Atom:
        if row.variadic and len(node.args) == 1:
            return atoms.ATOM_BY_NAME["reduce_" + row.name]
        return row

    def _arguments(self, row: atoms.Atom, node: ast.Call) -> list[ast.Expr] | None:
        """The call's expression arguments in the row's order, defaults filled in (None if unusual)."""
        if row.variadic:
            return list(node.args)
        from ..analysis.lowering import LoweringError, _bind, _default_tree

        try:
            bound = _bind(row, node)
        except LoweringError:
            return None
        out = []
        for param, tree in zip(row.params, bound):
            if param.kind in ("axis", "flag", "dtype"):
                if tree is not None and param.kind == "axis":
                    return None  # surrogates are written for the last axis
                continue
            out.append(tree if tree is not None else _default_tree(param, node.span))
        return out

    def smoothed(self, row: atoms.Atom, node: ast.Call) -> ast.Expr:
        row = self._row_for_call(row, node)
        if not (row.kinks or row.jumps or row.zero_gradient) or row.smoothness >= 1:
            return node
        if row.name == "norm" and not _is_default_norm(node):
            return node
        surrogate = _surrogate(row)
        args = self._arguments(row, node)
        if surrogate is None or args is None:
            return node
        temperature = (
            self.temperature(surrogate.name, surrogate.temperature) if "{t}" in surrogate.template else None
        )
        if row.name in ("max", "min") and len(args) == 2 and any(_is_zero(arg) for arg in args):
            # max(x, 0) is relu(x): the softplus surrogate without the zero terms
            other = args[0] if _is_zero(args[1]) else args[1]
            template = "{t} * softplus({0} / {t})" if row.name == "max" else "-{t} * softplus(-{0} / {t})"
            self.replaced.append((row.name, surrogate.name))
            return _fill(template, [other], temperature)
        if row.variadic and len(args) > 2:  # fold max(a, b, c) as max(max(a, b), c)
            result = args[0]
            for arg in args[1:]:
                result = _fill(surrogate.template, [result, arg], temperature)
        else:
            result = _fill(surrogate.template, args, temperature)
        self.replaced.append((row.name, surrogate.name))
        return result

    def straight_through(self, row: atoms.Atom, node: ast.Call) -> ast.Expr:
        """The hard atom (as written, so its value is exact) with the gradient of its smooth variant."""
        row = self._row_for_call(row, node)
        if row.surrogates and row.surrogates[0].name == "straight-through":
            args = self._arguments(row, node)
            if args is None:
                return node
            with self._smoothly():
                soft = self.expr(args[0])  # the identity's gradient, through a smooth argument
            self.replaced.append((row.name, "straight-through"))
        else:
            before = len(self.replaced)
            with self._smoothly():
                soft = self.expr(node)
            if soft is node or len(self.replaced) == before:
                return node  # no surrogate applies (`argmin(erf(y) ^ 0.5, 0)`): the hard atom stays
            self.replaced[-1] = (row.name, f"straight-through with {self.replaced[-1][1]}")
        return _parse("soft + stop_gradient(hard - soft)", soft=soft, hard=node)

    def pattern(self, row: atoms.Atom, node: ast.Call) -> ast.Expr | None:
        """one_hot(argmax(z)) and take(v, argmax(z)): the softmax of z stands in for the one-hot."""
        if row.name not in ("one_hot", "take") or not node.args:
            return None
        index = node.args[0] if row.name == "one_hot" else (node.args[1] if len(node.args) > 1 else None)
        if not (
            isinstance(index, ast.Call)
            and atoms.lookup(index.func) is not None
            and atoms.lookup(index.func).name == "argmax"
            and len(index.args) == 1
            and not index.keywords
        ):
            return None
        scores = index.args[0]
        if not self.moves(scores) or not self.may(node, inside=True):
            return None
        t = self.temperature("softmax", DEFAULT_TEMPERATURE)
        with self._smoothly():
            soft = _parse(f"softmax(z / {t})", z=self.expr(scores))
            if row.name == "take":
                soft = _parse("sum(soft * v)", soft=soft, v=self.expr(node.args[0]))
        self.replaced.append((row.name, "softmax"))
        if self.mode == "ste":
            return _parse("soft + stop_gradient(hard - soft)", soft=soft, hard=node)
        return soft

    # -------------------------------------------------------------- soft truth values

    def truth(self, node: ast.Expr) -> ast.Expr:
        """A condition used as a number, as a soft truth value in [0, 1] (or its straight-through)."""
        with self._smoothly():
            soft = self.soft_truth(node)
        self.replaced.append(("comparison", "sigmoid"))
        if self.mode == "ste":
            return _parse("soft + stop_gradient(hard - soft)", soft=soft, hard=node)
        return soft

    def soft_truth(self, node: ast.Expr) -> ast.Expr:
        if not self.moves(node):
            return node
        t = self.temperature("sigmoid", SOFT_TRUTH_TEMPERATURE)
        if isinstance(node, ast.Not):
            return _parse("1 - a", a=self.soft_truth(node.operand))
        if isinstance(node, ast.BoolOp):
            parts = [self.soft_truth(operand) for operand in node.operands]
            if node.op == "and":
                result = parts[0]
                for part in parts[1:]:
                    result = _parse("a * b", a=result, b=part)
                return result
            result = _parse("1 - a", a=parts[0])
            for part in parts[1:]:
                result = _parse("a * (1 - b)", a=result, b=part)
            return _parse("1 - a", a=result)
        if isinstance(node, ast.Membership):
            equalities = [ast.Compare((node.element, member), ("==",), node.span) for member in node.members]
            return self.soft_truth(ast.BoolOp("or", tuple(equalities), node.span))
        if isinstance(node, ast.Call) and self._is_condition(node):
            row = atoms.lookup(node.func)
            assert row is not None
            if row.name == "all":  # every entry true: the product of the soft truths
                return _parse("prod(a)", a=self.soft_truth(node.args[0]))
            if row.name == "any":
                return _parse("1 - prod(1 - a)", a=self.soft_truth(node.args[0]))
            if row.name in _COMPARISON_ATOMS:
                return self.soft_truth(ast.Compare(node.args, (_COMPARISON_ATOMS[row.name],), node.span))
            if row.name == "logical_not":
                return self.soft_truth(ast.Not(node.args[0], node.span))
            return self.soft_truth(
                ast.BoolOp("and" if row.name == "logical_and" else "or", node.args, node.span)
            )
        if isinstance(node, ast.Compare):
            parts = []
            for index, op in enumerate(node.ops):
                left, right = self.expr(node.operands[index]), self.expr(node.operands[index + 1])
                parts.append(
                    self._soft_relation(op, left, right, node.operands[index], node.operands[index + 1], t)
                )
            result = parts[0]
            for part in parts[1:]:
                result = _parse("a * b", a=result, b=part)
            return result
        return node

    def _soft_relation(
        self, op: str, left: ast.Expr, right: ast.Expr, left_tree: ast.Expr, right_tree: ast.Expr, t: str
    ) -> ast.Expr:
        if op in ("<", "<=", ">", ">="):
            high, low = (right, left) if op in ("<", "<=") else (left, right)
            if _is_zero(low):
                return _parse(f"sigmoid(a / {t})", a=high)
            if _is_zero(high):
                return _parse(f"sigmoid(-a / {t})", a=low)
            return _parse(f"sigmoid((a - b) / {t})", a=high, b=low)
        accuracy = self._index_agreement(left_tree, right_tree)
        if accuracy is None and (self._truth_like(left_tree) or self._truth_like(right_tree)):
            soft_left = self.soft_truth(left_tree) if self._is_condition(left_tree) else left
            soft_right = self.soft_truth(right_tree) if self._is_condition(right_tree) else right
            accuracy = _parse("a * b + (1 - a) * (1 - b)", a=soft_left, b=soft_right)
        if accuracy is None:
            accuracy = _parse(f"exp(-((a - b) / {t})^2)", a=left, b=right)
        return accuracy if op == "==" else _parse("1 - a", a=accuracy)

    def _index_agreement(self, left: ast.Expr, right: ast.Expr) -> ast.Expr | None:
        """argmax(p) == argmax(y), y data: the probability a sharpened softmax puts on y's class."""
        for moving, fixed in ((left, right), (right, left)):
            if _is_argmax(moving) and _is_argmax(fixed) and self.moves(moving) and not self.moves(fixed):
                t = self.temperature("softmax", DEFAULT_TEMPERATURE)
                return _parse(f"take(softmax(z / {t}), i)", z=self.expr(moving.args[0]), i=fixed)
        return None

    def _is_condition(self, node: ast.Expr) -> bool:
        if isinstance(node, (ast.Compare, ast.BoolOp, ast.Not, ast.Membership)):
            return True
        if isinstance(node, ast.Call):
            row = atoms.lookup(node.func)
            return (
                row is not None
                and (
                    row.name in _COMPARISON_ATOMS
                    or row.name.startswith("logical_")
                    or row.name in ("all", "any")
                )
                and len(node.args) >= 1
            )
        return False

    def _truth_like(self, node: ast.Expr) -> bool:
        """A value in {0, 1}: a condition, a cast of one, or a label given `in {0, 1}`."""
        if self._is_condition(node):
            return True
        if isinstance(node, ast.Call):
            row = atoms.lookup(node.func)
            return (
                row is not None and row.name == "cast" and bool(node.args) and self._truth_like(node.args[0])
            )
        return isinstance(node, ast.Name) and node.id in self.labels


def _is_argmax(node: ast.Expr) -> bool:
    if not isinstance(node, ast.Call) or len(node.args) != 1 or node.keywords:
        return False
    row = atoms.lookup(node.func)
    return row is not None and row.name == "argmax"


def _is_zero(node: ast.Expr) -> bool:
    return isinstance(node, ast.Number) and node.value == 0


def _is_flat(row: atoms.Atom) -> bool:
    return atoms.is_flat_atom(row)


def _is_default_norm(node: ast.Call) -> bool:
    if len(node.args) > 1:
        return isinstance(node.args[1], ast.Number) and node.args[1].value == 2
    order = [k for k in node.keywords if k.name in ("ord", "p")]
    return not order or (isinstance(order[0].value, ast.Number) and order[0].value.value == 2)


def _binary_labels(given: ast.Expr | None) -> set[str]:
    """Names that `given` puts in {0, 1}."""
    found: set[str] = set()
    if given is None:
        return found
    stack = [given]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BoolOp) and node.op == "and":
            stack.extend(node.operands)
        elif isinstance(node, ast.Membership) and isinstance(node.element, ast.Name):
            values = {m.value for m in node.members if isinstance(m, ast.Number)}
            if values and values <= {Fraction(0), Fraction(1)}:
                found.add(node.element.id)
    return found
