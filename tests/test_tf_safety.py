"""Generated TensorFlow that never breaks a user's build (issue 14).

One failing definition never takes the file down; every dtype and mode runs; gradients are finite
where the math's are and right where kinks cancel; variants never make a loss worse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.cli.main import main
from analyzer.tensorflow.codegen import generate, lower_any

# ------------------------------------------------------------------ 1. one definition fails alone


FAILING = """\
g(p) = p^2
f(p) = where(sum(p > 0) > 0, 1 / sum(p > 0), 1.0)
h(p) = relu(p)
"""


def test_a_failing_definition_costs_only_its_own_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mixed.loss"
    path.write_text(FAILING, encoding="utf-8")
    output = tmp_path / "mixed_tf.py"
    assert main(["tf", str(path), "-o", str(output)]) == 1
    text = output.read_text(encoding="utf-8")
    assert "def g(p):" in text and "def h(p):" in text and "def f(" not in text
    compile(text, str(output), "exec")
    err = capsys.readouterr().err
    assert f"{path}:2:8: f: `where(sum(p > 0) > 0, 1 / sum(p > 0), 1.0)`: " in err
    assert "(no code written for it)" in err
    for internal in ("ReduceSum", "Piecewise", "StrictGreaterThan", "Traceback", "object has no attribute"):
        assert internal not in err


def test_reductions_of_constants_keep_their_shape() -> None:
    module = generate(lower_any("f(p) = sum(ones_like(p))\nm(p) = sum(p) / sum(ones_like(p))\n"))
    assert not module.failures
    assert "tf.reduce_sum(tf.ones_like(p), axis=-1)" in module.text
    assert "_with_zero_gradient(" in module.text  # f has no gradient: zeros, not None


def test_an_axis_marker_inside_a_folded_condition_is_not_an_internal_error() -> None:
    source = lower_any("h(p, y) wrt p = (where(max(p, axis=None) <= 1, p, sigmoid(p)) > 0.5) == y\n")
    assert [r.classification for r in source.reports] == ["zero-gradient"]
    module = generate(source)
    assert list(module.functions) == ["h"] and not module.failures


# ------------------------------------------------------------------ 2-4. dtypes, NaN, cancelling kinks

SAFETY = """\
sce(y, z) wrt z = log1p(exp(-abs(z))) + relu(z) - y*z
odd(z) = relu(z) - relu(-z)
root(x) = sqrt(relu(x))
hinge(y, s) wrt s = mean(relu(1 - y*s))
branch(x) = where(x > 0.0, 1.0, x)
mape(y, p) wrt p = 100 * mean(abs(y - p) / maximum(1e-7, abs(y)))
msle(y, p) wrt p = mean((log1p(maximum(p, 1e-7)) - log1p(maximum(y, 1e-7)))^2)
"""


@pytest.fixture(scope="module")
def safety_module() -> object:
    tf = pytest.importorskip("tensorflow")
    del tf
    from analyzer.tensorflow.runtime import load_module

    return load_module(generate(lower_any(SAFETY, "safety.loss")).text)


def _value_and_gradient(
    function: object, inputs: list[object], watched: int, mode: str
) -> tuple[object, object]:
    import tensorflow as tf

    run = function if mode == "eager" else tf.function(function, jit_compile=mode == "xla")
    with tf.GradientTape() as tape:
        tape.watch(inputs[watched])
        value = tf.reduce_sum(run(*inputs))
    return value, tape.gradient(value, inputs[watched])


@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_every_function_runs_in_every_dtype_and_mode(safety_module: object, mode: str, dtype: str) -> None:
    import tensorflow as tf

    x = tf.constant([-1.0, 0.0, 2.0], dtype)
    y = tf.constant([1.0, 0.0, 1.0], dtype)
    for name in ("sce", "odd", "root", "hinge", "branch", "mape", "msle"):
        function = getattr(safety_module, name)
        two = function.__code__.co_argcount == 2
        value, gradient = _value_and_gradient(function, [y, x] if two else [x], 1 if two else 0, mode)
        assert value.dtype == tf.as_dtype(dtype) and gradient.dtype == tf.as_dtype(dtype), name
        if dtype != "float16":  # 1e-7 is 0 in float16: mape divides by it at y == 0, as Keras's does
            assert bool(tf.reduce_all(tf.math.is_finite(tf.cast(gradient, tf.float64)))), name


def test_no_python_float_fixes_the_dtype() -> None:
    text = generate(lower_any(SAFETY, "safety.loss")).text
    assert "tf.maximum(1e-07" not in text and "tf.where(x > 0.0, 1.0" not in text
    assert "tf.where(x > 0.0, tf.constant(1.0, dtype), x)" in text


@pytest.mark.parametrize("mode", ["eager", "xla"])
def test_sqrt_of_relu_has_a_zero_gradient_on_the_flat_piece(safety_module: object, mode: str) -> None:
    import tensorflow as tf

    x = tf.constant([-2.0, -1e-3, 0.0, 4.0], tf.float64)
    _, gradient = _value_and_gradient(safety_module.root, [x], 0, mode)
    assert gradient.numpy().tolist() == [0.0, 0.0, 0.0, 0.25]


@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
def test_cancelling_kinks_give_the_common_one_sided_gradient(safety_module: object, mode: str) -> None:
    import tensorflow as tf

    z = tf.zeros([4], tf.float64)
    y = tf.constant([0.0, 1.0, 0.25, 0.5], tf.float64)
    _, gradient = _value_and_gradient(safety_module.sce, [y, z], 1, mode)
    expected = _value_and_gradient(
        lambda y, z: tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z), [y, z], 1, mode
    )[1]
    assert gradient.numpy().tolist() == pytest.approx([0.5, -0.5, 0.25, 0.0]) == expected.numpy().tolist()
    _, odd = _value_and_gradient(safety_module.odd, [z], 0, mode)
    assert odd.numpy().tolist() == [1.0, 1.0, 1.0, 1.0]
    _, hinge = _value_and_gradient(
        safety_module.hinge, [tf.ones([3], tf.float64), tf.ones([3], tf.float64)], 1, mode
    )
    assert hinge.numpy().tolist() == [0.0, 0.0, 0.0]  # a real kink keeps the convention: slope 0


def test_keras_fit_in_float64(safety_module: object) -> None:
    keras = pytest.importorskip("keras")
    import numpy as np

    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
        model.compile(optimizer="sgd", loss=safety_module.MapeLoss(), jit_compile=True)
        data = np.linspace(0.5, 2.0, 24).reshape(8, 3)
        history = model.fit(data, data, epochs=2, batch_size=4, verbose=0)
        assert all(np.isfinite(history.history["loss"]))
    finally:
        keras.config.set_floatx(previous)
