"""The derivative drawn under the value: SymPy's, where SymPy can give it, else central differences.

SymPy differentiates the body through the `fdiff` of the language's classes. What autodiff sees
almost everywhere is what is drawn: a `DiracDelta` (the derivative of a step at its jump) is 0, and
so is the unevaluated derivative of a piecewise-constant atom such as `floor`; the jump itself is a
marker on the value. Vector functions are differentiated entry by entry in SymPy, which is not the
derivative along a path that moves several entries, so vector bodies use central differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..analysis.evaluate import Program
from ..atoms.table import is_flat_atom, row_for


@dataclass(frozen=True, slots=True)
class DerivativeMethod:
    name: str  # "sympy" or "central"
    label: str  # for the legend


@dataclass(frozen=True, slots=True)
class SymbolicDerivative:
    expression: Any
    program: Program


def symbolic_derivative(expression: Any, name: str) -> SymbolicDerivative | None:
    """d(expression)/d(name) compiled for evaluation, or None when SymPy cannot give it in full."""
    symbol = next((s for s in expression.free_symbols if s.name == name), None)
    if symbol is None:
        derivative: Any = sp.S.Zero
    else:
        try:
            derivative = sp.diff(expression, symbol)
        except Exception:  # noqa: BLE001 - any failure of SymPy means: fall back to differences
            return None
    derivative = derivative.xreplace({delta: sp.S.Zero for delta in derivative.atoms(sp.DiracDelta)})
    flat = {d: sp.S.Zero for d in derivative.atoms(sp.Derivative) if _flat(d.expr)}
    derivative = derivative.xreplace(flat)
    if derivative.has(sp.Derivative, sp.Subs):
        return None
    try:
        return SymbolicDerivative(derivative, Program(derivative))
    except Exception:  # noqa: BLE001 - an atom the evaluator lacks: fall back to differences
        return None


def _flat(node: Any) -> bool:
    row = row_for(node)
    return row is not None and is_flat_atom(row)
