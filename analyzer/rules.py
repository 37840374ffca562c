"""Every diagnostic kinks can emit: one code, one kind, one default severity, one doc.

The table is the single source for codes; the checker, the reporters, `kinks rule` and the tests
read it. Each doc follows ruff's form: what it does, why it is bad, an example, what to use instead.
The examples are `.loss` text and are executed by the test suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITY_ORDER = {INFO: 0, WARNING: 1, ERROR: 2}


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    kind: str
    name: str
    severity: str
    what: str
    why: str
    example: str
    instead: str

    def doc(self) -> str:
        return (
            f"# {self.name} ({self.code})\n\n"
            f"Default severity: {self.severity}\n\n"
            f"## What it does\n{self.what}\n\n"
            f"## Why is this bad?\n{self.why}\n\n"
            f"## Example\n```\n{self.example}\n```\n\n"
            f"## Use instead\n```\n{self.instead}\n```\n"
        )


_RULES = (
    Rule(
        code="K001",
        kind="zero-gradient",
        name="zero-gradient",
        severity=ERROR,
        what="Flags a definition whose gradient with respect to its `wrt` parameters is zero almost everywhere.",
        why=(
            "Gradient descent moves the parameters along the gradient. When it is zero almost everywhere "
            "(argmax, sign, round, thresholds, accuracy), training silently stops learning."
        ),
        example="accuracy(y, p) wrt p = mean(argmax(p) == argmax(y))",
        instead="soft_accuracy(y, p) wrt p = mean(sum(softmax(p / 0.1) * y))",
    ),
    Rule(
        code="K101",
        kind="discontinuity",
        name="discontinuity",
        severity=WARNING,
        what="Flags a place where the value of the definition jumps as a `wrt` parameter moves.",
        why=(
            "At a jump the derivative does not exist, and nearby it says nothing about the jump: the "
            "optimizer cannot see that crossing the boundary changes the loss."
        ),
        example="gate(x) = x if x > 0 else x - 1",
        instead="gate(x) = x - sigmoid(-x / 0.1)",
    ),
    Rule(
        code="K102",
        kind="singularity",
        name="singularity",
        severity=WARNING,
        what="Flags a point of the region where the value or the slope is infinite or undefined.",
        why="An input that reaches it gives Inf or NaN in the forward or the backward pass, and NaN spreads to every weight.",
        example="log_loss(y, p) wrt p = -mean(y * log(p))",
        instead="log_loss(y, p) wrt p = -mean(y * log(clip(p, 1e-7, 1 - 1e-7)))",
    ),
    Rule(
        code="K201",
        kind="kink",
        name="kink",
        severity=INFO,
        what="Flags a place where the value is continuous but the slope jumps.",
        why=(
            "Subgradient methods train fine through kinks (ReLU, L1), but second-order optimizers need "
            "a C2 loss, and the gradient there is a convention of the framework."
        ),
        example="mae(y, p) wrt p = mean(abs(y - p))",
        instead="smooth_mae(y, p) wrt p = mean(huber(y - p, 1.0))",
    ),
    Rule(
        code="K202",
        kind="constant-piece",
        name="constant-piece",
        severity=INFO,
        what="Flags a region of positive measure where the gradient of the whole definition vanishes.",
        why="Inputs that land there get no gradient: a dead ReLU, a clipped probability, a saturated clip.",
        example="margin(y, s) wrt s = mean(relu(1 - y * s))",
        instead="margin(y, s) wrt s = mean(softplus(1 - y * s))",
    ),
    Rule(
        code="K301",
        kind="unconnected",
        name="unconnected",
        severity=WARNING,
        what="Flags a `wrt` parameter that the body does not depend on.",
        why="Its gradient is identically zero: a typo, or a parameter that was meant to be used.",
        example="fit(x, y, w) wrt w = mean((y - x)^2)",
        instead="fit(x, y, w) wrt w = mean((y - w * x)^2)",
    ),
    Rule(
        code="K901",
        kind="unknown",
        name="analysis-unknown",
        severity=WARNING,
        what="Flags a definition the analyzer could not decide within its time budget.",
        why="Its verdict is unknown: it may be fine, or it may hide a zero gradient or a NaN.",
        example="big(x) = relu(x)",
        instead="big(x) = relu(x)",
    ),
    Rule(
        code="E001",
        kind="error",
        name="syntax-error",
        severity=ERROR,
        what="Flags a statement that does not parse.",
        why="The statement cannot be analyzed; the rest of the file still is.",
        example="unbalanced(x) = relu(x",
        instead="balanced(x) = relu(x)",
    ),
    Rule(
        code="E002",
        kind="error",
        name="undefined-name",
        severity=ERROR,
        what="Flags a name that is neither a parameter, a local, a constant above, nor a known function.",
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
        what="Flags a definition that reuses a function's name, repeats a parameter, or names a `wrt` that is not a parameter.",
        why="The statement is ambiguous; kinks refuses to guess.",
        example="relu(x) = x",
        instead="my_relu(x) = relu(x)",
    ),
    Rule(
        code="E006",
        kind="error",
        name="unreadable-file",
        severity=ERROR,
        what="Flags a file that is not UTF-8 text or cannot be read.",
        why="Nothing in it can be analyzed.",
        example="x = 1",
        instead="x = 1",
    ),
    Rule(
        code="E999",
        kind="error",
        name="internal-error",
        severity=ERROR,
        what="Flags a definition whose analysis failed because of a bug in kinks.",
        why="Its verdict is missing. The other definitions are still analysed.",
        example="f(x) = x",
        instead="f(x) = x",
    ),
)

RULES: Mapping[str, Rule] = MappingProxyType({rule.code: rule for rule in _RULES})
CODE_FOR_KIND: Mapping[str, str] = MappingProxyType(
    {rule.kind: rule.code for rule in _RULES if rule.kind != "error"}
)
