"""Statements that must be rejected: each with a code, a span, a message that says what was expected,
and without stopping the rest of the file."""

from __future__ import annotations

import pytest

from analyzer import analyze, analyze_text

CASES = [
    # (text of the bad statement, code, (line, column) of the span, words the message must contain)
    ("typo(x) = mean(asb(x))", "E002", (1, 16), ("asb", "did you mean `abs`")),
    ("undefined(x) = x + yy", "E002", (1, 20), ("undefined name `yy`",)),
    ("unbalanced(x) = relu(x", "E001", (1, 21), ("unbalanced",)),
    ("bad_keyword(x) = leaky_relu(x, slope=0.1)", "E003", (1, 32), ("slope", "alpha")),
    ("too_many(x) = relu(x, x)", "E003", (1, 15), ("at most 1",)),
    ("missing(x) = clip(x, 0)", "E003", (1, 14), ("hi",)),
    ("recursive(x) = recursive(x) + 1", "E004", (1, 16), ("recursion",)),
    ("twice(x, x) = x", "E005", (1, 10), ("repeated",)),
    ("bad_wrt(x) wrt y = x", "E005", (1, 16), ("names no parameter",)),
    ("tuple_value(x) = x + (1, 2)", "E003", (1, 22), ("axis",)),
    ("variable_constant = x + 1", "E002", (1, 21), ("undefined name `x`",)),
    ("called_variable(x) = x(1)", "E003", (1, 22), ("not a function",)),
    ("bad_dtype(x) = cast(x, tf.complex64)", "E003", (1, 24), ("dtype",)),
]


@pytest.mark.parametrize(
    "text,code,position,words", CASES, ids=[c[0].split("(")[0].split(" ")[0] for c in CASES]
)
def test_bad_statement_is_reported_and_the_rest_is_analyzed(text, code, position, words):
    source = f"{text}\nfine(x) = x^2 + 1\n"
    reports = analyze_text(source, "bad.loss")
    bad, fine = reports[0], reports[-1]
    assert bad.classification == "invalid"
    (finding,) = bad.findings
    assert finding.kind == "error" and finding.code == code, finding
    assert (finding.span.line, finding.span.column) == position, finding
    for word in words:
        assert word in finding.message, finding.message
    assert fine.name == "fine" and fine.classification == "smooth"


def test_a_later_definition_is_named_with_its_line():
    reports = analyze_text("later(x) = below(x)\nbelow(x) = x^2\n", "order.loss")
    (finding,) = reports[0].findings
    assert finding.code == "E004" and "line 2" in finding.message
    assert reports[1].classification == "smooth"


def test_a_call_to_a_broken_definition_says_so():
    reports = analyze_text("broken(x) = asb(x)\ncaller(x) = broken(x)\n", "chain.loss")
    assert reports[1].classification == "invalid"
    assert "broken" in reports[1].findings[0].message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "eps = 1e-7\n"])
def test_files_without_definitions_give_no_records(text):
    assert analyze_text(text, "empty.loss") == []


def test_a_syntax_error_names_what_was_expected():
    reports = analyze_text("f(x) = x +\ng(x) = x\n", "expect.loss")
    (finding,) = reports[0].findings
    assert finding.code == "E001" and "expected" in finding.message
    assert reports[0].line == 1 and reports[1].classification == "smooth"


def test_the_api_raises_on_an_expression_that_does_not_parse():
    from analyzer import KinksSyntaxError

    with pytest.raises(KinksSyntaxError) as caught:
        analyze("abs(y - ")
    assert caught.value.code == "E001" and caught.value.line == 1


def test_a_duplicate_definition_is_an_error():
    reports = analyze_text("f(x) = x\nf(x) = x^2\n", "dup.loss")
    assert reports[0].classification == "smooth"
    assert reports[1].classification == "invalid" and "already defined" in reports[1].findings[0].message
