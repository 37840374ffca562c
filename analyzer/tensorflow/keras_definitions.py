"""Keras's built-in losses written in the loss language, and which `keras.losses` function each is.

The tests compare the generated code with Keras (values and gradients on random batches) and the
benchmark (`benchmarks/keras_losses.py`) times both. Each definition follows Keras 3's own formula,
clips and epsilons included, so the two agree to rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

KERAS_LOSSES_SOURCE = """\
# Keras's built-in losses, as Keras 3 computes them (y is y_true, p is y_pred).
eps = 1e-7
mean_squared_error(y, p) wrt p = mean((p - y)^2)
mean_absolute_error(y, p) wrt p = mean(abs(p - y))
mean_absolute_percentage_error(y, p) wrt p = 100 * mean(abs((y - p) / max(abs(y), eps)))
mean_squared_logarithmic_error(y, p) wrt p = mean((log(max(p, eps) + 1) - log(max(y, eps) + 1))^2)
huber_loss(y, p) wrt p = mean(huber(p - y, 1.0))
log_cosh(y, p) wrt p = mean(log(cosh(p - y)))
hinge(y, p) wrt p given y in {-1, 1} = mean(max(1 - y * p, 0))
squared_hinge(y, p) wrt p given y in {-1, 1} = mean(max(1 - y * p, 0)^2)
categorical_hinge(y, p) wrt p given y in {0, 1} = max(max((1 - y) * p) - sum(y * p) + 1, 0)
binary_crossentropy_probabilities(y, p) wrt p given 0 < p < 1 and y in {0, 1} = binary_crossentropy(y, p)
binary_crossentropy_logits(y, z) wrt z given y in {0, 1} = binary_crossentropy(y, z, from_logits=true)
categorical_crossentropy_probabilities(y, p) wrt p given 0 < p < 1 and y >= 0 = categorical_crossentropy(y, p)
categorical_crossentropy_logits(y, z) wrt z given y >= 0 and sum(y) == 1 = -sum(y * log_softmax(z))
kl_divergence(y, p) wrt p given 0 < p and 0 < y = sum(clip(y, eps, 1) * log(clip(y, eps, 1) / clip(p, eps, 1)))
poisson(y, p) wrt p given p > 0 and y >= 0 = mean(p - y * log(p + eps))
cosine_similarity(y, p) wrt p:
    y_unit = y * min(rsqrt(sum(y^2, keepdims=true)), 1 / eps)
    p_unit = p * min(rsqrt(sum(p^2, keepdims=true)), 1 / eps)
    return -sum(y_unit * p_unit)
"""  # noqa: E501 - .loss text, one statement a line, as the file is read


@dataclass(frozen=True, slots=True)
class KerasLoss:
    """One definition of `KERAS_LOSSES_SOURCE` and how to draw a batch it is meant for."""

    name: str  # the definition
    keras: str  # the function of `keras.losses`
    keras_kwargs: tuple[tuple[str, object], ...]
    labels: Callable[[np.random.Generator, tuple[int, int]], np.ndarray]
    predictions: Callable[[np.random.Generator, tuple[int, int]], np.ndarray]


def _normal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.normal(0.0, 1.0, shape)


def _positive(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.uniform(0.05, 2.0, shape)


def _probabilities(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.uniform(0.02, 0.98, shape)


def _distribution(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    values = rng.uniform(0.05, 1.0, shape)
    return values / values.sum(axis=-1, keepdims=True)


def _binary(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.integers(0, 2, shape).astype(float)


def _signs(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return 2.0 * rng.integers(0, 2, shape).astype(float) - 1.0


def _one_hot(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]


KERAS_LOSSES: tuple[KerasLoss, ...] = (
    KerasLoss("mean_squared_error", "mean_squared_error", (), _normal, _normal),
    KerasLoss("mean_absolute_error", "mean_absolute_error", (), _normal, _normal),
    KerasLoss("mean_absolute_percentage_error", "mean_absolute_percentage_error", (), _positive, _normal),
    KerasLoss("mean_squared_logarithmic_error", "mean_squared_logarithmic_error", (), _positive, _positive),
    KerasLoss("huber_loss", "huber", (), _normal, _normal),
    KerasLoss("log_cosh", "log_cosh", (), _normal, _normal),
    KerasLoss("hinge", "hinge", (), _signs, _normal),
    KerasLoss("squared_hinge", "squared_hinge", (), _signs, _normal),
    KerasLoss("categorical_hinge", "categorical_hinge", (), _one_hot, _normal),
    KerasLoss("binary_crossentropy_probabilities", "binary_crossentropy", (), _binary, _probabilities),
    KerasLoss(
        "binary_crossentropy_logits", "binary_crossentropy", (("from_logits", True),), _binary, _normal
    ),
    KerasLoss(
        "categorical_crossentropy_probabilities", "categorical_crossentropy", (), _one_hot, _distribution
    ),
    KerasLoss(
        "categorical_crossentropy_logits",
        "categorical_crossentropy",
        (("from_logits", True),),
        _one_hot,
        _normal,
    ),
    KerasLoss("kl_divergence", "kl_divergence", (), _distribution, _distribution),
    KerasLoss("poisson", "poisson", (), _positive, _positive),
    KerasLoss("cosine_similarity", "cosine_similarity", (), _normal, _normal),
)
