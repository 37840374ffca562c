"""Hypothesis strategies: valid `.loss` text over the whole language, and broken text made from it.

The valid generator reads the atom table, so every function, alias and keyword spelling of
analyzer/atoms/table.py is drawn, with the prefixes of pasted code (`tf.math.`, `np.`, `K.`, ...). It
writes every statement form of LANGUAGE.md §1 (constants, one-line and block definitions, `wrt`,
`given`, calls to earlier definitions, `# noqa`, comments, blank lines, lines continued inside
brackets) and every expression form of §2, with as few parentheses as the precedence table allows,
so the parser's precedence is exercised too.

The broken generator mutates valid text the way people and tools break it: tokens deleted,
duplicated, swapped or replaced, brackets unbalanced, random characters and control bytes inserted,
text cut short. Raw bytes (invalid UTF-8 included) are drawn separately for the file-reading paths.

Shrinking: every choice is an integer drawn from 0 upwards with the simplest option at 0, so a
failing example shrinks towards a short leaf expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hypothesis import strategies as st

from analyzer.atoms import table as atoms

# ---------------------------------------------------------------- the language's vocabulary

# Binding levels of LANGUAGE.md §2, loosest first; an operand below the level its place needs is
# parenthesised.
CONDITIONAL, OR, AND, NOT, COMPARISON, SUM, PRODUCT, UNARY, POWER, PRIMARY = range(10)

KEYWORDS = frozenset({"wrt", "given", "if", "else", "and", "or", "not", "in", "return", "true", "false"})
RESERVED = frozenset(atoms.ATOM_BY_NAME) | frozenset(atoms.CONSTANTS) | KEYWORDS | {"None", "True", "False"}

# Parameter names: ASCII, Python-style and names in other scripts (identifiers as in Python).
PARAMETER_NAMES = (
    "x",
    "y",
    "p",
    "w",
    "b",
    "s",
    "z",
    "logits",
    "y_true",
    "y_pred",
    "ŷ",
    "α",
    "λ2",
    "θ_0",
    "数据",
)
PREFIXES = ("", "", "", "tf.", "tf.math.", "tf.nn.", "np.", "K.", "jnp.", "torch.", "F.", "keras.ops.")
NUMBER_TEXTS = (
    "0",
    "1",
    "2",
    "3",
    "10",
    "0.5",
    ".5",
    "1.",
    "0.1",
    "1e-7",
    "2.5E+3",
    "3e-2",
    "1e2",
    "0.25",
    "100",
)
DTYPES = ("tf.float32", "float64", "tf.bool", "bool", "np.float32", "tf.int32", "int64")
AXES = ("-1", "0", "1", "None", "(0, 1)", "(-1,)", "-2")
FLAGS = ("true", "false", "True", "False", "0", "1")
# Parameters that are sizes or orders: small positive integers keep the call meaningful.
INTEGER_PARAMETERS = frozenset({("one_hot", "n"), ("in_top_k", "k"), ("top_k_values", "k")})
NORM_ORDERS = ("1", "2", "inf")


@dataclass(frozen=True, slots=True)
class Callable:
    """Something a body may call: an atom row or a definition above."""

    name: str
    row: atoms.Atom | None = None
    arity: int = 0  # for definitions


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What a generated expression may use."""

    names: tuple[str, ...]  # parameters and locals
    constants: tuple[str, ...] = ()
    definitions: tuple[Callable, ...] = ()
    rows: tuple[atoms.Atom, ...] = atoms.ATOMS
    prefixes: tuple[str, ...] = PREFIXES
    aliases: bool = True  # draw aliases and keyword spellings too
    numbers: tuple[str, ...] = NUMBER_TEXTS
    conditions: bool = True  # comparisons, logic and `if ... else` inside bodies


@dataclass(slots=True)
class _Text:
    text: str
    level: int

    def at(self, needed: int) -> str:
        return self.text if self.level >= needed else f"({self.text})"


# ---------------------------------------------------------------- expressions


@st.composite
def expressions(draw, vocabulary: Vocabulary, depth: int = 4) -> str:
    """A numeric expression of the language as text."""
    return draw(_numeric(vocabulary, depth)).text


@st.composite
def conditions(draw, vocabulary: Vocabulary, depth: int = 3) -> str:
    """A condition (for `where`, `if`, `given`-like places) as text."""
    return draw(_condition(vocabulary, depth)).text


@st.composite
def _leaf(draw, vocabulary: Vocabulary) -> _Text:
    choice = draw(st.integers(0, 9))
    if choice <= 5 or not (vocabulary.constants or vocabulary.numbers):
        return _Text(draw(st.sampled_from(vocabulary.names)), PRIMARY)
    if choice <= 7 or not vocabulary.constants:
        return _Text(draw(st.sampled_from(vocabulary.numbers)), PRIMARY)
    if choice == 8 and vocabulary.constants:
        return _Text(draw(st.sampled_from(vocabulary.constants)), PRIMARY)
    return _Text(draw(st.sampled_from(("pi", "e", "epsilon()", "K.epsilon()", "np.pi"))), PRIMARY)


@st.composite
def _numeric(draw, vocabulary: Vocabulary, depth: int) -> _Text:
    if depth <= 0:
        return draw(_leaf(vocabulary))
    kinds = 8 if vocabulary.conditions else 6
    kind = draw(st.integers(0, kinds))
    if kind == 0:
        return draw(_leaf(vocabulary))
    if kind in (1, 2):
        return draw(_call(vocabulary, depth))
    if kind == 3:
        left = draw(_numeric(vocabulary, depth - 1))
        right = draw(_numeric(vocabulary, depth - 1))
        op = draw(st.sampled_from(("+", "-")))
        return _Text(f"{left.at(SUM)} {op} {right.at(PRODUCT)}", SUM)
    if kind == 4:
        left = draw(_numeric(vocabulary, depth - 1))
        right = draw(_numeric(vocabulary, depth - 1))
        op = draw(st.sampled_from(("*", "/", "*", "%")))
        return _Text(f"{left.at(PRODUCT)} {op} {right.at(UNARY)}", PRODUCT)
    if kind == 5:
        operand = draw(_numeric(vocabulary, depth - 1))
        op = draw(st.sampled_from(("-", "+")))
        return _Text(f"{op}{operand.at(UNARY)}", UNARY)
    if kind == 6:
        base = draw(_numeric(vocabulary, depth - 1))
        exponent = draw(st.sampled_from(("2", "3", "0.5", "-1", "-2", "1.5", "(-0.5)", "-x_unused")))
        if exponent == "-x_unused":
            exponent = "-" + draw(_numeric(vocabulary, 0)).at(UNARY)
        op = draw(st.sampled_from(("^", "**")))
        return _Text(f"{base.at(PRIMARY)} {op} {exponent}", POWER)
    if kind == 7:
        # a boolean used as a number: 1 where true, 0 where false
        condition = draw(_condition(vocabulary, depth - 1))
        return condition
    then = draw(_numeric(vocabulary, depth - 1))
    condition = draw(_condition(vocabulary, depth - 1))
    otherwise = draw(_numeric(vocabulary, depth - 1))
    return _Text(f"{then.at(OR)} if {condition.at(OR)} else {otherwise.at(CONDITIONAL)}", CONDITIONAL)


@st.composite
def _condition(draw, vocabulary: Vocabulary, depth: int) -> _Text:
    kind = draw(st.integers(0, 7 if depth > 0 else 1))
    if kind in (0, 1) or depth <= 0:
        left = draw(_numeric(vocabulary, max(depth - 1, 0)))
        right = draw(_numeric(vocabulary, 0))
        ops = draw(st.lists(st.sampled_from(("<", "<=", ">", ">=", "==", "!=")), min_size=1, max_size=2))
        parts = [left.at(SUM)]
        for op in ops:
            parts += [op, right.at(SUM)]
            right = draw(_numeric(vocabulary, 0))
        return _Text(" ".join(parts), COMPARISON)
    if kind == 2:
        element = draw(_numeric(vocabulary, depth - 1))
        members = draw(
            st.lists(st.sampled_from(("0", "1", "-1", "2", "0.5")), min_size=1, max_size=3, unique=True)
        )
        return _Text(f"{element.at(SUM)} in {{{', '.join(members)}}}", COMPARISON)
    if kind == 3:
        operands = draw(st.lists(_condition(vocabulary, depth - 1), min_size=2, max_size=3))
        op = draw(st.sampled_from(("and", "or")))
        level = AND if op == "and" else OR
        needed = NOT if op == "and" else AND
        return _Text(f" {op} ".join(operand.at(needed) for operand in operands), level)
    if kind == 4:
        operand = draw(_condition(vocabulary, depth - 1))
        return _Text(f"not {operand.at(NOT)}", NOT)
    if kind == 5:
        return _Text(draw(st.sampled_from(("true", "false"))), PRIMARY)
    if kind == 6:
        name = draw(
            st.sampled_from(("isnan", "isinf", "all", "any", "logical_not", "greater", "equal", "less_equal"))
        )
        if name in ("isnan", "isinf"):
            return _Text(f"{name}({draw(_numeric(vocabulary, depth - 1)).text})", PRIMARY)
        if name in ("all", "any", "logical_not"):
            return _Text(f"{name}({draw(_condition(vocabulary, depth - 1)).text})", PRIMARY)
        left = draw(_numeric(vocabulary, depth - 1)).text
        right = draw(_numeric(vocabulary, 0)).text
        return _Text(f"{name}({left}, {right})", PRIMARY)
    # any number is a condition too (`!= 0`)
    return draw(_numeric(vocabulary, depth - 1))


def _spelling(draw, names: tuple[str, ...], aliases: bool) -> str:
    return draw(st.sampled_from(names)) if aliases else names[0]


@st.composite
def _call(draw, vocabulary: Vocabulary, depth: int) -> _Text:
    if vocabulary.definitions and draw(st.integers(0, 4)) == 0:
        callee = draw(st.sampled_from(vocabulary.definitions))
        args = [draw(_numeric(vocabulary, depth - 1)).text for _ in range(callee.arity)]
        return _Text(f"{callee.name}({', '.join(args)})", PRIMARY)
    row = draw(st.sampled_from(vocabulary.rows))
    name = _spelling(draw, row.spellings, vocabulary.aliases)
    prefix = draw(st.sampled_from(vocabulary.prefixes))
    if row.variadic:
        count = draw(st.integers(1, 4))
        args = [draw(_numeric(vocabulary, depth - 1)).text for _ in range(count)]
        if count == 1 and draw(st.booleans()):
            args.append(
                f"{draw(st.sampled_from(('axis', 'keepdims')))}=" + draw(st.sampled_from(("-1", "true")))
            )
        return _Text(f"{prefix}{name}({_join(draw, args)})", PRIMARY)
    args: list[str] = []
    keywords = False
    for param in row.params:
        required = param.default is atoms.NO_DEFAULT
        if not required and draw(st.integers(0, 2)) != 0:
            keywords = True  # skipped an optional one: later ones must be keywords
            continue
        value = draw(_argument(vocabulary, row, param, depth))
        if (
            keywords
            or (vocabulary.aliases and param.keywords and draw(st.integers(0, 3)) == 0)
            or (not required and draw(st.booleans()))
        ):
            keywords = True
            spelling = _spelling(draw, param.spellings, vocabulary.aliases)
            args.append(f"{spelling}={value}")
        else:
            args.append(value)
    return _Text(f"{prefix}{name}({_join(draw, args)})", PRIMARY)


def _join(draw, args: list[str]) -> str:
    """Arguments, sometimes continued over the next lines (a statement goes on while `(` is open)."""
    separator = draw(st.sampled_from((", ", ", ", ", ", ",\n    ", ",\n  ")))
    trailing = "," if args and draw(st.integers(0, 6)) == 0 else ""
    return separator.join(args) + trailing


@st.composite
def _argument(draw, vocabulary: Vocabulary, row: atoms.Atom, param: atoms.Param, depth: int) -> str:
    kind = param.kind
    if kind == "axis":
        return draw(st.sampled_from(AXES))
    if kind == "flag":
        return draw(st.sampled_from(FLAGS))
    if kind == "dtype":
        return draw(st.sampled_from(DTYPES))
    if kind == "condition":
        return draw(_condition(vocabulary, depth - 1)).text
    if kind == "int" or (row.name, param.name) in INTEGER_PARAMETERS:
        return draw(st.sampled_from(("1", "2", "3")))
    if row.name == "norm" and param.name == "ord":
        return draw(st.sampled_from(NORM_ORDERS))
    if param.default is not atoms.NO_DEFAULT and draw(st.integers(0, 3)) != 0:
        # alpha, delta, threshold, h0, b: a positive number, as users write them
        return draw(st.sampled_from(("0.1", "0.5", "1", "2", "0.01", "1.5")))
    return draw(_numeric(vocabulary, depth - 1)).text


# ---------------------------------------------------------------- statements and files


@dataclass(slots=True)
class _FileState:
    used: set[str] = field(default_factory=set)
    constants: list[str] = field(default_factory=list)
    definitions: list[Callable] = field(default_factory=list)


def _fresh(draw, state: _FileState, stem_choices: tuple[str, ...]) -> str:
    stem = draw(st.sampled_from(stem_choices))
    index = len(state.used)
    name = f"{stem}{index}"
    state.used.add(name)
    return name


@st.composite
def headers(draw, params: tuple[str, ...], vocabulary: Vocabulary) -> tuple[str, tuple[str, ...]]:
    """`(params) [wrt ...] [given ...]`, and the wrt names chosen."""
    wrt: tuple[str, ...] = ()
    text = f"({', '.join(params)})"
    if draw(st.integers(0, 2)) != 0:
        wrt = tuple(draw(st.lists(st.sampled_from(params), min_size=1, max_size=len(params), unique=True)))
        text += " wrt " + ", ".join(wrt)
    if draw(st.integers(0, 2)) == 0:
        text += " given " + draw(givens(params))
    return text, wrt or params


@st.composite
def givens(draw, params: tuple[str, ...]) -> str:
    parts = []
    for name in draw(
        st.lists(st.sampled_from(params), min_size=1, max_size=min(2, len(params)), unique=True)
    ):
        form = draw(st.integers(0, 4))
        if form == 0:
            parts.append(f"0 < {name} < 1")
        elif form == 1:
            parts.append(f"{name} in {{0, 1}}")
        elif form == 2:
            parts.append(f"{name} > 0")
        elif form == 3:
            parts.append(f"{name} in {{-1, 1}}")
        else:
            parts.append(f"sum({name}) >= 1")
    return " and ".join(parts)


@st.composite
def definitions(draw, vocabulary: Vocabulary | None = None, name: str = "f", depth: int = 4) -> str:
    """One one-line definition with its own parameters."""
    params = tuple(draw(st.lists(st.sampled_from(PARAMETER_NAMES), min_size=1, max_size=3, unique=True)))
    base = vocabulary or Vocabulary(names=params)
    inner = Vocabulary(
        names=params,
        constants=base.constants,
        definitions=base.definitions,
        rows=base.rows,
        prefixes=base.prefixes,
        aliases=base.aliases,
        numbers=base.numbers,
        conditions=base.conditions,
    )
    header, _ = draw(headers(params, inner))
    body = draw(expressions(inner, depth))
    return f"{name}{header} = {body}"


@st.composite
def _block(draw, state: _FileState, name: str, params: tuple[str, ...], depth: int) -> str:
    header, _ = draw(headers(params, Vocabulary(names=params)))
    indent = draw(st.sampled_from(("    ", "  ", "\t")))
    names = list(params)
    lines = [f"{name}{header}:"]
    for _ in range(draw(st.integers(0, 3))):
        local = f"t{len(names)}"
        vocabulary = Vocabulary(
            names=tuple(names), constants=tuple(state.constants), definitions=tuple(state.definitions)
        )
        lines.append(f"{indent}{local} = {draw(expressions(vocabulary, depth - 1))}")
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.sampled_from(("", f"{indent}# a comment", "   "))))
        names.append(local)
    vocabulary = Vocabulary(
        names=tuple(names), constants=tuple(state.constants), definitions=tuple(state.definitions)
    )
    lines.append(f"{indent}return {draw(expressions(vocabulary, depth - 1))}")
    return "\n".join(lines)


@st.composite
def statements(draw, state: _FileState, depth: int) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        name = _fresh(draw, state, ("c", "eps", "scale", "κ"))
        vocabulary = Vocabulary(
            names=("1",), constants=tuple(state.constants), rows=_CONSTANT_ROWS, conditions=False
        )
        text = f"{name} = {draw(expressions(vocabulary, 2))}"
        state.constants.append(name)
        return text
    params = tuple(draw(st.lists(st.sampled_from(PARAMETER_NAMES), min_size=1, max_size=3, unique=True)))
    name = _fresh(draw, state, ("f", "loss", "metric", "layer", "损失"))
    if kind == 5:
        text = draw(_block(state, name, params, depth))
    else:
        vocabulary = Vocabulary(
            names=params, constants=tuple(state.constants), definitions=tuple(state.definitions)
        )
        header, _ = draw(headers(params, vocabulary))
        text = f"{name}{header} = {draw(expressions(vocabulary, depth))}"
    state.definitions.append(Callable(name, None, len(params)))
    return text


_CONSTANT_ROWS = tuple(
    row for row in atoms.ATOMS if row.name in ("log", "exp", "sqrt", "abs", "max", "min", "epsilon", "tanh")
)


@st.composite
def sources(draw, max_statements: int = 4, depth: int = 3) -> str:
    """A whole `.loss` text: statements with comments, `# noqa` and blank lines between them."""
    state = _FileState()
    chunks = []
    if draw(st.integers(0, 5)) == 0:
        chunks.append("# generated by the kinks fuzzer")
    for _ in range(draw(st.integers(1, max_statements))):
        text = draw(statements(state, depth))
        suffix = draw(
            st.sampled_from(
                ("", "", "", "  # noqa", "  # noqa: K201, K101", "  # a comment", "  # noqa: E001")
            )
        )
        first, _, rest = text.partition("\n")
        if "(" in first and first.count("(") == first.count(")") or not rest:
            text = first + suffix + ("\n" + rest if rest else "")
        chunks.append(text)
        if draw(st.integers(0, 3)) == 0:
            chunks.append("")
    newline = draw(st.sampled_from(("\n", "\n", "\n", "\r\n")))
    return newline.join(chunks) + draw(st.sampled_from(("", "\n")))


# ---------------------------------------------------------------- broken text

_TOKEN = re.compile(r"[^\W\d][\w.]*|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+|\*\*|[<>=!]=|\S|\s+", re.UNICODE)
_JUNK = (
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=",
    ":",
    "if",
    "else",
    "wrt",
    "given",
    "return",
    "not",
    "in",
    "**",
    ".",
    "@",
    '"',
    "'",
    "\\",
    "\t",
    "\n",
    "\n    ",
    "    ",
    "#",
    "$",
    "`",
    ";",
    "..",
    "1e",
    "0x1F",
    "é",
    "\x00",
    "\x1b[31m",
    "\u200b",
    "\u202e",
    "\ufeff",
    "\u0301",
    "𝑥",
    "😀",
    "\r",
    "\x0c",
    "lambda",
    "__import__",
)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


@st.composite
def mutations(draw, text: str) -> str:
    """`text` with one to four random edits of the kinds people and tools make."""
    pieces = tokens(text) or [""]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 7))
        index = draw(st.integers(0, max(len(pieces) - 1, 0)))
        if kind == 0 and len(pieces) > 1:  # delete a token
            del pieces[index]
        elif kind == 1:  # duplicate a token
            pieces.insert(index, pieces[index])
        elif kind == 2 and len(pieces) > 1:  # swap two neighbours
            other = min(index + 1, len(pieces) - 1)
            pieces[index], pieces[other] = pieces[other], pieces[index]
        elif kind == 3:  # insert junk
            pieces.insert(index, draw(st.sampled_from(_JUNK)))
        elif kind == 4:  # insert any character at all, surrogates and controls included
            pieces.insert(index, draw(st.characters(codec=None, categories=None)))
        elif kind == 5:  # unbalance the brackets
            pieces.insert(index, draw(st.sampled_from(("(", ")", "((", "))", "{", "(" * 50, ")" * 3))))
        elif kind == 6:  # cut the text short
            pieces = pieces[: index + 1]
        else:  # replace a token by random text
            pieces[index] = draw(st.text(max_size=5))
    return "".join(pieces)


@st.composite
def broken_sources(draw) -> str:
    return draw(mutations(draw(sources())))


_WRAPPERS = (
    "tanh({})",
    "abs({})",
    "relu({} - 1)",
    "({} + x)",
    "-({})",
    "max({}, 0.5)",
    "sigmoid({}) * 2",
    "({})^2",
    "where({} > 0, x, {})",
    "log1p(exp({}))",
    "sum({})",
    "clip({}, -1, 1)",
)


@st.composite
def deep_sources(draw, max_depth: int = 260) -> str:
    """One definition nested up to past the parser's limit of 200 levels, possibly split over a
    chain of helper definitions (whose expansion nests deeper still)."""
    depth = draw(st.integers(1, max_depth))
    helpers = draw(st.integers(0, 3))
    lines = []
    inner = "x"
    for level in range(helpers + 1):
        chunk = depth // (helpers + 1)
        for _ in range(chunk):
            inner = draw(st.sampled_from(_WRAPPERS)).replace("{}", inner)
        name = f"h{level}" if level < helpers else "f"
        lines.append(f"{name}(x) = {inner}")
        inner = f"h{level}(x)"
    return "\n".join(lines)


@st.composite
def hostile_texts(draw) -> str:
    """Any text: valid, broken, deeply nested, or random characters."""
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(sources())
    if kind in (1, 2):
        return draw(broken_sources())
    if kind == 3:
        return draw(deep_sources())
    return draw(st.text(max_size=200))


@st.composite
def file_bytes(draw) -> bytes:
    """Raw file contents: valid UTF-8 (with a BOM or CR line ends sometimes), invalid UTF-8, binary."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        text = draw(hostile_texts())
        return text.encode("utf-8", "surrogatepass")
    if kind == 1:
        text = draw(sources())
        return (
            draw(st.sampled_from((b"\xef\xbb\xbf", b"")))
            + text.replace("\n", draw(st.sampled_from(("\n", "\r")))).encode()
        )
    if kind == 2:
        text = draw(sources()).encode()
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.binary(min_size=1, max_size=4)) + text[at:]
    return draw(st.binary(max_size=300))


# ---------------------------------------------------------------- for the oracle and the soak

ORACLE_NUMBERS = ("0", "1", "2", "3", "0.5", "0.25", "1.5", "0.1", "-1")


@st.composite
def oracle_sources(draw, depth: int = 3) -> str:
    """One or two definitions whose verdicts the oracle can check: plain spellings (aliases are
    the parser's business, not the classifier's), moderate depth, sometimes a helper called with
    an expression, sometimes `wrt` and `given`."""
    state = _FileState()
    lines = []
    if draw(st.integers(0, 3)) == 0:
        helper_params = tuple(
            draw(st.lists(st.sampled_from(("u", "v")), min_size=1, max_size=2, unique=True))
        )
        vocabulary = Vocabulary(names=helper_params, prefixes=("",), aliases=False, numbers=ORACLE_NUMBERS)
        lines.append(f"helper({', '.join(helper_params)}) = {draw(expressions(vocabulary, depth - 1))}")
        state.definitions.append(Callable("helper", None, len(helper_params)))
    params = tuple(draw(st.lists(st.sampled_from(("x", "y", "p", "w")), min_size=1, max_size=2, unique=True)))
    vocabulary = Vocabulary(
        names=params,
        definitions=tuple(state.definitions),
        prefixes=("",),
        aliases=False,
        numbers=ORACLE_NUMBERS,
    )
    header, _ = draw(headers(params, vocabulary))
    lines.append(f"f{header} = {draw(expressions(vocabulary, depth))}")
    return "\n".join(lines)


# Issue 11: the features a fixed box misses. Each moves or shapes a generated body: far from the
# origin, narrow, wide, steep, scaled outputs, slopes that cancel into a flat piece, a jump at a
# cusp, a switch where the body is tangent to its set, an epsilon-scale guard.
SCALED_SHAPES = (
    "base({a}) + 1e6",
    "1e-6 * base({a})",
    "-1e3 * base({a})",
    "base({shift})",
    "base({narrow})",
    "base({wide})",
    "relu(base({a})) - base({a})",
    "huber(base({a})) + base({a})",
    "step(base({a})) + sqrt(abs(base({a})))",
    "abs(base({a}) - 1e4)",
    "clip(base({a}), 0, 1e-3)",
    "sigmoid(1e4 * (base({a}) - 0.3))",
    "tanh(1e3 * (base({a}) - 1))",
    "abs(base({a})^2 - 1e-7)",
    "maximum(norm(base({a})), 1e-7)",
    "sqrt(maximum(sum(base({a})^2), 1e-12))",
)


@st.composite
def scaled_oracle_sources(draw, depth: int = 3) -> str:
    """A generated definition `base`, and `f` built from it by one of SCALED_SHAPES: the same
    verdict moved (far, narrow, steep, scaled) or a known change of it (a cancellation, a jump
    at a cusp)."""
    params = tuple(draw(st.lists(st.sampled_from(("x", "y", "p", "w")), min_size=1, max_size=2, unique=True)))
    vocabulary = Vocabulary(names=params, prefixes=("",), aliases=False, numbers=ORACLE_NUMBERS)
    body = draw(expressions(vocabulary, depth))
    names = ", ".join(params)
    shape = draw(st.sampled_from(SCALED_SHAPES))
    shift = draw(st.sampled_from(("1e3", "-1e4", "2500")))
    text = shape.format(
        a=names,
        shift=", ".join(f"{name} + {shift}" for name in params),
        narrow=", ".join(f"1e3 * {name}" for name in params),
        wide=", ".join(f"1e-3 * {name}" for name in params),
    )
    return f"base({names}) = {body}\nf({names}) = {text}"


@st.composite
def soak_expressions(draw) -> tuple[str, tuple[str, ...]]:
    """A lone expression and its `wrt`, as an editor sends them to `analyze`."""
    names = tuple(draw(st.lists(st.sampled_from(("x", "y", "p", "w")), min_size=1, max_size=3, unique=True)))
    text = draw(expressions(Vocabulary(names=names), 3))
    wrt = tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True)))
    return text, wrt
