"""LANGUAGE.md §3 as a table: each function (and the important aliases) on a parameter or a vector.

Every row is an expression for the Python API (every free name is a variable; without `wrt` all are
differentiated), what the contract says its class is, the finding kinds that must and must not be
there, the smoothness where §5's definition settles it, and, where the contract spells it out, the
`where` of a finding (compared with spaces removed). Cases the contract leaves open are left out or
only partly asserted; see the comments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from analyzer import analyze, analyze_file
from analyzer.analysis.rules import RULES

SMOOTH = "smooth"
PIECEWISE = "piecewise-differentiable"
ZERO = "zero-gradient"

KINK = "kink"
JUMP = "discontinuity"
FLAT = "constant-piece"
SING = "singularity"
UNCONNECTED = "unconnected"

NONE = (KINK, JUMP, FLAT, SING)  # absent from a smooth function with no special points
NO_BREAKS = (KINK, JUMP, FLAT)


@dataclass(frozen=True)
class Row:
    text: str
    cls: str | None  # None: the contract does not settle the class; only the kinds are checked
    kinds: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    smoothness: int | None = None  # None: not asserted
    wrt: tuple[str, ...] | None = None
    given: str | None = None
    where: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())  # (kind, accepted where strings)
    id: str | None = None


def row(text, cls, kinds=(), absent=(), smoothness=None, wrt=None, given=None, where=(), id=None) -> Row:
    return Row(
        text,
        cls,
        tuple(kinds),
        tuple(absent),
        smoothness,
        None if wrt is None else tuple(wrt),
        given,
        tuple(where),
        id,
    )


def smooth(text, smoothness=2, absent=NONE, **kw) -> Row:
    return row(text, SMOOTH, absent=absent, smoothness=smoothness, **kw)


def singular(text, where=None, smoothness=None, **kw) -> Row:
    """Smooth on its domain, with a singularity (§3 row 2)."""
    return row(
        text,
        SMOOTH,
        kinds=(SING,),
        absent=NO_BREAKS,
        smoothness=smoothness,
        where=((SING, where),) if where else (),
        **kw,
    )


def kinked(text, flat=False, where=None, absent=None, **kw) -> Row:
    """Continuous, slope jumps: piecewise-differentiable, smoothness 0."""
    kinds = (KINK, FLAT) if flat else (KINK,)
    if absent is None:
        absent = (JUMP,) if flat else (JUMP, FLAT)
    return row(
        text,
        PIECEWISE,
        kinds=kinds,
        absent=absent,
        smoothness=0,
        where=((KINK, where),) if where else (),
        **kw,
    )


def stepped(text, where=None, **kw) -> Row:
    """Piecewise constant: zero-gradient, jumps, no kinks, smoothness -1."""
    return row(
        text,
        ZERO,
        kinds=(JUMP,),
        absent=(KINK,),
        smoothness=-1,
        where=((JUMP, where),) if where else (),
        **kw,
    )


X0 = ("x==0",)

ROWS: list[Row] = [
    # ---- §3 row 1: smooth, no findings
    smooth("exp(x)"),
    smooth("expm1(x)"),
    smooth("square(x)"),
    smooth("sin(x)"),
    smooth("cos(x)"),
    smooth("tanh(x)"),
    smooth("sinh(x)"),
    smooth("cosh(x)"),
    smooth("atan(x)"),
    smooth("erf(x)"),
    smooth("erfc(x)"),
    smooth("sigmoid(x)"),
    smooth("softplus(x)"),
    smooth("log_sigmoid(x)"),
    smooth("silu(x)"),
    smooth("swish(x)"),
    smooth("gelu(x)"),
    smooth("gelu(x, approximate=false)"),
    smooth("gelu(x, approximate=true)"),
    smooth("mish(x)"),
    # softsign = x / (1 + |x|) is C1 but not C2 (its second derivative jumps at 0), while the table
    # lists it among the C-infinity functions: smoothness left open.
    smooth("softsign(x)", smoothness=None),
    smooth("squareplus(x)"),
    smooth("softmax(v)"),
    smooth("log_softmax(v)"),
    smooth("logsumexp(v)"),
    smooth("reduce_logsumexp(v)"),
    smooth("sum(v)"),
    smooth("reduce_sum(v)"),
    smooth("mean(v)"),
    smooth("reduce_mean(v)"),
    smooth("prod(v)"),
    smooth("var(v)", absent=NO_BREAKS),  # "std/var: see sqrt": singularity left open
    smooth("cumsum(v)"),
    smooth("dot(u, v)"),
    smooth("squared_difference(a, b)"),
    smooth("x * range_like(x)"),
    smooth("x + ones_like(x)"),
    smooth("x + zeros_like(x)"),
    smooth("x * size(x)"),
    row("zeros_like(x)", ZERO, absent=(KINK, JUMP), id="zeros_like alone does not depend on x"),
    row("range_like(x)", ZERO, absent=(KINK, JUMP), id="range_like alone does not depend on x's values"),
    # ---- §3 row 2: smooth on the domain, singularity where the value or the slope is infinite
    singular("a / b", where=("b==0",)),
    singular("divide(a, b)", where=("b==0",)),
    singular("1 / x", where=X0),
    singular("reciprocal(x)", where=X0),
    singular("log(x)", where=X0, smoothness=2),
    singular("tf.math.log(x)", where=X0, smoothness=2),
    singular("xlogy(y, p)", wrt=["p"]),
    singular("log1p(x)", where=("x==-1",), smoothness=2),
    singular("sqrt(x)", where=X0, smoothness=2),
    singular("rsqrt(x)", where=X0, smoothness=2),
    singular("x ^ 0.5", where=X0, smoothness=2),
    singular("x ** 0.5", where=X0, smoothness=2),
    singular("pow(x, 0.5)", where=X0, smoothness=2),
    singular("power(x, 0.25)", where=X0, smoothness=2),
    singular("x ^ -2", where=X0),
    singular("x ** -1", where=X0),
    singular("log(x + K.epsilon())"),
    # tan: the poles are singularities; the row calls it smooth on its domain (like 1 / x)
    singular("tan(x)"),
    # std is sqrt(var): its singularity is where all entries are equal, a cone in the interior of
    # R^n; the row says "smooth on their domain", §4 would say not C1 there: class left open.
    row("std(v)", None, kinds=(SING,), absent=(JUMP,)),
    # x ^ a with a > 1 is neither infinite nor steep at 0 (§3 names 0 < a < 1)
    smooth("x ^ 1.5", smoothness=None, absent=NONE),
    smooth("x ^ 3"),
    smooth("x ** 2 + 3 * x"),
    # a cusp in the interior of the region: not C1 there, so not smooth (§4: "kinks, cusps")
    row("sqrt(abs(x))", PIECEWISE, kinds=(SING,), absent=(JUMP, FLAT), smoothness=0),
    # ---- divide_no_nan
    row("divide_no_nan(a, b)", PIECEWISE, kinds=(JUMP,), smoothness=-1, where=((JUMP, ("b==0",)),)),
    row("tf.math.divide_no_nan(a, b)", PIECEWISE, kinds=(JUMP,), smoothness=-1),
    # ---- huber, elu(alpha=1), celu: C1, not C2
    smooth("huber(x)", smoothness=1),
    smooth("huber(x, delta=2.0)", smoothness=1),
    smooth("huber(x, 0.5)", smoothness=1),
    smooth("elu(x)", smoothness=1),
    smooth("elu(x, alpha=1)", smoothness=1),
    smooth("celu(x, 2.0)", smoothness=1),
    # ---- abs
    kinked("abs(x)", where=X0, absent=(JUMP, FLAT, SING)),
    kinked("absolute(x)", where=X0),
    kinked("keras.ops.abs(x)", where=X0),
    kinked("torch.abs(x)"),
    # ---- relu: kink at 0, constant piece below
    row(
        "relu(x)",
        PIECEWISE,
        kinds=(KINK, FLAT),
        absent=(JUMP, SING),
        smoothness=0,
        where=((KINK, X0), (FLAT, ("x<0",))),
    ),
    kinked("jax.nn.relu(x)", flat=True, where=X0),
    kinked("tf.nn.relu(x)", flat=True, where=X0),
    # ---- relu6, hard_tanh, hard_sigmoid, hard_silu, clip: kinks at the corners, flat beyond
    kinked("relu6(x)", flat=True),
    kinked("ops.relu6(x)", flat=True),
    kinked("hard_tanh(x)", flat=True),
    kinked("hard_sigmoid(x)", flat=True),
    kinked("hard_silu(x)", flat=True),
    kinked("clip(x, 0, 1)", flat=True),
    kinked("clip_by_value(x, clip_value_min=-1, clip_value_max=1)", flat=True),
    kinked("tf.clip_by_value(x, 0.0, 1.0)", flat=True),
    # ---- leaky_relu, elu(alpha != 1), soft_shrink, hard_shrink
    kinked("leaky_relu(x)", where=X0),
    kinked("leaky_relu(x, alpha=0.1)", where=X0),
    kinked("F.leaky_relu(x, negative_slope=0.01)", where=X0),
    kinked("elu(x, alpha=2)", where=X0),
    kinked("elu(x, alpha=0.5)"),
    # soft_shrink is flat between its corners; only the kink is asserted
    row("soft_shrink(x)", PIECEWISE, kinds=(KINK,), absent=(JUMP,), smoothness=0),
    row("hard_shrink(x)", PIECEWISE, kinds=(JUMP,), absent=(KINK,), smoothness=-1),
    # sparse_plus is left out: the table says "kink at the corners", but Keras's sparse_plus
    # (0, (x + 1)^2 / 4, x) meets both corners to first order, so it is C1.
    # selu is left out: the table lists it as smooth, but scale * alpha != scale, so it kinks at 0.
    # ---- max / min of several arguments
    kinked("max(a, b)"),
    kinked("maximum(a, b)"),
    kinked("tf.maximum(a, b)"),
    kinked("min(a, b)"),
    kinked("minimum(a, b)"),
    kinked("max(a, b, c)"),
    kinked("max(x, 0.5)", flat=True),
    kinked("maximum(x, 0)", flat=True, where=X0),
    kinked("min(x, 1)", flat=True),
    # ---- reductions with ties, sort, top_k, norm
    row("max(v)", PIECEWISE, kinds=(KINK,), absent=(JUMP, FLAT), smoothness=0),
    row("reduce_max(v)", PIECEWISE, kinds=(KINK,), absent=(JUMP, FLAT), smoothness=0),
    row("min(v)", PIECEWISE, kinds=(KINK,), absent=(JUMP, FLAT), smoothness=0),
    row("reduce_min(v)", PIECEWISE, kinds=(KINK,), absent=(JUMP, FLAT), smoothness=0),
    row("max(v, axis=0)", PIECEWISE, kinds=(KINK,), absent=(JUMP,), smoothness=0),
    row("sort(v)", PIECEWISE, kinds=(KINK,), absent=(JUMP,), smoothness=0),
    row("top_k_values(v, 2)", PIECEWISE, kinds=(KINK,), absent=(JUMP,), smoothness=0),
    row("norm(v)", PIECEWISE, kinds=(KINK,), absent=(JUMP,), smoothness=0),
    row("norm(v, ord=2)", PIECEWISE, kinds=(KINK,), absent=(JUMP,), smoothness=0),
    row("norm(v, ord=1)", PIECEWISE, kinds=(KINK,), absent=(JUMP,), smoothness=0),
    row("norm(v, ord=inf)", PIECEWISE, kinds=(KINK,), absent=(JUMP,), smoothness=0),
    # ---- floor modulo: jumps, slope 1 elsewhere
    row("x % 1", PIECEWISE, kinds=(JUMP,), absent=(KINK, FLAT), smoothness=-1),
    row("mod(x, 2)", PIECEWISE, kinds=(JUMP,), absent=(KINK, FLAT), smoothness=-1),
    row("floormod(x, 3)", PIECEWISE, kinds=(JUMP,), absent=(KINK, FLAT), smoothness=-1),
    row("x % m", PIECEWISE, kinds=(JUMP,), absent=(KINK, FLAT), smoothness=-1, wrt=["x"]),
    # ---- sign, step / heaviside, floor, ceil, round: zero-gradient, jumps
    stepped("sign(x)", where=X0),
    stepped("np.sign(x)", where=X0),
    stepped("step(x)", where=X0),
    stepped("heaviside(x)", where=X0),
    stepped("heaviside(x, h0=0.5)", where=X0),
    stepped("heaviside(x, 0)", where=X0),
    stepped("floor(x)"),
    stepped("jnp.floor(x)"),
    stepped("ceil(x)"),
    stepped("round(x)"),
    stepped("rint(x)"),
    # ---- argmax, argmin, one_hot, in_top_k, take
    stepped("argmax(v)"),
    stepped("argmin(v)"),
    stepped("one_hot(argmax(v), 3)"),
    stepped("in_top_k(v, i, 2)", wrt=["v"]),
    smooth("take(v, argmax(w))", wrt=["v"], id="take is linear in v"),
    stepped("take(v, argmax(w))", wrt=["w"], id="take is zero-gradient in its index"),
    smooth("gather(v, i)", wrt=["v"]),
    row(
        "take(v, argmax(w))",
        PIECEWISE,
        kinds=(JUMP,),
        absent=(KINK,),
        smoothness=-1,
        id="take in v and w: learns through v, jumps with w",
    ),
    # ---- comparisons and logic used as numbers
    stepped("1.0 * (x > 0)", where=X0),
    stepped("1.0 * (x >= 0)", where=X0),
    stepped("1.0 * (x < 0)", where=X0),
    stepped("1.0 * (x <= 0)", where=X0),
    stepped("(x > 0) + (x > 1)", id="booleans in arithmetic"),
    stepped("1.0 * (0 < x < 1)"),
    stepped("cast(x > 0, tf.float32)", where=X0),
    # The where keeps the number as the user wrote it.
    stepped("tf.cast(tf.greater(x, 0.0), tf.float32)", where=("x==0.0",)),
    stepped("1.0 * greater_equal(x, 0)", where=X0),
    stepped("1.0 * less(x, 0)", where=X0),
    stepped("1.0 * less_equal(x, 0)", where=X0),
    stepped("1.0 * (x > 0 and y > 0)"),
    stepped("1.0 * logical_and(x > 0, y > 0)"),
    stepped("1.0 * (x > 0 or y > 0)"),
    stepped("1.0 * logical_or(x > 0, y > 0)"),
    stepped("1.0 * (not x > 0)", where=X0),
    stepped("1.0 * logical_not(x > 0)", where=X0),
    stepped("1.0 * all(v > 0)"),
    stepped("1.0 * any(v > 0)"),
    stepped("mean(argmax(v) == argmax(y))", wrt=["v"]),
    stepped("argmax(v) == argmax(y)", wrt=["v"]),
    stepped("mean(equal(argmax(v), argmax(y)))", wrt=["v"]),
    # on a set of measure zero only: the class is settled, whether a removable jump counts is not
    row("1.0 * (x == 0)", ZERO, absent=(KINK,)),
    row("1.0 * not_equal(x, 0)", ZERO, absent=(KINK,)),
    row("1.0 * (x in {0, 1})", ZERO, absent=(KINK,)),
    row("1.0 * cast(x, tf.bool)", ZERO, absent=(KINK,)),
    row("1.0 * isnan(x)", ZERO, absent=(KINK,)),
    row("1.0 * isinf(x)", ZERO, absent=(KINK,)),
    # ---- stop_gradient: data for the gradient, nothing inside it is a finding
    row("2 * stop_gradient(x)", ZERO, absent=(KINK, JUMP)),
    row("tf.stop_gradient(relu(x))", ZERO, absent=(KINK, JUMP)),
    smooth(
        "x + stop_gradient(round(x) - x)", absent=NO_BREAKS, smoothness=None, id="straight-through estimator"
    ),
    smooth("x + stop_gradient(abs(x))", absent=NO_BREAKS, smoothness=None),
    smooth("x * stop_gradient(sign(x))", absent=NO_BREAKS, smoothness=None),
    smooth("stop_gradient(x) * x", absent=NO_BREAKS, smoothness=None),
    # ---- a if c else b, where(c, a, b)
    smooth("x^2 if x < 1 else 2*x - 1", smoothness=1, absent=NO_BREAKS, id="C1 join"),
    row(
        "x if x < 1 else 2*x - 1",
        PIECEWISE,
        kinds=(KINK,),
        absent=(JUMP, FLAT),
        smoothness=0,
        where=((KINK, ("x==1", "x-1==0")),),
        id="kinked join",
    ),
    row(
        "x if x > 0 else x - 1",
        PIECEWISE,
        kinds=(JUMP,),
        absent=(KINK, FLAT),
        smoothness=-1,
        where=((JUMP, X0),),
        id="jump join",
    ),
    row("where(x > 0, x, x - 1)", PIECEWISE, kinds=(JUMP,), absent=(KINK, FLAT), smoothness=-1),
    kinked("where(x > 0, x, 0)", flat=True, where=X0),
    row("0 if x < 0 else x^2", SMOOTH, kinds=(FLAT,), absent=(KINK, JUMP), smoothness=1),
    stepped("where(x > 0, 1, -1)", where=X0),
    row(
        "1 if x == 0 else x",
        PIECEWISE,
        kinds=(JUMP,),
        absent=(KINK,),
        smoothness=-1,
        id="measure-zero condition, values differ",
    ),
    smooth(
        "0 if x == 0 else x", absent=(KINK, JUMP), smoothness=2, id="measure-zero condition, values agree"
    ),
    kinked("0 if x < 0 else x if x < 1 else 1", flat=True, id="right-associative conditional is a clip"),
    kinked("-1 if x < -1 else (1 if x > 1 else x)", flat=True),
    row(
        "mean(p if p > 0.5 else 0)",
        PIECEWISE,
        kinds=(JUMP,),
        absent=(KINK,),
        smoothness=-1,
        wrt=["p"],
        where=((JUMP, ("p==0.5", "p==1/2")),),
    ),
    # ---- the cases of the issue
    smooth("sqrt(x^2 + 1e-6)", smoothness=2),
    smooth("x*abs(x)", smoothness=1, absent=NO_BREAKS),
    smooth("abs(x)^3", smoothness=2, absent=NO_BREAKS),
    smooth("abs(x)^2", smoothness=2, absent=NO_BREAKS),
    smooth("relu(x) - relu(-x)", smoothness=2, absent=NO_BREAKS, id="relu(x) - relu(-x) is x"),
    row("relu(x) + x", PIECEWISE, kinds=(KINK,), absent=(FLAT, JUMP), smoothness=0),
    row("sqrt(x^2)", PIECEWISE, kinds=(KINK,), absent=(JUMP,), smoothness=0),
    row("log(clip(p, 1e-7, 1))", PIECEWISE, kinds=(KINK, FLAT), absent=(SING, JUMP), smoothness=0),
    row(
        "abs(y - p)",
        PIECEWISE,
        kinds=(KINK,),
        absent=(JUMP, FLAT),
        smoothness=0,
        wrt=["p"],
        where=((KINK, ("y-p==0",)),),
    ),
    smooth(
        "abs(y - p)",
        wrt=["p"],
        given="0 < p < 1 and y in {0, 1}",
        absent=NO_BREAKS,
        id="abs(y - p) given p never equals y",
    ),
    smooth("abs(p - y)", wrt=["p"], given="0 < p < 1 and y in {0, 1}", absent=NO_BREAKS),
    smooth("relu(p)", wrt=["p"], given="p > 0", absent=NO_BREAKS, id="relu on p > 0 is p"),
    # the kink sits on the edge of x >= 0: C1 inside, so smooth (whether an edge kink is reported is open)
    smooth("abs(x)", given="x >= 0", absent=(JUMP,), smoothness=None, id="abs with its kink on the edge"),
    smooth("abs(y) * p", wrt=["p"], absent=(KINK, JUMP), id="a kink in the data only"),
    smooth("p * (y > 0)", wrt=["p"], absent=(KINK, JUMP), id="a mask on the labels"),
    row(
        "relu(1 - y * s)",
        PIECEWISE,
        kinds=(KINK, FLAT),
        absent=(JUMP,),
        smoothness=0,
        wrt=["s"],
        where=((KINK, ("1-y*s==0",)),),
    ),
    row("mean(max(1 - y * s, 0))", PIECEWISE, kinds=(KINK, FLAT), absent=(JUMP,), smoothness=0, wrt=["s"]),
    smooth("mean(max(1 - y * s, 0)^2)", smoothness=1, absent=(KINK, JUMP), wrt=["s"], id="squared hinge"),
    # ---- the cross-entropies, as their TensorFlow formulas
    smooth(
        "sigmoid_cross_entropy_with_logits(labels=z, logits=x)", wrt=["x"], absent=NO_BREAKS, smoothness=None
    ),
    smooth("tf.nn.sigmoid_cross_entropy_with_logits(z, x)", wrt=["x"], absent=NO_BREAKS, smoothness=None),
    smooth(
        "max(x, 0) - x * z + log(1 + exp(-abs(x)))",
        wrt=["x"],
        smoothness=2,
        id="TensorFlow's stable logistic loss: the two kinks cancel",
    ),
    smooth(
        "softmax_cross_entropy_with_logits(labels=y, logits=z)", wrt=["z"], absent=NO_BREAKS, smoothness=None
    ),
    smooth("binary_crossentropy(y, z, from_logits=true)", wrt=["z"], absent=NO_BREAKS, smoothness=None),
    smooth("categorical_crossentropy(y, z, from_logits=true)", wrt=["z"], absent=NO_BREAKS, smoothness=None),
    # (from_logits=false is left out: Keras clips the probabilities to [eps, 1 - eps] first, and
    # whether "as their formulas" includes that clip is not settled.)
    # ---- aliases, keyword spellings and atoms of §2
    smooth("tf.reduce_sum(v, axis=-1, keepdims=true)"),
    smooth("reduce_mean(v, keep_dims=true)"),
    smooth("mean(v, keepdim=true)"),
    smooth("sum(v, axis=None)"),
    smooth("sum(v, axis=(0, 1))"),
    smooth("tf.keras.backend.mean(K.square(y - p))", wrt=["p"]),
    smooth("jax.nn.softplus(x)"),
    smooth("cast(x, tf.float32)"),
    smooth(".5 * x + 1. * x^2 + 1e-7 + pi * x"),
    smooth("exp(-x^2)"),
    smooth("x ** 2 ** 2", id="right-associative power"),
]


def _row_id(r: Row) -> str:
    if r.id:
        return r.id
    text = r.text
    if r.wrt is not None:
        text += " wrt " + ", ".join(r.wrt)
    if r.given:
        text += " given " + r.given
    return text


def _nospace(text: str | None) -> str:
    return "".join((text or "").split())


def _describe(report) -> str:
    lines = [f"class={report.classification!r} smoothness={report.smoothness!r}"]
    for f in report.findings:
        lines.append(f"  {f.kind}/{f.code} atom={f.atom!r} where={f.where!r} span={f.span}")
    if getattr(report, "reason", None):
        lines.append(f"  reason: {report.reason}")
    return "\n".join(lines)


def _analyze(r: Row):
    return analyze(r.text, wrt=None if r.wrt is None else list(r.wrt), given=r.given)


@pytest.mark.parametrize("r", ROWS, ids=[_row_id(r) for r in ROWS])
def test_contract_row(r: Row) -> None:
    report = _analyze(r)
    info = _describe(report)
    kinds = report.kinds
    # the record of §5 read back: its findings' codes, through the rule table, name the same kinds
    assert kinds == {RULES[finding["code"]].kind for finding in report.to_dict()["findings"]}, info
    if r.cls is not None:
        assert report.classification == r.cls, info
    missing = set(r.kinds) - kinds
    assert not missing, f"missing {sorted(missing)}\n{info}"
    present = set(r.absent) & kinds
    assert not present, f"must be absent: {sorted(present)}\n{info}"
    if r.smoothness is not None:
        assert report.smoothness == r.smoothness, info
    for kind, accepted in r.where:
        wheres = [_nospace(f.where) for f in report.findings if f.kind == kind]
        assert any(w in accepted for w in wheres), f"{kind} where in {accepted}, got {wheres}\n{info}"
    for f in report.findings:
        assert f.code in RULES and RULES[f.code].kind == f.kind, f"code {f.code} for kind {f.kind}\n{info}"
    # §4/§5: smooth means C1, piecewise-differentiable means not C1
    if report.classification == SMOOTH:
        assert report.smoothness is not None and report.smoothness >= 1, info
    if report.classification == PIECEWISE:
        assert report.smoothness is not None and report.smoothness <= 0, info


STEPPED = [r for r in ROWS if r.cls == ZERO and JUMP in r.kinds]


@pytest.mark.parametrize("r", STEPPED, ids=[_row_id(r) for r in STEPPED])
def test_zero_gradient_carries_one_k001(r: Row) -> None:
    report = _analyze(r)
    k001 = [f for f in report.findings if f.kind == "zero-gradient"]
    assert len(k001) == 1 and k001[0].code == "K001", _describe(report)


# ---------------------------------------------------------------- by variable


def test_by_variable_has_one_entry_per_wrt_parameter() -> None:
    report = analyze("abs(y - p)", wrt=["p"])
    assert set(report.by_variable) == {"p"}
    assert report.by_variable["p"].classification == PIECEWISE
    assert KINK in report.by_variable["p"].kinds

    everything = analyze("a * b + abs(c)")
    assert set(everything.by_variable) == {"a", "b", "c"}
    assert everything.by_variable["a"].classification == SMOOTH
    assert everything.by_variable["c"].classification == PIECEWISE
    assert everything.classification == PIECEWISE


def test_by_variable_splits_take_into_value_and_index() -> None:
    report = analyze("take(v, argmax(w))")
    assert set(report.by_variable) == {"v", "w"}
    assert report.by_variable["v"].classification == SMOOTH
    assert report.by_variable["w"].classification == ZERO
    assert report.classification == PIECEWISE


# ---------------------------------------------------------------- the report's API


def test_kink_span_covers_the_atom_call() -> None:
    report = analyze("abs(y - p)", wrt=["p"])
    kinks = [f for f in report.findings if f.kind == KINK]
    assert kinks, _describe(report)
    span = kinks[0].span
    assert (span.line, span.column, span.end_line, span.end_column) == (1, 1, 1, 11)
    assert kinks[0].atom == "abs"
    assert kinks[0].code == "K201"


def test_to_dict_has_the_keys_of_section_5() -> None:
    report = analyze("abs(y - p)", wrt=["p"])
    record = report.to_dict()
    assert {"file", "name", "line", "wrt", "class", "smoothness", "findings"} <= record.keys()
    assert record["wrt"] == ["p"]
    assert record["class"] == PIECEWISE
    assert record["smoothness"] == 0
    json.dumps(record)  # plain JSON types only
    kinks = [f for f in record["findings"] if f["kind"] == KINK]
    assert kinks
    finding = kinks[0]
    assert {"kind", "code", "severity", "atom", "where", "message", "suggestion", "span"} <= finding.keys()
    assert finding["severity"] == "info"
    assert finding["atom"] == "abs"
    assert _nospace(finding["where"]) == "y-p==0"
    assert finding["message"] and finding["suggestion"]
    assert finding["span"] == {"line": 1, "column": 1, "end_line": 1, "end_column": 11}


def test_explain_mentions_the_atom() -> None:
    text = analyze("abs(y - p)", wrt=["p"]).explain()
    assert isinstance(text, str) and text.strip()
    assert "abs" in text


def test_given_changes_the_verdict() -> None:
    plain = analyze("abs(y - p)", wrt=["p"])
    bounded = analyze("abs(y - p)", wrt=["p"], given="0 < p < 1 and y in {0, 1}")
    assert plain.classification == PIECEWISE
    assert bounded.classification == SMOOTH
    assert KINK not in bounded.kinds


# ---------------------------------------------------------------- through files: unconnected, noqa


def _reports(tmp_path: Path, text: str) -> dict[str, object]:
    path = tmp_path / "case.loss"
    path.write_text(text, encoding="utf-8")
    return {report.name: report for report in analyze_file(str(path))}


def test_unconnected_wrt_parameter(tmp_path: Path) -> None:
    reports = _reports(
        tmp_path,
        "ignores(x, y, w) wrt w = mean((y - x)^2)\nhalf(x, w, b) wrt w, b = mean((x - b)^2)\n",
    )
    ignores = reports["ignores"]
    assert ignores.classification == ZERO, _describe(ignores)
    assert UNCONNECTED in ignores.kinds
    assert "zero-gradient" not in ignores.kinds  # the only reason is that w is unconnected
    assert not ignores.kinds & {KINK, JUMP, FLAT}

    half = reports["half"]
    assert half.classification == SMOOTH, _describe(half)
    assert UNCONNECTED in half.kinds
    assert "zero-gradient" not in half.kinds
    assert set(half.by_variable) == {"w", "b"}
    assert half.by_variable["w"].classification == ZERO
    assert half.by_variable["b"].classification == SMOOTH
    unconnected = [f for f in half.findings if f.kind == UNCONNECTED]
    assert len(unconnected) == 1 and unconnected[0].code == "K301"


def test_noqa_silences_only_the_named_codes(tmp_path: Path) -> None:
    reports = _reports(
        tmp_path,
        "all_quiet(x) = relu(x)  # noqa\nkink_quiet(x) = relu(x)  # noqa: K201\nloud(x) = relu(x)\n",
    )
    assert not reports["all_quiet"].findings
    codes = {f.code for f in reports["kink_quiet"].findings}
    assert "K201" not in codes and "K202" in codes
    assert {"K201", "K202"} <= {f.code for f in reports["loud"].findings}
    for report in reports.values():
        assert report.classification == PIECEWISE  # silencing a diagnostic does not change the analysis


def test_calls_are_expanded_with_the_callers_wrt(tmp_path: Path) -> None:
    reports = _reports(
        tmp_path,
        "layer(x, w, b) = relu(w * x + b)\nfit(x, y, w, b) wrt w, b = mean((y - layer(x, w, b))^2)\n",
    )
    assert [*reports] == ["layer", "fit"]  # every definition gets its own report, helpers included
    assert reports["fit"].classification == PIECEWISE
    assert {KINK, FLAT} <= reports["fit"].kinds  # the dead relu is a constant piece of the loss
    assert JUMP not in reports["fit"].kinds


def test_function_name_can_be_shadowed(tmp_path: Path) -> None:
    """LANGUAGE.md §1: a definition named like a function is the user's from its line on."""
    reports = _reports(tmp_path, "relu(x) = x\nfine(x) = relu(x)^2 + tf.nn.relu(x)\n")
    assert reports["relu"].classification == SMOOTH
    assert reports["fine"].classification == PIECEWISE  # the prefixed spelling is still the built-in
