"""Issue 12, item by item: library argument order, methods, indexing, shadowing, new functions,
numbers as conditions, data names, corrected rows, TensorFlow lowering of the new rows, bad input."""

from __future__ import annotations

import pytest

from analyzer import analyze, analyze_text, to_tensorflow
from analyzer.atoms import table as atoms


def _kinds(report) -> list[str]:
    return sorted({f.kind for f in report.findings})


def _one(text: str):
    reports = analyze_text(text + "\n", "t.loss")
    return reports[-1]


# ---------------------------------------------------------------- library order and keywords


def test_torch_bce_reads_input_then_target() -> None:
    report = analyze("F.binary_cross_entropy(p, y)", wrt=["p"])
    assert {f.where for f in report.findings if f.kind == "singularity"} == {"p == 0", "1 - p == 0"}


@pytest.mark.parametrize(
    "text,cls,kinds",
    [
        ("F.mse_loss(p, y)", "smooth", []),
        ("F.l1_loss(p, y)", "piecewise-differentiable", ["kink"]),
        ("F.smooth_l1_loss(p, y, beta=0.5)", "smooth", []),
        ("F.huber_loss(p, y, delta=2.0)", "smooth", []),
        ("F.cross_entropy(p, y)", "smooth", []),
        ("F.nll_loss(p, y)", "smooth", []),
        ("F.soft_margin_loss(p, y)", "smooth", []),
        ("F.hinge_embedding_loss(p, y)", "piecewise-differentiable", ["constant-piece", "kink"]),
        ("torch.clamp(p, min=0)", "piecewise-differentiable", ["constant-piece", "kink"]),
        ("torch.clamp(p, max=1)", "piecewise-differentiable", ["constant-piece", "kink"]),
        ("torch.clamp_min(p, 0)", "piecewise-differentiable", ["constant-piece", "kink"]),
        ("F.normalize(p, dim=-1)", "piecewise-differentiable", ["kink"]),
        ("keras.losses.mean_absolute_error(y, p)", "piecewise-differentiable", ["kink"]),
        ("keras.losses.huber(y, p, delta=1.0)", "smooth", []),
        ("tf.keras.losses.log_cosh(y, p)", "smooth", []),
        ("keras.losses.hinge(y, p)", "piecewise-differentiable", ["constant-piece", "kink"]),
    ],
)
def test_library_spellings(text: str, cls: str, kinds: list[str]) -> None:
    report = analyze(text, wrt=["p"])
    assert (report.classification, _kinds(report)) == (cls, kinds)


def test_library_rows_are_data_not_lowering_cases() -> None:
    assert atoms.lookup("F.mse_loss").params[0].name == "input"
    assert atoms.lookup("keras.losses.huber").params[0].name == "y_true"
    assert atoms.lookup("huber").params[0].name == "x"  # the language's own huber is unchanged
    assert atoms.lookup("clamp", method=True) is atoms.lookup("torch.clamp")


# ---------------------------------------------------------------- methods and indexing


@pytest.mark.parametrize(
    "text,wrt,cls",
    [
        ("((p - y) ** 2).mean()", ["p"], "smooth"),
        ("(p - y).abs().sum(dim=1).mean()", ["p"], "piecewise-differentiable"),
        ("p.pow(2).sum(dim=-1, keepdim=true)", ["p"], "smooth"),
        ("p.clamp(min=0).exp().log()", ["p"], "piecewise-differentiable"),
        ("p.sigmoid().mean()", ["p"], "smooth"),
        ("(a - b).norm()", ["a"], "piecewise-differentiable"),
        ("p[..., 0] - p[..., 1]", ["p"], "smooth"),
        ("sum(p[..., 1:] * y[:, 1:])", ["p"], "smooth"),
        ("sum(p[..., ::-1] * p)", ["p"], "smooth"),
        ("p[..., i]", ["i"], "zero-gradient"),
    ],
)
def test_methods_and_indexing(text: str, wrt: list[str], cls: str) -> None:
    assert analyze(text, wrt=wrt).classification == cls


def test_method_call_is_a_call_with_the_receiver_first() -> None:
    from analyzer.language.parser import parse_expression
    from analyzer.language.syntax import Call, Index, Name

    call = parse_expression("x.sum(dim=1)")
    assert isinstance(call, Call) and call.method and call.func == "sum"
    assert call.args == (Name("x", call.args[0].span),) and call.keywords[0].name == "dim"
    index = parse_expression("p[..., 1:]")
    assert isinstance(index, Index) and len(index.items) == 2


# ---------------------------------------------------------------- shadowing


def test_shadowing() -> None:
    text = (
        "reciprocal = 2\n"
        "binary_crossentropy(y_true, y_pred) wrt y_pred = -mean(y_true * log(y_pred))\n"
        "user(y_true, y_pred) wrt y_pred = binary_crossentropy(y_true, y_pred) * reciprocal\n"
        "builtin(y_true, y_pred) wrt y_pred = "
        "keras.losses.binary_crossentropy(y_true, y_pred) + tf.math.reciprocal(y_pred)\n"
        "nll(x, variance, max) wrt x, variance = (x - max) ^ 2 / variance\n"
    )
    reports = {r.name: r for r in analyze_text(text, "s.loss")}
    assert reports["binary_crossentropy"].classification == "smooth"
    assert _kinds(reports["user"]) == ["singularity"]
    assert "kink" in _kinds(reports["builtin"])
    assert reports["nll"].classification == "smooth" and _kinds(reports["nll"]) == ["singularity"]


# ---------------------------------------------------------------- new functions


@pytest.mark.parametrize(
    "text,cls,kinds",
    [
        ("acos(x)", "smooth", ["singularity"]),
        ("arcsin(x)", "smooth", ["singularity"]),
        ("log2(x)", "smooth", ["singularity"]),
        ("log10(x)", "smooth", ["singularity"]),
        ("logsumexp(x, b=exp(w))", "smooth", []),
        ("argsort(x)", "zero-gradient", ["discontinuity", "zero-gradient"]),
        ("x / size(x, -1)", "smooth", []),
        ("l2_normalize(x, axis=-1, epsilon=1e-12)", "piecewise-differentiable", ["kink"]),
        ("tf.linalg.norm(x)", "piecewise-differentiable", ["kink"]),
        ("jnp.linalg.norm(x)", "piecewise-differentiable", ["kink"]),
        ("sparse_categorical_crossentropy(y, x, from_logits=true)", "smooth", []),
        ("sparse_plus(x)", "smooth", ["constant-piece"]),
        ("selu(x)", "piecewise-differentiable", ["kink"]),
    ],
)
def test_new_rows(text: str, cls: str, kinds: list[str]) -> None:
    report = analyze(text, wrt=["x"])
    assert (report.classification, _kinds(report)) == (cls, kinds)


def test_corrected_row_facts() -> None:
    assert atoms.lookup("sparse_plus").smoothness == 1 and not atoms.lookup("sparse_plus").kinks
    assert atoms.lookup("selu").kinks


def test_tensorflow_lowering_of_the_new_rows() -> None:
    code = to_tensorflow(
        "f(x) wrt x = acos(x) + log10(x) + sum(argsort(x)) + sum(x[..., 1:]) + x[..., 0] + sum(x[..., ::-1])"
        " + l2_normalize(x, axis=-1) + asin(x) + log2(x)\n"
    )
    for piece in (
        "tf.math.acos(x)",
        "tf.math.asin(x)",
        "tf.argsort(x, axis=-1)",
        "x[..., 1:]",
        "x[..., 0]",
        "x[..., ::-1]",
    ):
        assert piece in code


# ---------------------------------------------------------------- conditions and data names


def test_a_number_as_a_condition_means_not_zero() -> None:
    report = analyze("where(m, x, 2 * x)", wrt=["x"])
    assert report.classification == "smooth"
    assert analyze("where(x, 1, 0)", wrt=["x"]).classification == "zero-gradient"


def test_data_names_are_not_differentiated_without_wrt() -> None:
    report = _one(
        "masked(y_true, y_pred, mask, sample_weight) = mean(mask * sample_weight * (y_true - y_pred)^2)"
    )
    assert report.wrt == ("y_pred",)
    assert _one("f(x, y) = x * y").wrt == ("x", "y")  # y is not a data name
    reports = analyze_text("f(y_true, p) = abs(y_true - p)\n", "t.loss", data_names=())
    assert reports[0].wrt == ("y_true", "p")


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "text,words,position",
    [
        ("f(x):\n    for i in x:\n        y = i\n    return y", "a loop", (2, 5)),
        ("f(x) = (lambda t: t)(x)", "a lambda", (1, 9)),
        ("f(x):\n    x[0] = 1\n    return x", "an assignment to an index", (2, 6)),
        ("f(x) = x.shape[0] * x", "size(x, axis)", (1, 8)),
        ("def f(x):\n    return x", "`def`", (1, 1)),
        ("f(x) = sum(a for a in x)", "a comprehension", (1, 14)),
        ("f(x) = [1, 2]", "a list", (1, 8)),
    ],
)
def test_unsupported_constructs_are_named(text: str, words: str, position: tuple[int, int]) -> None:
    report = _one(text)
    assert report.classification == "invalid"
    finding = report.findings[0]
    assert words in finding.message and "unexpected character" not in finding.message
    assert (finding.span.line, finding.span.column) == position


@pytest.mark.parametrize(
    "text,suggestion",
    [
        ("f(x) = F.hardtan(x)", "F.hardtanh"),
        ("f(y, p) = mae(y, p)", "keras.losses.mae"),
        ("f(x) = x.clampp(min=0)", ".clamp()"),
    ],
)
def test_suggestions_resolve(text: str, suggestion: str) -> None:
    message = _one(text).findings[0].message
    assert f"did you mean `{suggestion}`" in message
    fixed = (
        text.replace(text.split("= ")[1].split("(")[0], suggestion.strip(".()"), 1)
        if not suggestion.startswith(".")
        else None
    )
    if fixed:
        assert _one(fixed).classification != "invalid"


def test_hardtanh_is_an_alias() -> None:
    assert _one("f(x) = F.hardtanh(x)").classification == "piecewise-differentiable"
