"""The TensorFlow printer and code generator, without TensorFlow: golden strings and properties.

Everything here runs on a machine without TensorFlow: code generation only writes text.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE_FILES, ROOT

from analyzer import to_tensorflow
from analyzer.tensorflow.codegen import CodegenWarning, generate, lower_any
from analyzer.tensorflow.tf_printer import identifier


def body(expression: str, header: str | None = None) -> str:
    """The lines of the generated function after its argument conversion (`header`: a definition's)."""
    text = to_tensorflow(expression) if header is None else to_tensorflow(f"{header} = {expression}")
    function = text[text.index("\ndef loss(") :]
    lines = [line.strip() for line in function.splitlines()[3:] if line.strip()]
    lines = lines[: next(i for i, line in enumerate(lines) if line.startswith("return ")) + 1]
    return "\n".join(
        line
        for line in lines
        if not line.startswith(("dtype =", "(", "_as_float")) and " = _as_float_tensors(" not in line
    )


GOLDEN = [
    # stable forms
    ("log(softmax(z))", "return tf.nn.log_softmax(z, axis=-1)"),
    ("log(sigmoid(x))", "return tf.math.log_sigmoid(x)"),
    ("log(1 - sigmoid(x))", "return tf.math.log_sigmoid(-x)"),
    ("log(1 + x)", "return tf.math.log1p(x)"),
    ("log(1 + exp(x))", "return tf.nn.softplus(x)"),
    ("log(sum(exp(z)))", "return tf.reduce_logsumexp(z, axis=-1)"),
    ("1 / (1 + exp(-x))", "return tf.sigmoid(x)"),
    ("exp(z) / sum(exp(z), keepdims=true)", "return tf.nn.softmax(z, axis=-1)"),
    ("log(cosh(x))", "return x + tf.nn.softplus(-2.0 * x) - 0.6931471805599453"),
    # arithmetic and precedence
    ("mean((y - p)^2)", "return tf.reduce_mean(tf.square(y - p), axis=-1)"),
    ("1 - y * s", "return 1.0 - s * y"),
    ("(a + b) / (c * d)", "return (a + b) / (c * d)"),
    ("x^3 - x^-2", "return x**3 - 1.0 / tf.square(x)"),
    ("(x + 1)^3", "return (x + 1.0) ** 3"),
    ("sqrt(x) + x^0.25", "return tf.pow(x, 0.25) + tf.sqrt(x)"),
    # axes
    ("sum(x, axis=0, keepdims=true)", "return tf.reduce_sum(x, axis=0, keepdims=True)"),
    ("mean(x, axis=None)", "return tf.reduce_mean(x, axis=None)"),
    ("softmax(x, axis=0)", "return tf.nn.softmax(x, axis=0)"),
    # kinks follow kinks's convention, not the order of the arguments
    ("relu(x)", "return tf.nn.relu(x)"),
    ("max(x, 0)", "return tf.nn.relu(x)"),
    ("max(0, x)", "return tf.nn.relu(x)"),
    ("max(x, 0.5)", "return _max_fixed(x, 0.5)"),
    ("min(x, 2)", "return _min_fixed(x, 2.0)"),
    ("min(x, 0)", "return -tf.nn.relu(-x)"),
    ("max(x, y)", "return _maximum(x, y)"),
    ("max(y, x)", "return _maximum(x, y)"),
    ("clip(x, 0, 1)", "return _clip(x, 0.0, 1.0)"),
    ("abs(x)", "return tf.abs(x)"),
    ("norm(x)", "return _kink_sqrt(tf.reduce_sum(tf.square(x), axis=-1))"),
    ("std(x)", "return _kink_sqrt(tf.math.reduce_variance(x, axis=-1))"),
    ("leaky_relu(x)", "return tf.where(x > 0.0, x, 0.2 * x)"),
    # booleans as numbers, dtype-safe
    ("mean(x > 0.5)", "return _with_zero_gradient(tf.reduce_mean(tf.cast(x > 0.5, dtype), axis=-1), x)"),
    ("x if x > 0 else -x", "return tf.where(x > 0.0, x, -x)"),
    # the double-where guard on partial functions in branches not taken
    (
        "where(x > 0, log(x), 0)",
        "tmp1 = x > 0.0\nreturn tf.where(tmp1, tf.math.log(tf.where(tmp1, x, 1.0)), 0.0)",
    ),
    ("x if x > 1 else sqrt(1 - x)", "return tf.where(x > 1.0, x, tf.sqrt(tf.where(x <= 1.0, 1.0 - x, 1.0)))"),
    (
        "where(x != 0, 1 / x, 0)",
        "tmp1 = tf.not_equal(x, 0.0)\nreturn tf.where(tmp1, 1.0 / tf.where(tmp1, x, 1.0), 0.0)",
    ),
]


def test_a_straight_through_estimator_written_by_hand_keeps_its_exact_forward_value() -> None:
    text = to_tensorflow("x + stop_gradient(round(x) - x)")
    assert text.endswith(
        "    def hard1(x):\n        return tf.round(x)\n\n"
        "    def soft1(x):\n        return x\n\n"
        "    return _straight_through(hard1, soft1, x)\n"
    )


@pytest.mark.parametrize(("expression", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden(expression: str, expected: str) -> None:
    assert body(expression) == expected


def test_a_data_argument_of_max_takes_no_gradient_so_ties_go_to_the_moving_one() -> None:
    assert body("max(p, y)", "loss(y, p) wrt p") == "return _max_fixed(p, y)"
    assert body("max(abs(y), 1e-7) * p", "loss(y, p) wrt p") == "return p * tf.maximum(tf.abs(y), 1e-07)"


def test_locals_keep_their_names_and_shared_parts_are_computed_once() -> None:
    text = to_tensorflow("""\
f1(y, p) wrt p given 0 <= p <= 1:
    tp = sum(p * y)
    fp = sum(p * (1 - y))
    return 1 - 2 * tp / (2 * tp + fp + 1e-7)
""")
    assert "    tp = tf.reduce_sum(p * y, axis=-1)\n" in text
    assert "    fp = tf.reduce_sum(p * (1.0 - y), axis=-1)\n" in text
    assert text.count("tf.reduce_sum(p * y") == 1


def test_module_layout_header_and_keras_class() -> None:
    text = to_tensorflow("mae(y, p) wrt p = mean(abs(y - p))\n", "losses/regression.loss")
    assert text.startswith("# Generated by kinks ")
    assert "from losses/regression.loss" in text.splitlines()[0]
    assert "regenerate with: kinks tf losses/regression.loss" in text.splitlines()[1]
    assert "import tensorflow as tf" in text and "import keras" in text
    assert (
        '@keras.saving.register_keras_serializable(package="kinks.regression")\n'
        "class MaeLoss(keras.losses.Loss):" in text
    )
    assert "        return mae(y_true, y_pred)" in text
    # Keras's order is (y_true, y_pred) whatever the parameter order
    swapped = to_tensorflow("mae(p, y) wrt p = mean(abs(y - p))\n")
    assert "        return mae(y_pred, y_true)" in swapped


def test_no_keras_class_unless_one_wrt_and_one_data_parameter() -> None:
    text = to_tensorflow("fit(x, y, w, b) wrt w, b = mean((y - w * x - b)^2)\nunit(x) = relu(x)\n")
    assert "keras.losses.Loss" not in text and "import keras" not in text


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_examples_generate_code_that_compiles(path: Path) -> None:
    text = to_tensorflow(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    compile(text, str(path), "exec")
    assert all(len(line) <= 100 for line in text.splitlines()[2:])


def test_output_is_deterministic_across_hash_seeds(tmp_path: Path) -> None:
    script = (
        "import sys, glob\n"
        "from analyzer import to_tensorflow\n"
        "for path in sorted(glob.glob('examples/*.loss')):\n"
        "    sys.stdout.write(to_tensorflow(open(path, encoding='utf-8').read(), path))\n"
        "    sys.stdout.write(to_tensorflow(open(path, encoding='utf-8').read(), path, mode='smooth'))\n"
    )
    outputs = []
    for seed in ("1", "2"):
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0] == "".join(
        to_tensorflow(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))
        + to_tensorflow(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)), mode="smooth")
        for p in EXAMPLE_FILES
    )


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is installed by the test extra")
def test_generated_code_is_formatted_and_lint_clean(tmp_path: Path) -> None:
    for index, path in enumerate(EXAMPLE_FILES):
        for mode in ("plain", "smooth", "ste"):
            target = tmp_path / f"module_{index}_{mode}.py"
            target.write_text(
                to_tensorflow(path.read_text(encoding="utf-8"), path.name, mode=mode), encoding="utf-8"
            )
    # Every rule of pycodestyle, pyflakes, bugbear and pyupgrade; long lines only in the header (a path).
    done = subprocess.run(
        [
            "ruff",
            "check",
            "--isolated",
            "--line-length",
            "100",
            "--select",
            "E,F,W,B,UP",
            "--per-file-ignores",
            "*.py:E501",
            "--target-version",
            "py310",
            str(tmp_path),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    formatted = subprocess.run(
        ["ruff", "format", "--isolated", "--line-length", "100", "--check", "--diff", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_no_user_text_reaches_the_code() -> None:
    source = (
        "# import os; os.system('rm -rf /')  <- a comment, never copied\n"
        "secret_constant = 0.25\n"
        "f(x) wrt x = relu(x) * secret_constant  # noqa: K201 __import__('os')\n"
    )
    text = to_tensorflow(source, "weird\nname\x00.loss")
    assert "import os" not in text and "__import__" not in text
    # a named constant reaches the code only as a checked identifier, its value as a number (issue 14)
    assert (
        "\nSECRET_CONSTANT = 0.25\n" in text
        and "secret_constant = _as_dtype(SECRET_CONSTANT, x.dtype)" in text
    )
    header = text.splitlines()[:2]
    assert header[0].startswith("# Generated by kinks") and "\\n" in header[0] and "\\x00" in header[0]
    identifiers = set(re.findall(r"[A-Za-z_]\w*", text))
    assert "f" in identifiers


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("x", "x"),
        ("lambda", "lambda_"),
        ("tf", "tf_"),
        ("dtype", "dtype_"),
        ("_hidden", "v_hidden"),
        ("α", "u03b1"),
        ("match", "match_"),
        ("print", "print_"),
    ],
)
def test_identifiers_are_checked(name: str, expected: str) -> None:
    assert identifier(name) == expected


def test_invalid_definitions_are_left_out_and_reported_by_the_analysis() -> None:
    source = lower_any("good(x) = relu(x)\nbad(x) = undefined_thing(x)\n", "f.loss")
    module = generate(source)
    assert list(module.functions) == ["good"]
    assert [r.classification for r in source.reports] == ["piecewise-differentiable", "invalid"]


def test_what_cannot_be_printed_is_refused_with_its_place() -> None:
    with pytest.warns(
        CodegenWarning, match=r"^f\.loss:2:12: f: `sort\(x, axis=\(0, 1\)\)`: sort over several axes"
    ):
        text = to_tensorflow("# a comment\nf(x) = 1 + sort(x, axis=(0, 1))\ng(x) = x^2\n", "f.loss")
    assert "def g(x):" in text and "def f(" not in text


def test_analysis_never_imports_tensorflow() -> None:
    script = (
        "import sys\n"
        "import analyzer\n"
        "from analyzer import analyze, to_tensorflow\n"
        "analyze('relu(x)')\n"
        "to_tensorflow('relu(x)')\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False False"


def test_reports_are_accepted_in_place_of_text(tmp_path: Path) -> None:
    from analyzer import analyze, analyze_file

    path = tmp_path / "axes.loss"
    path.write_text("col(x) = sum(x, axis=0)\nrow(x) = relu(x)\n", encoding="utf-8")
    reports = analyze_file(path)
    from_file = to_tensorflow(reports)
    assert "tf.reduce_sum(x, axis=0)" in from_file  # regenerated from the file: the axis is kept
    only_one = to_tensorflow(reports[1])
    assert "def row(x):" in only_one and "def col(" not in only_one
    lone = to_tensorflow(analyze("mean(abs(y - p))", wrt=["p"]))
    assert "def loss(y, p):" in lone and "tf.reduce_mean(tf.abs(p - y), axis=-1)" in lone


def test_a_constant_condition_under_reduce_any_is_folded_not_a_sympy_error() -> None:
    # found by tests/fuzz/run_long.py: `reduce_any` of a condition that is false everywhere stayed
    # unevaluated, and SymPy failed (KeyError) rewriting a Piecewise around it
    for reduced, generated in (
        ("keras.ops.reduce_any(y < 10 <= t)", True),
        ("keras.ops.reduce_any(y < 10 <= t, axis=(0, 1))", False),
    ):
        text = (
            "f(y, p):\n"
            "  t = -(1 if p == 0.5 else 100)\n"
            f"  u = p if y > 0 else {reduced}\n"
            "  return relu(0.5 >= y >= u) + p\n"
        )
        module = to_tensorflow(text)  # raised KeyError
        compile(module, "<generated>", "exec")
        assert ("def f(" in module) is generated  # with an axis: refused (E003), as `kinks tf` reports
