"""The data of a plot: every kink, jump, singularity and constant piece of the findings that lies in
the range is there, at the right place, and nothing else is.

These tests need no Matplotlib: the markers are computed before anything is drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from analyzer import analyze, analyze_text
from analyzer.plotting import LinePlot, PlotError, line_data, map_data, plot_data


@dataclass(frozen=True)
class Case:
    text: str
    wrt: tuple[str, ...] | None = None
    given: str | None = None
    at: dict = field(default_factory=dict)
    limits: tuple[float, float] | None = None
    markers: tuple[tuple[str, str, float], ...] = ()  # (kind, where, position)
    spans: tuple[
        tuple[str, float | None, float | None], ...
    ] = ()  # (where, start, end); None: the range's end

    @property
    def axis(self) -> str | None:
        return self.wrt[0] if self.wrt else None


CASES = [
    Case("relu(x)", markers=(("kink", "x == 0", 0.0),), spans=(("x < 0", None, 0.0),)),
    Case("abs(x)", markers=(("kink", "x == 0", 0.0),)),
    Case(
        "clip(x, 0, 1)",
        markers=(("kink", "x == 0", 0.0), ("kink", "x == 1", 1.0)),
        spans=(("x < 0", None, 0.0), ("x > 1", 1.0, None)),
    ),
    Case(
        "hard_sigmoid(x)",
        markers=(("kink", "x + 3 == 0", -3.0), ("kink", "x + 3 == 6", 3.0)),
        spans=(("x + 3 < 0", None, -3.0), ("x + 3 > 6", 3.0, None)),
    ),
    # Switches change piece here, but the whole body is smooth (or C1) across them: nothing is drawn.
    Case("huber(x, 1.0)"),
    Case("relu(x) - relu(-x)"),
    Case("x^2 if x < 1 else 2*x - 1"),
    Case("x * abs(x)"),
    Case("x if x > 0 else x - 1", markers=(("discontinuity", "x == 0", 0.0),)),
    Case(
        "round(x)",
        limits=(-2.0, 2.0),
        markers=tuple(("discontinuity", "x is a half-integer", p) for p in (-1.5, -0.5, 0.5, 1.5)),
    ),
    Case(
        "floor(x) + x",
        limits=(-1.5, 1.5),
        markers=(
            ("discontinuity", "x is an integer", -1.0),
            ("discontinuity", "x is an integer", 0.0),
            ("discontinuity", "x is an integer", 1.0),
        ),
    ),
    Case("x == 0", markers=(("discontinuity", "x == 0", 0.0),)),
    Case("log(x)", markers=(("singularity", "x == 0", 0.0),)),
    Case("log(x^2)", markers=(("singularity", "x^2 == 0", 0.0),)),
    Case("sqrt(abs(x))", markers=(("singularity", "abs(x) == 0", 0.0),)),
    Case(
        "where(x > 0, sqrt(x), 0)", markers=(("singularity", "x == 0", 0.0),), spans=(("x <= 0", None, 0.0),)
    ),
    Case("-log(p)", given="0 < p < 1", markers=(("singularity", "p == 0", 0.0),)),
    Case(
        "max(1 - y * s, 0)",
        wrt=("s",),
        given="y in {-1, 1}",
        at={"y": 1},
        markers=(("kink", "1 - y * s == 0", 1.0),),
        spans=(("1 - y * s < 0", 1.0, None),),
    ),
    Case(
        "max(1 - y * s, 0)",
        wrt=("s",),
        given="y in {-1, 1}",
        at={"y": -1},
        markers=(("kink", "1 - y * s == 0", -1.0),),
        spans=(("1 - y * s < 0", None, -1.0),),
    ),
    Case(
        "relu(w * x + b)",
        wrt=("w",),
        at={"x": 2.0, "b": 1.0},
        markers=(("kink", "w * x + b == 0", -0.5),),
        spans=(("w * x + b < 0", None, -0.5),),
    ),
    # Labels and probabilities both inside their region: |y - p| never reaches its kink.
    Case("abs(y - p)", wrt=("p",), given="y in {0, 1} and 0 < p < 1"),
    # Vector bodies walk the default path p = (t, 0.3 + 0.5 t, 0.6 + 0.25 t).
    Case(
        "mean(p > 0.5)",
        markers=(
            ("discontinuity", "p == 0.5", -0.4),
            ("discontinuity", "p == 0.5", 0.4),
            ("discontinuity", "p == 0.5", 0.5),
        ),
    ),
    Case("argmax(p)", markers=(("discontinuity", "ties among the largest entries of p", 0.8),)),
    Case(
        "mean(relu(1 - s))",
        markers=(("kink", "1 - s == 0", 1.0), ("kink", "1 - s == 0", 1.4), ("kink", "1 - s == 0", 1.6)),
        spans=(("1 - s < 0", 1.6, None),),
    ),
    Case("sum(softmax(p / 0.1) * range_like(p))"),
    # A straight-through estimator: the rounding is inside stop_gradient, so it is no finding.
    Case("x + stop_gradient(round(x) - x)"),
]


def _data(case: Case) -> LinePlot:
    report = analyze(case.text, wrt=list(case.wrt) if case.wrt else None, given=case.given)
    data = line_data(report, case.axis, at=case.at, limits=case.limits)
    assert isinstance(data, LinePlot)
    return data


@pytest.mark.parametrize("case", CASES, ids=[f"{c.text} {c.at}" if c.at else c.text for c in CASES])
def test_markers_are_the_findings_in_range(case: Case) -> None:
    data = _data(case)
    found = [(m.kind, m.where, m.position) for m in data.markers]
    assert len(found) == len(case.markers), found
    for (kind, where, position), expected in zip(found, case.markers):
        assert (kind, where) == expected[:2]
        assert position == pytest.approx(expected[2], abs=1e-9)
    lo, hi = data.limits
    spans = [(s.where, s.start, s.end) for s in data.spans]
    assert len(spans) == len(case.spans), spans
    for (where, start, end), (want_where, want_start, want_end) in zip(spans, case.spans):
        assert where == want_where
        assert start == pytest.approx(lo if want_start is None else want_start, abs=1e-9)
        assert end == pytest.approx(hi if want_end is None else want_end, abs=1e-9)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.text} {c.at}" if c.at else c.text for c in CASES])
def test_every_mark_stands_for_a_finding_of_its_kind(case: Case) -> None:
    data = _data(case)
    findings = data.report.findings
    lo, hi = data.limits
    for marker in data.markers:
        finding = findings[marker.finding_index]
        assert (finding.kind, finding.code, finding.where) == (marker.kind, marker.code, marker.where)
        assert lo <= marker.position <= hi
    for span in data.spans:
        finding = findings[span.finding_index]
        assert (finding.kind, finding.code, finding.where) == ("constant-piece", span.code, span.where)
        assert lo <= span.start < span.end <= hi
    # What is not drawn is listed, so the picture can say so.
    assert set(data.unplaced) == set(range(len(findings))) - data.drawn


def test_one_sided_values_and_slopes_at_the_marks() -> None:
    kink = _data(Case("abs(x)")).markers[0]
    assert (kink.value, kink.left_slope, kink.right_slope) == (0.0, -1.0, 1.0)
    jump = _data(Case("x if x > 0 else x - 1")).markers[0]
    # x == 0 takes the else branch: the point belongs to the left piece.
    assert (jump.value, jump.left_value, jump.right_value) == (-1.0, -1.0, 0.0)
    isolated = _data(Case("x == 0")).markers[0]
    assert (isolated.value, isolated.left_value, isolated.right_value) == (1.0, 0.0, 0.0)
    step = line_data(analyze("step(x)"), limits=(-1, 1)).markers[0]
    assert (step.value, step.left_value, step.right_value) == (0.5, 0.0, 1.0)
    cusp = _data(Case("sqrt(abs(x))")).markers[0]
    assert cusp.cusp and cusp.value == 0.0 and cusp.right_slope > 100
    pole = _data(Case("log(x)")).markers[0]
    assert not pole.cusp and math.isnan(pole.value)


def test_curves_break_at_jumps_and_poles_and_join_at_kinks() -> None:
    jump = _data(Case("x if x > 0 else x - 1"))
    at_zero = jump.value[jump.t == 0.0]
    assert np.isnan(at_zero).any() and -1.0 in at_zero and 0.0 in at_zero
    kink = _data(Case("abs(x)"))
    assert not np.isnan(kink.value).any()  # the value is continuous at a kink ...
    at_kink = kink.derivative[kink.derivative_t == 0.0]
    assert np.isnan(at_kink).any() and -1.0 in at_kink and 1.0 in at_kink  # ... its slope jumps


def test_the_derivative_comes_from_sympy_for_scalars_and_from_differences_along_vector_paths() -> None:
    scalar = _data(Case("relu(x)"))
    assert scalar.derivative_method.name == "sympy"
    away = np.isfinite(scalar.derivative) & (scalar.derivative_t != 0.0)  # at 0: the two one-sided slopes
    np.testing.assert_allclose(scalar.derivative[away], (scalar.derivative_t[away] > 0).astype(float))
    vector = _data(Case("mean(relu(1 - s))"))
    assert vector.derivative_method.name == "central"
    assert "central differences" in vector.derivative_method.label
    # Along s = (t, 0.3 + 0.5 t, 0.6 + 0.25 t): d/dt mean(1 - s) = -(1 + 0.5 + 0.25) / 3 before any kink.
    before = (vector.derivative_t < 0.9) & np.isfinite(vector.derivative)
    np.testing.assert_allclose(vector.derivative[before], -1.75 / 3, rtol=1e-5)


def test_a_step_has_a_zero_derivative_where_sympy_says_dirac() -> None:
    data = line_data(analyze("step(x)"), limits=(-1, 1))
    assert data.derivative_method.name == "sympy"
    assert np.all(data.derivative[np.isfinite(data.derivative)] == 0.0)


def test_default_range_is_around_the_findings_and_inside_given() -> None:
    assert _data(Case("relu(x)")).limits == (-2.0, 2.0)
    lo, hi = _data(Case("hard_sigmoid(x)")).limits
    assert lo < -3 and hi > 3
    lo, hi = _data(Case("-log(p)", given="0 < p < 1")).limits
    assert -0.1 < lo < 0 and 1 < hi < 1.1
    assert _data(Case("sigmoid(x)")).limits == (-3.0, 3.0)


def test_a_named_path_for_vectors() -> None:
    report = analyze("argmax(p)")
    data = line_data(report, "p", at={"p": [0.0, 1.0, 2.0]}, along={"p": [1.0, 0.0, 0.0]}, limits=(0, 3))
    assert data.path.describe() == "t, where p = (t, 1, 2)"
    assert [m.position for m in data.markers] == [pytest.approx(2.0)]


def test_a_file_definition_is_plotted_with_its_own_given() -> None:
    from analyzer import analyze_text

    report = analyze_text("hinge(y, s) wrt s given y in {-1, 1} = max(1 - y * s, 0)\n")[0]
    data = plot_data(report, "s", at={"y": 1})
    assert [(m.code, m.position) for m in data.markers] == [("K201", 1.0)]


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("relu(x)", {"wrt": "z"}, "`z` is not a parameter"),
        ("relu(x)", {"limits": (1.0, 1.0)}, "empty range"),
        ("relu(x)", {"limits": (2.0, -2.0)}, "empty range"),
        ("relu(x)", {"limits": (0.0, math.inf)}, "must be finite"),
        ("relu(x)", {"at": {"x": 1.0}}, "is the plotted variable"),
        ("relu(x)", {"at": {"y": 1.0}}, "`y` is not a parameter"),
        ("x * y", {"wrt": "x", "at": {"y": "a"}}, "must be numbers"),
        (
            "mean(p * y)",
            {"wrt": "p", "at": {"y": [1.0, 2.0]}, "along": {"p": [1.0, 2.0, 3.0]}},
            "same number of entries",
        ),
        ("mean(p)", {"wrt": "p", "along": {"p": 0.0}}, "direction of `p` is zero"),
        ("y * x", {"wrt": "y"}, "only takes the values {0, 1}"),
        ("log(x)", {"limits": (-2.0, -1.0)}, "nothing to plot"),
        ("relu(x)", {"wrt": ["x", "x"]}, "must differ"),
        ("mean(p)", {"wrt": ["p", "p"]}, "scalar inputs"),
        ("x + y + z", {"wrt": ["x", "y", "z"]}, "one or two variables"),
    ],
)
def test_bad_input_gives_a_clear_error(text: str, kwargs: dict, message: str) -> None:
    given = "y in {0, 1}" if text == "y * x" else None
    report = analyze(text, given=given)
    with pytest.raises(PlotError, match=message.replace("(", r"\(").replace("{", r"\{").replace("}", r"\}")):
        plot_data(report, **kwargs)


def test_invalid_and_constant_reports_cannot_be_plotted() -> None:
    with pytest.raises(PlotError, match="cannot plot"):
        plot_data(analyze_text("f(x) = relu(x")[0])  # a file's invalid report (analyze() raises)
    with pytest.raises(PlotError, match="no variables"):
        plot_data(analyze("1 + 2"))


# ------------------------------------------------------------------ two variables


def test_heat_map_curves_lie_on_the_findings_surfaces() -> None:
    report = analyze("clip(x + y, 0, 1)")
    data = map_data(report, ("x", "y"), limits=[(-2, 2), (-2, 2)])
    by_where = {curve.where: curve for curve in data.curves}
    assert set(by_where) == {"x + y == 0", "x + y == 1"}
    x, y = np.meshgrid(data.x, data.y)
    for where, offset in (("x + y == 0", 0.0), ("x + y == 1", 1.0)):
        curve = by_where[where]
        assert len(curve.levels) == 1
        # The level separates exactly the two sides of this finding's own surface.
        below = np.ma.filled(curve.field < curve.levels[0], False)
        away = np.abs(x + y - offset) > 1e-9  # grid points on the surface itself are on either side
        np.testing.assert_array_equal(below[away], (x + y < offset)[away])
    flat = {piece.where: piece.mask for piece in data.pieces}
    assert set(flat) == {"x + y < 0", "x + y > 1"}
    away = (np.abs(x + y) > 1e-9) & (np.abs(x + y - 1) > 1e-9)
    np.testing.assert_array_equal(flat["x + y < 0"][away], (x + y < 0)[away])
    np.testing.assert_array_equal(flat["x + y > 1"][away], (x + y > 1)[away])


def test_heat_map_of_the_gradient_norm() -> None:
    data = map_data(analyze("relu(x * y - 1)"), ("x", "y"), limits=[(-2, 2)], heatmap="gradient")
    x, y = np.meshgrid(data.x, data.y)
    live = x * y > 1.01
    np.testing.assert_allclose(data.field[live], np.hypot(x, y)[live], rtol=1e-6)
    assert np.all(data.field[x * y < 0.99] == 0.0)
    assert data.limits == ((-2.0, 2.0), (-2.0, 2.0))
