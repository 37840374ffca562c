"""Seeded generators of `.loss` text for the benchmarks and the scaling test.

`corpus(definitions, seed)` writes a file of realistic definitions that mixes the shapes of
`examples/`: regression losses, classification losses and metrics, thresholded segmentation
metrics, piecewise definitions and activations, and models inside losses (a helper layer called
from the loss that fits it). Constants, aliases pasted from TensorFlow / Keras / NumPy / JAX, block
definitions, `given` clauses and `# noqa` comments appear in realistic proportions. The same seed
always gives the same text, so runs and machines can be compared.

`sized_definition(family, nodes)` writes one definition whose body has about `nodes` syntax nodes,
for the scaling series: a sum of terms, a chain of nested compositions, or nested conditionals.
Long bodies are split into local names, as a person writes a long loss in Python, because the
parser rejects an expression nested more than 200 levels deep.

Only the standard library is used, so the generator runs without the analyzer installed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# ------------------------------------------------------------------ small helpers


def _number(rng: random.Random, low: float, high: float, digits: int = 2) -> str:
    """A literal as people write it: a few significant digits, never a trailing `.0` soup."""
    value = round(rng.uniform(low, high), digits)
    text = f"{value:.{digits}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


# Pasted spellings of the same function, as they appear in real code bases.
_MEAN = ("mean", "tf.reduce_mean", "K.mean", "jnp.mean", "np.mean")
_SUM = ("sum", "tf.reduce_sum", "K.sum", "jnp.sum")
_ABS = ("abs", "tf.abs", "K.abs", "jnp.abs")
_MAXIMUM = ("max", "tf.maximum", "K.maximum", "jnp.maximum")
_LOG = ("log", "tf.math.log", "K.log", "jnp.log")


@dataclass(frozen=True, slots=True)
class _Piece:
    """Lines of `.loss` text and how many definitions (reports) they add."""

    lines: tuple[str, ...]
    definitions: int


def _one(*lines: str) -> _Piece:
    return _Piece(tuple(lines), 1)


# ------------------------------------------------------------------ the shapes of examples/
# Each shape takes the random source and a unique suffix for its names, and returns a piece.


def _regression(rng: random.Random, tag: str) -> _Piece:
    mean, abs_ = _pick(rng, *_MEAN), _pick(rng, *_ABS)
    scale = _number(rng, 0.5, 2.0)
    delta = _number(rng, 0.5, 2.0)
    tau = _number(rng, 0.1, 0.9)
    eps = _pick(rng, "1e-7", "1e-6", "K.epsilon()", "1e-8")
    choice = rng.randrange(10)
    if choice == 0:
        return _one(f"mse_{tag}(y, p) wrt p = {mean}((y - p)^2)")
    if choice == 1:
        return _one(f"mae_{tag}(y, p) wrt p = {mean}({abs_}(y - p))")
    if choice == 2:
        return _one(f"huber_{tag}(y, p) wrt p = tf.reduce_mean(huber(y - p, delta={delta}), axis=-1)")
    if choice == 3:
        return _one(f"log_cosh_{tag}(y, p) wrt p = {mean}(log(cosh(p - y)))")
    if choice == 4:
        return _one(
            f"pinball_{tag}(y, p) wrt p = {mean}(max({tau} * (y - p), ({tau} - 1) * (y - p)))  # noqa: K201"
        )
    if choice == 5:
        return _one(
            f"mape_{tag}(y, p) wrt p = 100 * K.mean(K.abs((y - p) / K.clip(K.abs(y), {eps}, inf)), axis=-1)"
        )
    if choice == 6:
        return _one(f"msle_{tag}(y, p) wrt p given y >= 0 and p >= 0 = {mean}((log1p(p) - log1p(y))^2)")
    if choice == 7:
        return _one(
            f"smooth_l1_{tag}(y, p) wrt p = {mean}(0.5 * (y - p)^2 / {delta} if {abs_}(y - p) < {delta} "
            f"else {abs_}(y - p) - 0.5 * {delta})"
        )
    if choice == 8:
        return _one(
            f"weighted_mse_{tag}(y, p, w) wrt p given w >= 0:",
            "    residual = y - p",
            f"    return {scale} * {mean}(w * residual^2) / ({mean}(w) + {eps})",
        )
    return _one(f"rmse_{tag}(y, p) wrt p = sqrt({mean}((y - p)^2) + {eps})")


def _classification(rng: random.Random, tag: str) -> _Piece:
    mean, log = _pick(rng, *_MEAN), _pick(rng, *_LOG)
    smoothing = _number(rng, 0.05, 0.2)
    gamma = _pick(rng, "2.0", "1.5", "3.0")
    temperature = _pick(rng, "0.1", "0.5", "0.05")
    threshold = _number(rng, 0.3, 0.7)
    choice = rng.randrange(11)
    if choice == 0:
        return _one(
            f"bce_{tag}(y, p) wrt p given 0 < p < 1 and y in {{0, 1}} "
            f"= -{mean}(y * {log}(p) + (1 - y) * {log}(1 - p))"
        )
    if choice == 1:
        return _one(
            f"bce_logits_{tag}(y, z) wrt z "
            "= tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z))"
        )
    if choice == 2:
        return _one(f"cross_entropy_{tag}(y, z) wrt z = -{mean}(sum(y * log_softmax(z), axis=-1))")
    if choice == 3:
        return _one(
            f"smoothed_ce_{tag}(y, z) wrt z:",
            f"    target = (1 - {smoothing}) * y + {smoothing} / 10",
            "    return -mean(sum(target * log_softmax(z), axis=-1))",
        )
    if choice == 4:
        return _one(
            f"hinge_{tag}(y, s) wrt s given y in {{-1, 1}} = K.mean(K.maximum(1.0 - y * s, 0.0), axis=-1)"
        )
    if choice == 5:
        return _one(f"squared_hinge_{tag}(y, s) wrt s given y in {{-1, 1}} = {mean}(max(1 - y * s, 0)^2)")
    if choice == 6:
        return _one(
            f"focal_{tag}(y, p) wrt p given 0 < p < 1 and y in {{0, 1}}:",
            "    p_t = y * p + (1 - y) * (1 - p)",
            f"    return -{mean}((1 - p_t)^{gamma} * {log}(p_t))",
        )
    if choice == 7:
        return _one(f"accuracy_{tag}(y, p) wrt p = {mean}(argmax(p) == argmax(y))")
    if choice == 8:
        return _one(
            f"binary_accuracy_{tag}(y, p) wrt p = K.mean(K.equal(y, K.cast(p > {threshold}, tf.float32)))"
        )
    if choice == 9:
        return _one(f"soft_accuracy_{tag}(y, z) wrt z = {mean}(sum(softmax(z / {temperature}) * y, axis=-1))")
    return _one(f"kl_{tag}(y, p) wrt p given 0 < p < 1 and 0 < y < 1 = sum(y * {log}(y / p))")


def _thresholded(rng: random.Random, tag: str) -> _Piece:
    sum_ = _pick(rng, *_SUM)
    threshold = _number(rng, 0.3, 0.7)
    alpha = _number(rng, 0.5, 0.8)
    beta = f"{1 - float(alpha):.2f}".rstrip("0")
    smooth = _pick(rng, "1.0", "1e-5", "0.5")
    choice = rng.randrange(7)
    if choice == 0:
        return _one(
            f"hard_dice_{tag}(y, p) wrt p given 0 <= p <= 1 and y in {{0, 1}}:",
            f"    mask = cast(p > {threshold}, tf.float32)",
            f"    inter = {sum_}(y * mask)",
            f"    return 1 - (2 * inter + {smooth}) / ({sum_}(y) + {sum_}(mask) + {smooth})",
        )
    if choice == 1:
        return _one(
            f"soft_dice_{tag}(y, p) wrt p given 0 <= p <= 1 and y in {{0, 1}}:",
            f"    inter = {sum_}(y * p)",
            f"    total = {sum_}(y) + {sum_}(p)",
            f"    return 1 - (2 * inter + {smooth}) / (total + {smooth})",
        )
    if choice == 2:
        return _one(
            f"soft_jaccard_{tag}(y, p) wrt p given 0 <= p <= 1 and y in {{0, 1}}:",
            f"    inter = {sum_}(y * p)",
            f"    union = {sum_}(y) + {sum_}(p) - inter",
            f"    return 1 - (inter + {smooth}) / (union + {smooth})",
        )
    if choice == 3:
        return _one(
            f"tversky_{tag}(y, p) wrt p given 0 <= p <= 1 and y in {{0, 1}}:",
            f"    tp = {sum_}(y * p)",
            f"    fp = {sum_}((1 - y) * p)",
            f"    fn = {sum_}(y * (1 - p))",
            f"    return 1 - (tp + {smooth}) / (tp + {alpha} * fn + {beta} * fp + {smooth})",
        )
    if choice == 4:
        return _one(
            f"hard_f1_{tag}(y, p) wrt p given 0 <= p <= 1 and y in {{0, 1}}:",
            f"    pred = p > {threshold}",
            f"    tp = {sum_}(pred * y)",
            f"    fp = {sum_}(pred * (1 - y))",
            f"    fn = {sum_}((1 - pred) * y)",
            "    return 1 - 2 * tp / (2 * tp + fp + fn + 1e-7)",
        )
    if choice == 5:
        return _one(
            f"soft_f1_{tag}(y, p) wrt p given 0 <= p <= 1:",
            f"    tp = {sum_}(p * y)",
            f"    fp = {sum_}(p * (1 - y))",
            f"    fn = {sum_}((1 - p) * y)",
            "    return 1 - 2 * tp / (2 * tp + fp + fn + 1e-7)",
        )
    return _one(
        f"precision_{tag}(y, p) wrt p = {sum_}((p > {threshold}) * y) / ({sum_}(p > {threshold}) + 1e-7)"
    )


def _piecewise(rng: random.Random, tag: str) -> _Piece:
    corner = _number(rng, -1.0, 1.5)
    slope = _number(rng, 1.5, 3.0)
    low = _number(rng, -2.0, -0.5)
    high = _number(rng, 0.5, 2.0)
    alpha = _number(rng, 0.01, 0.3)
    choice = rng.randrange(12)
    if choice == 0:
        return _one(f"tangent_join_{tag}(x) = x^2 if x < 1 else 2*x - 1")
    if choice == 1:
        return _one(f"kinked_join_{tag}(x) = x if x < {corner} else {slope}*x - {slope}*{corner} + {corner}")
    if choice == 2:
        return _one(f"offset_join_{tag}(x) = x if x > {corner} else x - 1")
    if choice == 3:
        return _one(f"signed_square_{tag}(x) = x * abs(x)")
    if choice == 4:
        return _one(f"relu_difference_{tag}(x) = relu(x) - relu(-x)")
    if choice == 5:
        return _one(
            f"quantized_{tag}(x) = {_pick(rng, 'round', 'tf.math.floor', 'np.sign', 'ceil')}(x * {slope})"
        )
    if choice == 6:
        return _one(f"straight_through_{tag}(x) = x + stop_gradient(round(x) - x)")
    if choice == 7:
        return _one(f"clipped_log_{tag}(p) = log(clip(p, 1e-7, 1))")
    if choice == 8:
        return _one(f"smooth_abs_{tag}(x) = sqrt(x^2 + 1e-6)")
    if choice == 9:
        return _one(f"clipped_{tag}(x) = tf.clip_by_value(x, clip_value_min={low}, clip_value_max={high})")
    if choice == 10:
        return _one(f"leaky_{tag}(x) = leaky_relu(x, alpha={alpha})")
    activation = _pick(rng, "gelu", "K.elu", "hard_sigmoid", "tf.nn.relu", "sigmoid", "softplus")
    return _one(f"activation_{tag}(x) = {activation}(x)")


def _model_inside_loss(rng: random.Random, tag: str) -> _Piece:
    activation = _pick(rng, "relu", "tanh", "sigmoid", "softplus", "leaky_relu")
    mean = _pick(rng, *_MEAN)
    delta = _number(rng, 0.5, 2.0)
    choice = rng.randrange(4)
    if choice == 0:
        return _Piece(
            (
                f"layer_{tag}(x, w, b) = {activation}(w * x + b)",
                f"fit_{tag}(x, y, w, b) wrt w, b = {mean}((y - layer_{tag}(x, w, b))^2)",
            ),
            2,
        )
    if choice == 1:
        return _Piece(
            (
                f"mlp_{tag}(x, w1, b1, w2) = w2 * {activation}(w1 * x + b1)",
                (
                    f"fit_mlp_{tag}(x, y, w1, b1, w2) wrt w1, b1, w2 "
                    f"= {mean}(huber(y - mlp_{tag}(x, w1, b1, w2), {delta}))"
                ),
            ),
            2,
        )
    if choice == 2:
        return _one(
            f"logistic_{tag}(x, y, w, b) wrt w, b given y in {{0, 1}}:",
            "    z = w * x + b",
            f"    return {mean}(softplus(z) - y * z)",
        )
    return _Piece(
        (
            f"score_{tag}(x, w) = sum(w * x)",
            f"ranking_{tag}(x, y, w) wrt w given y in {{-1, 1}} = {mean}(relu(1 - y * score_{tag}(x, w)))",
        ),
        2,
    )


SHAPES: dict[str, Callable[[random.Random, str], _Piece]] = {
    "regression": _regression,
    "classification": _classification,
    "thresholded": _thresholded,
    "piecewise": _piecewise,
    "model-inside-loss": _model_inside_loss,
}


def _pieces(seed: int, suffix: str) -> Iterator[_Piece]:
    rng = random.Random(seed)
    shapes = list(SHAPES.values())
    index = 0
    while True:
        index += 1
        yield shapes[rng.randrange(len(shapes))](rng, f"{index}{suffix}")


_HEADER = [
    "# A generated corpus of {definitions} definitions (seed {seed}): regression, classification,",
    "# thresholded metrics, piecewise definitions and models inside losses, as in examples/.",
    "eps = 1e-7",
    "",
]


def _definitions(definitions: int, seed: int, suffix: str = "") -> list[str]:
    """Lines of exactly `definitions` definitions (helpers included); `suffix` ends every name."""
    lines: list[str] = []
    count = 0
    for piece in _pieces(seed, suffix):
        if count >= definitions:
            break
        kept = piece.lines
        if count + piece.definitions > definitions:
            # A helper-plus-loss pair does not fit: take a model-free definition instead.
            kept = (f"tail_{count}{suffix}(y, p) wrt p = mean((y - p)^2)",)
        lines.extend(kept)
        count += piece.definitions if kept is piece.lines else 1
    return lines


def corpus(definitions: int, seed: int = 0) -> str:
    """A `.loss` file with exactly `definitions` definitions (helpers included), from `seed`."""
    header = [line.format(definitions=definitions, seed=seed) for line in _HEADER]
    return "\n".join(header + _definitions(definitions, seed)) + "\n"


def repeated_corpus(copies: int, block: int = 10, seed: int = 0) -> str:
    """`copies` copies of the same `block` definitions, their names made distinct: a file that grows
    with nothing else changing, for a guard on how the work grows with the size of a file."""
    header = [line.format(definitions=copies * block, seed=seed) for line in _HEADER]
    body = [line for copy in range(copies) for line in _definitions(block, seed, f"_copy{copy}")]
    return "\n".join(header + body) + "\n"


# ------------------------------------------------------------------ sized definitions (scaling)

# Terms of a sum: each about 8 syntax nodes, mixing the shapes of a weighted multi-part loss.
_TERMS = (
    "{w} * abs(x {c})",
    "{w} * (x {c})^2",
    "{w} * relu(x {c})",
    "{w} * log(cosh(x {c}))",
    "{w} * huber(x {c}, 1.0)",
)
# Compositions wrapped around the previous value: each adds about 3 nodes and one atom, and uses
# the value once, so the expanded tree stays as large as the text (no sharing that doubles it).
_WRAPS = (
    "tanh({h} {c})",
    "relu({h} {c})",
    "sigmoid({w} * {h})",
    "softplus({h} {c})",
    "sin({h} {c})",
)
FAMILIES = ("sum", "composition", "where")
_PER_LINE = 24  # terms or wraps per local line; keeps every line far below the nesting limit


def sized_definition(family: str, nodes: int, seed: int = 0) -> str:
    """One definition `f(x, y)` with about `nodes` syntax nodes in `family` (see FAMILIES)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    # Seeded by the family alone: a larger size extends a smaller one (same first terms, levels or
    # wraps), so the sizes of a series differ only in how much there is.
    rng = random.Random(f"{family}:{seed}")
    if family == "sum":
        return _sized_sum(rng, nodes)
    if family == "composition":
        return _sized_composition(rng, nodes)
    return _sized_where(rng, nodes)


def _offset(value: float) -> str:
    """`- 2.5` or `+ 1.2`: a shift written as people write it, never `- -2.5`."""
    return f"- {value:.3g}" if value >= 0 else f"+ {-value:.3g}"


def _fill(rng: random.Random, template: str, h: str = "") -> str:
    return template.format(w=_number(rng, 0.1, 2.0), c=_offset(rng.uniform(-3.0, 3.0)), h=h)


def _sized_sum(rng: random.Random, nodes: int) -> str:
    # About 8 nodes per term with its `+`: a weighted sum of per-part losses in the prediction x.
    terms = [_fill(rng, _TERMS[k % len(_TERMS)]) for k in range(max(1, nodes // 8))]
    return _block("f(x) wrt x", terms, joiner=" + ")


def _sized_composition(rng: random.Random, nodes: int) -> str:
    # About 3.5 nodes per wrap; each local holds a chain of _PER_LINE wraps around the previous local.
    wraps = max(1, nodes * 2 // 7)
    lines = ["f(x, y) wrt x:", "    h0 = x - y"]
    previous, made, local = "h0", 0, 0
    while made < wraps:
        expression = previous
        for _ in range(min(_PER_LINE, wraps - made)):
            expression = _fill(rng, _WRAPS[made % len(_WRAPS)], h=expression)
            made += 1
        local += 1
        lines.append(f"    h{local} = {expression}")
        previous = f"h{local}"
    lines.append(f"    return {previous}")
    return "\n".join(lines) + "\n"


def _sized_where(rng: random.Random, nodes: int) -> str:
    # About 11 nodes per level: a piecewise-linear function of x with one more breakpoint per level,
    # each level choosing between the previous levels and a new line (the previous value is used
    # once, so the expanded tree grows like the text).
    levels = max(1, nodes // 11)
    corners = sorted(rng.uniform(-8.0, 8.0) for _ in range(levels))
    lines = ["f(x, y) wrt x:", "    h0 = x - y"]
    for level, corner in enumerate(corners, start=1):
        slope = _number(rng, 0.5, 1.5)
        lines.append(f"    h{level} = h{level - 1} if x < {corner:.3f} else {slope} * x {_offset(corner)}")
    lines.append(f"    return h{levels}")
    return "\n".join(lines) + "\n"


def _block(header: str, terms: list[str], joiner: str) -> str:
    lines = [f"{header}:"]
    names = []
    for start in range(0, len(terms), _PER_LINE):
        names.append(f"s{len(names)}")
        lines.append(f"    {names[-1]} = {joiner.join(terms[start : start + _PER_LINE])}")
    lines.append(f"    return {joiner.join(names)}")
    return "\n".join(lines) + "\n"


def sized_file(definitions: int, seed: int = 0) -> str:
    """A file of `definitions` definitions for the file-size series: the corpus, at that size."""
    return corpus(definitions, seed)
