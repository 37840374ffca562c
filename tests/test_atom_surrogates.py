"""Every surrogate in the atom table is something a user can paste: it parses, it is differentiable
where the atom is not, and it follows the atom it replaces.

A surrogate written in terms of names the atom does not have (the scores an index came from) says
so with " with ...", and is checked for that wording instead.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

from analyzer import analyze
from analyzer.analysis.evaluate import Program
from analyzer.analysis.report import ZERO_GRADIENT
from analyzer.atoms import table as atoms

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _rows_with_surrogates():
    for row in atoms.ATOMS:
        for surrogate in row.surrogates:
            yield pytest.param(row, surrogate, id=f"{row.name}-{surrogate.name}")


def _argument_names(row: atoms.Atom) -> list[str]:
    # Names that are not themselves functions of the language.
    return [f"a{index}" for index in range(2 if row.variadic else len(row.params))]


@pytest.mark.parametrize(("row", "surrogate"), list(_rows_with_surrogates()))
def test_surrogate_names_only_the_atom_arguments_or_says_what_else_it_needs(row, surrogate):
    used = {int(name) for name in PLACEHOLDER.findall(surrogate.template) if name.isdigit()}
    arity = 2 if row.variadic else len(row.params)
    assert used <= set(range(arity)), f"{row.name}: placeholder beyond its {arity} parameters"
    if "{t}" in surrogate.template:
        assert surrogate.temperature is not None and surrogate.temperature > 0
    if " with " in surrogate.template or surrogate.name == "straight-through":
        return
    text = surrogate.render(_argument_names(row))
    report = analyze(text)
    assert report.classification != "invalid", f"{row.name}: {text!r} does not parse: {report.findings}"
    free = {name for name in report.params}
    assert free <= set(_argument_names(row)), (
        f"{row.name}: {text!r} uses names that are not arguments: {free}"
    )
    assert report.classification != ZERO_GRADIENT, f"{row.name}: the surrogate {text!r} cannot train either"


COMPARISONS = [
    # (atom, where it holds, where it does not)
    ("greater", (1.0, 0.0), (0.0, 1.0)),
    ("greater_equal", (1.0, 0.0), (0.0, 1.0)),
    ("less", (0.0, 1.0), (1.0, 0.0)),
    ("less_equal", (0.0, 1.0), (1.0, 0.0)),
    ("equal", (0.5, 0.5), (0.0, 1.0)),
    ("not_equal", (0.0, 1.0), (0.5, 0.5)),
]


def _value(text: str, point: tuple[float, float]) -> float:
    report = analyze(text)
    env = {
        name: np.full((1, 1), point[index])
        for index, name in enumerate(("a0", "a1"))
        if name in report.params
    }
    value, _ = Program(report.expression if isinstance(report.expression, sp.Basic) else sp.S(0)).run(
        env, states=False
    )
    return float(np.asarray(value).reshape(-1)[0])


@pytest.mark.parametrize(("name", "holds", "fails"), COMPARISONS, ids=[c[0] for c in COMPARISONS])
def test_comparison_surrogate_is_near_one_where_the_comparison_holds(name, holds, fails):
    surrogate = atoms.ATOM_BY_NAME[name].surrogates[0]
    text = surrogate.render(["a0", "a1"])
    assert _value(text, holds) > 0.99, f"{name}: {text} at {holds}"
    assert _value(text, fails) < 0.01, f"{name}: {text} at {fails}"


@pytest.mark.parametrize(
    "name", [row.name for row in atoms.ATOMS if any(s.against_zero for s in row.surrogates)]
)
def test_the_form_against_zero_is_the_general_form_with_zero_put_in(name):
    surrogate = next(s for s in atoms.ATOM_BY_NAME[name].surrogates if s.against_zero)
    short = surrogate.render(["a0", "0"])
    general = atoms.Surrogate(surrogate.name, surrogate.template, surrogate.temperature).render(["a0", "0"])
    assert short != general
    assert surrogate.render(["0", "a0"]) == short
    for point in (-2.0, -0.05, 0.0, 0.3, 4.0):
        assert _value(short, (point, 0.0)) == pytest.approx(
            _value(general, (point, 0.0)), rel=1e-12, abs=1e-12
        )
