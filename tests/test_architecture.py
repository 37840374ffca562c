"""The design, checked on the code (docs/architecture.md): findings are made from their rule, the
atom table's rows are the only place that lists functions, and a row's TensorFlow column is what the
printer prints."""

from __future__ import annotations

import ast
import dataclasses
import re
from typing import Any

import pytest
import sympy as sp
from conftest import PACKAGE

from analyzer.analysis.lowering import FileContext, Lowerer
from analyzer.analysis.report import Finding
from analyzer.analysis.rules import RULES
from analyzer.atoms import functions as fn
from analyzer.atoms import table as atoms
from analyzer.language import syntax
from analyzer.language.parser import parse_expression, parse_source
from analyzer.language.printer import render
from analyzer.tensorflow import tf_printer

# A finding read back from a record (the analysis cache) carries the kind it was saved with.
_RECORDS = frozenset({"lint/cache.py"})
# Not yet made from its rule: the linter's module, which another change owns.
_PENDING = frozenset({"lint/files.py"})


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def test_a_finding_is_made_from_its_rule() -> None:
    """`Finding.of(code, ...)`: no module pairs a code with a kind of its own."""
    offences = []
    for module, tree in _modules():
        if module in _RECORDS | _PENDING:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Finding":
                offences.append(f"{module}:{node.lineno}")
    assert not offences, "Finding(kind, code, ...) written out; use Finding.of(code, ...):\n" + "\n".join(
        offences
    )


@pytest.mark.parametrize("code", sorted(RULES))
def test_a_finding_of_a_rule_has_the_rule_s_kind_and_severity(code: str) -> None:
    finding = Finding.of(code, "message", None, atom="relu")
    assert (finding.kind, finding.severity, finding.atom) == (RULES[code].kind, RULES[code].severity, "relu")


def test_a_finding_of_an_unknown_code_is_refused() -> None:
    with pytest.raises(KeyError):
        Finding.of("K999", "message", None)


# ---------------------------------------------------------------- the atom table's shapes


def _lowered_call(row: atoms.Atom) -> Any:
    """The body of `f(a0, ...) = name(a0, ...)`: the row called on names, as the lowering builds it
    (a parameter with a default left out, an optional one given)."""
    arguments: list[str] = []
    keywords = False
    for index, param in enumerate(row.params):
        if param.default is not atoms.NO_DEFAULT and param.kind != "optional":
            keywords = True
            continue
        value = {"condition": f"a{index} > 0", "int": "2", "dtype": "tf.float32"}.get(param.kind, f"a{index}")
        arguments.append(f"{param.name}={value}" if keywords else value)
    if row.variadic:
        arguments = ["a0", "a1"]
    names = sorted({name for argument in arguments for name in re.findall(r"\ba\d+\b", argument)})
    text = f"f({', '.join(names)}) = {atoms.spellings_of(row)[0]}({', '.join(arguments)})"
    (definition,) = parse_source(text, "<row>").statements
    return Lowerer(FileContext(), "f").definition(definition).body


ALL_ROWS = (*atoms.ATOMS, *atoms.TORCH_ROWS, *atoms.KERAS_ROWS)


@pytest.mark.parametrize("row", ALL_ROWS, ids=lambda row: atoms.spellings_of(row)[0])
def test_a_row_knows_its_shape(row: atoms.Atom) -> None:
    """A row is elementwise exactly when what it builds is a function of single entries."""
    assert row.shape in atoms.SHAPES
    body = _lowered_call(row)
    vector = isinstance(body, sp.Basic) and (
        isinstance(body, atoms.VECTOR_NODES) or body.has(*atoms.VECTOR_NODES)
    )
    assert vector == (row.shape != atoms.ELEMENTWISE), (row.shape, body)


def test_every_function_class_has_a_row() -> None:
    """So its shape, its numeric function and its TensorFlow column are known."""
    classes = [
        value
        for name, value in vars(fn).items()
        if isinstance(value, type)
        and issubclass(value, (fn.RealFunction, fn.LossPredicate))
        and value.__module__ == fn.__name__
        and not name.startswith("_")
        and value not in (fn.RealFunction, fn.LossPredicate)
    ]
    assert classes and [cls.__name__ for cls in classes if cls not in atoms.ATOM_BY_NODE] == []


def test_a_vector_function_has_its_entry_by_entry_form() -> None:
    """`kinks verify` writes a body entry by entry from the rows' `entries`."""
    missing = [row.name for row in atoms.ATOMS if row.node in atoms.VECTOR_NODES and row.entries is None]
    assert missing == []


def test_the_class_lists_are_derived_from_the_rows() -> None:
    """No module outside the table lists function classes by hand: the indexes are the rows'."""
    assert fn.ReduceSum in atoms.AXIS_NODES and fn.Dot not in atoms.AXIS_NODES  # dot takes no axis
    assert atoms.CONDITION_AXIS_NODES == (fn.ReduceAll, fn.ReduceAny)
    assert fn.Norm in atoms.REDUCTION_NODES and fn.Softmax not in atoms.REDUCTION_NODES
    assert not hasattr(fn, "VECTOR_FUNCTIONS")
    offences = []
    for module, tree in _modules():
        if module.startswith("atoms/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple | ast.BinOp | ast.Set):
                members = [
                    part
                    for part in (node.elts if not isinstance(node, ast.BinOp) else (node.left, node.right))
                    if isinstance(part, ast.Attribute)
                    and isinstance(part.value, ast.Name)
                    and part.value.id == "fn"
                ]
                if len(members) >= 2:
                    offences.append(f"{module}:{node.lineno}: {', '.join(m.attr for m in members)}")
    assert offences == [], "classes listed by hand (give the rows a fact instead):\n" + "\n".join(offences)


# ---------------------------------------------------------------- the TensorFlow column


def _template_arguments(template: str) -> list[sp.Symbol]:
    count = max((int(index) + 1 for index in re.findall(r"\{(\d+)\}", template)), default=0)
    return [sp.Symbol(f"a{index}", real=True) for index in range(count)]


@pytest.mark.parametrize(
    "row", [row for row in atoms.ATOMS if row.node is not None], ids=lambda row: row.name
)
def test_a_row_s_tensorflow_column_is_what_the_printer_prints(row: atoms.Atom) -> None:
    """A template is printed exactly as written (its arguments' code put in); a row whose code
    depends on its arguments names the printer method SymPy's dispatch reaches for its node."""
    method = tf_printer.printer_method(row.node)
    assert method is not None, row.name
    if method is tf_printer.TensorFlowPrinter._print_Function:
        assert row.tf and not row.tf_method, "a template row: the printer fills its template"
        arguments = _template_arguments(row.tf)
        printed = tf_printer.TensorFlowPrinter({}, frozenset()).statement(row.node(*arguments))
        assert printed == re.sub(r"\{(\d+)\}", r"a\1", row.tf)
    else:
        assert (row.tf, row.tf_method) == ("", method.__name__), "the row names the method that prints it"


@pytest.mark.parametrize("row", [row for row in ALL_ROWS if row.node is None], ids=lambda row: row.name)
def test_a_row_without_a_node_has_no_tensorflow_column(row: atoms.Atom) -> None:
    """Its formula's functions are printed, never a text of its own."""
    assert (row.tf, row.tf_method) == ("", "")


# ---------------------------------------------------------------- the syntax tree's walkers


@pytest.mark.parametrize(
    "cls",
    [
        cls
        for cls in vars(syntax).values()
        if isinstance(cls, type) and issubclass(cls, syntax.Node) and cls is not syntax.Node
    ],
    ids=lambda cls: cls.__name__,
)
def test_children_names_every_field_that_holds_an_expression(cls: type) -> None:
    holding = [
        field.name
        for field in dataclasses.fields(cls)
        if re.search(r"\b(Expr|Keyword|Slice|EllipsisIndex)\b", str(field.type))
    ]
    assert list(cls._CHILDREN) == holding


def test_children_walk_and_transform() -> None:
    tree = parse_expression("f(x, k=y[..., 1:z]) + (-w if a > b else c)")
    names = [node.id for node in syntax.walk(tree) if isinstance(node, syntax.Name)]
    assert names == ["x", "y", "z", "w", "a", "b", "c"]  # source order, through keywords and slices
    assert tree.transform(lambda node: node) is tree  # nothing replaced, nothing rebuilt
    renamed = tree.transform(
        lambda node: syntax.Name(node.id.upper(), node.span) if isinstance(node, syntax.Name) else node
    )
    assert render(renamed) == "f(X, k=Y[..., 1:Z]) + (-W if A > B else C)"
