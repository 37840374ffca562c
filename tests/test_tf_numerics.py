"""Generated TensorFlow code against SymPy, Keras and itself: values, gradients, NaN, XLA.

TensorFlow is installed by the test extra, so these run in CI; the import guard only lets the rest
of the suite run on a machine without it. Tensors are small and modules are generated once per
module of tests, to keep the wall time short.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from conftest import EXAMPLE_FILES, ROOT

from analyzer.atoms.table import ATOMS
from analyzer.tensorflow.codegen import generate, lower_source
from analyzer.tensorflow.keras_definitions import KERAS_LOSSES, KERAS_LOSSES_SOURCE
from analyzer.tensorflow.runtime import load_module
from analyzer.tensorflow.verify import TOLERANCE, verify_text

# One definition per row of the atom table (x, y and v are vectors of 3 entries in the reference).
ATOM_CASES: dict[str, tuple[str, str | None]] = {
    "exp": ("exp(x)", None),
    "expm1": ("expm1(x)", None),
    "square": ("square(x)", None),
    "sin": ("sin(x)", None),
    "cos": ("cos(x)", None),
    "tanh": ("tanh(x)", None),
    "sinh": ("sinh(x)", None),
    "cosh": ("cosh(x)", None),
    "atan": ("atan(x)", None),
    "erf": ("erf(x)", None),
    "erfc": ("erfc(x)", None),
    "sigmoid": ("sigmoid(x)", None),
    "softplus": ("softplus(x)", None),
    "log_sigmoid": ("log_sigmoid(x)", None),
    "silu": ("silu(x)", None),
    "gelu": ("gelu(x) + gelu(x, approximate=true)", None),
    "mish": ("mish(x)", None),
    "softsign": ("softsign(x)", None),
    "squareplus": ("squareplus(x, 2)", None),
    "squared_difference": ("squared_difference(x, y)", None),
    "ones_like": ("x * ones_like(x)", None),
    "zeros_like": ("x + zeros_like(y)", None),
    "range_like": ("sum(x * range_like(x))", None),
    "size": ("sum(x) / size(x)", None),
    "acos": ("acos(0.5 * tanh(x))", None),
    "asin": ("asin(0.5 * tanh(x))", None),
    "log2": ("log2(x)", "x > 0"),
    "log10": ("log10(x)", "x > 0"),
    "l2_normalize": ("sum(l2_normalize(x) * y)", None),
    "argsort": ("sum(argsort(x) * x)", None),
    "subscript": ("sum(x[..., 1:]) + x[..., 0] * sum(x[..., ::-1])", None),
    "multiply": ("multiply(x, y)", None),
    "add": ("add(x, y)", None),
    "subtract": ("subtract(x, y)", None),
    "negative": ("negative(x)", None),
    "sparse_categorical_crossentropy": (
        "sparse_categorical_crossentropy(argmax(y), x, from_logits=true)",
        None,
    ),
    "sparse_softmax_cross_entropy_with_logits": (
        "sparse_softmax_cross_entropy_with_logits(argmax(y), x)",
        None,
    ),
    "huber": ("huber(x, 0.7) + huber(x)", None),
    "celu": ("celu(x, 0.5)", None),
    "sum": ("sum(x * y)", None),
    "mean": ("mean(x^2)", None),
    "prod": ("prod(x)", None),
    "var": ("var(x)", None),
    "std": ("std(x)", None),
    "logsumexp": ("logsumexp(x)", None),
    "reduce_max": ("max(x)", None),
    "reduce_min": ("min(x)", None),
    "softmax": ("sum(y * softmax(x))", None),
    "log_softmax": ("sum(y * log_softmax(x))", None),
    "cumsum": ("sum(y * cumsum(x))", None),
    "sort": ("sum(y * sort(x))", None),
    "top_k_values": ("sum(top_k_values(x, 2))", None),
    "norm": ("norm(x) + norm(x, ord=1) + norm(x, ord=inf)", None),
    "dot": ("dot(x, y)", None),
    "log": ("log(x)", "x > 0"),
    "log1p": ("log1p(x)", "x > -1"),
    "sqrt": ("sqrt(x)", "x > 0"),
    "rsqrt": ("rsqrt(x)", "x > 0"),
    "reciprocal": ("reciprocal(x)", "x > 0"),
    "divide": ("divide(x, y)", "y > 0"),
    "pow": ("pow(x, 1.5) + pow(x, y) + x^-2", "x > 0"),
    "xlogy": ("xlogy(y, x)", "x > 0"),
    "tan": ("tan(x)", "-1 < x < 1"),
    "divide_no_nan": ("divide_no_nan(x, y)", None),
    "abs": ("abs(x)", None),
    "relu": ("relu(x)", None),
    "relu6": ("relu6(3 * x)", None),
    "hard_tanh": ("hard_tanh(x)", None),
    "hard_sigmoid": ("hard_sigmoid(3 * x)", None),
    "hard_silu": ("hard_silu(3 * x)", None),
    "clip": ("clip(x, -0.5, 0.5) + clip(x, y, 2)", "y < 2"),
    "leaky_relu": ("leaky_relu(x) + leaky_relu(x, alpha=1.5)", None),
    "elu": ("elu(x) + elu(x, 0.5)", None),
    "selu": ("selu(x)", None),
    "sparse_plus": ("sparse_plus(2 * x)", None),
    "soft_shrink": ("soft_shrink(x)", None),
    "hard_shrink": ("hard_shrink(x)", None),
    "max": ("max(x, y) + max(x, 0.5) + max(x, y, 0)", None),
    "min": ("min(x, y) + min(x, -0.5)", None),
    "mod": ("x % 0.7", None),
    "floor": ("floor(x) * x", None),
    "ceil": ("ceil(x) * x", None),
    "round": ("round(x) * x", None),
    "sign": ("sign(x) * x", None),
    "heaviside": ("heaviside(x) * x + step(x, 1) * x", None),
    "argmax": ("argmax(x) * sum(x)", None),
    "argmin": ("argmin(x) * sum(x)", None),
    "one_hot": ("sum(one_hot(argmax(y), 3) * x)", None),
    "in_top_k": ("in_top_k(x, argmax(y), 2) * sum(x)", None),
    "take": ("take(x, argmax(y))", None),
    "less": ("less(x, y) * x", None),
    "less_equal": ("less_equal(x, y) * x", None),
    "greater": ("greater(x, y) * x", None),
    "greater_equal": ("greater_equal(x, y) * x", None),
    "equal": ("equal(x, round(y)) + x", None),
    "not_equal": ("not_equal(x, y) * x", None),
    "logical_and": ("logical_and(x > 0, y > 0) * x", None),
    "logical_or": ("logical_or(x > 0, y > 0) * x", None),
    "logical_not": ("logical_not(x > 0) * x", None),
    "all": ("all(x > 0) * sum(x)", None),
    "any": ("any(x > 0) * sum(x)", None),
    "isnan": ("isnan(x) + x", None),
    "isinf": ("isinf(x) + x", None),
    "where": ("where(x > 0, log(x), x^2)", None),
    "stop_gradient": ("x * stop_gradient(x)", None),
    "identity": ("identity(x) * x", None),
    "cast": ("cast(x, tf.float32) + cast(x > 0, tf.float32) * x", None),
    "epsilon": ("x + epsilon()", None),
    "sigmoid_cross_entropy_with_logits": ("sum(sigmoid_cross_entropy_with_logits(y, x))", None),
    "softmax_cross_entropy_with_logits": ("softmax_cross_entropy_with_logits(y, x)", None),
    "binary_crossentropy": (
        "binary_crossentropy(y, x) + binary_crossentropy(y, x, from_logits=true)",
        "0 < x < 1",
    ),
    "categorical_crossentropy": (
        "categorical_crossentropy(y, x) + categorical_crossentropy(y, x, from_logits=true)",
        "0 < x < 1",
    ),
}


def atom_source() -> str:
    lines = []
    for name, (expression, given) in ATOM_CASES.items():
        condition = f" given {given}" if given else ""
        lines.append(f"atom_{name}(x, y){condition} = {expression}")
    return "\n".join(lines) + "\n"


def _module(text: str, path: str) -> tuple[Any, Any]:
    module = generate(lower_source(text, path))
    return module, load_module(module.text)


@pytest.fixture(scope="module")
def atoms_module() -> tuple[Any, Any]:
    return _module(atom_source(), "atoms.loss")


@pytest.fixture(scope="module")
def keras_module() -> tuple[Any, Any]:
    return _module(KERAS_LOSSES_SOURCE, "keras_losses.loss")


def _gradient(function: Any, *arrays: Any, dtype: Any = None) -> tuple[np.ndarray, list[np.ndarray | None]]:
    tensors = [tf.constant(np.asarray(a, dtype=float), dtype=dtype or tf.float64) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        value = function(*tensors)
    grads = tape.gradient(value, tensors)
    return np.asarray(value), [None if g is None else np.asarray(g) for g in grads]


# ------------------------------------------------------------------ against SymPy


def test_every_row_of_the_atom_table_has_a_case() -> None:
    assert {row.name for row in ATOMS} == set(ATOM_CASES)


def test_atom_table_rows_agree_with_sympy() -> None:
    checks = verify_text(atom_source(), "atoms.loss", points=8, executions=("eager", "xla"))
    assert len(checks) == len(ATOM_CASES)
    for check in checks:
        assert check.ok and not check.skipped, check.line_text()
        assert check.points >= 4, check.line_text()
        assert check.value_error <= TOLERANCE and check.gradient_error <= TOLERANCE, check.line_text()


@pytest.mark.parametrize("mode", ["smooth", "ste"])
def test_variants_of_the_atom_table_agree_with_sympy(mode: str) -> None:
    for check in verify_text(
        atom_source(), "atoms.loss", points=4, mode=mode, executions=("eager",), dtypes=("float64",)
    ):
        assert check.ok and not check.skipped, check.line_text()


@pytest.mark.parametrize("mode", ["plain", "smooth", "ste"])
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_examples_agree_with_sympy_and_have_finite_gradients_at_their_kinks(path: Path, mode: str) -> None:
    # the plain code in all six modes and dtypes; the variants eagerly and under XLA, in float64
    options = {} if mode == "plain" else {"executions": ("eager", "xla"), "dtypes": ("float64",)}
    checks = verify_text(path.read_text(encoding="utf-8"), path.name, points=8, mode=mode, **options)
    assert checks
    for check in checks:
        assert check.ok and not check.skipped, check.line_text()
        if mode == "plain":
            assert len(check.runs) == 6 and all(check.runs.values()), check.line_text()


SAFETY_FIXTURE = ROOT / "tests" / "fixtures" / "tf_safety.loss"


def test_the_gradient_safety_fixture_passes_in_every_mode_and_dtype() -> None:
    checks = verify_text(SAFETY_FIXTURE.read_text(encoding="utf-8"), "tf_safety.loss", points=8)
    assert len(checks) >= 30
    for check in checks:
        assert check.ok and not check.skipped and not check.error, check.line_text()
        assert len(check.runs) == 6 and all(check.runs.values()), check.line_text()
    assert sum(check.kink_points + check.switch_points for check in checks) >= 30


def test_verify_catches_a_wrong_gradient_where_kinks_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer.tensorflow import codegen

    monkeypatch.setattr(
        codegen, "_midpoint_nodes", lambda definition, body: frozenset()
    )  # the convention alone
    text = "sce(y, z) wrt z = log1p(exp(-abs(z))) + relu(z) - y*z\nodd(z) = relu(z) - relu(-z)\n"
    checks = verify_text(text, "cancel.loss", points=4, executions=("eager",), dtypes=("float64",))
    assert [check.ok for check in checks] == [False, False]
    assert all("outside the one-sided gradients" in check.line_text() for check in checks)


# ------------------------------------------------------------------ against Keras


@pytest.mark.parametrize("case", KERAS_LOSSES, ids=[c.name for c in KERAS_LOSSES])
def test_keras_equivalents_agree_with_keras(case: Any, keras_module: tuple[Any, Any]) -> None:
    module, loaded = keras_module
    ours = getattr(loaded, module.functions[case.name])
    theirs = getattr(keras.losses, case.keras)
    rng = np.random.default_rng(7)
    for dtype, tolerance in ((tf.float64, 1e-7), (tf.float32, 2e-4)):
        y = tf.constant(case.labels(rng, (32, 6)), dtype=dtype)
        p = tf.constant(case.predictions(rng, (32, 6)), dtype=dtype)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(p)
            mine = ours(y, p)
            reference = theirs(y, p, **dict(case.keras_kwargs))
        assert mine.dtype == reference.dtype and mine.shape == reference.shape
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(
            tape.gradient(mine, p).numpy(),
            tape.gradient(reference, p).numpy(),
            rtol=tolerance,
            atol=tolerance,
        )


def test_keras_loss_classes_train_and_serialize(keras_module: tuple[Any, Any]) -> None:
    module, loaded = keras_module
    loss_class = getattr(loaded, module.classes["mean_absolute_error"])
    loss = loss_class()
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is loss_class and restored.get_config() == loss.get_config()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=loss)
    rng = np.random.default_rng(0)
    history = model.fit(rng.normal(size=(16, 4)), rng.normal(size=(16, 2)), epochs=2, batch_size=8, verbose=0)
    assert all(math.isfinite(value) for value in history.history["loss"])


# ------------------------------------------------------------------ no NaN, no Inf


# Exact kinks of the atom table: (expression, inputs), each input a vector of entries.
KINKS = [
    ("abs(x)", {"x": [0.0, 1.0, -1.0]}),
    ("relu(x)", {"x": [0.0, 1.0, -1.0]}),
    ("relu6(x)", {"x": [0.0, 6.0, 3.0]}),
    ("hard_tanh(x) + hard_sigmoid(x) + hard_silu(x)", {"x": [-1.0, 1.0, 3.0]}),
    ("clip(x, 0, 1)", {"x": [0.0, 1.0, 0.5]}),
    ("leaky_relu(x) + elu(x, 0.5) + selu(x) + celu(x, 2) + sparse_plus(x)", {"x": [0.0, -1.0, 1.0]}),
    ("soft_shrink(x) + hard_shrink(x)", {"x": [0.5, -0.5, 0.0]}),
    ("max(x, y) + min(x, y) + max(x, 0) + min(x, 1)", {"x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 2.0]}),
    ("max(x) + min(x) + sum(sort(x)) + sum(top_k_values(x, 2))", {"x": [1.0, 1.0, 1.0]}),
    ("norm(x) + norm(x, ord=1) + norm(x, ord=inf)", {"x": [0.0, 0.0, 0.0]}),
    ("std(x) + sqrt(var(x)) + sqrt(sum(x^2))", {"x": [2.0, 2.0, 2.0]}),
    ("x % 1 + floor(x) + ceil(x) + round(x) + sign(x) + step(x)", {"x": [0.0, 1.0, 0.5]}),
    ("argmax(x) + argmin(x) + x", {"x": [1.0, 1.0, 0.0]}),
    ("divide_no_nan(x, y)", {"x": [1.0, 0.0, 2.0], "y": [0.0, 0.0, 1.0]}),
    ("xlogy(x, y)", {"x": [0.0, 0.0, 1.0], "y": [0.0, 1.0, 1.0]}),
    ("(x > 0) * x + (x == 0) + (x != 0) * x", {"x": [0.0, 1.0, -1.0]}),
    ("mean(abs(y - x))", {"x": [0.25, 1.0, -1.0], "y": [0.25, 1.0, -1.0]}),
]

# The boundary (and the far side) of a `where` whose untaken branch holds a partial function.
WHERE_BOUNDARIES = [
    "where(x > 0, log(x), 0)",
    "where(x > 0, sqrt(x), 0)",
    "where(x != 0, 1 / x, 0)",
    "where(x > 0, x^0.5, x)",
    "where(x > -1, log1p(x), x)",
    "where(x > 0, xlogy(x, x), 0)",
    "where(x > 0, x^-2, x)",
    "x if x <= 0 else sqrt(x)",
    "log(x) if x >= 1 else (x - 1 if x > 0 else 0)",
    "exp(x) if x < 10 else x",
    "x if x > 0 else expm1(x)",
    "sqrt(x) if x > 0 else (log(-x) if x < 0 else 0)",
]

# Where the math is finite at |x| = 100 in float32: stable forms and activations.
LARGE = [
    "softplus(x)",
    "sigmoid(x)",
    "log_sigmoid(x)",
    "tanh(x)",
    "silu(x)",
    "gelu(x)",
    "mish(x)",
    "softsign(x)",
    "erf(x)",
    "erfc(x)",
    "elu(x)",
    "selu(x)",
    "celu(x, 1)",
    "log(cosh(x))",
    "log(1 + exp(x))",
    "1 / (1 + exp(-x))",
    "log(sigmoid(x))",
    "log(1 - sigmoid(x))",
    "logsumexp(x)",
    "log(sum(exp(x)))",
    "sum(softmax(x) * x)",
    "sum(log_softmax(x))",
    "log(softmax(x))",
    "log1p(exp(x))",
    "sum(sigmoid_cross_entropy_with_logits(x / 100, x))",
    "softmax_cross_entropy_with_logits(softmax(x), x)",
    "binary_crossentropy(sigmoid(x), x, from_logits=true)",
    "x if x < 0 else softplus(x)",
    "sqrt(x^2 + 1)",
    "huber(x, 1)",
    "squareplus(x, 4)",
]


def _tensor_inputs(names: list[str], values: dict[str, list[float]]) -> list[list[float]]:
    return [values[name] for name in names]


@pytest.fixture(scope="module")
def nan_modules() -> dict[str, tuple[Any, Any]]:
    sources = {
        "kinks": "".join(
            f"kink_{i}({', '.join(inputs)}) = {expr}\n" for i, (expr, inputs) in enumerate(KINKS)
        ),
        "where": "".join(f"where_{i}(x) = {expr}\n" for i, expr in enumerate(WHERE_BOUNDARIES)),
        "large": "".join(f"large_{i}(x) = {expr}\n" for i, expr in enumerate(LARGE)),
    }
    return {name: _module(text, f"{name}.loss") for name, text in sources.items()}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_no_nan_or_inf_gradient_at_the_kinks_of_the_atom_table(nan_modules: Any, dtype: str) -> None:
    module, loaded = nan_modules["kinks"]
    for index, (expression, inputs) in enumerate(KINKS):
        function = getattr(loaded, module.functions[f"kink_{index}"])
        value, grads = _gradient(function, *inputs.values(), dtype=getattr(tf, dtype))
        assert np.all(np.isfinite(value)), expression
        for name, grad in zip(inputs, grads):
            assert grad is not None and np.all(np.isfinite(grad)), (expression, name, grad)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_no_nan_or_inf_gradient_at_the_boundary_of_a_where_with_a_partial_function(
    nan_modules: Any, dtype: str
) -> None:
    module, loaded = nan_modules["where"]
    points = [-2.0, -1.0, 0.0, 1.0, 10.0, 100.0]
    for index, expression in enumerate(WHERE_BOUNDARIES):
        function = getattr(loaded, module.functions[f"where_{index}"])
        _, (grad,) = _gradient(function, points, dtype=getattr(tf, dtype))
        assert grad is not None and np.all(np.isfinite(grad)), (expression, grad)


def test_no_nan_or_inf_at_large_inputs_where_the_math_is_finite(nan_modules: Any) -> None:
    module, loaded = nan_modules["large"]
    points = [-100.0, 100.0, 0.5]
    for index, expression in enumerate(LARGE):
        function = getattr(loaded, module.functions[f"large_{index}"])
        value, (grad,) = _gradient(function, points, dtype=tf.float32)
        assert np.all(np.isfinite(value)), (expression, value)
        assert grad is not None and np.all(np.isfinite(grad)), (expression, grad)


# ------------------------------------------------------------------ the convention at kinks


def test_the_gradient_at_a_kink_follows_one_convention_whatever_the_argument_order() -> None:
    source = (
        "a(x, y) = max(x, y)\nb(x, y) = max(y, x)\nc(x) = max(x, 0)\nd(x) = max(0, x)\nr(x) = relu(x)\n"
        "f(x) = clip(x, 0, 1)\ng(x) = abs(x)\nh(x) = norm(x)\ni(x) = std(x)\nj(x) = min(x, 1)\n"
    )
    module, loaded = _module(source, "ties.loss")

    def grads(name: str, *inputs: list[float]) -> list[np.ndarray]:
        return _gradient(getattr(loaded, module.functions[name]), *inputs)[1]

    for name in ("a", "b"):
        gx, gy = grads(name, [1.0, 2.0, 3.0], [1.0, 1.0, 4.0])
        np.testing.assert_array_equal(gx, [0.5, 1.0, 0.0])
        np.testing.assert_array_equal(gy, [0.5, 0.0, 1.0])
    for name in ("c", "d", "r"):
        np.testing.assert_array_equal(grads(name, [0.0, 1.0, -1.0])[0], [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(grads("f", [0.0, 1.0, 0.5])[0], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(grads("g", [0.0, 1.0, -1.0])[0], [0.0, 1.0, -1.0])
    np.testing.assert_array_equal(grads("h", [0.0, 0.0, 0.0])[0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(grads("i", [2.0, 2.0, 2.0])[0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(grads("j", [1.0, 0.0, 2.0])[0], [0.0, 1.0, 0.0])


def test_zero_gradient_definitions_have_a_zero_gradient_not_none() -> None:
    _, loaded = _module("acc(y, p) wrt p = mean(argmax(p) == argmax(y))\nr(x) = round(x)\n", "z.loss")
    _, (_, gp) = _gradient(loaded.acc, [[0.0, 1.0, 0.0]], [[0.2, 0.5, 0.3]])
    np.testing.assert_array_equal(gp, [[0.0, 0.0, 0.0]])
    _, (gx,) = _gradient(loaded.r, [0.4, 1.6])
    np.testing.assert_array_equal(gx, [0.0, 0.0])


def test_straight_through_is_exact_forward_and_surrogate_backward() -> None:
    from analyzer import tf_function

    sign = tf_function("f(x) = sign(x) * 2\n", mode="ste")
    value, (grad,) = _gradient(sign, [-0.5, 0.0, 0.05])
    np.testing.assert_array_equal(value, [-2.0, 0.0, 2.0])
    expected = 2 * (1 - np.tanh(np.array([-0.5, 0.0, 0.05]) / 0.1) ** 2) / 0.1
    np.testing.assert_allclose(grad, expected, rtol=1e-12)
    hard = tf_function("g(x) = x + stop_gradient(round(x) - x)\n")
    value, (grad,) = _gradient(hard, [0.4, 2.6])
    np.testing.assert_array_equal(value, [0.0, 3.0])
    np.testing.assert_array_equal(grad, [1.0, 1.0])


# ------------------------------------------------------------------ XLA


def _modules() -> list[tuple[str, str]]:
    sources = [(p.name, p.read_text(encoding="utf-8")) for p in EXAMPLE_FILES]
    return sources + [("atoms.loss", atom_source()), ("keras_losses.loss", KERAS_LOSSES_SOURCE)]


@pytest.mark.parametrize(("name", "text"), _modules(), ids=[name for name, _ in _modules()])
def test_every_generated_function_runs_under_xla(name: str, text: str) -> None:
    # One XLA compilation per module (all its functions in one graph) keeps this test short.
    source = lower_source(text, name)
    module = generate(source)
    loaded = load_module(module.text)
    functions = [getattr(loaded, module.functions[d.name]) for d in source.definitions]
    rng = np.random.default_rng(3)
    inputs = [
        [tf.constant(rng.uniform(0.1, 0.9, (2, 3)), dtype=tf.float32) for _ in d.params]
        for d in source.definitions
    ]

    def step(*flat: Any) -> Any:
        values, grads, position = [], [], 0
        for definition, function in zip(source.definitions, functions):
            args = list(flat[position : position + len(definition.params)])
            position += len(definition.params)
            with tf.GradientTape() as tape:
                tape.watch(args)
                value = tf.reduce_sum(function(*args))
            values.append(value)
            grads += [
                g if g is not None else tf.zeros_like(a) for g, a in zip(tape.gradient(value, args), args)
            ]
        return values, grads

    flat = [tensor for group in inputs for tensor in group]
    eager_values, eager_grads = step(*flat)
    xla_values, xla_grads = tf.function(step, jit_compile=True)(*flat)
    labels = [d.name for d in source.definitions]
    for label, a, b in zip(labels, xla_values, eager_values):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=label)
    for a, b in zip(xla_grads, eager_grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
