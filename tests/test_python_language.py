"""Python files in the language of issue 12: subscripts are the `.loss` parser's `Index` /
`Slice` / `EllipsisIndex` nodes, method calls its `Call(..., method=True)` (PyTorch's rows first),
names may shadow the language's functions, and the `data-names` setting reaches `.py` and `.loss`
files alike."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from analyzer.analysis.python_api import _is_function, analyze_python_text, analyze_source
from analyzer.cli import main as cli
from analyzer.language import syntax as lx
from analyzer.language.parser import parse_source
from analyzer.language.python_source import translate_module

# Each expression is written on the same columns in both files: `    return EXPR` on line 2.
SAME_TREE = [
    "p[..., 0] - y[:, 1]",
    "p[..., 1:].sum(dim=1)",
    "p[..., ::-1].mean()",
    "p[0] + p[-1] + p[..., :4].sum()",
    "p[..., 1:3:2]",
    "p[..., i]",
    "(p - y).abs().mean()",
    "p.clamp(min=0) + p.clamp(0, 1)",
    "p.pow(2).sum(dim=1, keepdim=1)",
    "p.detach() * p.float()",
    "p.sigmoid().log()[..., 0]",
    "torch.clamp(p, min=0) + F.mse_loss(p, y)",
]


def _python_body(expression: str) -> lx.Expr:
    text = f"def f_loss(p, y, i):\n    return {expression}\nimport torch\nimport torch.nn.functional as F\n"
    (function,) = translate_module(text, "m.py", is_function=_is_function).functions
    assert function.problem is None, function.problem
    return function.definition.body


def _loss_body(expression: str) -> lx.Expr:
    (statement,) = parse_source(f"f(p, y, i):\n    return {expression}\n").statements
    assert isinstance(statement, lx.Definition), statement
    return statement.body


@pytest.mark.parametrize("expression", SAME_TREE)
def test_the_same_syntax_tree_as_the_loss_parser(expression: str) -> None:
    assert _python_body(expression) == _loss_body(expression)


def test_an_index_node_with_its_items() -> None:
    body = _python_body("p[..., 1:]")
    assert isinstance(body, lx.Index) and body.value == lx.Name("p", lx.Span(2, 12, 2, 13))
    ellipsis, piece = body.items
    assert isinstance(ellipsis, lx.EllipsisIndex) and ellipsis.span == lx.Span(2, 14, 2, 17)
    assert isinstance(piece, lx.Slice) and piece.stop is None and piece.step is None
    assert piece.start.value == 1 and piece.span == lx.Span(2, 19, 2, 21)


def test_a_method_call_is_a_method_node() -> None:
    body = _python_body("(p - y).abs()")
    assert isinstance(body, lx.Call) and body.method and body.func == "abs"
    assert body.func_span == lx.Span(2, 20, 2, 23)  # the method's name, as the parser gives it
    assert isinstance(body.args[0], lx.Binary)


def reports(text: str, **options) -> dict[str, object]:
    return {report.name: report for report in analyze_python_text(textwrap.dedent(text), "m.py", **options)}


def test_indexing_and_methods_are_analysed() -> None:
    found = reports("""
        import torch

        def entry_loss(p, y):
            return torch.mean((p[..., 0] - y[:, 1]) ** 2)

        def tail_loss(p):
            return p[..., 1:].abs().sum(dim=-1)

        def chosen_loss(p, i):
            return p[..., i] ** 2

        def relu_loss(input, target):
            return (input - target).clamp(min=0).mean()

        def stopped_loss(p):
            return (p * p.detach()).sum()

        def per_row_loss(x):
            return torch.sum(x ** 2) / x.size(0)
    """)
    assert found["entry_loss"].classification == "smooth"
    assert found["tail_loss"].classification == "piecewise-differentiable"
    assert "kink" in found["tail_loss"].kinds
    assert found["chosen_loss"].by_variable["i"].classification == "zero-gradient"
    # torch's clamp with `min=` alone is one-sided (it was a two-sided clip missing `hi`, E003)
    relu = found["relu_loss"]
    assert relu.classification == "piecewise-differentiable" and relu.findings[0].code == "K201"
    assert relu.findings[0].message.startswith("(input - target).clamp(min=0)")
    assert found["stopped_loss"].classification != "invalid"
    assert found["per_row_loss"].classification == "smooth"


def test_indexing_is_no_longer_untranslatable_but_shapes_still_are() -> None:
    found = reports("""
        import torch

        def index_loss(p):
            return p[..., 0]

        def shape_loss(p):
            return torch.sum(p) / p.shape[0]

        def new_axis_loss(p):
            return (p[:, None] - p).abs().mean()

        def two_axes_loss(p):
            return p[0, 1]
    """)
    assert found["index_loss"].classification == "smooth"
    assert found["shape_loss"].findings[0].code == "K903"
    assert found["new_axis_loss"].findings[0].code == "K903"
    assert "a new axis" in found["new_axis_loss"].findings[0].message
    # what the language refuses is the language's error, at the subscript
    (error,) = found["two_axes_loss"].findings
    assert error.code == "E003" and "more than one axis" in error.message and error.span.line == 14


def test_string_arguments_are_still_refused() -> None:
    (report,) = reports("""
        import torch.nn.functional as F

        def focal_loss(inputs, targets):
            return F.binary_cross_entropy_with_logits(inputs, targets, reduction="none").mean()
    """).values()
    assert report.classification == "invalid" and report.findings[0].code == "K903"
    assert "the string argument 'none'" in report.findings[0].message
    (same,) = reports("""
        import torch.nn.functional as F

        def focal_loss(inputs, targets):
            return F.binary_cross_entropy_with_logits(inputs, targets)
    """).values()
    assert same.classification == "smooth" and same.wrt == ("inputs",)


def test_names_may_shadow_the_languages_functions() -> None:
    found = reports(
        """
        import tensorflow as tf

        def moments_loss(mean, variance, max):
            return (mean - max) ** 2 + variance

        def local_loss(x):
            sum = tf.reduce_sum(x)
            abs = sum * 2
            return abs + sum

        def binary_crossentropy(y_true, y_pred):
            return tf.reduce_mean(tf.square(y_true - y_pred))

        def wrapped_loss(y_true, y_pred):
            return binary_crossentropy(y_true, y_pred) + tf.keras.losses.binary_crossentropy(y_true, y_pred)

        def indexed_loss(max):
            return max[..., 0].abs()
    """,
        python_functions=["binary_crossentropy"],
    )
    for report in found.values():
        assert all(finding.code != "E005" for finding in report.findings), report.findings
        assert report.classification != "invalid", (report.name, report.findings)
    assert found["moments_loss"].wrt == ("mean", "variance", "max")
    assert found["moments_loss"].classification == "smooth"
    assert found["local_loss"].classification == "smooth"
    assert found["binary_crossentropy"].classification == "smooth"
    assert found["indexed_loss"].classification == "piecewise-differentiable"


# ---------------------------------------------------------------- data-names

PYTHON = "def my_loss(p, weights):\n    return (p * weights) ** 2\n"
LOSS = "my_loss(p, weights) = (p * weights)^2\n"


@pytest.mark.parametrize(("text", "path"), [(PYTHON, "m.py"), (LOSS, "m.loss")])
def test_data_names_reach_both_kinds_of_file(text: str, path: str) -> None:
    (default,) = analyze_source(text, path)
    (custom,) = analyze_source(text, path, data_names=["weights"])
    assert default.wrt == ("p", "weights")
    assert custom.wrt == ("p",)


def test_data_names_setting_through_kinks_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KINKS_CACHE_DIR", raising=False)
    (tmp_path / "m.py").write_text(PYTHON)
    (tmp_path / "m.loss").write_text(LOSS)

    def wrt_by_file() -> dict[str, list[str]]:
        capsys.readouterr()
        assert cli.main(["check", "--jobs", "1", "--output-format", "json", str(tmp_path)]) in (0, 1)
        return {Path(record["file"]).suffix: record["wrt"] for record in json.loads(capsys.readouterr().out)}

    assert wrt_by_file() == {".py": ["p", "weights"], ".loss": ["p", "weights"]}
    # the setting replaces the list, and changes the cache key: no stale hit
    (tmp_path / "kinks.toml").write_text('data-names = ["weights"]\n')
    assert wrt_by_file() == {".py": ["p"], ".loss": ["p"]}
    (tmp_path / "kinks.toml").write_text('data-names = "weights"\n')
    capsys.readouterr()
    assert cli.main(["check", "--output-format", "json", str(tmp_path)]) == 2
    assert "`data-names` must be a list of strings" in capsys.readouterr().err
