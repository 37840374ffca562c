"""The parser: every form of LANGUAGE.md sections 1 and 2, spans, and syntax errors in plain words."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from analyzer.language.grammar import get_parser
from analyzer.language.parser import (
    MAX_NESTING,
    LossSyntaxError,
    parse_condition,
    parse_expression,
    parse_source,
)
from analyzer.language.syntax import (
    Binary,
    Boolean,
    BoolOp,
    Call,
    Compare,
    Conditional,
    Constant,
    Definition,
    Keyword,
    Membership,
    Name,
    Not,
    Number,
    Span,
    SyntaxProblem,
    TupleExpr,
    Unary,
)

CASES = Path(__file__).resolve().parents[2] / "shared" / "cases"
if not CASES.is_dir():  # a clone without ../shared: the copy in tests/
    CASES = Path(__file__).resolve().parent / "acceptance_cases"


def sexp(node) -> str:
    """A compact, span-free rendering of an expression, to compare tree shapes in tables."""
    match node:
        case Number():
            return node.text
        case Boolean():
            return "true" if node.value else "false"
        case Name():
            return node.id
        case Keyword():
            return f"{node.name}={sexp(node.value)}"
        case Call():
            parts = [node.func, *map(sexp, node.args), *map(sexp, node.keywords)]
            return f"(call {' '.join(parts)})"
        case Unary():
            return f"({node.op} {sexp(node.operand)})"
        case Binary():
            return f"({node.op} {sexp(node.left)} {sexp(node.right)})"
        case Compare():
            parts = [sexp(node.operands[0])]
            for op, operand in zip(node.ops, node.operands[1:], strict=True):
                parts += [op, sexp(operand)]
            return f"(compare {' '.join(parts)})"
        case Membership():
            return f"(in {sexp(node.element)} {{{' '.join(map(sexp, node.members))}}})"
        case BoolOp():
            return f"({node.op} {' '.join(map(sexp, node.operands))})"
        case Not():
            return f"(not {sexp(node.operand)})"
        case Conditional():
            return f"(if {sexp(node.condition)} {sexp(node.then)} {sexp(node.otherwise)})"
        case TupleExpr():
            return f"(tuple {' '.join(map(sexp, node.items))})"
    raise TypeError(f"not an expression: {node!r}")


def only_statement(text: str):
    statements = parse_source(text).statements
    assert len(statements) == 1, statements
    return statements[0]


def only_problem(text: str) -> SyntaxProblem:
    problems = [s for s in parse_source(text).statements if isinstance(s, SyntaxProblem)]
    assert len(problems) == 1, parse_source(text).statements
    return problems[0]


# ---------------------------------------------------------------- expressions

EXPRESSIONS = [
    # atoms and numbers
    ("1", "1"),
    ("0.5", "0.5"),
    (".5", ".5"),
    ("1.", "1."),
    ("1e-7", "1e-7"),
    ("2.5E+3", "2.5E+3"),
    ("pi", "pi"),
    ("inf", "inf"),
    ("true", "true"),
    ("false", "false"),
    ("ŷ", "ŷ"),
    ("(x)", "x"),
    # precedence, loosest to tightest
    ("a + b * c", "(+ a (* b c))"),
    ("a - b - c", "(- (- a b) c)"),
    ("a / b % c", "(% (/ a b) c)"),
    ("x % 1", "(% x 1)"),
    ("-x^2", "(- (^ x 2))"),
    ("-x**2", "(- (^ x 2))"),
    ("+x", "(+ x)"),
    ("x ^ -2", "(^ x (- 2))"),
    ("2 ** 3 ** 2", "(^ 2 (^ 3 2))"),
    ("2 ^ 3 ** 2", "(^ 2 (^ 3 2))"),
    ("-2 * x", "(* (- 2) x)"),
    ("a * -b", "(* a (- b))"),
    ("(a + b) * c", "(* (+ a b) c)"),
    ("f(x)^2", "(^ (call f x) 2)"),
    ("a + b < c * d", "(compare (+ a b) < (* c d))"),
    ("not a < b", "(not (compare a < b))"),
    ("not not a", "(not (not a))"),
    ("a or b and c", "(or a (and b c))"),
    ("a and b and c", "(and a b c)"),
    ("a or b or c", "(or a b c)"),
    ("not a and b", "(and (not a) b)"),
    # comparisons
    ("0 < x < 1", "(compare 0 < x < 1)"),
    ("0 <= p <= 1", "(compare 0 <= p <= 1)"),
    ("a > b >= c == d != e", "(compare a > b >= c == d != e)"),
    ("(x > 0) * x", "(* (compare x > 0) x)"),
    ("argmax(p) == argmax(y)", "(compare (call argmax p) == (call argmax y))"),
    # membership
    ("y in {0, 1}", "(in y {0 1})"),
    ("y in {-1, 1}", "(in y {(- 1) 1})"),
    ("y + 1 in {1, 2,}", "(in (+ y 1) {1 2})"),
    # conditional, right-associative and loosest
    ("a if c else b", "(if c a b)"),
    ("a if c else b if d else e", "(if c a (if d b e))"),
    ("x + 1 if x < 1 else 2 * x", "(if (compare x < 1) (+ x 1) (* 2 x))"),
    ("a if b or c else d", "(if (or b c) a d)"),
    # calls, keyword arguments, dotted names, tuples as axis
    ("f()", "(call f)"),
    ("max(a, b, c)", "(call max a b c)"),
    ("leaky_relu(x, alpha=0.1)", "(call leaky_relu x alpha=0.1)"),
    ("sum(x, axis=(0, 1), keepdims=true)", "(call sum x axis=(tuple 0 1) keepdims=true)"),
    ("sum(x, axis=(1,))", "(call sum x axis=(tuple 1))"),
    ("mean(x, axis=None)", "(call mean x axis=None)"),
    ("mean(x,)", "(call mean x)"),
    ("tf.reduce_mean(x, axis=-1)", "(call tf.reduce_mean x axis=(- 1))"),
    ("tf.math.reduce_mean(x)", "(call tf.math.reduce_mean x)"),
    ("cast(x, tf.float32)", "(call cast x tf.float32)"),
    ("K.epsilon()", "(call K.epsilon)"),
    ("np.pi * x", "(* np.pi x)"),
    ("(1, 2)", "(tuple 1 2)"),
    # keywords inside longer names are names
    ("index + iffy + ornament + notes + inner", "(+ (+ (+ (+ index iffy) ornament) notes) inner)"),
    # brackets continue over lines; comments are ignored
    ("abs(y -\n    p)", "(call abs (- y p))"),
    ("abs(y - p)  # a comment", "(call abs (- y p))"),
    ("\n\n  abs(y)\n\n", "(call abs y)"),
]


@pytest.mark.parametrize(("source", "expected"), EXPRESSIONS)
def test_expression_shapes(source, expected):
    assert sexp(parse_expression(source)) == expected


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("1", Fraction(1)),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("1.", Fraction(1)),
        ("1e-7", Fraction(1, 10**7)),
        ("2.5E+3", Fraction(2500)),
        ("0.1", Fraction(1, 10)),
    ],
)
def test_numbers_are_exact_fractions(source, value):
    number = parse_expression(source)
    assert isinstance(number, Number)
    assert number.value == value and isinstance(number.value, Fraction)
    assert number.text == source


def test_condition_start_symbol():
    condition = parse_condition("0 < p < 1 and y in {0, 1}")
    assert sexp(condition) == "(and (compare 0 < p < 1) (in y {0 1}))"
    assert sexp(parse_condition("sum(y) >= 1")) == "(compare (call sum y) >= 1)"


def test_parentheses_are_not_part_of_the_inner_span():
    expression = parse_expression("(a + b) * c")
    assert expression.left.span == Span(1, 2, 1, 7)
    assert expression.span == Span(1, 1, 1, 12)


# ---------------------------------------------------------------- statements


def test_constant():
    statement = only_statement("eps = 1e-7")
    assert isinstance(statement, Constant)
    assert statement.name == "eps" and statement.name_span == Span(1, 1, 1, 4)
    assert sexp(statement.value) == "1e-7"
    assert statement.span == Span(1, 1, 1, 11)
    assert statement.noqa is None


def test_constant_from_an_expression():
    statement = only_statement("log2 = log(2)")
    assert isinstance(statement, Constant) and sexp(statement.value) == "(call log 2)"


@pytest.mark.parametrize(
    ("source", "params", "wrt", "given", "body"),
    [
        ("mae(y, p) wrt p = mean(abs(y - p))", ["y", "p"], ["p"], None, "(call mean (call abs (- y p)))"),
        (
            "bce(y, p) wrt p given 0 < p < 1 and y in {0, 1} = -mean(y * log(p))",
            ["y", "p"],
            ["p"],
            "(and (compare 0 < p < 1) (in y {0 1}))",
            "(- (call mean (* y (call log p))))",
        ),
        ("layer(x, w, b) = relu(w * x + b)", ["x", "w", "b"], None, None, "(call relu (+ (* w x) b))"),
        ("fit(x, y, w, b) wrt w, b = mean(x)", ["x", "y", "w", "b"], ["w", "b"], None, "(call mean x)"),
        ("given_only(p) given p > 0 = log(p)", ["p"], None, "(compare p > 0)", "(call log p)"),
        ("trailing(a, b,) = a", ["a", "b"], None, None, "a"),
        ("nullary() = 1", [], None, None, "1"),
    ],
)
def test_definitions(source, params, wrt, given, body):
    statement = only_statement(source)
    assert isinstance(statement, Definition)
    assert [p.name for p in statement.params] == params
    assert (None if statement.wrt is None else [p.name for p in statement.wrt]) == wrt
    assert (None if statement.given is None else sexp(statement.given)) == given
    assert sexp(statement.body) == body
    assert statement.locals == ()


BLOCK = """\
f1_loss(y, p) wrt p given 0 <= p <= 1:
    tp = sum(p * y)
    # a comment line inside the block

    fp = sum(p * (1 - y))  # a trailing comment
    fn = sum((1 - p) *
             y)
    return 1 - 2 * tp / (2 * tp + fp + fn + eps)
"""


def test_block_definition():
    statement = only_statement(BLOCK)
    assert isinstance(statement, Definition)
    assert statement.name == "f1_loss"
    assert [p.name for p in statement.wrt] == ["p"]
    assert sexp(statement.given) == "(compare 0 <= p <= 1)"
    assert [local.name for local in statement.locals] == ["tp", "fp", "fn"]
    assert sexp(statement.locals[2].value) == "(call sum (* (- 1 p) y))"
    assert statement.locals[0].span == Span(2, 5, 2, 20)
    assert statement.locals[2].span == Span(6, 5, 7, 16)
    assert sexp(statement.body).startswith("(- 1 (/ (* 2 tp)")
    assert statement.span == Span(1, 1, 8, 49)


def test_block_with_tabs_and_crlf():
    statement = only_statement("f(x):\r\n\ta = x\r\n\treturn a\r\n")
    assert isinstance(statement, Definition) and sexp(statement.body) == "a"


def test_statements_in_file_order_with_blank_lines_and_comments():
    source = "# header\n\neps = 1e-7\n\n# helper\nf(x) = x + eps  # trailing\n" + BLOCK + "g(x) = f(x)\n"
    statements = parse_source(source, "some.loss").statements
    assert [type(s).__name__ for s in statements] == ["Constant", "Definition", "Definition", "Definition"]
    assert [s.name for s in statements] == ["eps", "f", "f1_loss", "g"]
    assert [s.span.line for s in statements] == [3, 6, 7, 15]


def test_source_file_keeps_path_and_text():
    source = parse_source("x = 1\n", "a/b.loss")
    assert source.path == "a/b.loss" and source.text == "x = 1\n"


@pytest.mark.parametrize("source", ["", "\n\n", "# only a comment", "# one\n   # two\n\n"])
def test_empty_files_have_no_statements(source):
    assert parse_source(source).statements == ()


# ---------------------------------------------------------------- noqa


@pytest.mark.parametrize(
    ("source", "codes"),
    [
        ("x = 1  # noqa", None),
        ("x = 1  # NOQA", None),
        ("x = 1  # noqa: K201", frozenset({"K201"})),
        ("x = 1  # noqa: k201, K301", frozenset({"K201", "K301"})),
        ("x = 1  # noqa:K201,K301 because reasons", frozenset({"K201", "K301"})),
        ("x = 1  # explained here  # noqa: K101", frozenset({"K101"})),
        ("f(x) = max(x,  # noqa: K201\n    0)", frozenset({"K201"})),
        ("f(x):  # noqa\n    return x", None),
    ],
)
def test_noqa(source, codes):
    statement = only_statement(source)
    assert statement.noqa is not None
    assert statement.noqa.codes == codes
    assert statement.noqa.span.line == 1


def test_noqa_span_and_absence():
    statement = only_statement("x = 1  # noqa: K201")
    assert statement.noqa.span == Span(1, 8, 1, 20)
    assert only_statement("x = 1  # noqa-like text is not noqa").noqa is None
    assert only_statement("x = 1  # no qa").noqa is None


def test_noqa_only_on_the_first_line():
    statement = only_statement("f(x) = max(x,\n    0)  # noqa")
    assert statement.noqa is None


def test_noqa_on_a_syntax_problem():
    problem = only_problem("x = 1 +  # noqa: K001")
    assert problem.noqa is not None and problem.noqa.codes == frozenset({"K001"})


# ---------------------------------------------------------------- spans


def test_spans_of_nodes():
    statement = only_statement("mae(y, p) wrt p = mean(abs(y - p))")
    assert statement.name_span == Span(1, 1, 1, 4)
    assert statement.params[1].span == Span(1, 8, 1, 9)
    assert statement.wrt[0].span == Span(1, 15, 1, 16)
    call = statement.body
    assert call.span == Span(1, 19, 1, 35)
    assert call.func_span == Span(1, 19, 1, 23)
    inner = call.args[0]
    assert inner.span == Span(1, 24, 1, 34)
    assert inner.args[0].span == Span(1, 28, 1, 33)


def test_spans_are_in_file_coordinates():
    source = "# one\n\nx = 1\n\ny = tf.reduce_mean(x, axis=-1) + abs(x)\n"
    statement = parse_source(source).statements[1]
    assert statement.span == Span(5, 1, 5, 40)
    call = statement.value.left
    assert call.func == "tf.reduce_mean" and call.func_span == Span(5, 5, 5, 19)
    keyword = call.keywords[0]
    assert keyword.name_span == Span(5, 23, 5, 27) and keyword.span == Span(5, 23, 5, 30)
    assert statement.value.right.span == Span(5, 34, 5, 40)


def test_span_of_a_multi_line_statement():
    source = "x = 1\nf(y, p) = mean(\n    abs(y - p),\n    axis=0)\nz = 2\n"
    statements = parse_source(source).statements
    definition = statements[1]
    assert definition.span == Span(2, 1, 4, 12)
    assert definition.body.args[0].span == Span(3, 5, 3, 15)
    assert definition.body.keywords[0].span == Span(4, 5, 4, 11)
    assert statements[2].span == Span(5, 1, 5, 6)


# ---------------------------------------------------------------- syntax errors


def test_unbalanced_bracket_does_not_swallow_the_next_statements():
    source = "a = 1\nunbalanced(x) = relu(x\nnext(x) = x^2\nlast = 3\n"
    statements = parse_source(source).statements
    assert [type(s).__name__ for s in statements] == ["Constant", "SyntaxProblem", "Definition", "Constant"]
    problem = statements[1]
    assert problem.message.startswith("unbalanced '('")
    assert problem.span == Span(2, 21, 2, 22)
    assert problem.statement_line == 2
    assert problem.name == "unbalanced"
    assert "')'" in problem.expected
    assert statements[2].name == "next" and statements[2].span.line == 3


def test_unbalanced_bracket_at_end_of_file():
    problem = only_problem("f(x) = max(x, (1 + 2)\n# trailing comment\n")
    assert problem.message.startswith("unbalanced '('") and problem.span == Span(1, 11, 1, 12)


def test_keyword_argument_on_a_column_one_continuation_line_is_not_a_new_statement():
    statement = only_statement("f(x) = huber(x,\ndelta=1)")
    assert isinstance(statement, Definition) and sexp(statement.body) == "(call huber x delta=1)"


ERRORS = [
    # source, message fragment, (line, column), an expected item
    ("x = 1 +", "expected an expression after '+'", (1, 8), "an expression"),
    ("f(x) = 2 * ", "expected an expression after '*'", (1, 11), "an expression"),
    ("eps 1e-7", "expected '=' or '(' after 'eps', found '1e-7'", (1, 5), "'='"),
    ("f(x) x^2", "found 'x'", (1, 6), "'='"),
    ("f(x) = $x", "unexpected character '$'", (1, 8), None),
    ("f(x) = x\x00", "unexpected character U+0000", (1, 9), None),
    ("f(x) = x\x07 + 1", "unexpected character U+0007", (1, 9), None),
    ("f(x) = [1, 2]", "a list (`[...]`) is not part of the language", (1, 8), None),
    ("x = 1)", "unmatched ')'", (1, 6), None),
    ("f(x, if) = 1", "found 'if'", (1, 6), "a name"),
    ("f(x) wrt = 1", "expected a name after 'wrt'", (1, 10), "a name"),
    ("f(x) = x if y", "expected 'else' after 'y'", (1, 14), "'else'"),
    ("x = 1 2", "found '2'", (1, 7), "an operator"),
    ("return 1", "'return' may only be the last line of a block definition", (1, 1), "a name"),
    ("f(x, given) = 1", "found 'given' (a keyword, which cannot be used as a name)", (1, 6), "a name"),
    ("f(x) = g(a=1, 2)", "positional argument cannot follow a keyword argument", (1, 15), None),
    ("f(x) = y in {}", "found '}'", (1, 14), "an expression"),
    ("x = 1\n    y = 2", "unexpected indentation", (2, 5), None),
    ("  x = 1", "unexpected indentation", (1, 3), None),
    ("f(x):\n    a = 1\n", "must end with a 'return <expression>' line", (2, 5), "'return'"),
    ("f(x):\n    a = 1\n    b = a", "must end with a 'return <expression>' line", (3, 5), "'return'"),
    ("f(x):\n    return x\n    b = 2", "nothing may follow the 'return' line", (3, 5), None),
    ("f(x):", "empty block", (1, 5), "an indented block"),
    ("f(x):\n# only a comment\n", "empty block", (1, 5), "an indented block"),
    ("f(x):\n    a = 1\n      return a", "inconsistent indentation", (3, 7), None),
    ("f(x):\n    a = 1\n\treturn a", "inconsistent indentation", (3, 2), None),
    ("f(x) wrt x\n    return x", "expected ',', '=', ':' or 'given' after 'x'", (1, 11), "':'"),
    ("f(x):\n    a = (1 +\n    return a", "found 'return'", (3, 5), "an expression"),
]


@pytest.mark.parametrize(("source", "fragment", "position", "expected_item"), ERRORS)
def test_syntax_errors(source, fragment, position, expected_item):
    problem = only_problem(source)
    assert fragment in problem.message
    assert (problem.span.line, problem.span.column) == position
    assert problem.span.end_column > problem.span.column or problem.span.end_line > problem.span.line
    if expected_item is not None:
        assert expected_item in problem.expected
    assert len(problem.expected) <= 8  # a short human list, not the grammar's terminals
    assert all(not item.isupper() for item in problem.expected)


def test_problem_records_statement_line_and_name():
    source = "ok = 1\n\nbroken(x) wrt x = relu(x +\n  )\n"
    problem = only_problem(source)
    assert problem.statement_line == 3
    assert problem.name == "broken"
    assert problem.span == Span(4, 3, 4, 4)
    assert "expected an expression after '+', found ')'" in problem.message


def test_one_bad_statement_does_not_hide_the_others():
    source = "a(x) = $\nb(x) = x\nc(x) = x +\nd(x) = x\n"
    kinds = [type(s).__name__ for s in parse_source(source).statements]
    assert kinds == ["SyntaxProblem", "Definition", "SyntaxProblem", "Definition"]


@pytest.mark.parametrize(
    "source",
    [
        "x = " + "(" * 10_000 + "1" + ")" * 10_000,
        "x = " + "(" * 10_000 + "1",
        "x = " + "f(" * 5_000 + "1" + ")" * 5_000,
        "x = " + "-" * 10_000 + "1",
        "x = " + "not " * 10_000 + "1",
        "x = " + " ^ ".join(["2"] * 10_000),
        "x = " + " + ".join(["1"] * 10_000),
        "x = " + " if c else ".join(["1"] * 5_000),
    ],
    ids=["brackets", "unclosed", "calls", "minus", "not", "power", "sum", "conditional"],
)
def test_deep_nesting_is_a_syntax_problem(source):
    problem, after = parse_source(source + "\nnext = 1\n").statements
    assert isinstance(problem, SyntaxProblem)
    assert isinstance(after, Constant) and after.name == "next"
    assert "too deeply" in problem.message or "unbalanced" in problem.message
    assert problem.name == "x"


def test_nesting_up_to_the_limit_parses():
    depth = MAX_NESTING - 10
    statement = only_statement("x = " + "(" * depth + "1" + ")" * depth)
    assert isinstance(statement, Constant)


# ---------------------------------------------------------------- the API


def test_api_syntax_error_names_line_column_and_expectation():
    with pytest.raises(LossSyntaxError) as caught:
        parse_expression("abs(y - )")
    problem = caught.value.problem
    assert isinstance(problem, SyntaxProblem)
    assert (problem.span.line, problem.span.column) == (1, 9)
    assert str(caught.value) == "line 1, column 9: expected an expression after '-', found ')'"


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("", "expected an expression"),
        ("abs(y", "unbalanced '('"),
        ("a = 1", "found '='"),
        ("x $ y", "unexpected character '$'"),
        ("(" * 1000 + "x" + ")" * 1000, "too deeply"),
        ("f(x) wrt x = 1", "found 'wrt'"),
    ],
)
def test_api_errors(source, fragment):
    with pytest.raises(LossSyntaxError, match="line 1, column") as caught:
        parse_expression(source)
    assert fragment in caught.value.problem.message


def test_api_condition_error():
    with pytest.raises(LossSyntaxError, match="expected an expression after 'and'"):
        parse_condition("0 < p < 1 and")


def test_api_error_on_a_later_line_is_in_text_coordinates():
    with pytest.raises(LossSyntaxError) as caught:
        parse_expression("\nabs(y -\n  $)")
    assert (caught.value.problem.span.line, caught.value.problem.span.column) == (3, 3)


# ---------------------------------------------------------------- the grammar and the shared cases


def test_grammar_file_start_symbol_parses_a_whole_file():
    tree = get_parser().parse(BLOCK + "\n# end\nx = 1\n", start="file")
    assert tree.data == "file" and len(tree.children) == 2


def case_files():
    return sorted(CASES.glob("*.loss")) if CASES.is_dir() else []


@pytest.mark.skipif(not case_files(), reason="shared acceptance cases not found")
@pytest.mark.parametrize("path", case_files(), ids=lambda path: path.name)
def test_shared_cases_parse(path):
    text = path.read_text(encoding="utf-8")
    statements = parse_source(text, str(path)).statements
    problems = [s for s in statements if isinstance(s, SyntaxProblem)]
    if path.name == "errors.loss":
        assert [(p.statement_line, p.name) for p in problems] == [(4, "unbalanced")]
        assert [s.name for s in statements if isinstance(s, Definition)][-1] == "still_fine"
    else:
        assert problems == []
    # the whole-file start symbol agrees with the statement-by-statement parse
    if not problems:
        tree = get_parser().parse(text + "\n", start="file")
        assert len(tree.children) == len(statements)


def test_grammar_is_read_from_the_first_place_that_has_it(monkeypatch, tmp_path):
    from analyzer.language import grammar

    packaged = tmp_path / "_grammar" / "loss.lark"
    packaged.parent.mkdir()
    packaged.write_text("// packaged copy\n", encoding="utf-8")
    monkeypatch.setattr(grammar, "_candidate_paths", lambda: [tmp_path / "missing.lark", packaged])
    grammar.grammar_text.cache_clear()
    try:
        assert grammar.grammar_text() == "// packaged copy\n"
    finally:
        grammar.grammar_text.cache_clear()


def test_missing_grammar_is_a_clear_error(monkeypatch, tmp_path):
    from analyzer.language import grammar

    monkeypatch.setattr(grammar, "_candidate_paths", lambda: [tmp_path / "missing.lark"])
    grammar.grammar_text.cache_clear()
    try:
        with pytest.raises(grammar.GrammarNotFoundError, match=r"cannot find the grammar file loss\.lark"):
            grammar.grammar_text()
    finally:
        grammar.grammar_text.cache_clear()
