"""The numeric oracle against the classifier (tests/fuzz/oracle.py), and the regression fixtures.

- The oracle itself can fail: planted lies (a kink called smooth, a fake kink, a nonzero gradient
  called zero, a wrong derivative) are caught.
- SymPy's derivative of every function of the atom table, in every argument, agrees with finite
  differences: the oracle's `smooth` check rests on it (and so do plots and `kinks verify`).
- Every verdict on examples/ and on the shared acceptance cases agrees with the numbers.
- Generated definitions (a short Hypothesis run; the long one is run_long.py --part oracle).
- Every file of tests/regressions/ keeps its expected verdicts and agrees with the numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from fuzz import oracle, properties, strategies
from hypothesis import HealthCheck, given, settings

from analyzer import analyze, analyze_file
from analyzer.analysis.evaluate import Program
from analyzer.analysis.report import Finding, Witness
from analyzer.atoms import functions as fn
from analyzer.atoms import table as atoms

ROOT = Path(__file__).resolve().parents[1]
REGRESSIONS = sorted((ROOT / "tests" / "regressions").glob("*.loss"))
CASES = ROOT.parent / "shared" / "cases"
if not CASES.is_dir():  # a clone without ../shared: the copy in tests/
    CASES = ROOT / "tests" / "acceptance_cases"
SOURCES = sorted((ROOT / "examples").glob("*.loss")) + sorted(CASES.glob("*.loss"))


def _disagreements(report) -> list[str]:
    return [str(d) for d in oracle.check(report, seed=5).disagreements]


# ---------------------------------------------------------------- the oracle can fail


def _claimed(text: str, classification: str, findings: list[Finding] | None = None):
    report = analyze(text, wrt=["x"])
    report.classification = classification
    if findings is not None:
        report.findings = findings
    return report


ON_ZERO = Witness({"x": [0.0, 0.3, 1.0]}, {"x": [1.0, 0.0, 0.0]})
PLANTED = [
    ("a kink called smooth", lambda: _claimed("abs(x) + x^2", "smooth"), "smooth-but-kink"),
    ("a jump called smooth", lambda: _claimed("sign(x) + x", "smooth"), "smooth-but-jump"),
    ("a gradient called zero", lambda: _claimed("sum(x^2)", "zero-gradient"), "zero-gradient"),
    (
        "a fake kink",
        lambda: _claimed(
            "relu(x) - relu(-x)",
            "piecewise-differentiable",
            [Finding("kink", "K201", "m", None, where="x == 0", witness=ON_ZERO)],
        ),
        "kink",
    ),
    (
        "a fake jump",
        lambda: _claimed(
            "abs(x)",
            "piecewise-differentiable",
            [Finding("discontinuity", "K101", "m", None, where="x == 0", witness=ON_ZERO)],
        ),
        "discontinuity",
    ),
]


@pytest.mark.parametrize("label,make,kind", PLANTED, ids=[p[0] for p in PLANTED])
def test_the_oracle_catches_a_planted_lie(label, make, kind):
    found = oracle.check(make(), seed=1).disagreements
    assert any(d.kind == kind for d in found), f"{label}: the oracle found {found}"


def test_the_oracle_catches_a_wrong_derivative(monkeypatch):
    monkeypatch.setattr(fn.Softplus, "fdiff", lambda self, argindex=1: fn.Sigmoid(2 * self.args[0]))
    found = oracle.check(analyze("softplus(x)"), seed=1).disagreements
    assert any(d.kind == "derivative" for d in found)


def test_the_oracle_confirms_what_is_true():
    for text in (
        "abs(x)",
        "relu(x)",
        "floor(x) + x",
        "where(x == 0, 1, x)",
        "max(x)",
        "x * abs(x)",
        "sqrt(x^2 + 1)",
    ):
        report = analyze(text)
        verdict = oracle.check(report, seed=2)
        assert verdict.checked > 0 and not verdict.disagreements, (text, verdict)


# ---------------------------------------------------------------- derivatives of every atom


def _atom_cases() -> list[tuple[str, str]]:
    """Each function applied to variables, one case per argument that can be a variable."""
    names = ("a", "b", "c")
    cases = []
    for row in atoms.ATOMS:
        if row.variadic:
            continue
        arguments, variables = [], []
        for param in row.params:
            if param.kind == "expr" and not (row.name == "norm" and param.name == "ord"):
                variables.append(names[len(variables)])
                arguments.append(variables[-1])
            elif param.kind in ("int",) or row.name == "norm":
                arguments.append("2")
            elif param.kind == "condition":
                variables.append(names[len(variables)])
                arguments.append(f"{variables[-1]} > 0")
            elif param.kind == "flag":
                arguments.append("false")
            elif param.kind == "dtype":
                arguments.append("tf.float32")
            elif param.kind == "axis":
                arguments.append("-1")
        cases += [(f"{row.name}({', '.join(arguments)})", variable) for variable in variables]
    return cases


ATOM_CASES = _atom_cases()


@pytest.mark.parametrize("text,variable", ATOM_CASES, ids=[f"{t}:d{v}" for t, v in ATOM_CASES])
def test_sympy_derivative_of_every_function_agrees_with_finite_differences(text, variable):
    report = analyze(text)
    if report.expression is None or not report.expression.free_symbols:
        pytest.skip(f"{text} has no body to differentiate ({report.classification})")
    try:
        derivative = Program(oracle.symbolic_derivative(report.expression, sp.Symbol(variable, real=True)))
    except Exception as error:  # noqa: BLE001 - SymPy leaves some derivatives unevaluated
        pytest.skip(f"no derivative SymPy can evaluate: {error}")
    rng = np.random.default_rng(3)
    count = 400
    # the first argument anywhere; the others (thresholds, slopes, bounds) positive and ordered
    env = {
        name: (
            rng.uniform(-2.5, 2.5, (count, 1))
            if index == 0
            else rng.uniform(0.2, 1.2, (count, 1)) + 1.5 * (index - 1)
        )
        for index, name in enumerate(("a", "b", "c"))
        if sp.Symbol(name, real=True) in report.expression.free_symbols
    }
    program = Program(report.expression)
    _, states = program.run(env)
    frozen = dict(zip(program.stop_slots, program.values_of(env, program.stop_slots)))
    h = 1e-6
    up, _ = program.run(dict(env, **{variable: env[variable] + h}), frozen)
    down, _ = program.run(dict(env, **{variable: env[variable] - h}), frozen)
    _, states_up = program.run(dict(env, **{variable: env[variable] + h}), frozen)
    _, states_down = program.run(dict(env, **{variable: env[variable] - h}), frozen)
    steady = np.ones(count, dtype=bool)
    for center, plus, minus in zip(states, states_up, states_down):
        center, plus, minus = (oracle._rows(s, count) for s in (center, plus, minus))
        steady &= np.all(center == plus, axis=1) & np.all(center == minus, axis=1)
    central = (oracle._rows(up, count) - oracle._rows(down, count)) / (2 * h)
    exact = np.broadcast_to(oracle._rows(derivative.run(env, states=False)[0], count), central.shape)
    usable = steady[:, None] & np.isfinite(central) & np.isfinite(exact)
    if np.sum(usable) < 20:
        pytest.skip(f"{text} has no derivative on vectors of one entry (std of one entry is sqrt(0))")
    error = np.abs(central - exact)[usable]
    assert error.max() <= 1e-4 * (1 + np.abs(exact[usable]).max()), (
        f"d/d{variable} {text}: SymPy and finite differences differ by {error.max():.3g}"
    )


# ---------------------------------------------------------------- examples and acceptance cases


REPORTS = [
    (path, report)
    for path in SOURCES
    for report in analyze_file(path)
    if report.classification in ("smooth", "piecewise-differentiable", "zero-gradient")
]


@pytest.mark.parametrize("path,report", REPORTS, ids=[f"{p.name}:{r.name}" for p, r in REPORTS])
def test_every_example_and_acceptance_verdict_agrees_with_the_numbers(path, report):
    assert not _disagreements(report)


# ---------------------------------------------------------------- generated definitions


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(strategies.oracle_sources())
def test_generated_verdicts_agree_with_the_numbers(text):
    for report in properties.analyse(text, 2.0):
        assert not _disagreements(report), text


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(strategies.scaled_oracle_sources())
def test_a_short_high_precision_campaign_over_scaled_features(text):
    """Far, narrow, steep, cancelling, cusped, tangent and epsilon-guarded features judged in
    mpmath (the long run is `run_long.py --part scaled`)."""
    for report in properties.analyse(text, 2.0):
        assert not _disagreements(report), text


@pytest.mark.parametrize(
    "text",
    ["where(x > 0, x + 1e-20, x)", "1e-9 * abs(x - 1e4) + 1e6", "1e-12 * relu(x) + 1e3 * x"],
)
def test_high_precision_sees_what_float64_cannot(text):
    report = _claimed(text, "smooth", [])
    assert any(d.kind.startswith("smooth-but") for d in oracle.check(report, seed=1).disagreements)


def test_a_change_of_piece_made_by_float64_rounding_is_not_a_jump():
    # sigmoid(expm1(y)) is 1.0 in float64 for y > 3.6, and then % 1 falls to 0; it is < 1 always
    assert not _disagreements(analyze("sigmoid(expm1(y)) % 1", wrt=["y"]))


def test_the_evaluator_agrees_with_the_engines_in_float64_and_with_itself_in_mpmath():
    from fuzz.evaluator import Body, MultiPrecision

    rng = np.random.default_rng(4)
    high = MultiPrecision(50)
    for text in ("huber(x, 0.5) + softplus(x) * sort(x)", "logsumexp(x) - norm(x, 1) + x % 0.7", "gelu(x)"):
        report = analyze(text)
        env = {"x": rng.uniform(-3, 3, (5, 3))}
        engine, _ = Program(report.expression).run(env, states=False)
        ours, _ = Body(report.expression).run(env)
        precise, _ = Body(report.expression).run(env, backend=high)
        np.testing.assert_allclose(ours, engine, rtol=1e-12)
        np.testing.assert_allclose(high.to_float(precise), ours, rtol=1e-9)


# ---------------------------------------------------------------- regressions


_EXPECT = re.compile(r"#\s*expect:\s*(line \d+|\S+)\s+(\S+)((?:\s+[A-Z]\d{3})*)\s*$")
_XFAIL = re.compile(r"#\s*xfail:\s*(.+)$")
# one definition of a file known wrong today: `# xfail NAME: REASON`
_XFAIL_ONE = re.compile(r"#\s*xfail\s+(\S+):\s*(.+)$")


def _marked(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {m.group(1): m.group(2) for m in map(_XFAIL_ONE.match, lines) if m}


def _regression_params():
    params = []
    for path in REGRESSIONS:
        text = path.read_text(encoding="utf-8")
        reason = next((m.group(1) for m in map(_XFAIL.match, text.splitlines()) if m), None)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(path, None, id=path.stem, marks=marks))
        # each definition marked on its own is its own strict xfail: it passes when it is fixed
        for name, why in _marked(path).items():
            mark = pytest.mark.xfail(strict=True, reason=why)
            params.append(pytest.param(path, name, id=f"{path.stem}:{name}", marks=[mark]))
    return params


@pytest.mark.parametrize("path,only", _regression_params())
def test_regression(path, only):
    text = path.read_text(encoding="utf-8")
    expectations = [m.groups() for m in map(_EXPECT.match, text.splitlines()) if m]
    assert expectations, f"{path.name} has no `# expect:` line"
    marked = _marked(path)
    expectations = [e for e in expectations if (e[0] == only if only else e[0] not in marked)]
    reports = properties.analyse(text, 2.0, str(path))
    by_name = {report.name: report for report in reports}
    by_line = {f"line {report.line}": report for report in reports}
    for name, classification, codes in expectations:
        report = by_line.get(name) if name.startswith("line ") else by_name.get(name)
        assert report is not None, f"{path.name}: no report for {name}"
        found = [finding.code for finding in report.findings]
        assert report.classification == classification, (
            f"{path.name}: {name} is {report.classification} {found} {[f.message for f in report.findings]}"
        )
        if codes.split():
            assert found == codes.split(), f"{path.name}: {name} has {found}"
        assert not _disagreements(report), f"{path.name}: {name}"
