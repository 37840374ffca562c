"""Issue 13: Python modules read with `ast` into the syntax tree of `.loss` files. Which functions
are recognised, which parameters are differentiated, how bodies translate (same verdicts as their
`.loss` transcriptions), what cannot be translated (K903, one per function, never a crash),
`# noqa`, spans, the API."""

from __future__ import annotations

import re
import textwrap

import pytest

from analyzer import analyze_function, analyze_python
from analyzer.analysis.api import analyze_text
from analyzer.analysis.python_api import analyze_python_text


def reports(text: str, **options) -> dict[str, object]:
    return {report.name: report for report in analyze_python_text(textwrap.dedent(text), "m.py", **options)}


def summary(report) -> tuple:
    return report.classification, sorted(report.kinds), tuple(report.wrt)


# ---------------------------------------------------------------- which functions


def test_recognised_functions_and_nothing_else() -> None:
    found = reports(
        """
        import tensorflow as tf
        import torch
        import torch.nn as nn
        from tensorflow import keras

        def helper(x):
            return tf.abs(x)

        def my_loss(y_true, y_pred):
            return tf.reduce_mean(helper(y_true - y_pred))

        def accuracy_metric(y_true, y_pred):
            return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y_true), tf.argmax(y_pred)), tf.float32))

        def compiled(y_true, y_pred):
            return tf.reduce_mean(tf.square(y_true - y_pred))

        def also_compiled(y_true, y_pred):
            return tf.reduce_mean(y_pred)

        def marked(a, b):  # kinks: analyse
            return tf.maximum(a, b)

        def globbed_one(x):
            return tf.exp(x)

        class Huberish(keras.losses.Loss):
            def call(self, y_true, y_pred):
                return tf.reduce_mean(tf.abs(y_true - y_pred))

            def get_config(self):
                return {}

        class DiceLoss(nn.Module):
            def forward(self, input, target):
                return 1 - torch.sum(input * target) / (torch.sum(input) + torch.sum(target) + 1)

        class NotALossModule(nn.Module):
            def forward(self, input):
                return input

        def build(model):
            model.compile(optimizer="adam", loss=compiled, metrics=[also_compiled, "accuracy"])
    """,
        python_functions=["globbed_*"],
    )
    assert list(found) == [
        "my_loss",
        "accuracy_metric",
        "compiled",
        "also_compiled",
        "marked",
        "globbed_one",
        "Huberish.call",
        "DiceLoss.forward",
    ]
    assert found["accuracy_metric"].classification == "zero-gradient"
    assert found["Huberish.call"].line == 29 and found["DiceLoss.forward"].line == 36


# ---------------------------------------------------------------- which parameters


@pytest.mark.parametrize(
    ("header", "wrt"),
    [
        ("def the_loss(y_true, y_pred):", ("y_pred",)),
        ("def the_loss(input, target):", ("input",)),
        ("def the_loss(logits, labels, weight=None):", ("logits",)),
        ("def the_loss(p, q, delta=1.0):", ("p", "q")),
        ("def the_loss(y_true, y_pred):  # kinks: wrt=y_true, y_pred", ("y_true", "y_pred")),
    ],
)
def test_differentiated_parameters(header: str, wrt: tuple[str, ...]) -> None:
    first, second = re.findall(r"\w+", header.split("(")[1])[:2]
    (report,) = reports(f"{header}\n    return ({first} + {second}) ** 2\n").values()
    assert report.wrt == wrt


def test_given_comment_restricts_the_region() -> None:
    found = reports("""
        import numpy as np

        def bce_loss(y_true, y_pred):  # kinks: given 0 < y_pred < 1
            return -np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))

        def free_loss(y_true, y_pred):
            return -np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))
    """)
    assert "singularity" in found["free_loss"].kinds
    assert found["bce_loss"].classification == "smooth"


def test_a_bad_directive_is_reported_on_its_function() -> None:
    (report,) = reports("def l_loss(x):  # kinks: given 0 <\n    return x\n").values()
    assert report.classification == "invalid" and report.findings[0].code == "K903"
    assert report.findings[0].span.line == 1 and report.findings[0].span.column > 15


# ---------------------------------------------------------------- the translation: same verdicts as .loss


PAIRS = [
    # Python, .loss transcription
    (
        """
     import tensorflow as tf
     def huber_loss(y_true, y_pred, delta=1.0):
         error = y_pred - y_true
         if tf.abs(error) <= delta:
             return 0.5 * error ** 2
         return delta * tf.abs(error) - 0.5 * delta ** 2
     """,
        (
            "huber_loss(y_true, y_pred) wrt y_pred = "
            "0.5 * (y_pred - y_true)^2 if abs(y_pred - y_true) <= 1.0 "
            "else 1.0 * abs(y_pred - y_true) - 0.5 * 1.0^2"
        ),
    ),
    (
        """
     import jax.numpy as jnp
     def step_loss(x):
         if x > 0:
             y = x
         else:
             y = x + 1
         return y
     """,
        "step_loss(x) = x if x > 0 else x + 1",
    ),
    (
        """
     from tensorflow.keras import backend as K
     EPS = 1e-3
     def ratio_metric(y_true, y_pred):
         return K.mean(y_true / (y_pred + K.epsilon() + EPS))
     """,
        "ratio_metric(y_true, y_pred) wrt y_pred = mean(y_true / (y_pred + epsilon() + 1e-3))",
    ),
    (
        """
     import torch
     import torch.nn as nn
     class ClampLoss(nn.Module):
         def __init__(self, low=0.0, high=1.0):
             super().__init__()
             self.low = low
             self.high = high
         def forward(self, input, target):
             return (input.clamp(self.low, self.high) - target).abs().mean()
     """,
        "clamp_loss(input, target) wrt input = mean(abs(clip(input, 0.0, 1.0) - target))",
    ),
    (
        """
     from keras import ops
     def sq(a):
         return a * a
     def both_loss(y_true, y_pred):
         good = (y_pred > 0) & (y_true > 0)
         return ops.mean(sq(y_pred - y_true) * tf_cast(good))
     def tf_cast(m):
         return m
     """,
        "both_loss(y_true, y_pred) wrt y_pred = mean((y_pred - y_true)^2 * ((y_pred > 0) and (y_true > 0)))",
    ),
    (
        """
     import numpy as np
     def hinge_metric(y_true, y_pred):
         margin = 1.0 - y_true * y_pred
         margin = np.maximum(margin, 0.0)
         return np.mean(margin) if y_true is not None else 0.0
     """,
        "hinge_metric(y_true, y_pred) wrt y_pred = mean(maximum(1.0 - y_true * y_pred, 0.0))",
    ),
]


@pytest.mark.parametrize(("python", "loss"), PAIRS, ids=[loss.split("(")[0] for _, loss in PAIRS])
def test_same_verdict_as_the_loss_transcription(python: str, loss: str) -> None:
    python_reports = analyze_python_text(textwrap.dedent(python), "m.py")
    mine = [r for r in python_reports if "loss" in r.name.lower() or "metric" in r.name.lower()][-1]
    (theirs,) = analyze_text(loss + "\n")
    assert summary(mine) == summary(theirs), [f.message for f in mine.findings]
    assert mine.smoothness == theirs.smoothness


def test_findings_in_a_called_function_point_at_the_call() -> None:
    found = reports("""
        import tensorflow as tf

        def helper(x):
            return tf.abs(x)

        def outer_loss(y_true, y_pred):
            d = y_pred - y_true
            return tf.reduce_mean(helper(d))
    """)
    (finding,) = found["outer_loss"].findings
    assert (finding.span.line, finding.span.column) == (9, 27)
    assert finding.where == "y_pred - y_true == 0"


def test_spans_count_characters_not_bytes() -> None:
    (report,) = reports("import torch\ndef é_loss(x):\n    s = 'ééé'; return torch.abs(x)\n").values()
    (finding,) = report.findings
    assert (finding.span.line, finding.span.column, finding.span.end_column) == (3, 23, 35)


# ---------------------------------------------------------------- what cannot be translated


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            "    total = 0\n    for v in (x, x):\n        total = total + v\n    return total",
            "a `for` loop at line 5, column 5",
        ),
        ("    while x > 0:\n        x = x - 1\n    return x", "a `while` loop at line 4, column 5"),
        ("    f = lambda v: v * 2\n    return f(x)", "a lambda at line 4, column 9"),
        ("    return kornia.losses.ssim_loss(x, x, 3)", "from a library kinks does not read"),
        ("    return torch.frobnicate(x)", "`torch.frobnicate`, which kinks does not know"),
        ("    return torch.sum(x) / x.shape[0]", "the length of an axis"),
        ("    return x.sum() / x.numel()", "the method `.numel()`"),
        ("    return x[:, None]", "`None` in an index (a new axis"),
        ("    return torch.nn.functional.l1_loss(x, x, reduction='sum')", "the string argument 'sum'"),
        ("    return x.size()", "the method `.size()`"),
        ("    if isinstance(x, float):\n        return x\n    return -x", "`isinstance`"),
        ("    if mode == 'sum':\n        return x\n    return -x", "`mode`"),
        ("    return x @ x", "the operator `@`"),
        ("    return undefined_thing(x)", "`undefined_thing`"),
        ("    return x, x", "several values"),
        ("    y = x", "does not return a value"),
        ("    return recursive_loss(x)", "recursive"),
    ],
)
def test_untranslatable_constructs_skip_the_function_and_say_where(body: str, words: str) -> None:
    text = (
        f"import torch\nimport kornia\ndef recursive_loss(x):\n{body}\n\n"
        "def fine_loss(x):\n    return torch.abs(x)\n"
    )
    found = reports(text)
    assert list(found) == ["recursive_loss", "fine_loss"]
    skipped = found["recursive_loss"]
    assert skipped.classification == "invalid" and skipped.line == 3
    (finding,) = skipped.findings
    assert finding.code == "K903" and finding.kind == "untranslatable" and finding.severity == "info"
    assert words in finding.message, finding.message
    assert found["fine_loss"].classification == "piecewise-differentiable"


def test_unused_untranslatable_locals_do_not_matter() -> None:
    (report,) = reports("""
        import torch
        def quiet_loss(input, target, reduction="mean"):
            device = input.device
            parts = []
            if reduction == "none":
                return input
            elif reduction == "mean":
                return torch.mean((input - target) ** 2)
            raise ValueError(reduction)
    """).values()
    assert report.classification == "smooth"


def test_invalid_python_is_one_syntax_error() -> None:
    (report,) = analyze_python_text("def broken_loss(x:\n    return x\n", "b.py")
    assert report.classification == "invalid" and report.findings[0].code == "E001"
    assert report.findings[0].span.line == 1


WEIRD = [
    "",
    "x = 1\n",
    "def loss(): return\n",
    "def loss(*a, **k):\n    return a\n",
    "async def loss(x):\n    return x\n",
    "class Loss:\n    def call(self):\n        return self\n",
    "def loss(x):\n    return x if x else -x\n",
    "def loss(x):\n    return (yield x)\n",
    "def loss(x):\n    return f'{x}'\n",
    "def loss(x):\n    return 1j * x\n",
    "def loss(x):\n    return x ** 10 ** 10 ** 10\n",
    "def loss(x):\n    return 1 / 0\n",
    "import tensorflow as tf\ndef loss(x):\n    return tf.reduce_sum(x, axis=x)\n",
    "def loss(x, y=lambda: 1):\n    return x\n",
    "C = C + 1\ndef loss(x):\n    return x * C\n",
    "A = B\nB = A\ndef loss(x):\n    return x * A\n",
    "def loss(x):\n    x += 1\n    x @= 2\n    return x\n",
    "def loss(x):\n" + "    x = x + 1\n" * 300 + "    return x\n",
    "def loss(x):\n    return " + "(" * 150 + "x" + ")" * 150 + "\n",
]


@pytest.mark.parametrize("text", WEIRD)
def test_never_a_crash(text: str) -> None:
    for report in analyze_python_text(text, "w.py"):
        assert all(finding.code != "E999" for finding in report.findings), report.findings


def test_a_module_whose_imports_are_not_installed() -> None:
    found = reports("""
        import definitely_not_installed_package as dnip
        from another_missing.sub import thing
        import torch

        def plain_loss(input, target):
            return torch.mean((input - target) ** 2)

        def uses_missing_loss(input, target):
            return dnip.special(input)
    """)
    assert found["plain_loss"].classification == "smooth"
    assert found["uses_missing_loss"].findings[0].code == "K903"


# ---------------------------------------------------------------- noqa


def test_noqa_on_the_def_line_and_on_the_finding_line() -> None:
    found = reports("""
        import torch
        def a_loss(x):  # noqa: K201
            return torch.abs(x)

        def b_loss(x):
            return torch.abs(x)  # noqa: K201

        def c_loss(x):  # noqa
            return torch.relu(x)

        def d_loss(x):  # noqa: K001, E501
            return torch.abs(x)  # noqa: E501
    """)
    assert (
        found["a_loss"].findings == [] and found["b_loss"].findings == [] and found["c_loss"].findings == []
    )
    codes = [finding.code for finding in found["d_loss"].findings]
    assert codes == ["K201", "K902"]
    assert "K001 is not reported on this function" in found["d_loss"].findings[1].message


# ---------------------------------------------------------------- the API


def test_analyze_python_takes_a_path_or_text(tmp_path) -> None:
    path = tmp_path / "train.py"
    path.write_text(
        "import torch\ndef l1_loss(input, target):\n    return torch.abs(input - target).mean()\n"
    )
    (by_path,) = analyze_python(path)
    (by_name,) = analyze_python(str(path))
    (by_text,) = analyze_python(path.read_text())
    assert by_path.file == by_name.file == str(path) and by_text.file == "<string>"
    assert by_path.to_dict()["findings"] == by_text.to_dict()["findings"]
    assert (
        by_path.name == "l1_loss"
        and by_path.line == 2
        and by_path.classification == "piecewise-differentiable"
    )


def test_analyze_function_reads_a_live_function() -> None:
    report = analyze_function(_live_loss)
    assert report.name == "_live_loss" and report.classification == "piecewise-differentiable"
    assert report.line == _live_loss.__code__.co_firstlineno
    assert report.findings[0].span.line == report.line + 1

    def inner_loss(y_true, y_pred):
        return abs(y_true - y_pred) ** 2

    nested = analyze_function(inner_loss)
    assert nested.classification == "smooth" and nested.wrt == ("y_pred",)
    assert nested.line == inner_loss.__code__.co_firstlineno
    with pytest.raises(TypeError):
        analyze_function(42)


def _live_loss(y_true, y_pred):
    return abs(y_true - y_pred)
