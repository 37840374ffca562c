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

from ..analysis.evaluate import EvaluationError, Program
from ..analysis.probe import Bound, region_from
from ..analysis.report import INVALID, Report
from .codegen import CodegenError, generate, lower_any
from .codegen_lowering import CodegenDefinition, lower_source
from .nodes import Along, AlongCondition, OnesLike, StraightThrough, ZerosLike
from .reference import ENTRIES, Reference, ScalarizeError, build_reference
from .rewrite import normalized_labels

TOLERANCE = 1e-6
SCALE_FLOOR = 1e-6  # errors are relative to max(|reference|, this)
FLOAT32_SCALE_FLOOR = 1e-2  # float32 keeps about 7 digits: a gradient of 1e-5 next to 0 is its rounding
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
    runs: dict[str, bool] = field(default_factory=dict)  # "eager float32" -> passed
    wrong: list[str] = field(default_factory=list)  # what failed, with the run and the point
    switch_points: int = 0  # points on switches across which the analysis found the body C1

    @property
    def mismatch(self) -> bool:
        return bool(self.wrong) or self.value_error > TOLERANCE or self.gradient_error > TOLERANCE

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
        text = (
            f"{where}: {verdict}: {self.points} points, value error {self.value_error:.1e}, "
            f"gradient error {self.gradient_error:.1e}"
        )
        if self.kink_points:
            text += f"; {self.kink_points} kink/jump points"
            text += (
                ", gradient finite"
                if not self.nonfinite
                else f", non-finite gradient at {', '.join(self.nonfinite)}"
            )
        if self.switch_points:
            text += f"; {self.switch_points} switch points"
        if self.runs:
            text += f"; {sum(self.runs.values())} of {len(self.runs)} runs ok"
        if self.wrong:
            text += (
                "; "
                + "; ".join(self.wrong[:3])
                + (f" (+{len(self.wrong) - 3} more)" if len(self.wrong) > 3 else "")
            )
        return text


EXECUTIONS = ("eager", "function", "xla")  # eagerly, under tf.function, under tf.function(jit_compile=True)
DTYPES = ("float32", "float64")
DTYPE_TOLERANCE = {"float64": TOLERANCE, "float32": 5e-3}  # relative, against the float64 reference
ONE_SIDED_STEP = 1e-6  # the one-sided gradients at a switch: the reference this far to each side


def verify_text(
    text: str,
    path: str = "<string>",
    *,
    points: int = 16,
    mode: str = "plain",
    executions: Sequence[str] = EXECUTIONS,
    dtypes: Sequence[str] = DTYPES,
) -> list[Check]:
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
        check = _verify_definition(
            path, definition, function, points, executions, dtypes, sided=mode != "ste"
        )
        check.line = lines.get(definition.name, check.line)  # a variant's line in the file as written
        checks.append(check)
    return checks


def _definition_lines(text: str, path: str) -> dict[str, int]:
    from ..language import syntax as ast
    from ..language.parser import parse_source

    return {s.name: s.span.line for s in parse_source(text, path).statements if isinstance(s, ast.Definition)}


def _verify_definition(
    path: str,
    definition: CodegenDefinition,
    function: Any,
    points: int,
    executions: Sequence[str] = EXECUTIONS,
    dtypes: Sequence[str] = DTYPES,
    sided: bool = True,
) -> Check:
    """`sided`: the gradient at kinks must lie between the one-sided ones (not for straight-through
    estimators, whose gradient is the surrogate's by design; there it must only be finite)."""
    report = definition.report
    check = Check(path, definition.name, definition.line)
    if report.classification == INVALID or report.expression is None:
        check.skipped = "invalid"
        return check
    variables = list(report.params)
    wrt = list(report.wrt)
    try:
        reference = build_reference(_reference_body(definition), variables, wrt)
        sample = _sample(report, variables, wrt, reference, points)
    except (ScalarizeError, EvaluationError, TypeError, ValueError) as error:
        check.skipped = f"no SymPy reference: {error}"
        return check
    if sample is None:
        check.skipped = "no point of the region is away from every kink and jump"
        return check
    expected_values = reference.values(sample)
    expected_gradients = reference.gradient(sample)
    check.points = len(next(iter(sample.values())))
    kinks = list(_kink_points(report, variables))
    at_kinks = _stack(kinks, variables)
    kink_hulls = _one_sided(reference, kinks, variables, wrt)
    switches = _switch_points(sample, variables, wrt, report) if wrt else []
    at_switches = _stack(switches, variables)
    switch_hulls = _one_sided(reference, switches, variables, wrt)
    check.kink_points, check.switch_points = len(kinks), len(switches)
    for execution in executions:
        for dtype in dtypes:
            label = f"{execution} {dtype}"
            before = len(check.wrong) + len(check.nonfinite)
            runner = _runner(function, variables, wrt, execution, dtype)
            values, gradients = _tensorflow(runner, variables, wrt, sample)
            floor = SCALE_FLOOR if dtype == "float64" else FLOAT32_SCALE_FLOOR
            value_error = _error(values, expected_values, floor)
            gradient_error = max(
                (_error(gradients[name], expected_gradients[name], floor) for name in wrt), default=0.0
            )
            if dtype == "float64":
                check.value_error = max(check.value_error, value_error)
                check.gradient_error = max(check.gradient_error, gradient_error)
            tolerance = DTYPE_TOLERANCE[dtype]
            if value_error > tolerance or gradient_error > tolerance:
                check.wrong.append(
                    f"{label}: value error {value_error:.1e}, gradient error {gradient_error:.1e}"
                )
            for kind, at, hulls in (
                ("kink/jump", at_kinks, kink_hulls),
                ("switch", at_switches, switch_hulls),
            ):
                if at is None:
                    continue
                _, at_gradients = _tensorflow(runner, variables, wrt, at)
                _check_one_sided(check, label, kind, at_gradients, hulls, wrt, tolerance, sided, dtype)
            check.runs[label] = len(check.wrong) + len(check.nonfinite) == before
    return check


def _reference_body(definition: CodegenDefinition) -> Any:
    """The analysis body, or the code's where it keeps what the analysis drops (ones_like's shape)."""
    body = definition.body
    markers = (Along, AlongCondition, StraightThrough)
    if isinstance(body, sp.Basic) and body.has(OnesLike, ZerosLike) and not body.has(*markers):
        return body
    return definition.report.expression


def _stack(
    points: Sequence[Mapping[str, Sequence[float]]], variables: list[str]
) -> dict[str, np.ndarray] | None:
    if not points:
        return None
    return {name: np.asarray([point[name] for point in points], dtype=float) for name in variables}


def _one_sided(
    reference: Reference,
    points: Sequence[Mapping[str, Sequence[float]]],
    variables: list[str],
    wrt: list[str],
) -> list[dict[str, tuple[np.ndarray, np.ndarray]] | None]:
    """Per point, the range (low, high) of the gradients next to it on every side; None where one is
    not finite.

    A point's sides are its witness's direction (both ways) and dense random directions of the
    differentiated parameters: the generated gradient there must lie between the one-sided ones
    (equal to one of them, or the convention's subgradient between them).
    """
    hulls: list[dict[str, tuple[np.ndarray, np.ndarray]] | None] = []
    for point in points:
        directions = [point.get("__direction__")] if point.get("__direction__") else []
        rng = np.random.default_rng(len(hulls))
        for _ in range(
            4
        ):  # dense directions: every entry leaves its tie (the reference's own tie value is no side)
            directions.append(
                {
                    name: list(rng.choice([-1.0, 1.0], ENTRIES) * rng.uniform(0.5, 1.0, ENTRIES))
                    for name in wrt
                }
            )
        moved: dict[str, list[list[float]]] = {name: [] for name in variables}
        if (
            point.get("__direction__") is not None
        ):  # a kink's witness may sit next to the tie: its own gradient counts
            for name in variables:
                moved[name].append(list(point[name]))
        for direction in directions:
            for side in (-1.0, 1.0):
                for name in variables:
                    base = np.asarray(point[name], dtype=float)
                    step = np.asarray(direction.get(name, [0.0] * ENTRIES), dtype=float) if direction else 0.0
                    moved[name].append(list(base + side * ONE_SIDED_STEP * (1.0 + np.abs(base)) * step))
        arrays = {name: np.asarray(rows, dtype=float) for name, rows in moved.items()}
        with np.errstate(all="ignore"):
            gradients = reference.gradient(arrays)
        if not all(np.all(np.isfinite(gradients[name])) for name in wrt):
            hulls.append(None)
            continue
        hulls.append(
            {name: (np.min(gradients[name], axis=0), np.max(gradients[name], axis=0)) for name in wrt}
        )
    return hulls


def _check_one_sided(
    check: Check,
    label: str,
    kind: str,
    gradients: Mapping[str, np.ndarray],
    hulls: Sequence[dict[str, tuple[np.ndarray, np.ndarray]] | None],
    wrt: list[str],
    tolerance: float,
    sided: bool = True,
    dtype: str = "float64",
) -> None:
    largest = float(np.finfo(np.dtype(dtype)).max) ** 0.5  # beyond it, the gradient overflows the dtype
    for index, hull in enumerate(hulls):
        if hull is None:
            continue
        for name in wrt:
            actual = gradients[name][index]
            low, high = hull[name]
            if max(float(np.max(np.abs(low))), float(np.max(np.abs(high)))) > largest:
                continue  # next to a pole: the one-sided gradient itself does not fit this dtype
            if not np.all(np.isfinite(actual)):
                check.nonfinite.append(f"{name} at a {kind} point ({label})")
                continue
            slack = tolerance * max(1.0, float(np.max(np.abs(high))), float(np.max(np.abs(low)))) + 1e-4
            # At a kink the documented convention is per atom (slope 0 of relu, alpha of leaky_relu): a
            # sum of kinked atoms may then leave the body's one-sided range (leaky_relu(x, 0.2) +
            # leaky_relu(x, 1.5) at 0 gives 1.2, the sides 1.7 and 2), so there only finiteness is
            # required; where the analysis finds the body C1, the gradient must be the common value.
            if not sided or kind != "switch" or np.any(high - low > slack):
                # steep there (a norm plus eps at 0): the sides differ at the step, no switch to judge
                continue
            if np.any(actual < low - slack) or np.any(actual > high + slack):
                check.wrong.append(
                    f"{label}: gradient of {name} at a {kind} point is {_brief(actual)}, "
                    f"outside the one-sided gradients {_brief(low)} .. {_brief(high)}"
                )


def _brief(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{value:.4g}" for value in np.ravel(values)) + "]"


def _switch_points(
    sample: Mapping[str, np.ndarray], variables: list[str], wrt: list[str], report: Report
) -> list[dict[str, list[float]]]:
    """Points on the switches a body most often has (a differentiated entry at 0, or tied with data),
    when the analysis found no kink nor jump: there the body is C1 and the gradient must be the
    common one-sided value."""
    if any(f.kind in ("kink", "discontinuity", "zero-gradient") for f in report.findings):
        return []
    out: list[dict[str, list[float]]] = []
    for row in range(min(2, len(next(iter(sample.values()))))):
        base = {name: [float(v) for v in sample[name][row]] for name in variables}
        zero = {name: ([0.0] * ENTRIES if name in wrt else list(values)) for name, values in base.items()}
        out.append(zero)
        for name in wrt:
            for other in variables:
                if other not in wrt:
                    out.append({**base, name: list(base[other])})
    if report.given is None or not out:
        return out
    condition = Program(sp.Piecewise((1, report.given), (0, True)))
    arrays = {name: np.asarray([point[name] for point in out], dtype=float) for name in variables}
    holds, _ = condition.run(arrays, states=False)
    inside = np.all(_rows(holds, len(out)) > 0.5, axis=1)
    return [point for point, keep in zip(out, inside) if keep]  # only points the region allows


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


def _sample(
    report: Report, variables: list[str], wrt: list[str], reference: Reference, wanted: int
) -> dict[str, np.ndarray] | None:
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
        direction = {
            name: list(values)
            for name, values in finding.witness.direction.items()
            if name in variables and len(values) == ENTRIES
        }
        for candidate in (point, _snapped(point, report.wrt)):
            if candidate not in seen:
                seen.append(candidate)
                yield {**candidate, "__direction__": direction}


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


def _runner(function: Any, variables: list[str], wrt: list[str], execution: str, dtype: str) -> Any:
    """Values and gradients of `function` at one point, eagerly, under tf.function or under XLA.

    Under tf.function and XLA the gradient is computed inside the compiled function, as a training
    step does.
    """
    import tensorflow as tf

    positions = [variables.index(name) for name in wrt]

    def step(*tensors: Any) -> Any:
        with tf.GradientTape() as tape:
            for position in positions:
                tape.watch(tensors[position])
            output = function(*tensors)
            total = tf.reduce_sum(output)
        grads = tape.gradient(total, [tensors[position] for position in positions])
        grads = [tf.zeros_like(tensors[p]) if g is None else g for g, p in zip(grads, positions)]
        return output, grads

    compiled = (
        step
        if execution == "eager"
        else tf.function(step, jit_compile=execution == "xla", reduce_retracing=True)
    )
    tf_dtype = tf.as_dtype(dtype)

    def run(arrays: list[np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        output, grads = compiled(*[tf.constant(array, dtype=tf_dtype) for array in arrays])
        value = np.asarray(tf.cast(output, tf.float64), dtype=float)
        return value, {name: np.asarray(tf.cast(g, tf.float64), dtype=float) for name, g in zip(wrt, grads)}

    return run


def _tensorflow(
    run: Any, variables: list[str], wrt: list[str], point: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Values and gradients, one point at a time: each point is a batch of one row of entries.

    That is the reference's model (one row of 3 entries, reductions over it); a batch of several
    rows would differ where a reduced value meets an unreduced one (`max(z) - z` broadcasts only
    against a single row, as in NumPy).
    """
    count = len(next(iter(point.values())))
    values, gradients = [], {name: [] for name in wrt}
    for index in range(count):
        value, gradient = run([point[name][index : index + 1] for name in variables])
        values.append(value.reshape(-1))
        for name in wrt:
            gradients[name].append(gradient[name].reshape(-1))
    width = max(len(v) for v in values)
    return (
        np.stack([np.broadcast_to(v, (width,)) for v in values]),
        {name: np.stack(rows) for name, rows in gradients.items()},
    )


def _error(actual: np.ndarray, expected: np.ndarray, floor: float = SCALE_FLOOR) -> float:
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        if actual.shape[0] == expected.shape[0] and (actual.shape[1] == 1 or expected.shape[1] == 1):
            actual, expected = np.broadcast_arrays(actual, expected)
        else:
            return math.inf
    with np.errstate(all="ignore"):
        scale = np.maximum(np.max(np.abs(expected), axis=1, keepdims=True), floor)
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
    return (
        f"{len(checked)} definitions checked, {mismatches} mismatches, {nonfinite} with NaN/Inf at kinks, "
        f"{errors} errors, {skipped} skipped; largest value error {largest_value:.1e}, "
        f"largest gradient error {largest_gradient:.1e} (tolerance {TOLERANCE:g})" + _run_counts(checked)
    )


def _run_counts(checked: Sequence[Check]) -> str:
    """`; eager float32 41/43 ok, ...`: per mode and dtype, how many definitions passed."""
    labels = list(dict.fromkeys(label for check in checked for label in check.runs))
    parts = [
        f"{label} {sum(c.runs.get(label, False) for c in checked)}/{sum(label in c.runs for c in checked)} ok"
        for label in labels
    ]
    return ("; " + ", ".join(parts)) if parts else ""
