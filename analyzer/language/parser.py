"""Parse the loss language (LANGUAGE.md sections 1 and 2) into the syntax tree of `syntax.py`.

A file is first cut into statements with plain text rules (logical lines joined while a bracket is
open, a block header with its indented lines), and each statement is parsed on its own with the
`statement` start symbol of grammar/loss.lark. One bad statement therefore becomes one
`SyntaxProblem` and the statements around it are still parsed. Nothing here raises on bad input:
`parse_source` reports problems as statements, `parse_expression` and `parse_condition` raise
`LossSyntaxError`, which carries a `SyntaxProblem`.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction

from lark import Token, Transformer_NonRecursive, Tree, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.lexer import PatternStr

from analyzer.language.grammar import get_parser
from analyzer.language.syntax import (
    Binary,
    Boolean,
    BoolOp,
    Call,
    Compare,
    Conditional,
    Constant,
    Definition,
    EllipsisIndex,
    Expr,
    Index,
    Keyword,
    Local,
    Membership,
    Name,
    Noqa,
    Not,
    Number,
    Param,
    Slice,
    SourceFile,
    Span,
    Statement,
    SyntaxProblem,
    TupleExpr,
    Unary,
)

__all__ = [
    "INTERNAL_ERROR",
    "MAX_NESTING",
    "LossSyntaxError",
    "parse_condition",
    "parse_expression",
    "parse_source",
]

# Deeper brackets or expression trees are rejected: later passes walk the tree recursively, and
# no real loss comes near this.
MAX_NESTING = 200

# A SyntaxProblem whose message starts with this is a bug in kinks, not in the input (E999).
INTERNAL_ERROR = "internal error"

KEYWORDS = frozenset({"wrt", "given", "if", "else", "and", "or", "not", "in", "return", "true", "false"})


class LossSyntaxError(ValueError):
    """An expression or condition given to the API does not parse; `problem` says where and why."""

    def __init__(self, problem: SyntaxProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem

    def __str__(self) -> str:
        return f"line {self.problem.span.line}, column {self.problem.span.column}: {self.problem.message}"


# ================================================================ public functions


def parse_source(text: str, path: str = "<string>") -> SourceFile:
    """Parse a whole `.loss` file; statements in file order, syntax errors as `SyntaxProblem`s."""
    lines = [_PhysicalLine.read(number, line) for number, line in enumerate(text.split("\n"), start=1)]
    statements = tuple(_parse_statement(chunk, lines) for chunk in _split_statements(lines))
    return SourceFile(path=path, text=text, statements=statements)


def parse_expression(text: str) -> Expr:
    """Parse a lone expression such as `abs(y - p)`; raises `LossSyntaxError`."""
    return _parse_alone(text, "expression")


def parse_condition(text: str) -> Expr:
    """Parse a `given` condition alone, such as `0 < p < 1 and y in {0, 1}`; raises `LossSyntaxError`."""
    return _parse_alone(text, "condition")


# ================================================================ cutting a file into statements


_OPENING = {"(": ")", "[": "]", "{": "}"}
_CLOSING = frozenset(_OPENING.values())

# A line that starts a statement: `name =` or `name(...) ... =` / `wrt` / `given` / `:`.
# Used only to stop an unclosed bracket from swallowing the statements after it.
_STATEMENT_START = re.compile(r"[^\W\d][\w.]*\s*(?:=(?!=)|\(.*\)\s*(?:wrt\b|given\b|=(?!=)|:))")
_NAME_AT_START = re.compile(r"[ \t]*([^\W\d]\w*(?:\.[^\W\d]\w*)*)[ \t]*[(=]")
_NOQA = re.compile(
    r"#\s*noqa(?![\w-])(?::\s*(?P<codes>[a-z]+[0-9]+(?:[\s,]+[a-z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_NOQA_CODE = re.compile(r"[a-z]+[0-9]+", re.IGNORECASE)
_INDENTATION = re.compile(r"[ \t\f]*")


@dataclass(frozen=True, slots=True)
class _Bracket:
    char: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class _PhysicalLine:
    number: int  # 1-based
    text: str  # without its "\n"
    code: str  # the text before the comment
    indentation: str

    @staticmethod
    def read(number: int, text: str) -> _PhysicalLine:
        # No strings in the language, so the first `#` always starts the comment.
        code = text.split("#", 1)[0]
        indentation = _INDENTATION.match(text).group()  # type: ignore[union-attr]
        return _PhysicalLine(number, text, code, indentation)

    @property
    def is_blank(self) -> bool:
        """Empty or only a comment."""
        return not self.code.strip()

    @property
    def comment(self) -> str:
        return self.text[len(self.code) :]


@dataclass(frozen=True, slots=True)
class _LogicalLine:
    """Physical lines `first..last` (indices into the file's lines) joined by open brackets."""

    first: int
    last: int
    unclosed: tuple[_Bracket, ...]  # brackets still open where it ends
    too_deep: _Bracket | None  # the first bracket beyond MAX_NESTING


@dataclass(slots=True)
class _Chunk:
    """One statement: a logical line at column 1 and the indented logical lines after it."""

    logical_lines: list[_LogicalLine]

    @property
    def head(self) -> _LogicalLine:
        return self.logical_lines[0]

    @property
    def body(self) -> list[_LogicalLine]:
        return self.logical_lines[1:]


class _BracketScanner:
    """Follows the brackets of one logical line, physical line by physical line."""

    def __init__(self) -> None:
        self.stack: list[_Bracket] = []
        self.too_deep: _Bracket | None = None

    def feed(self, line: _PhysicalLine) -> None:
        for index, char in enumerate(line.code):
            if char in _OPENING:
                bracket = _Bracket(char, line.number, index + 1)
                self.stack.append(bracket)
                if len(self.stack) > MAX_NESTING and self.too_deep is None:
                    self.too_deep = bracket
            elif char in _CLOSING and self.stack:
                self.stack.pop()


def _closes_an_outer_bracket(line: _PhysicalLine) -> bool:
    depth = 0
    for char in line.code:
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth -= 1
            if depth < 0:
                return True
    return False


def _starts_new_statement(line: _PhysicalLine) -> bool:
    """Whether a line met inside open brackets is rather the next statement (see module doc)."""
    return (
        not line.indentation
        and _STATEMENT_START.match(line.code) is not None
        and not _closes_an_outer_bracket(line)
    )


def _logical_lines(lines: list[_PhysicalLine]) -> Iterator[_LogicalLine]:
    index = 0
    while index < len(lines):
        if lines[index].is_blank:
            index += 1
            continue
        first = index
        scanner = _BracketScanner()
        scanner.feed(lines[index])
        index += 1
        while scanner.stack and index < len(lines) and not _starts_new_statement(lines[index]):
            scanner.feed(lines[index])
            index += 1
        last = index - 1
        while lines[last].is_blank:  # trailing comments inside an unclosed bracket
            last -= 1
        yield _LogicalLine(first, last, tuple(scanner.stack), scanner.too_deep)


def _split_statements(lines: list[_PhysicalLine]) -> list[_Chunk]:
    chunks: list[_Chunk] = []
    for logical in _logical_lines(lines):
        if lines[logical.first].indentation and chunks:
            chunks[-1].logical_lines.append(logical)  # a block body, or stray indented lines
        else:
            chunks.append(_Chunk([logical]))
    return chunks


# ================================================================ parsing one statement


class _Problem(Exception):
    """Raised inside the parser to become a `SyntaxProblem`; lines already in file coordinates."""

    def __init__(self, message: str, span: Span, expected: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.expected = tuple(expected)


def _parse_statement(chunk: _Chunk, lines: list[_PhysicalLine]) -> Statement:
    first = lines[chunk.head.first]
    noqa = _read_noqa(first)
    try:
        _check_constructs(chunk, lines)
        _check_layout(chunk, lines)
        text = "\n".join(line.text for line in lines[chunk.head.first : chunk.logical_lines[-1].last + 1])
        statement = _parse_text(text + "\n", "statement", first.number - 1, _ErrorContext(chunk, lines))
    except _Problem as problem:
        return SyntaxProblem(
            message=problem.message,
            span=problem.span,
            expected=problem.expected,
            statement_line=first.number,
            name=_name_at_start(first.code),
            noqa=noqa,
        )
    except Exception as error:  # noqa: BLE001 - a bug here must cost only this statement
        return SyntaxProblem(
            message=f"{INTERNAL_ERROR} while parsing ({type(error).__name__}: {str(error)[:200]})",
            span=Span.point(first.number, 1),
            statement_line=first.number,
            name=_name_at_start(first.code),
            noqa=noqa,
        )
    return dataclasses.replace(statement, noqa=noqa) if noqa else statement


def _check_layout(chunk: _Chunk, lines: list[_PhysicalLine]) -> None:
    """The errors the text rules find better than the grammar: nesting, indentation, empty blocks."""
    for logical in chunk.logical_lines:
        if logical.too_deep:
            bracket = logical.too_deep
            raise _Problem(
                f"brackets nested too deeply (more than {MAX_NESTING} levels)",
                Span.point(bracket.line, bracket.column),
            )
    first = lines[chunk.head.first]
    if first.indentation:
        raise _Problem("unexpected indentation", _indentation_span(first))
    header_end = lines[chunk.head.last].code.rstrip()
    if not header_end.endswith(":") or chunk.head.unclosed:
        return  # not a block; stray indented lines are reported by the grammar
    if not chunk.body:
        colon = lines[chunk.head.last]
        raise _Problem(
            "empty block: a block definition needs indented lines ending with 'return <expression>'",
            Span.point(colon.number, len(header_end)),
            ("an indented block",),
        )
    expected_indentation = lines[chunk.body[0].first].indentation
    for logical in chunk.body[1:]:
        line = lines[logical.first]
        if line.indentation != expected_indentation:
            raise _Problem(
                f"inconsistent indentation: this block's lines are indented by "
                f"{_describe_indentation(expected_indentation)}, this one by "
                f"{_describe_indentation(line.indentation)}",
                _indentation_span(line),
            )


# Python constructs the language does not have (LANGUAGE.md §1-2), recognised on each line before the
# grammar sees them, so the error names the construct and what to write instead.
_CONSTRUCTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^\s*(def)\s+[^\W\d]\w*\s*\("),
        (
            "a Python `def` is not part of the language: write `name(params) = expression`, or a block "
            "`name(params):` with indented `local = ...` lines and `return expression`"
        ),
    ),
    (
        re.compile(r"^\s*(for|while)\b"),
        (
            "a loop is not part of the language: reduce over an axis instead "
            "(sum(x, axis=k), mean(x), max(x)), since arithmetic broadcasts over whole tensors"
        ),
    ),
    (
        re.compile(r"\b(for)\s+[^\W\d]\w*(?:\s*,\s*[^\W\d]\w*)*\s+in\b"),
        (
            "a comprehension (`... for x in ...`) is not part of the language: write the expression on whole "
            "tensors and reduce over an axis (sum(x, axis=k))"
        ),
    ),
    (
        re.compile(r"\b(lambda)(?:\s+[^\W\d]\w*(?:\s*,\s*[^\W\d]\w*)*)?\s*:(?!\s*$)"),
        "a lambda is not part of the language: write a definition `f(x) = ...` above and call it",
    ),
    (
        re.compile(r"^\s*[^\W\d][\w.]*\s*(\[)[^\]]*\]\s*=(?!=)"),
        (
            "an assignment to an index (`x[i] = ...`) is not part of the language: build the value with "
            "where(...), e.g. where(range_like(x) == i, value, x)"
        ),
    ),
    (
        re.compile(r"^\s*[^\W\d][\w.]*\s*(\+=|-=|\*=|/=|\*\*=)"),
        "an augmented assignment is not part of the language: write `x = x + ...`",
    ),
    (
        re.compile(r"^\s*(if)\b.*:\s*$"),
        (
            "an `if` statement is not part of the language: "
            "write `a if condition else b` or where(condition, a, b)"
        ),
    ),
    (
        re.compile(r"^\s*(import|from)\s+[\w.]+"),
        (
            "an import is not part of the language: "
            "library prefixes (tf., np., F., K., ...) are accepted without one"
        ),
    ),
    (
        re.compile(r"^\s*[^\W\d][\w.]*(?:\s*,\s*[^\W\d][\w.]*)+\s*(=)(?!=)"),
        "unpacking (`a, b = ...`) is not part of the language: give each value its own line",
    ),
)


def _check_constructs(chunk: _Chunk, lines: list[_PhysicalLine]) -> None:
    for logical in chunk.logical_lines:
        for line in lines[logical.first : logical.last + 1]:
            for pattern, message in _CONSTRUCTS:
                match = pattern.search(line.code)
                if match is not None:
                    start = match.start(1) + 1
                    raise _Problem(message, Span(line.number, start, line.number, match.end(1) + 1))


def _indentation_span(line: _PhysicalLine) -> Span:
    column = len(line.indentation) + 1
    return Span(line.number, column, line.number, len(line.code.rstrip()) + 1)


def _describe_indentation(indentation: str) -> str:
    tabs = indentation.count("\t")
    spaces = len(indentation) - tabs
    parts = [f"{spaces} space{'s' if spaces != 1 else ''}"] if spaces or not tabs else []
    if tabs:
        parts.append(f"{tabs} tab{'s' if tabs != 1 else ''}")
    return " and ".join(parts)


def _read_noqa(line: _PhysicalLine) -> Noqa | None:
    comment = line.comment
    match = _NOQA.search(comment)
    if match is None:
        return None
    codes = None
    if match.group("codes"):
        codes = frozenset(code.upper() for code in _NOQA_CODE.findall(match.group("codes")))
    column = len(line.code) + match.start() + 1
    return Noqa(codes, Span(line.number, column, line.number, column + len(match.group())))


def _name_at_start(code: str) -> str | None:
    match = _NAME_AT_START.match(code)
    if match is None or match.group(1) in KEYWORDS:
        return None
    return match.group(1)


# ================================================================ expressions for the API


def _parse_alone(text: str, start: str) -> Expr:
    lines = text.split("\n")
    leading_blank = 0
    while leading_blank < len(lines) - 1 and not lines[leading_blank].strip():
        leading_blank += 1
    physical = [_PhysicalLine.read(number, line) for number, line in enumerate(lines, start=1)]
    scanner = _BracketScanner()
    for line in physical:
        scanner.feed(line)
    source = "\n".join(lines[leading_blank:]).rstrip() + "\n"
    try:
        if scanner.too_deep:
            raise _Problem(
                f"brackets nested too deeply (more than {MAX_NESTING} levels)",
                Span.point(scanner.too_deep.line, scanner.too_deep.column),
            )
        return _parse_text(source, start, leading_blank, _ErrorContext(unclosed=tuple(scanner.stack)))
    except _Problem as problem:
        raise LossSyntaxError(
            SyntaxProblem(problem.message, problem.span, problem.expected, statement_line=leading_blank + 1)
        ) from None


# ================================================================ Lark, and its errors in plain words


@dataclass(frozen=True, slots=True)
class _ErrorContext:
    """What the text rules know about a statement, to explain a grammar error in its terms."""

    chunk: _Chunk | None = None
    lines: list[_PhysicalLine] | None = None
    unclosed: tuple[_Bracket, ...] = ()

    @property
    def open_brackets(self) -> tuple[_Bracket, ...]:
        if self.chunk is not None:
            return self.chunk.logical_lines[-1].unclosed
        return self.unclosed

    def missing_return_line(self) -> _PhysicalLine | None:
        """The last line of a block that does not end with `return`, if that is the case."""
        if self.chunk is None or self.lines is None or not self.chunk.body:
            return None
        last = self.lines[self.chunk.body[-1].first]
        if re.match(r"return\b", last.code.strip()):
            return None
        return last


def _parse_text(text: str, start: str, line_offset: int, context: _ErrorContext):
    """Parse `text` (whose line 1 is file line `line_offset + 1`) from the start symbol `start`."""
    _check_length(text, line_offset)
    try:
        tree = get_parser().parse(text, start=start)
        _check_depth(tree, line_offset)
        return _ToSyntax(line_offset).transform(tree)
    except _Problem:
        raise
    except VisitError as error:
        if isinstance(error.orig_exc, _Problem):
            raise error.orig_exc from None
        raise
    except UnexpectedInput as error:
        raise _explain(error, text, line_offset, context) from None
    except LarkError as error:  # the Indenter's inconsistent dedent, among others
        raise _Problem(str(error), Span.point(line_offset + 1, 1)) from None
    except RecursionError:
        raise _Problem(
            f"statement nested too deeply to parse (the limit is {MAX_NESTING} levels)",
            Span.point(line_offset + 1, 1),
        ) from None


# A statement is parsed into a tree of about one node per token, a few hundred bytes each: a 1 MB
# line would take hundreds of MB before any other limit is reached. No real loss comes near this.
MAX_TOKENS = 100_000
# names and numbers, and the punctuation of the grammar; any other character is left to the parser,
# which reports the first one as unexpected
_ROUGH_TOKEN = re.compile(r"[\w.]+|[-+*/%^<>=!(),{}:]")


def _check_length(text: str, line_offset: int) -> None:
    if len(text) <= MAX_TOKENS:
        return  # fewer characters than the limit: fewer tokens too
    for count, _ in enumerate(_ROUGH_TOKEN.finditer(text), start=1):
        if count > MAX_TOKENS:
            raise _Problem(
                f"statement too long (more than {MAX_TOKENS:,} names, numbers and operators); "
                "split it with local names in a block definition",
                Span.point(line_offset + 1, 1),
            )


# Rules that become expression nodes; only these count towards the nesting depth.
_EXPRESSION_RULES = frozenset(
    {
        "conditional",
        "or_",
        "and_",
        "not_",
        "compare",
        "membership",
        "binary",
        "unary",
        "call",
        "method_call",
        "subscript",
        "keyword",
        "tuple_",
        "number",
        "name",
        "true",
        "false",
    }
)


def _check_depth(tree: Tree, line_offset: int) -> None:
    pending = [(tree, 0)]
    while pending:
        node, depth = pending.pop()
        if node.data in _EXPRESSION_RULES:
            depth += 1
            if depth > MAX_NESTING:
                raise _Problem(
                    f"expression nested too deeply (more than {MAX_NESTING} levels of operators "
                    "and calls); split it with local names in a block definition",
                    _span(node.meta, line_offset),
                )
        pending.extend((child, depth) for child in node.children if isinstance(child, Tree))


_END_TOKENS = frozenset({"_NL", "$END", "_DEDENT"})
_EXPRESSION_STARTS = frozenset({"NAME", "NUMBER", "LPAR", "TRUE", "FALSE", "NOT", "MINUS", "PLUS"})
_OPERATORS = frozenset(
    {"+", "-", "*", "/", "%", "^", "**", "<", "<=", ">", ">=", "==", "!=", "in", "and", "or", "if"}
)
_NAMED_TERMINALS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "_NL": "the end of the line",
    "$END": "the end of the line",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of the block",
}
# How expected items are listed: punctuation first, as it is usually the fix.
_EXPECTED_ORDER = [")", "}", ",", "=", ":", "(", "wrt", "given", "else", "return"]
_GENERAL_ORDER = [
    "an operator",
    "an expression",
    "a name",
    "a number",
    "an indented block",
    "the end of the block",
    "the end of the line",
]


def _terminal_text(name: str) -> str | None:
    """The literal text of a terminal such as RPAR (`)`), or None for a pattern like NAME."""
    for terminal in get_parser().terminals:
        if terminal.name == name and isinstance(terminal.pattern, PatternStr):
            return terminal.pattern.value
    return None


def _describe_expected(terminal_names: Iterable[str]) -> tuple[str, ...]:
    names = set(terminal_names)
    described: set[str] = set()
    if {"NAME", "NUMBER"} <= names:
        names -= _EXPRESSION_STARTS
        described.add("an expression")
    literals = {name: _terminal_text(name) for name in names}
    operators = {name for name, text in literals.items() if text in _OPERATORS}
    if len(operators) >= 3:
        names -= operators
        described.add("an operator")
    for name in names:
        text = literals.get(name)
        described.add(f"'{text}'" if text is not None else _NAMED_TERMINALS.get(name, name))

    def rank(item: str) -> tuple[int, str]:
        if item in _GENERAL_ORDER:
            return (100 + _GENERAL_ORDER.index(item), item)
        bare = item.strip("'")
        return (_EXPECTED_ORDER.index(bare) if bare in _EXPECTED_ORDER else 50, item)

    return tuple(sorted(described, key=rank))


def _join_or(items: tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _describe_token(token: Token) -> str:
    if token.type in _NAMED_TERMINALS and token.type not in ("NAME", "NUMBER"):
        return _NAMED_TERMINALS[token.type]
    return f"'{token.value}'"


def _describe_char(char: str) -> str:
    category = unicodedata.category(char) if char else "Cn"
    if char.isprintable() and not char.isspace() and category[0] not in "MC" and category != "Zs":
        return f"'{char}'"
    if category[0] == "M":
        # a combining mark shows only on the character before it
        return f"U+{ord(char):04X} ({unicodedata.name(char, 'a combining mark')}, a combining mark)"
    if category == "Cf":
        # zero-width spaces and direction overrides are invisible, and can make code read differently
        return f"U+{ord(char):04X} ({unicodedata.name(char, 'an invisible formatting character')}, invisible)"
    return f"U+{ord(char):04X} (a control or space character)"


# Numbers are read exactly (as fractions). A literal beyond float64's range would be infinite or 0 in
# any real computation, and a huge exponent or digit count makes exact arithmetic itself hang, so
# such literals are errors. Zero written with a huge exponent is still zero.
MAX_NUMBER_DIGITS = 1000
_FLOAT64_MAX_EXPONENT = 308  # about 1.8e308
_FLOAT64_MIN_EXPONENT = -323  # the smallest subnormal is about 4.9e-324
_NUMBER_PARTS = re.compile(r"(\d*)\.?(\d*)(?:[eE]([-+]?\d+))?")


def _check_number(text: str, span: Span) -> bool:
    """Raise a problem for a literal out of float64's range; True when the literal is zero."""
    match = _NUMBER_PARTS.fullmatch(text)
    if match is None:  # the grammar's NUMBER only; kept total for safety
        raise _Problem(f"cannot read the number {_shortened(text)}", span)
    whole, fraction, exponent = match.group(1), match.group(2), match.group(3) or "0"
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return True  # zero, whatever its exponent
    if len(digits.rstrip("0")) > MAX_NUMBER_DIGITS:
        raise _Problem(
            f"the number {_shortened(text)} has more than {MAX_NUMBER_DIGITS:,} significant digits", span
        )
    if len(exponent.lstrip("+-0")) > 6:
        power = 10**7 if not exponent.startswith("-") else -(10**7)
    else:
        power = int(exponent)
    # the power of ten of the leading digit
    leading = (
        len(whole.lstrip("0")) - 1 if whole.lstrip("0") else -(len(fraction) - len(fraction.lstrip("0")) + 1)
    )
    magnitude = leading + power
    too_large = magnitude > _FLOAT64_MAX_EXPONENT or (
        magnitude == _FLOAT64_MAX_EXPONENT and float(text) == float("inf")
    )
    if too_large:
        raise _Problem(
            f"the number {_shortened(text)} is too large for float64 (the largest is about 1.8e308); "
            "write inf for an infinite value",
            span,
        )
    if magnitude < _FLOAT64_MIN_EXPONENT:
        raise _Problem(
            f"the number {_shortened(text)} is too small for float64: it would be 0; write 0", span
        )
    return False


def _shortened(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:20]}…{text[-8:]} ({len(text):,} characters)"


def _previous_token(text: str, position: int) -> Token | None:
    """The last real token ending at or before `position` (newlines and indentation skipped)."""
    previous = None
    try:
        for token in get_parser().lex(text):
            if token.start_pos is None or token.start_pos >= position:
                break
            if token.type not in ("_NL", "_INDENT", "_DEDENT"):
                previous = token
    except LarkError:
        pass  # text after the error may not even lex; what came before is enough
    return previous


def _acceptable_terminals(error: UnexpectedToken) -> set[str]:
    """What could come next. LALR's own `expected` may list tokens of other contexts that share
    the parser state; trying each token on a copy of the parser gives the exact set."""
    try:
        return set(error.interactive_parser.accepts())
    except (AttributeError, LarkError):  # no interactive parser: LALR's own set will do
        return set(error.expected)


def _bracket_depth(text: str) -> int:
    """How many brackets are open at the end of `text` (comments skipped)."""
    scanner = _BracketScanner()
    for number, line in enumerate(text.split("\n"), start=1):
        scanner.feed(_PhysicalLine.read(number, line))
    return len(scanner.stack)


def _explain(error: UnexpectedInput, text: str, line_offset: int, context: _ErrorContext) -> _Problem:
    if isinstance(error, UnexpectedCharacters):
        char = text[error.pos_in_stream] if error.pos_in_stream < len(text) else ""
        span = Span.point(error.line + line_offset, error.column)
        return _Problem(f"unexpected character {_describe_char(char)}", span)

    if isinstance(error, UnexpectedToken):
        token, expected_names = error.token, _acceptable_terminals(error)
    elif isinstance(error, UnexpectedEOF):
        token, expected_names = Token("$END", ""), set(error.expected)
    else:
        return _Problem(str(error), Span.point(line_offset + 1, 1))

    expected = _describe_expected(expected_names)
    at_end = token.type in _END_TOKENS
    position = len(text) if token.type == "$END" or token.start_pos is None else token.start_pos
    previous = _previous_token(text, position)

    if at_end and context.open_brackets:
        bracket = context.open_brackets[-1]
        # After a name the grammar could also take `(` or `=`; the useful hint is the closer.
        hints = tuple(item for item in expected if item not in ("'('", "'='"))
        return _Problem(
            f"unbalanced '{bracket.char}': it is not closed before the end of the statement",
            Span.point(bracket.line, bracket.column),  # already in file coordinates
            hints,
        )
    missing_return = context.missing_return_line()
    if at_end and token.type != "_NL" and missing_return is not None:
        return _Problem(
            "a block definition must end with a 'return <expression>' line",
            _indentation_span(missing_return),
            ("'return'",),
        )

    if at_end:
        if previous is not None:
            span = Span.point(previous.end_line + line_offset, previous.end_column)
        else:
            span = Span.point(line_offset + 1, 1)
    else:
        span = Span(
            token.line + line_offset,
            token.column,
            token.end_line + line_offset,
            max(token.end_column, token.column + 1),
        )

    found = _describe_token(token)
    after = f" after '{previous.value}'" if previous is not None else ""
    if token.type == "LSQB" and "an expression" in expected:
        return _Problem(
            "a list (`[...]`) is not part of the language: a variable is already a tensor; write the "
            "values as separate arguments or parameters",
            span,
            (),
        )
    if token.type == "_INDENT":
        message, expected = "unexpected indentation", ()
    elif token.type == "RETURN" and expected == ("a name",):  # at the start of a statement
        message = "'return' may only be the last line of a block definition"
    elif expected_names == {"_DEDENT"}:
        message = f"nothing may follow the 'return' line of a block, found {found}"
    elif token.type in ("RPAR", "RBRACE") and _bracket_depth(text[:position]) == 0:
        message = f"unmatched '{token.value}'"
    elif not expected:
        message = f"unexpected {found}{after}"
    elif at_end:
        message = f"expected {_join_or(expected)}{after}"
    else:
        message = f"expected {_join_or(expected)}{after}, found {found}"
        if token.value in KEYWORDS and "a name" in expected:
            message += " (a keyword, which cannot be used as a name)"
    return _Problem(message, span, expected)


# ================================================================ the tree transformer

# The roots of library spellings (`tf.math.log`, `F.mse_loss`, `K.epsilon`): a dotted callee whose
# first part is one of these is a function; any other (`inputs.sigmoid()`, `mask.sum()`) is a method
# called on the name before the last dot.
LIBRARY_ROOTS = frozenset(
    {
        "tf",
        "np",
        "jnp",
        "jax",
        "K",
        "F",
        "keras",
        "ops",
        "torch",
        "nn",
        "numpy",
        "lax",
        "math",
        "tfa",
        "optax",
        "scipy",
        "backend",
        "functional",
        "special",
    }
)


def _split_method(name: str, span: Span) -> tuple[Expr | None, str]:
    if "." not in name or name.split(".", 1)[0] in LIBRARY_ROOTS:
        return None, name
    receiver, method = name.rsplit(".", 1)
    receiver_span = Span(span.line, span.column, span.line, span.column + len(receiver))
    return Name(receiver, receiver_span), method


def _last_part_span(name: str, span: Span) -> Span:
    start = span.column + name.rindex(".") + 1
    return Span(span.line, start, span.end_line, span.end_column)


def _span(meta, line_offset: int) -> Span:
    return Span(meta.line + line_offset, meta.column, meta.end_line + line_offset, meta.end_column)


def _joined(start: Span, end: Span) -> Span:
    return Span(start.line, start.column, end.end_line, end.end_column)


@dataclass(frozen=True, slots=True)
class _Header:
    name: str
    name_span: Span
    params: tuple[Param, ...]
    wrt: tuple[Param, ...] | None
    given: Expr | None


@dataclass(frozen=True, slots=True)
class _ParameterList:
    params: tuple[Param, ...]


@dataclass(frozen=True, slots=True)
class _WrtClause:
    params: tuple[Param, ...]


@dataclass(frozen=True, slots=True)
class _GivenClause:
    condition: Expr


@dataclass(frozen=True, slots=True)
class _ArgumentList:
    items: tuple[Expr | Keyword, ...]


@v_args(meta=True)
class _ToSyntax(Transformer_NonRecursive):
    """Lark tree -> syntax.py nodes. Non-recursive, so deep trees cannot overflow the stack."""

    def __init__(self, line_offset: int) -> None:
        super().__init__()
        self._line_offset = line_offset

    def __default__(self, data, children, meta):
        raise NotImplementedError(f"the parser has no rule for the grammar's {data!r}")

    def _meta_span(self, meta) -> Span:
        return _span(meta, self._line_offset)

    def _token_span(self, token: Token) -> Span:
        return _span(token, self._line_offset)

    def _params(self, tokens: Iterable[Token]) -> tuple[Param, ...]:
        return tuple(Param(str(token), self._token_span(token)) for token in tokens)

    # ------------------------------------------------------------ start symbols

    def file(self, meta, children):
        return tuple(children)

    def expression(self, meta, children):
        return children[0]

    def condition(self, meta, children):
        return children[0]

    # ------------------------------------------------------------ statements

    def constant(self, meta, children):
        name, value = children
        return Constant(str(name), self._token_span(name), value, self._meta_span(meta))

    def definition(self, meta, children):
        header, body = children
        return self._definition(header, (), body, self._meta_span(meta))

    def block_definition(self, meta, children):
        header, *locals_, body = children
        # The rule's own span would run on to the newline; the statement ends with `return`'s value.
        span = _joined(header.name_span, body.span)
        return self._definition(header, tuple(locals_), body, span)

    def _definition(self, header: _Header, locals_, body: Expr, span: Span) -> Definition:
        return Definition(
            name=header.name,
            name_span=header.name_span,
            params=header.params,
            wrt=header.wrt,
            given=header.given,
            locals=locals_,
            body=body,
            span=span,
        )

    def local(self, meta, children):
        name, value = children
        name_span = self._token_span(name)
        return Local(str(name), name_span, value, _joined(name_span, value.span))

    def return_line(self, meta, children):
        return children[0]

    def header(self, meta, children):
        name, *clauses = children
        params: tuple[Param, ...] = ()
        wrt = given = None
        for clause in clauses:
            if isinstance(clause, _ParameterList):
                params = clause.params
            elif isinstance(clause, _WrtClause):
                wrt = clause.params
            else:
                given = clause.condition
        return _Header(str(name), self._token_span(name), params, wrt, given)

    def parameters(self, meta, children):
        return _ParameterList(self._params(children))

    def wrt_clause(self, meta, children):
        return _WrtClause(self._params(children))

    def given_clause(self, meta, children):
        return _GivenClause(children[0])

    # ------------------------------------------------------------ expressions

    def conditional(self, meta, children):
        then, condition, otherwise = children
        return Conditional(then, condition, otherwise, self._meta_span(meta))

    def or_(self, meta, children):
        return BoolOp("or", tuple(children), self._meta_span(meta))

    def and_(self, meta, children):
        return BoolOp("and", tuple(children), self._meta_span(meta))

    def not_(self, meta, children):
        return Not(children[0], self._meta_span(meta))

    def compare(self, meta, children):
        return Compare(tuple(children[0::2]), tuple(str(op) for op in children[1::2]), self._meta_span(meta))

    def membership(self, meta, children):
        element, *members = children
        return Membership(element, tuple(members), self._meta_span(meta))

    def binary(self, meta, children):
        left, operator, right = children
        op = "^" if operator == "**" else str(operator)
        return Binary(op, left, right, self._meta_span(meta))

    def unary(self, meta, children):
        operator, operand = children
        return Unary(str(operator), operand, self._meta_span(meta))

    def call(self, meta, children):
        func, *rest = children
        items = rest[0].items if rest else ()
        args = tuple(item for item in items if not isinstance(item, Keyword))
        keywords = tuple(item for item in items if isinstance(item, Keyword))
        name, span = str(func), self._token_span(func)
        receiver, method = _split_method(name, span)
        if receiver is not None:
            # `inputs.sigmoid()`: the lexer reads `inputs.sigmoid` as one dotted name
            return Call(
                method,
                _last_part_span(name, span),
                (receiver, *args),
                keywords,
                self._meta_span(meta),
                method=True,
            )
        return Call(name, span, args, keywords, self._meta_span(meta))

    def method_call(self, meta, children):
        receiver, func, *rest = children
        items = rest[0].items if rest else ()
        args = tuple(item for item in items if not isinstance(item, Keyword))
        keywords = tuple(item for item in items if isinstance(item, Keyword))
        name, span = str(func), self._token_span(func)
        if "." in name:  # `(a - b).abs.sum()` cannot happen; `x.sum().a.b()` reads `a.b` as one name
            inner, name = name.rsplit(".", 1)
            raise _Problem(
                f"`.{inner}` is an attribute, which the language does not have; call a method such as "
                f".{name}() directly",
                span,
            )
        return Call(name, span, (receiver, *args), keywords, self._meta_span(meta), method=True)

    def subscript(self, meta, children):
        value, *items = children
        return Index(value, tuple(items), self._meta_span(meta))

    def ellipsis(self, meta, children):
        return EllipsisIndex(self._meta_span(meta))

    def slice(self, meta, children):
        parts: list[Expr | None] = [None]
        for child in children:
            if isinstance(child, Token) and child.value == ":":
                parts.append(None)
            else:
                parts[-1] = child
        parts += [None] * (3 - len(parts))
        return Slice(parts[0], parts[1], parts[2], self._meta_span(meta))

    def arguments(self, meta, children):
        seen_keyword = False
        for item in children:
            if isinstance(item, Keyword):
                seen_keyword = True
            elif seen_keyword:
                raise _Problem(
                    "a positional argument cannot follow a keyword argument",
                    item.span,
                    ("a keyword argument", "')'"),
                )
        return _ArgumentList(tuple(children))

    def keyword(self, meta, children):
        name, value = children
        return Keyword(str(name), self._token_span(name), value, self._meta_span(meta))

    def tuple_(self, meta, children):
        return TupleExpr(tuple(children), self._meta_span(meta))

    def number(self, meta, children):
        (token,) = children
        text = str(token)
        zero = _check_number(text, self._meta_span(meta))
        # Exact and safe: Fraction reads the literal itself, nothing is evaluated. Zero is not read:
        # Fraction would compute ten to the power of its exponent first.
        return Number(Fraction(0) if zero else Fraction(text), text, self._meta_span(meta))

    def name(self, meta, children):
        return Name(str(children[0]), self._meta_span(meta))

    def true(self, meta, children):
        return Boolean(True, self._meta_span(meta))

    def false(self, meta, children):
        return Boolean(False, self._meta_span(meta))
