"""`kinks verify`: run the generated TensorFlow code against SymPy, in float64.

For each definition, random points of the region allowed by its domain and `given` are drawn and
kept only away from every kink and jump (no switch of the analysis body changes state within a
margin around the point, along any coordinate). There the generated function's values and its
`tf.GradientTape` gradients must agree with the exact values and derivatives of the analysis body
(`reference.build_reference`) to `TOLERANCE`, relative to the size of the reference. Then the
gradient is evaluated at the points where the analysis confirmed each kink and jump (the findings'
witnesses, snapped onto exact ties), where it must be finite.

Imports TensorFlow: only `kinks verify` and tests call this.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..evaluate import EvaluationError, Program
from ..probe import Bound, region_from
from ..report import INVALID, Report
from .codegen import CodegenError, generate, lower_any
from .lowering import CodegenDefinition, lower_source
from .reference import ENTRIES, Reference, ScalarizeError, build_reference
from .rewrite import normalized_labels

TOLERANCE = 1e-6
SCALE_FLOOR = 1e-6  # errors are relative to max(|reference|, this)
CANDIDATES = 96
MARGIN = 1e-4  # a point is kept when no switch changes within this (relative) distance


@dataclass(slots=True)
class Check:
    """What `verify` found for one definition."""

    file: str
    name: str
    line: int
    points: int = 0
    value_error: float = 0.0
    gradient_error: float = 0.0
    kink_points: int = 0
    nonfinite: list[str] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None

    @property
    def mismatch(self) -> bool:
        return self.value_error > TOLERANCE or self.gradient_error > TOLERANCE

    @property
    def ok(self) -> bool:
        return self.error is None and not self.mismatch and not self.nonfinite

    def line_text(self) -> str:
        where = f"{self.file}:{self.line}: {self.name}"
        if self.error:
            return f"{where}: ERROR {self.error}"
        if self.skipped:
            return f"{where}: skipped ({self.skipped})"
        verdict = "ok" if self.ok else ("MISMATCH" if self.mismatch else "NaN/Inf")
        text = (f"{where}: {verdict}: {self.points} points, value error {self.value_error:.1e}, "
                f"gradient error {self.gradient_error:.1e}")
        if self.kink_points:
            text += f"; {self.kink_points} kink/jump points"
            text += ", gradient finite" if not self.nonfinite else f", non-finite gradient at {', '.join(self.nonfinite)}"
        return text


def verify_text(text: str, path: str = "<string>", *, points: int = 16, mode: str = "plain") -> list[Check]:
    """Check every valid definition of a `.loss` text (or a lone expression), or of its variant."""
    if mode == "plain":
        source = lower_any(text, path)
        defaults: dict[str, float] = {}
    else:
        from .smooth import rewrite_source

        rewritten = rewrite_source(text, path, mode=mode)
        source = lower_source(rewritten.text, path, rewritten.temperatures)
        defaults = rewritten.temperatures
    checks: list[Check] = []
    try:
        module = generate(source, mode=mode, keyword_defaults=defaults)
    except CodegenError as error:
        return [Check(path, d.name, d.line, error=str(error)) for d in source.definitions]
    from .runtime import load_module

    loaded = load_module(module.text)
    lines = _definition_lines(text, path) if mode != "plain" else {}
    failed = {failure.name: failure for failure in module.failures}
    for definition in source.definitions:
        if definition.name in failed:
            failure = failed[definition.name]
            checks.append(Check(path, definition.name, failure.line, error=f"no code: {failure.message}"))
            continue
        function = getattr(loaded, module.functions[definition.name])
        check = _verify_definition(path, definition, function, points)
        check.line = lines.get(definition.name, check.line)  # a variant's line in the file as written
        checks.append(check)
    return checks


def _definition_lines(text: str, path: str) -> dict[str, int]:
    from .. import syntax as ast
    from ..parser import parse_source

    return {s.name: s.span.line for s in parse_source(text, path).statements if isinstance(s, ast.Definition)}


def _verify_definition(path: str, definition: CodegenDefinition, function: Any, points: int) -> Check:
    report = definition.report
    check = Check(path, definition.name, definition.line)
    if report.classification == INVALID or report.expression is None:
        check.skipped = "invalid"
        return check
    variables = list(report.params)
    wrt = list(report.wrt)
    try:
        reference = build_reference(report.expression, variables, wrt)
        sample = _sample(report, variables, wrt, reference, points)
    except (ScalarizeError, EvaluationError, TypeError, ValueError) as error:
        check.skipped = f"no SymPy reference: {error}"
        return check
    if sample is None:
        check.skipped = "no point of the region is away from every kink and jump"
        return check
    values, gradients = _tensorflow(function, variables, wrt, sample)
    expected_values = reference.values(sample)
    expected_gradients = reference.gradient(sample)
    check.points = len(next(iter(sample.values())))
    check.value_error = _error(values, expected_values)
    check.gradient_error = max((_error(gradients[name], expected_gradients[name]) for name in wrt), default=0.0)
    kinks = list(_kink_points(report, variables))
    if kinks:
        at_kinks = {name: np.asarray([point[name] for point in kinks], dtype=float) for name in variables}
        _, kink_gradients = _tensorflow(function, variables, wrt, at_kinks)
        check.kink_points = len(kinks)
        for name in wrt:
            bad = ~np.all(np.isfinite(kink_gradients[name]), axis=1)
            if np.any(bad):
                check.nonfinite.append(f"{name} ({int(np.sum(bad))} of {len(kinks)})")
    return check


# ------------------------------------------------------------------ points


def _draw(rng: np.random.Generator, bound: Bound, shape: tuple[int, ...]) -> np.ndarray:
    lo, hi = bound.lo, bound.hi
    if math.isfinite(lo) and math.isfinite(hi):
        return lo + (hi - lo) * (0.02 + 0.96 * rng.random(shape))
    if math.isfinite(lo):
        return lo + 1e-3 + rng.exponential(1.5, shape)
    if math.isfinite(hi):
        return hi - 1e-3 - rng.exponential(1.5, shape)
    return rng.normal(0.0, 1.5, shape)


def _sample(report: Report, variables: list[str], wrt: list[str], reference: Reference,
            wanted: int) -> dict[str, np.ndarray] | None:
    body = report.expression
    program = Program(body)
    condition = Program(sp.Piecewise((1, report.given), (0, True))) if report.given is not None else None
    region = region_from(report.given, variables, condition)
    rng = np.random.default_rng(zlib.crc32(f"{report.name}:{sp.srepr(body)}".encode()))
    shape = (CANDIDATES, ENTRIES)
    point: dict[str, np.ndarray] = {}
    for name in variables:
        if name in region.choices:
            point[name] = rng.choice(np.asarray(region.choices[name], dtype=float), size=shape)
        else:
            point[name] = _draw(rng, region.bounds.get(name, Bound()), shape)
    for name in normalized_labels(report.given):
        if name.name in point and name.name not in region.choices:  # `given sum(y) == 1`: rescale to it
            positive = np.abs(point[name.name])
            point[name.name] = positive / np.sum(positive, axis=1, keepdims=True)
    keep = np.ones(CANDIDATES, dtype=bool)
    if condition is not None:
        holds, _ = condition.run(point, states=False)
        keep &= np.all(_rows(holds, CANDIDATES) > 0.5, axis=1)
    _, states = program.run(point)
    base = _signature(states, CANDIDATES)
    for name in variables:
        if name in region.choices:
            continue
        for entry in range(ENTRIES):
            for side in (-1.0, 1.0):
                moved = dict(point)
                column = point[name][:, entry]
                shifted = point[name].copy()
                shifted[:, entry] = column + side * MARGIN * (1.0 + np.abs(column))
                moved[name] = shifted
                _, moved_states = program.run(moved)
                keep &= np.all(_signature(moved_states, CANDIDATES) == base, axis=1)
    with np.errstate(all="ignore"):
        values = reference.values(point)
        keep &= np.all(np.isfinite(values), axis=1)
        for gradient in reference.gradient(point).values():
            keep &= np.all(np.isfinite(gradient), axis=1)
    chosen = np.nonzero(keep)[0][:wanted]
    if len(chosen) == 0:
        return None
    return {name: values_[chosen] for name, values_ in point.items()}


def _rows(value: Any, count: int) -> np.ndarray:
    """A value of the evaluator as one row per point."""
    array = np.asarray(value, dtype=float)
    if array.ndim >= 1 and array.shape[0] == count:
        return array.reshape(count, -1)
    return np.broadcast_to(array.reshape(1, -1), (count, max(array.size, 1)))


def _signature(states: list[Any], count: int) -> np.ndarray:
    if not states:
        return np.zeros((count, 1), dtype=np.int64)
    return np.concatenate([_rows(state, count).astype(np.int64) for state in states], axis=1)


def _kink_points(report: Report, variables: list[str]) -> Iterable[dict[str, list[float]]]:
    """Witnesses of kinks and jumps, as found, and snapped onto the ties they are next to."""
    seen: list[dict[str, list[float]]] = []
    for finding in report.findings:
        if finding.kind not in ("kink", "discontinuity") or finding.witness is None:
            continue
        point = {name: list(finding.witness.point.get(name, [0.0] * ENTRIES)) for name in variables}
        if any(len(values) != ENTRIES for values in point.values()):
            continue
        for candidate in (point, _snapped(point, report.wrt)):
            if candidate not in seen:
                seen.append(candidate)
                yield candidate


def _snapped(point: Mapping[str, list[float]], wrt: Sequence[str]) -> dict[str, list[float]]:
    anchors = sorted({value for values in point.values() for value in values} | {0.0, 0.5, 1.0, -1.0})
    out = {name: list(values) for name, values in point.items()}
    for name in wrt:
        for index, value in enumerate(out[name]):
            for anchor in anchors:
                if anchor != value and abs(anchor - value) <= 1e-7 * (1.0 + abs(value)):
                    out[name][index] = anchor
                    break
    return out


# ------------------------------------------------------------------ TensorFlow


def _tensorflow(function: Any, variables: list[str], wrt: list[str],
                point: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Values and gradients, one point at a time: each point is a batch of one row of entries.

    That is the reference's model (one row of 3 entries, reductions over it); a batch of several
    rows would differ where a reduced value meets an unreduced one (`max(z) - z` broadcasts only
    against a single row, as in NumPy).
    """
    import tensorflow as tf

    count = len(next(iter(point.values())))

    def run(arrays: list[np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        tensors = [tf.constant(array, dtype=tf.float64) for array in arrays]
        watched = [tensors[variables.index(name)] for name in wrt]
        with tf.GradientTape() as tape:
            tape.watch(watched)
            output = function(*tensors)
            total = tf.reduce_sum(output)
        grads = tape.gradient(total, watched)
        value = np.asarray(output, dtype=float)
        gradient = {
            name: (np.zeros(arrays[variables.index(name)].shape) if g is None else np.asarray(g, dtype=float))
            for name, g in zip(wrt, grads)
        }
        return value, gradient

    values, gradients = [], {name: [] for name in wrt}
    for index in range(count):
        value, gradient = run([point[name][index : index + 1] for name in variables])
        values.append(value.reshape(-1))
        for name in wrt:
            gradients[name].append(gradient[name].reshape(-1))
    width = max(len(v) for v in values)
    return (np.stack([np.broadcast_to(v, (width,)) for v in values]),
            {name: np.stack(rows) for name, rows in gradients.items()})


def _error(actual: np.ndarray, expected: np.ndarray) -> float:
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        if actual.shape[0] == expected.shape[0] and (actual.shape[1] == 1 or expected.shape[1] == 1):
            actual, expected = np.broadcast_arrays(actual, expected)
        else:
            return math.inf
    with np.errstate(all="ignore"):
        scale = np.maximum(np.max(np.abs(expected), axis=1, keepdims=True), SCALE_FLOOR)
        errors = np.abs(actual - expected) / scale
    errors = np.where(np.isnan(errors) & np.isnan(expected), 0.0, errors)
    return float(np.max(errors)) if errors.size else 0.0


def summary(checks: Sequence[Check]) -> str:
    checked = [c for c in checks if not c.skipped and not c.error]
    mismatches = sum(c.mismatch for c in checked)
    nonfinite = sum(bool(c.nonfinite) for c in checked)
    errors = sum(bool(c.error) for c in checks)
    skipped = sum(bool(c.skipped) for c in checks)
    largest_value = max((c.value_error for c in checked), default=0.0)
    largest_gradient = max((c.gradient_error for c in checked), default=0.0)
    return (f"{len(checked)} definitions checked, {mismatches} mismatches, {nonfinite} with NaN/Inf at kinks, "
            f"{errors} errors, {skipped} skipped; largest value error {largest_value:.1e}, "
            f"largest gradient error {largest_gradient:.1e} (tolerance {TOLERANCE:g})")
