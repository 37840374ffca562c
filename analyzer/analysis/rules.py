"""Every diagnostic kinks can emit: one code, one kind, one default severity, one doc.

The table is the single source for codes; the checker, the reporters, `kinks rule` and the tests
read it. Each doc follows ruff's form: what it does, why it is bad, an example, what to use instead.
The examples are `.loss` text, and the test suite runs each one through `kinks check`: the example
must produce its rule's code and the "use instead" text must not.

Codes are stable: a code is never reused for another meaning. `K0xx` is the verdict, `K1xx`
problems for training (jumps, NaN risks), `K2xx` information about shape (kinks, flat pieces),
`K3xx` the definition's parameters, `K9xx` about the check itself, `E` statements that cannot be
analysed at all (always reported, whatever the selection).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITY_ORDER = {INFO: 0, WARNING: 1, ERROR: 2}

# The prefix of the codes that mean "this statement could not be analysed". They cannot be
# deselected: a file with a syntax error must never pass silently.
ERROR_PREFIX = "E"


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    kind: str
    name: str
    severity: str
    what: str
    why: str
    # `.loss` text that produces the diagnostic, and text that does not; None only for a rule no
    # input can trigger on purpose (E999, a bug).
    example: str | None
    instead: str | None
    # How the example must be run to show the diagnostic, when plain `kinks check` does not.
    example_budget: float | None = None
    example_encoding: str = "utf-8"
    example_note: str = ""
    # The settings that change what the rule reports (shown as ruff's "Options" section).
    options: tuple[str, ...] = ()
    # The kind of file the example and "use instead" texts are (`.loss`, or `.py` for Python modules).
    example_suffix: str = ".loss"
    # Reported without being selected (`select = ["ALL"]` or naming the code turns on the others).
    enabled_by_default: bool = True

    def doc(self) -> str:
        parts = [
            f"# {self.name} ({self.code})\n",
            f"Default severity: {self.severity}\n",
            f"## What it does\n{self.what}\n",
            f"## Why is this bad?\n{self.why}\n",
        ]
        if not self.enabled_by_default:
            parts.append(
                f"Off by default: enable it with `--extend-select {self.code}` "
                f'(or `extend-select = ["{self.code}"]`, or `select = ["ALL"]`).\n'
            )
        if self.example is not None:
            note = f"{self.example_note}\n" if self.example_note else ""
            parts.append(f"## Example\n{note}```\n{self.example}\n```\n")
        if self.instead is not None:
            parts.append(f"## Use instead\n```\n{self.instead}\n```\n")
        if self.options:
            parts.append("## Options\n" + "".join(f"- `{option}`\n" for option in self.options))
        return "\n".join(parts)


_RULES = (
    Rule(
        code="K001",
        kind="zero-gradient",
        name="zero-gradient",
        severity=ERROR,
        what=(
            "Flags a definition whose gradient with respect to its `wrt` parameters is zero almost "
            "everywhere, and names the innermost atom that cuts the gradient off (`argmax`, `sign`, "
            "`round`, a comparison used as a number, ...)."
        ),
        why=(
            "Gradient descent moves the parameters along the gradient. When it is zero almost "
            "everywhere, every step is zero and training silently stops learning: the loss does not "
            "move, and no error is raised. Accuracy, F1 on hard predictions and thresholded metrics "
            "are fine to report, but not to train on."
        ),
        example="accuracy(y, p) wrt p = mean(argmax(p) == argmax(y))",
        instead="soft_accuracy(y, p) wrt p = mean(sum(softmax(p / 0.1) * y))",
    ),
    Rule(
        code="K101",
        kind="discontinuity",
        name="discontinuity",
        severity=WARNING,
        what=(
            "Flags a place where the value of the definition jumps as a `wrt` parameter moves: a "
            "`where` whose branches differ on the boundary, `step`, `floor`, `%`, `argmax` at ties."
        ),
        why=(
            "At a jump the derivative does not exist, and next to it the gradient says nothing about "
            "the jump: the optimizer cannot see that crossing the boundary changes the loss, so it "
            "may oscillate across it or never find it."
        ),
        example="gate(x) = x if x > 0 else x - 1",
        instead="gate(x) = x - sigmoid(-x / 0.1)",
    ),
    Rule(
        code="K102",
        kind="singularity",
        name="singularity",
        severity=WARNING,
        what=(
            "Flags a point of the region where the value or the slope is infinite or undefined: "
            "`log` or a negative power at 0, a division by something that can be 0, the cusp of "
            "`sqrt` at 0."
        ),
        why=(
            "An input that reaches it gives Inf or NaN in the forward or the backward pass, and one "
            "NaN in a gradient spreads to every weight in the next step. It also happens when the "
            "point is only on the edge of the region (a probability that reaches 0)."
        ),
        example="log_loss(y, p) wrt p = -mean(y * log(p))",
        instead="log_loss(y, p) wrt p = -mean(y * log(clip(p, 1e-7, 1 - 1e-7)))",
    ),
    Rule(
        code="K201",
        kind="kink",
        name="kink",
        severity=INFO,
        what="Flags a place where the value is continuous but the slope jumps (`abs` at 0, `relu` at 0, `max` at ties).",
        why=(
            "Subgradient methods train fine through kinks (ReLU, L1), so this is information, not a "
            "problem. But second-order optimizers (L-BFGS, Newton) need a C2 loss, and the gradient "
            "at the kink itself is a convention of the framework."
        ),
        example="mae(y, p) wrt p = mean(abs(y - p))",
        instead="smooth_mae(y, p) wrt p = mean(huber(y - p, 1.0))",
    ),
    Rule(
        code="K202",
        kind="constant-piece",
        name="constant-piece",
        severity=INFO,
        what=(
            "Flags a region of positive measure where the gradient of the whole definition with "
            "respect to its `wrt` parameters vanishes: a dead ReLU, a saturated clip."
        ),
        why=(
            "Inputs that land there get no gradient at all. That is often intended (a hinge loss "
            "ignores examples beyond the margin), but a region that is too large stops training."
        ),
        example="margin(y, s) wrt s = mean(relu(1 - y * s))",
        instead="margin(y, s) wrt s = mean(softplus(1 - y * s))",
    ),
    Rule(
        code="K301",
        kind="unconnected",
        name="unconnected",
        severity=WARNING,
        what="Flags a `wrt` parameter that the body does not depend on.",
        why="Its gradient is identically zero, so it never trains: usually a typo, or a parameter that was meant to be used.",
        example="fit(x, y, w) wrt w = mean((y - x)^2)",
        instead="fit(x, y, w) wrt w = mean((y - w * x)^2)",
    ),
    Rule(
        code="K901",
        kind="unknown",
        name="analysis-unknown",
        severity=WARNING,
        what="Flags a definition the analyzer could not decide within its time budget, with the reason.",
        why=(
            "Its verdict is unknown: it may be fine, or it may hide a zero gradient or a NaN. A "
            "verdict that timed out is never cached, so the next run tries again."
        ),
        example="big(x) = relu(x)",
        instead="big(x) = relu(x)",
        example_budget=1e-9,
        example_note="Checked with a budget too small for any analysis (`kinks check --budget 1e-9`); the same text passes with the default budget.",
        options=("budget",),
    ),
    Rule(
        code="K902",
        kind="unused-noqa",
        name="unused-noqa",
        severity=WARNING,
        what=(
            "Flags a `# noqa` comment that silences no diagnostic (of its statement, on the "
            "statement's first line; of its line, on another line of a block), and codes in a "
            "`# noqa: CODE, ...` list that silence nothing. A statement that could not be analysed "
            "(invalid, or undecided within the budget) is never flagged. Unknown codes are K904."
        ),
        why=(
            "A stale suppression hides the next real problem on its statement: once the kink it was "
            "written for is gone, it silences whatever comes along later. Name K902 in the list to "
            "keep a `noqa` on purpose. Off by default, as ruff's RUF100."
        ),
        example="mse(y, p) wrt p = mean((y - p)^2)  # noqa: K201",
        instead="mse(y, p) wrt p = mean((y - p)^2)",
        enabled_by_default=False,
    ),
    Rule(
        code="K903",
        kind="untranslatable",
        name="untranslatable-python",
        severity=INFO,
        what=(
            "Flags a loss function of a Python module that kinks cannot translate into the loss "
            "language, naming the first construct it cannot read and its line and column: a loop, a "
            "lambda, a call into a library the atom table does not know, `x.shape` and other shape "
            "arithmetic, a string argument, a Python-side `if` on a value that cannot be decided. The function "
            "is skipped (a record of class `invalid`); the rest of the file is still analysed."
        ),
        why=(
            "The function gets no verdict: a kink, a jump or a zero gradient in it goes unreported. "
            "It is information, not a failure: the code may be fine, kinks just cannot tell."
        ),
        example=(
            "import tensorflow as tf\n\n\n"
            "def weighted_loss(y_true, y_pred):\n"
            "    total = 0.0\n"
            "    for weight in (0.5, 0.5):\n"
            "        total += weight * tf.abs(y_true - y_pred)\n"
            "    return tf.reduce_mean(total)"
        ),
        instead=(
            "import tensorflow as tf\n\n\n"
            "def weighted_loss(y_true, y_pred):\n"
            "    total = 0.5 * tf.abs(y_true - y_pred) + 0.5 * tf.abs(y_true - y_pred)\n"
            "    return tf.reduce_mean(total)"
        ),
        example_suffix=".py",
    ),
    Rule(
        code="K904",
        kind="invalid-noqa",
        name="invalid-noqa",
        severity=WARNING,
        what=(
            "Flags a malformed `# noqa` comment: codes without the colon (`# noqa K201`), a colon "
            "with no code after it, or a code that is not a kinks code (`# noqa: K299`). A malformed "
            "`noqa` silences nothing."
        ),
        why=(
            "Read loosely, `# noqa K201` would silence every diagnostic of its line, not just K201, "
            "and a misspelt code silences nothing while looking as if it did. Saying so is better "
            "than guessing what was meant."
        ),
        example="mae(y, p) wrt p = mean(abs(y - p))  # noqa K201",
        instead="mae(y, p) wrt p = mean(abs(y - p))  # noqa: K201",
    ),
    Rule(
        code="E001",
        kind="error",
        name="syntax-error",
        severity=ERROR,
        what="Flags a statement that does not parse, at the first token that does not fit, with what was expected there.",
        why="The statement cannot be analysed; the rest of the file still is.",
        example="unbalanced(x) = relu(x",
        instead="balanced(x) = relu(x)",
    ),
    Rule(
        code="E002",
        kind="error",
        name="undefined-name",
        severity=ERROR,
        what="Flags a name that is neither a parameter, a local, a constant above, nor a known function, with a did-you-mean.",
        why="The expression has no meaning; usually a typo.",
        example="typo(x) = mean(asb(x))",
        instead="fixed(x) = mean(abs(x))",
    ),
    Rule(
        code="E003",
        kind="error",
        name="invalid-call",
        severity=ERROR,
        what="Flags a call with the wrong number of arguments or an unknown keyword.",
        why="The function cannot be applied as written.",
        example="bad(x) = leaky_relu(x, slope=0.1)",
        instead="good(x) = leaky_relu(x, alpha=0.1)",
    ),
    Rule(
        code="E004",
        kind="error",
        name="invalid-reference",
        severity=ERROR,
        what="Flags a recursive call, or a call to a definition that comes later in the file.",
        why="Calls are expanded in place; a definition can only use what is defined above it.",
        example="f(x) = f(x) + 1",
        instead="f(x) = x + 1",
    ),
    Rule(
        code="E005",
        kind="error",
        name="invalid-definition",
        severity=ERROR,
        what=(
            "Flags a definition that repeats a parameter, names a `wrt` that is not a parameter, or is "
            "too large or deep to analyse. (Names of functions may be shadowed, as in Python.)"
        ),
        why="The statement is ambiguous; kinks refuses to guess.",
        example="repeated(x, x) = x",
        instead="repeated(x, z) = x + z",
    ),
    Rule(
        code="E006",
        kind="error",
        name="unreadable-file",
        severity=ERROR,
        what="Flags a file that cannot be read, or that is not UTF-8 text, at the first byte that cannot be decoded.",
        why="Nothing in it can be analysed. The other files still are.",
        example="# coût quadratique\nmse(y, p) wrt p = mean((y - p)^2)",
        instead="# coût quadratique\nmse(y, p) wrt p = mean((y - p)^2)",
        example_encoding="latin-1",
        example_note="Saved as Latin-1; the same text saved as UTF-8 passes.",
    ),
    Rule(
        code="E999",
        kind="error",
        name="internal-error",
        severity=ERROR,
        what="Flags a definition whose analysis failed because of a bug in kinks.",
        why=(
            "Its verdict is missing. The other definitions are still analysed. No input should "
            "cause it: please report the statement that does."
        ),
        example=None,
        instead=None,
    ),
)

RULES: Mapping[str, Rule] = MappingProxyType({rule.code: rule for rule in _RULES})
CODE_FOR_KIND: Mapping[str, str] = MappingProxyType(
    {rule.kind: rule.code for rule in _RULES if rule.kind != "error"}
)
UNUSED_NOQA = "K902"
INVALID_NOQA = "K904"
UNTRANSLATABLE = "K903"


def rule_for(text: str) -> Rule | None:
    """The rule named by its code (`K201`, any case) or its name (`kink`), or None."""
    wanted = text.strip()
    rule = RULES.get(wanted.upper())
    if rule is not None:
        return rule
    return next((rule for rule in _RULES if rule.name == wanted.lower()), None)


def is_error_code(code: str) -> bool:
    return code.startswith(ERROR_PREFIX)
