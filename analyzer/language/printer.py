"""Print syntax-tree nodes back in the language of LANGUAGE.md §2, with minimal parentheses.

Findings say where they are in the user's own terms: an argument of an expanded call or a block
local is printed as the expression it stands for, so a `where` only mentions parameters and
constants. Names are resolved through a `render_name` callback supplied by the lowering.
"""

from __future__ import annotations

from collections.abc import Callable

from . import syntax as ast

# Binding strength, loosest first (LANGUAGE.md §2).
CONDITIONAL, OR, AND, NOT, COMPARE, SUM, PRODUCT, UNARY, POWER, ATOM = range(10)

_BINARY_LEVEL = {"+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT, "%": PRODUCT, "^": POWER}

NameRenderer = Callable[[ast.Name], "tuple[str, int] | None"]


def level(node: ast.Expr) -> int:
    if isinstance(node, ast.Conditional):
        return CONDITIONAL
    if isinstance(node, ast.BoolOp):
        return OR if node.op == "or" else AND
    if isinstance(node, ast.Not):
        return NOT
    if isinstance(node, (ast.Compare, ast.Membership)):
        return COMPARE
    if isinstance(node, ast.Binary):
        return _BINARY_LEVEL[node.op]
    if isinstance(node, ast.Unary):
        return UNARY
    if isinstance(node, ast.Number) and node.text.startswith("-"):
        return UNARY
    return ATOM


def render(node: ast.Expr, render_name: NameRenderer | None = None) -> str:
    return _render(node, render_name)[0]


def _wrap(text: str, inner: int, outer: int, strict: bool = False) -> str:
    if inner < outer or (strict and inner == outer):
        return f"({text})"
    return text


def _render(node: ast.Expr, names: NameRenderer | None) -> tuple[str, int]:
    if isinstance(node, ast.Number):
        return node.text, ATOM
    if isinstance(node, ast.Boolean):
        return ("true" if node.value else "false"), ATOM
    if isinstance(node, ast.Name):
        resolved = names(node) if names else None
        return resolved if resolved is not None else (node.id, ATOM)
    if isinstance(node, ast.Call):
        args = node.args[1:] if node.method and node.args else node.args
        parts = [render(arg, names) for arg in args]
        parts += [f"{kw.name}={render(kw.value, names)}" for kw in node.keywords]
        if node.method and node.args:
            receiver = _wrap(*_render(node.args[0], names), ATOM)
            return f"{receiver}.{node.func}({', '.join(parts)})", ATOM
        return f"{node.func}({', '.join(parts)})", ATOM
    if isinstance(node, ast.Index):
        value = _wrap(*_render(node.value, names), ATOM)
        return f"{value}[{', '.join(_render_item(item, names) for item in node.items)}]", ATOM
    if isinstance(node, ast.TupleExpr):
        items = [render(item, names) for item in node.items]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")", ATOM
    if isinstance(node, ast.Unary):
        text, inner = _render(node.operand, names)
        return node.op + _wrap(text, inner, UNARY), UNARY
    if isinstance(node, ast.Binary):
        here = _BINARY_LEVEL[node.op]
        left, left_level = _render(node.left, names)
        right, right_level = _render(node.right, names)
        if node.op == "^":  # right-associative; the base binds tighter than a unary minus
            left = _wrap(left, left_level, POWER, strict=True)
            right = _wrap(right, right_level, UNARY)
            return f"{left}^{right}", POWER
        left = _wrap(left, left_level, here)
        right = _wrap(right, right_level, here, strict=True)
        return f"{left} {node.op} {right}", here
    if isinstance(node, ast.Compare):
        texts = [_wrap(*_render(operand, names), COMPARE, strict=True) for operand in node.operands]
        out = texts[0]
        for op, text in zip(node.ops, texts[1:]):
            out += f" {op} {text}"
        return out, COMPARE
    if isinstance(node, ast.Membership):
        element = _wrap(*_render(node.element, names), COMPARE, strict=True)
        members = ", ".join(render(member, names) for member in node.members)
        return f"{element} in {{{members}}}", COMPARE
    if isinstance(node, ast.Not):
        text, inner = _render(node.operand, names)
        return "not " + _wrap(text, inner, NOT), NOT
    if isinstance(node, ast.BoolOp):
        here = OR if node.op == "or" else AND
        texts = [_wrap(*_render(operand, names), here, strict=True) for operand in node.operands]
        return f" {node.op} ".join(texts), here
    if isinstance(node, ast.Conditional):
        then = _wrap(*_render(node.then, names), CONDITIONAL, strict=True)
        condition = _wrap(*_render(node.condition, names), CONDITIONAL, strict=True)
        otherwise = _wrap(*_render(node.otherwise, names), CONDITIONAL)
        return f"{then} if {condition} else {otherwise}", CONDITIONAL
    raise TypeError(f"cannot print {type(node).__name__}")


def _render_item(item: ast.Expr | ast.Slice | ast.EllipsisIndex, names: NameRenderer | None) -> str:
    if isinstance(item, ast.EllipsisIndex):
        return "..."
    if isinstance(item, ast.Slice):
        text = ":".join("" if part is None else render(part, names) for part in (item.start, item.stop))
        return text + (":" + render(item.step, names) if item.step is not None else "")
    return render(item, names)


def wrap_for(text: str, inner: int, outer: int) -> str:
    """Parenthesise `text` (of binding strength `inner`) for a place that needs `outer`."""
    return _wrap(text, inner, outer, strict=outer != ATOM and inner == outer)
