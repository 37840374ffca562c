"""Decide a definition's class and findings on the whole definition.

The one function that composes the atoms' facts: the symbolic pass (compose) says which variables
reach the value through differentiable paths; the atom table proposes candidates (every switch of
the body); the numeric probe confirms or dismisses each candidate by what the whole definition does
across it. Findings are then phrased from the rows' templates over the user's own expressions.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.relational import Relational

from ..atoms import functions as fn
from ..atoms.table import Atom, fill_location, row_for
from ..language.syntax import Span
from .compose import Composition, compose
from .evaluate import EvaluationError, Program, Switch
from .explain import LanguagePrinter, steps_for
from .lowering import Lowered, Origin
from .probe import BudgetExceeded, Deadline, Event, LineProbe, Probe, region_from, seed_for
from .report import PIECEWISE, SMOOTH, UNKNOWN, ZERO_GRADIENT, Finding, Report, VariableVerdict, Witness
from .rules import CODE_FOR_KIND

DEFAULT_BUDGET = 2.0


def _strictly_inside(region: Any, point: dict[str, list[float]]) -> bool:
    """Is a point inside the region `given` allows: within its bounds, not on them, and the rest
    of the condition holding there?"""
    for name, bound in region.bounds.items():
        values = np.asarray(point.get(name, []), dtype=float)
        if values.size and (np.any(values <= bound.lo) or np.any(values >= bound.hi)):
            return False
    if region.condition is not None:
        env = {name: np.asarray(value, dtype=float)[None, :] for name, value in point.items()}
        holds, _ = region.condition.run(env, states=False)
        return bool(np.all(np.asarray(holds, dtype=float) > 0.5))
    return True


_KIND_OF_EVENT = {"jump": "discontinuity", "kink": "kink", "singular": "singularity"}


@dataclass(slots=True)
class _Candidate:
    kind: str
    node: Any
    where: str
    variables: set[str]
    on_edge: bool = False
    witness: Witness | None = None
    cancelled: bool = False  # a constant piece that no atom makes alone: slopes cancel there


class Classifier:
    def __init__(self, lowered: Lowered, budget: float | None = None):
        self.lowered = lowered
        self.budget = DEFAULT_BUDGET if budget is None else budget
        self.printer = LanguagePrinter()
        # The probe sees the same change of piece, and the same flat piece, on many lines: the
        # blame and the wording depend only on which switches changed and how, so each is worked
        # out once (printing and the symbolic pass are the costly parts).
        self._responsible_memo: dict[tuple[tuple[int, ...], str], list[int]] = {}
        self._where_memo: dict[tuple[int, bool, str, tuple[int, int] | None], str] = {}
        self._flat_memo: dict[tuple[tuple[bytes, ...], frozenset[str]], list[tuple[Switch, str]]] = {}

    # -------------------------------------------------------------- entry

    def report(self, report: Report) -> Report:
        started = time.monotonic()
        lowered = self.lowered
        report.expression = lowered.body
        report.given = lowered.given
        try:
            self._classify(report, Deadline(self.budget))
        except BudgetExceeded as exceeded:
            report.classification = UNKNOWN
            report.smoothness = None
            report.reason = str(exceeded)
            report.findings = [Finding.of("K901", f"could not decide: {exceeded}", report.span)]
        except EvaluationError as error:
            report.classification = UNKNOWN
            report.reason = str(error)
            report.findings = [Finding.of("K901", f"could not decide: {error}", report.span)]
        report.seconds = time.monotonic() - started
        return report

    # -------------------------------------------------------------- the decision

    def _classify(self, report: Report, deadline: Deadline) -> None:
        lowered = self.lowered
        body = lowered.body
        composition = (
            compose(body) if isinstance(body, sp.Basic) else Composition(frozenset(), frozenset(), {})
        )
        wrt = list(lowered.wrt)
        # Only the parameters the body or `given` uses are sampled: a header with thousands of
        # unused parameters must not cost thousands of arrays on every line of the probe.
        given_names = (
            {symbol.name for symbol in lowered.given.free_symbols}
            if isinstance(lowered.given, sp.Basic)
            else set()
        )
        variables = [name for name in lowered.symbols if name in composition.present or name in given_names]
        findings: list[Finding] = []
        for name in wrt:
            if name not in composition.present:
                findings.append(self._unconnected(name, report))
        connected = [name for name in wrt if name in composition.present]
        if not isinstance(body, sp.Basic):
            connected = []
        verdicts: dict[str, VariableVerdict] = {}
        candidates: dict[tuple[str, Any, str], _Candidate] = {}
        flat_candidates: dict[tuple[Any, str], _Candidate] = {}
        zero_names: list[str] = []
        smoothness = 2
        reason = None
        if connected:
            program = Program(body)
            condition = (
                Program(sp.Piecewise((1, lowered.given), (0, True))) if lowered.given is not None else None
            )
            region = region_from(lowered.given, variables, condition)
            seed = seed_for(body)
            for index, name in enumerate(connected):
                deadline.check()
                probe = LineProbe(program, variables, region, seed + index, deadline).run([name], connected)
                if probe.reason:
                    reason = probe.reason
                verdict, order = self._verdict(name, probe, composition, program, candidates, flat_candidates)
                verdicts[name] = verdict
                if verdict.classification == ZERO_GRADIENT:
                    zero_names.append(name)
                smoothness = min(smoothness, order)
            # LANGUAGE.md §4: a singularity that data alone reach is a finding too (MAPE's
            # division by y at a zero label gives an infinite loss and gradient for that batch),
            # unless `given` keeps the data away from it. Only the singular sets are looked for
            # along the data; their kinks and jumps do not move in training.
            for index, name in enumerate(
                self._data_reaching_singularities(program, variables, connected, region)
            ):
                deadline.check()
                probe = LineProbe(program, variables, region, seed + len(connected) + index, deadline).run(
                    [name], connected, singular_only=True
                )
                self._singular_candidates(name, probe, program, candidates, region)
        for name in wrt:
            if name not in verdicts:
                verdicts[name] = VariableVerdict(ZERO_GRADIENT, None, ("unconnected",))
                zero_names.append(name)
        findings += [self._finding(candidate) for candidate in _without_kinks_that_jump(candidates)]
        if not all(verdicts[name].classification == ZERO_GRADIENT for name in wrt):
            findings += [self._finding(candidate) for candidate in flat_candidates.values()]
        live_wrt = [name for name in connected if verdicts[name].classification != ZERO_GRADIENT]
        piecewise = any(f.kind in ("kink", "discontinuity") for f in findings) or any(
            verdicts[name].classification == PIECEWISE for name in live_wrt
        )
        # A variable the probe could not judge (the body undefined or overflowing wherever it
        # looked) leaves the class undecided, unless a kink or jump already settles it.
        undecided = any(verdicts[name].classification == UNKNOWN for name in live_wrt) and not piecewise
        if reason and (not live_wrt and not zero_names or undecided):
            report.classification = UNKNOWN
            report.reason = reason
            findings.append(Finding.of("K901", f"could not decide: {reason}", report.span))
        elif not live_wrt:
            report.classification = ZERO_GRADIENT
            stuck = [name for name in zero_names if name in connected]
            if stuck:
                findings.insert(0, self._zero_gradient(stuck, composition, report))
        elif piecewise:
            report.classification = PIECEWISE
        else:
            report.classification = SMOOTH
        report.smoothness = None if report.classification == UNKNOWN else smoothness if connected else 2
        report.by_variable = verdicts
        report.findings = _ordered(findings)
        report.steps = steps_for(report, lowered, composition, self.printer)

    @staticmethod
    def _data_reaching_singularities(
        program: Program, variables: list[str], connected: list[str], region: Any
    ) -> list[str]:
        """The data variables that a singular atom's argument depends on (and that `given` does
        not pin to a set of values)."""
        singular_symbols: set[str] = set()
        for switch in program.switches:
            if switch.singular and isinstance(switch.node, sp.Basic):
                singular_symbols |= {symbol.name for symbol in switch.node.free_symbols}
        return [
            name
            for name in variables
            if name not in connected and name in singular_symbols and name not in region.choices
        ]

    def _singular_candidates(
        self,
        name: str,
        probe: Probe,
        program: Program,
        candidates: dict[tuple[str, Any, str], _Candidate],
        region: Any,
    ) -> None:
        for event in probe.events:
            if event.kind != "singular":
                continue
            # on the edge of what `given` allows the data (y == 0 under `given y > 0`): excluded;
            # the set is reached inside the region when the region holds on both sides of it
            point, heading = probe.point(event.line, event.t), probe.heading(event.line)
            size = max((abs(v) for values in point.values() for v in values), default=0.0)
            step = 1e-6 * size if size > 0 else 1e-6
            sides = [
                {
                    name: [
                        v + sign * step * d
                        for v, d in zip(point[name], heading.get(name, [0.0] * len(point[name])))
                    ]
                    for name in point
                }
                for sign in (-1.0, 1.0)
            ]
            if not all(_strictly_inside(region, side) for side in sides):
                continue
            for index in self._responsible(event, program, "singularity"):
                switch = program.switches[index]
                if not switch.singular:
                    continue
                where = self._where(switch, "singularity", event.transitions.get(index))
                key = ("singularity", switch.node, where)
                candidate = candidates.get(key)
                if candidate is None:
                    witness = Witness(probe.point(event.line, event.t), probe.heading(event.line))
                    candidate = candidates[key] = _Candidate(
                        "singularity", switch.node, where, set(), event.on_edge, witness
                    )
                candidate.on_edge = candidate.on_edge and event.on_edge
                candidate.variables.add(name)

    def _verdict(
        self,
        name: str,
        probe: Probe,
        composition: Composition,
        program: Program,
        candidates: dict[tuple[str, Any, str], _Candidate],
        flat_candidates: dict[tuple[Any, str], _Candidate],
    ) -> tuple[VariableVerdict, int]:
        kinds: set[str] = set()
        order = 2
        for event in probe.events:
            kind = _KIND_OF_EVENT.get(event.kind)
            if event.kind == "none" and event.curvature_jump:
                order = min(order, 1)
            if kind is None:
                continue
            if kind == "kink" or event.cusp:
                order = min(order, 0)
                if event.cusp:
                    kinds.add("cusp")
            if kind == "discontinuity":
                order = -1
            for index in self._responsible(event, program, kind):
                switch = program.switches[index]
                where = self._where(switch, kind, event.transitions.get(index))
                key = (kind, switch.node, where)
                candidate = candidates.get(key)
                if candidate is None:
                    witness = Witness(probe.point(event.line, event.t), probe.heading(event.line))
                    candidate = candidates[key] = _Candidate(
                        kind, switch.node, where, set(), event.on_edge, witness
                    )
                candidate.on_edge = candidate.on_edge and event.on_edge
                candidate.variables.add(name)
                kinds.add(kind)
        # Zero almost everywhere by certificate only: every piece seen has a symbolically zero
        # derivative (relu(x) + relu(-x) - abs(x)); small numbers never decide it.
        all_flat = probe.samples > 0 and probe.flat_everywhere
        symbolic_zero = name not in composition.live
        # Flat wherever the value is finite, and infinite elsewhere (x^1e308): the numbers show
        # underflow and overflow, not a zero gradient, and the symbolic pass found a live path.
        overflowed = all_flat and not symbolic_zero and probe.overflow > 0
        if symbolic_zero or all_flat and not overflowed:
            classification = ZERO_GRADIENT
        elif any(k in ("kink", "discontinuity", "cusp") for k in kinds):
            classification = PIECEWISE
        elif (probe.samples == 0 or overflowed) and (program.switches or _has_infinities(program.expr)):
            classification = UNKNOWN
        elif not program.switches:
            # No atom changes piece and none is singular: smooth wherever it is defined, whatever
            # the numbers could show (sinh(x + 1e4) overflows float64 at every point near 0).
            classification = SMOOTH
        else:
            classification = SMOOTH
        if classification not in (ZERO_GRADIENT, UNKNOWN):
            for index, segment in enumerate(probe.segments):
                if segment.flat:
                    point = probe.point(segment.line, segment.t)
                    causes = self._flat_causes(program, probe.flat_states[index], {name})
                    cancelled = not causes
                    if cancelled:
                        causes = self._piece_causes(program, probe.flat_states[index], point)
                    for switch, where in causes:
                        key = (switch.node, where)
                        candidate = flat_candidates.get(key)
                        if candidate is None:
                            witness = Witness(point, probe.heading(segment.line))
                            candidate = flat_candidates[key] = _Candidate(
                                "constant-piece", switch.node, where, set(), False, witness, cancelled
                            )
                        candidate.variables.add(name)
                        kinds.add("constant-piece")
        kinds.discard("cusp")
        return VariableVerdict(classification, order, tuple(sorted(kinds))), order

    # -------------------------------------------------------------- attribution

    def _responsible(self, event: Event, program: Program, kind: str) -> list[int]:
        """The switches to blame: those whose row declares this kind of finding, innermost first."""
        key = (tuple(event.changed), kind)
        if key not in self._responsible_memo:
            self._responsible_memo[key] = self._blame(event, program, kind)
        return self._responsible_memo[key]

    def _blame(self, event: Event, program: Program, kind: str) -> list[int]:
        changed = list(event.changed)
        if kind == "singularity":
            return [i for i in changed if program.switches[i].singular] or changed
        declared = [i for i in changed if _declares(program.switches[i], kind)]
        pool = declared or changed
        nodes = {i: program.switches[i].node for i in pool}
        return [i for i in pool if not any(nodes[o] != nodes[i] and nodes[i].has(nodes[o]) for o in pool)]

    def _where(self, switch: Switch, kind: str, transition: tuple[int, int] | None = None) -> str:
        key = (switch.slot, switch.singular, kind, transition)
        if key not in self._where_memo:
            self._where_memo[key] = self._phrase_where(switch, kind, transition)
        return self._where_memo[key]

    def _phrase_where(self, switch: Switch, kind: str, transition: tuple[int, int] | None = None) -> str:
        node = switch.node
        origin = self.lowered.origins.get(node)
        row = switch.row
        if isinstance(node, sp.Piecewise):
            return self._boundary(node, origin)
        if isinstance(node, Relational):
            if origin is not None and len(origin.args) == 2:
                left, right = origin.arg_texts()
                return f"{left} == {right}"
            return f"{self.printer.doprint(node.lhs)} == {self.printer.doprint(node.rhs)}"
        texts = origin.arg_texts() if origin is not None else [self.printer.doprint(a) for a in node.args]
        if row is None:
            return f"{self.printer.doprint(node)} changes"
        if kind == "singularity" or switch.singular:  # a kink where a singular quantity touches 0 (std, RMSE)
            templates = row.singular
            if row.name == "pow":
                # the base as the user wrote it where the call is the power itself (pow, sqrt)
                texts = (
                    texts
                    if origin is not None and origin.atom in ("pow", "sqrt", "divide")
                    else [self.printer.doprint(node.args[0])]
                )
        else:
            templates = row.jumps if kind == "discontinuity" and row.jumps else row.kinks or row.jumps
        if not templates and row.singular:
            templates = row.singular
        if not templates:
            return f"{self.printer.doprint(node)} changes piece"
        surface = row.state_surfaces(*transition) if transition and row.state_surfaces else 0
        template = templates[min(max(surface, 0), len(templates) - 1)]
        if "{a}" in template:
            return template.format(a=texts[0], b=texts[1] if len(texts) > 1 else texts[0])
        try:
            return fill_location(template, texts)
        except IndexError:
            return fill_location(template, [self.printer.doprint(a) for a in node.args])

    def _boundary(self, node: Any, origin: Origin | None) -> str:
        condition = node.args[0][1]
        if origin is not None and origin.atom == "where" and origin.args:
            tree = origin.args[0]
            from ..language import syntax as ast

            if isinstance(tree, ast.Compare) and len(tree.ops) == 1:
                return f"{origin.scope.text(tree.operands[0])} == {origin.scope.text(tree.operands[1])}"
            return f"on the boundary of {origin.scope.text(tree)}"
        if isinstance(condition, Relational):
            return f"{self.printer.doprint(condition.lhs)} == {self.printer.doprint(condition.rhs)}"
        return f"on the boundary of {self.printer.doprint(condition)}"

    def _flat_causes(
        self, program: Program, states: list[np.ndarray], names: set[str]
    ) -> list[tuple[Switch, str]]:
        key = (tuple(np.asarray(state).tobytes() for state in states), frozenset(names))
        if key not in self._flat_memo:
            self._flat_memo[key] = self._find_flat_causes(program, states, names)
        return self._flat_memo[key]

    def _find_flat_causes(
        self, program: Program, states: list[np.ndarray], names: set[str]
    ) -> list[tuple[Switch, str]]:
        causes: list[tuple[Switch, str]] = []
        for switch, state in zip(program.switches, states):
            if switch.singular:
                continue
            where = self._flat_where(switch, np.asarray(state).reshape(-1), names)
            if where is not None:
                causes.append((switch, where))
        return [
            c
            for c in causes
            if not any(o is not c and o[0].node != c[0].node and c[0].node.has(o[0].node) for o in causes)
        ] or causes

    def _piece_causes(
        self, program: Program, states: list[np.ndarray], point: dict[str, list[float]]
    ) -> list[tuple[Switch, str]]:
        """A constant piece that no atom makes alone (`relu(x) - x` for x > 0, `huber(x) + x` for
        x < -1): the piece, described by where each switch stands at the witness, blamed on the
        innermost switch."""
        env = {name: np.asarray(values, dtype=float)[None, :] for name, values in point.items()}
        parts: list[tuple[Switch, str]] = []
        for switch, state in zip(program.switches, states):
            if switch.singular or isinstance(switch.node, Relational):
                continue
            text = self._piece_text(program, switch, np.asarray(state).reshape(-1), env)
            if text:
                parts.append((switch, text))
        if not parts:
            # no switch has a text for its side (mod of a constant, 0.1 % y for y > 0.1)
            parts = [
                (switch, f"{self._atom_text(switch.node)} keeps the piece it has at the witness point")
                for switch in program.switches
                if not switch.singular and not isinstance(switch.node, Relational)
            ]
            if not parts:
                return []
        innermost = [p for p in parts if not any(o is not p and p[0].node.has(o[0].node) for o in parts)]
        return [(innermost[0][0], " and ".join(dict.fromkeys(text for _, text in parts)))]

    def _atom_text(self, node: Any) -> str:
        origin = self.lowered.origins.get(node)
        return origin.text() if origin is not None else self.printer.doprint(node)

    def _piece_text(
        self, program: Program, switch: Switch, state: np.ndarray, env: dict[str, np.ndarray]
    ) -> str | None:
        node, row = switch.node, switch.row
        origin = self.lowered.origins.get(node)
        if isinstance(node, sp.Piecewise):
            piece = int(state[0]) if state.size else 0
            if origin is not None and origin.atom == "where" and origin.args:
                condition = origin.scope.text(origin.args[0])
                return condition if piece == 0 else _negated(origin.args[0], origin.scope.text)
            return self.printer.doprint(node.args[min(piece, len(node.args) - 1)].cond)
        if row is None or row.crossings is None:
            return None
        texts = origin.arg_texts() if origin is not None else [self.printer.doprint(a) for a in node.args]
        if row.variadic and row.flat:  # max, min: the winning argument against the others
            winner = int(state[0]) if state.size else 0
            printed = [self.printer.doprint(a) for a in node.args]
            if origin is not None and origin.values:
                lowered_texts = dict(zip(origin.values, texts))
                printed = [lowered_texts.get(a, p) for a, p in zip(node.args, printed)]
            return " and ".join(
                row.flat[0].format(other=o, winner=printed[winner])
                for i, o in enumerate(printed)
                if i != winner
            )
        templates = row.surfaces or row.kinks or row.jumps
        if not templates or any("{" + key in "".join(templates) for key in ("a}", "b}", "boundary")):
            return None
        values = program.values_of(env, program.child_slots(switch.slot))
        with np.errstate(all="ignore"):
            crossings = row.crossings(*[np.asarray(v, dtype=float) for v in values])
        level = int(state[0]) if state.size else 0
        pieces = []
        for k, (template, quantity) in enumerate(zip(templates, crossings)):
            sign = float(np.sign(np.asarray(quantity, dtype=float).reshape(-1)[0]))
            # a band's state counts the edges passed: only the edges beside the piece bound it
            if len(templates) > 1 and k not in (level - 1, level):
                continue
            if sign == 0 or " == " not in template:
                continue
            pieces.append(fill_location(template.replace(" == ", " > " if sign > 0 else " < "), texts))
        return " and ".join(pieces) or None

    def _flat_where(self, switch: Switch, state: np.ndarray, names: set[str]) -> str | None:
        node, row = switch.node, switch.row
        origin = self.lowered.origins.get(node)
        if isinstance(node, sp.Piecewise):
            pieces = {int(s) for s in state}
            if len(pieces) != 1:
                return None
            piece = pieces.pop()
            value = node.args[piece][0]
            if compose(value).live & names:
                return None
            if origin is not None and origin.atom == "where" and origin.args:
                condition = origin.scope.text(origin.args[0])
                return condition if piece == 0 else _negated(origin.args[0], origin.scope.text)
            condition = node.args[piece][1]
            return (
                self.printer.doprint(condition)
                if piece == 0
                else f"not ({self.printer.doprint(node.args[0][1])})"
            )
        if row is None or not row.flat:
            return None
        texts = origin.arg_texts() if origin is not None else [self.printer.doprint(a) for a in node.args]
        if row.name in ("max", "min"):
            winners = {int(s) for s in state}
            if len(winners) != 1:
                return None
            winner = winners.pop()
            args = node.args
            if compose(args[winner]).live & names:
                return None
            winner_text = self.printer.doprint(args[winner])
            others = [self.printer.doprint(a) for i, a in enumerate(args) if i != winner]
            if origin is not None and origin.values:
                lowered_texts = dict(zip(origin.values, texts))
                winner_text = lowered_texts.get(args[winner], winner_text)
                others = [
                    lowered_texts.get(a, self.printer.doprint(a)) for i, a in enumerate(args) if i != winner
                ]
            return " and ".join(row.flat[0].format(other=o, winner=winner_text) for o in others)
        indices = {row.flat_states.get(int(s), -1) for s in state}
        if len(indices) != 1 or -1 in indices:
            return None
        return row.flat[indices.pop()].format(*texts)

    # -------------------------------------------------------------- findings

    def _finding(self, candidate: _Candidate) -> Finding:
        node = candidate.node
        origin = self.lowered.origins.get(node)
        row = row_for(node)
        atom_text = origin.text() if origin is not None else self.printer.doprint(node)
        atom_name = origin.atom if origin is not None else (row.name if row else type(node).__name__)
        span = origin.span if origin is not None else self.lowered.definition.body.span
        inside = f" (inside {' > '.join(origin.via)})" if origin is not None and origin.via else ""
        where = candidate.where
        kind = candidate.kind
        variables = tuple(sorted(candidate.variables))
        if kind == "kink":
            message = f"{atom_text}{inside} has a kink where {where}; the gradient exists everywhere else"
        elif kind == "discontinuity":
            message = f"{atom_text}{inside} jumps where {where}: the gradient there is undefined and blind to the jump"
        elif kind == "singularity":
            place = "on the edge of the region, " if candidate.on_edge else ""
            message = f"{atom_text}{inside} is singular {place}where {where}: the value or the slope is infinite there (NaN/Inf risk)"
        elif candidate.cancelled:
            message = (
                f"the gradient with respect to {', '.join(variables)} vanishes where {where}: there the slope of "
                f"{atom_text}{inside} and the slopes of the rest of the body cancel"
            )
        else:
            message = f"the gradient with respect to {', '.join(variables)} vanishes where {where} ({atom_text}{inside} is flat there)"
        return Finding.of(
            CODE_FOR_KIND[kind],
            message=message,
            span=span,
            atom=atom_name,
            where=where,
            suggestion=self._pattern_suggestion(node, origin)
            or _suggestion(row, self._arg_texts(node, origin, row), kind),
            variables=variables,
            on_edge=candidate.on_edge,
            witness=candidate.witness,
        )

    def _arg_texts(self, node: Any, origin: Origin | None, row: Atom | None = None) -> list[str]:
        if origin is not None and row is not None and _written_as_another_function(origin, row):
            # `sqrt(x^2)` is abs(x) to SymPy: abs's surrogate takes abs's argument, `x`, not sqrt's `x^2`
            return [self.printer.doprint(arg) for arg in node.args]
        if origin is not None and len(origin.args) >= len([a for a in node.args if not a.is_number]):
            return origin.arg_texts()
        if isinstance(node, sp.Piecewise) and len(node.args) >= 2:
            # read as the `where(condition, x, y)` it stands for, not as SymPy's (expr, cond) pairs
            (then, condition), rest = node.args[0], node.args[1:]
            otherwise = rest[0].expr if len(rest) == 1 else sp.Piecewise(*rest)
            return [self.printer.doprint(part) for part in (condition, then, otherwise)]
        return [self.printer.doprint(arg) for arg in node.args]

    def _pattern_suggestion(self, node: Any, origin: Origin | None) -> str | None:
        """A suggestion for the pattern that causes the finding, when the atom alone is not it.

        `argmax(p) == argmax(y)` (accuracy): a smooth argmax compared with an index is still a
        comparison, flat almost everywhere; what trains is the probability the prediction gives the
        labelled class, `take(softmax(p / t), argmax(y))`, as `kinks smooth` writes it. The
        suggestion names what it replaces (`in place of ...`). So for binary accuracy, a rounded or
        thresholded score compared with the label (`round(p) == y`, `(p > 0.5) == y`, Keras's
        `equal(y_true, round(y_pred))`): `y * p + (1 - y) * (1 - p)`, the probability given to the label."""
        if not isinstance(node, fn.ArgMax):
            return self._binary_accuracy_suggestion(node, origin)
        comparison = next(
            (
                candidate
                for candidate in sp.preorder_traversal(self.lowered.body)
                if isinstance(candidate, sp.Eq) and node in candidate.args
            ),
            None,
        )
        if comparison is None:
            return None
        other = comparison.args[1] if comparison.args[0] == node else comparison.args[0]
        scores = (
            origin.arg_texts()[0]
            if origin is not None and origin.args
            else self.printer.doprint(node.args[0])
        )
        label = self.printer.doprint(other)
        written = f"{self.printer.doprint(comparison.args[0])} == {self.printer.doprint(comparison.args[1])}"
        return (
            f"take(softmax({scores} / 0.1), {label}) (soft accuracy: the probability given to the "
            f"labelled class) in place of {written}"
        )

    def _binary_accuracy_suggestion(self, node: Any, origin: Origin | None) -> str | None:
        if isinstance(node, fn.Round):
            scores = origin.arg_texts()[0] if origin is not None and origin.args else None
        elif isinstance(node, Relational) and origin is not None and len(origin.args) == 2:
            # the score, not the threshold, whichever side it was written on
            scores = next((text for text in origin.arg_texts() if not _is_number_text(text)), None)
        else:
            return None
        for key, comparison in self.lowered.origins.items():
            if not isinstance(key, sp.Eq) or len(comparison.args) != 2 or not key.has(node):
                continue
            holding = [argument.has(node) for argument in key.args]
            if sorted(holding) != [False, True] or scores is None:
                continue
            label = comparison.arg_texts()[holding.index(False)]
            label = label if label.isidentifier() else f"({label})"
            scores = scores if scores.isidentifier() else f"({scores})"
            return (
                f"{label} * {scores} + (1 - {label}) * (1 - {scores}) (soft binary accuracy: the "
                f"probability given to the label) in place of {comparison.text()}"
            )
        return None

    def _unconnected(self, name: str, report: Report) -> Finding:
        definition = self.lowered.definition
        span = next((p.span for p in (definition.wrt or ()) if p.name == name), definition.name_span)
        return Finding.of(
            CODE_FOR_KIND["unconnected"],
            span=span,
            variables=(name,),
            message=f"`{name}` is in wrt, but `{definition.name}` does not depend on it: its gradient is identically zero",
            suggestion=f"use `{name}` in the body, or drop it from wrt",
        )

    def _zero_gradient(self, names: list[str], composition: Composition, report: Report) -> Finding:
        causes: list[Any] = []
        for name in names:
            for node in composition.cutters.get(name, []):
                if node not in causes:
                    causes.append(node)
        cause = causes[0] if causes else None
        origin = self.lowered.origins.get(cause) if cause is not None else None
        row = row_for(cause) if cause is not None else None
        if cause is None:
            because = "on every piece the probe reached, the body has a symbolically zero derivative"
            span = self.lowered.definition.body.span
            atom = None
            suggestion = None
        else:
            text = origin.text() if origin is not None else self.printer.doprint(cause)
            why = "is treated as data" if isinstance(cause, fn.StopGradient) else "is piecewise constant"
            because = f"{text} {why}"
            span = origin.span if origin is not None else self.lowered.definition.body.span
            atom = origin.atom if origin is not None else (row.name if row else None)
            suggestion = self._pattern_suggestion(cause, origin) or _suggestion(
                row, self._arg_texts(cause, origin, row), "discontinuity"
            )
        return Finding.of(
            "K001",
            span=span,
            atom=atom,
            variables=tuple(names),
            message=f"the gradient with respect to {', '.join(names)} is zero almost everywhere: {because}, "
            "so gradient descent cannot learn through it",
            suggestion=suggestion,
        )


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_OPPOSITE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def _negated(condition: Any, text: Any) -> str:
    """`not (x > 0)` read as `x <= 0` where the condition is a single comparison."""
    from ..language import syntax as ast

    if isinstance(condition, ast.Compare) and len(condition.ops) == 1:
        left, right = (text(operand) for operand in condition.operands)
        return f"{left} {_OPPOSITE[condition.ops[0]]} {right}"
    return f"not ({text(condition)})"


def _has_infinities(body: Any) -> bool:
    """An infinity or NaN written into the body (x * inf): not a real function anywhere."""
    return isinstance(body, sp.Basic) and body.has(sp.oo, sp.S.NegativeInfinity, sp.zoo, sp.nan)


def _declares(switch: Switch, kind: str) -> bool:
    if isinstance(switch.node, sp.Piecewise):
        return True
    row = switch.row
    if row is None:
        return False
    return bool(row.jumps) if kind == "discontinuity" else bool(row.kinks)


def _written_as_another_function(origin: Origin, row: Atom) -> bool:
    """Whether the atom was written as a different function of the table (`sqrt(x^2)` for abs)."""
    from ..atoms.table import lookup

    written = lookup(origin.atom) if origin.atom else None
    return written is not None and written is not row and written.name != row.name


def _suggestion(row: Atom | None, texts: list[str], kind: str) -> str | None:
    if row is None or not row.surrogates:
        if kind == "singularity":
            return "keep the argument away from the singular point: clip it, or add a small epsilon"
        return None
    surrogate = row.surrogates[0]
    try:
        rendered = surrogate.render(texts + [""] * 3)
    except (IndexError, KeyError):
        rendered = surrogate.template
    if kind == "singularity":
        return f"{rendered} ({surrogate.name}) keeps it finite"
    return f"{rendered} ({surrogate.name}) if a smooth version is needed"


def _without_kinks_that_jump(candidates: dict[tuple[str, Any, str], _Candidate]) -> list[_Candidate]:
    """The candidates, less a kink on a surface where the same switch also jumps. The probe calls
    a crossing a kink where the jump is smaller than it can see (`(0.1 % y)^3` near y = 0 jumps by
    |y|^3): the surface is one discontinuity, not a discontinuity and a kink."""
    jumping = {(node, where) for (kind, node, where) in candidates if kind == "discontinuity"}
    return [
        candidate
        for (kind, node, where), candidate in candidates.items()
        if not (kind == "kink" and (node, where) in jumping)
    ]


_ORDER = {
    "zero-gradient": 0,
    "unconnected": 1,
    "discontinuity": 2,
    "singularity": 3,
    "kink": 4,
    "constant-piece": 5,
}


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    def key(finding: Finding) -> tuple[int, int, int, int]:
        span = finding.span or Span(0, 0, 0, 0)
        return (span.line, span.column, _ORDER.get(finding.kind, 9), 0)

    return sorted(findings, key=key)
