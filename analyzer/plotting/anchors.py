"""Which switches of the body each finding is about, read off the finding's witness.

A finding carries the point where the probe confirmed it and the direction of the line it crossed
there. Evaluating the body a hair before and after that point shows which switches change piece
there (a kink or a jump), which singular argument is zero there (a singularity), or which piece
every switch is on (a constant piece). A plot then draws a marker exactly where one of those
switches changes along its own path and the change is of the finding's kind, so every marker comes
from a finding and carries its code and its `where`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..analysis.evaluate import Program, Switch
from ..analysis.report import Finding, Report

LOCATED_KINDS = ("kink", "discontinuity", "singularity", "constant-piece")
NUDGE = 1e-7  # relative distance from the witness at which each side is read


@dataclass(frozen=True, slots=True)
class Anchor:
    """A finding with the switches it is about: `switches` change across it (kinks, jumps) or are
    singular at it; `states` are the pieces that make the gradient vanish (constant pieces)."""

    index: int  # position in report.findings
    finding: Finding
    switches: frozenset[int] = frozenset()
    states: Mapping[int, int] = field(default_factory=dict)
    surfaces: Mapping[int, int] = field(default_factory=dict)  # switch -> which of its surfaces

    @property
    def kind(self) -> str:
        return self.finding.kind

    @property
    def located(self) -> bool:
        return bool(self.switches) or bool(self.states)


def anchors_for(report: Report, program: Program) -> list[Anchor]:
    """One anchor per finding that has a place (kink, jump, singularity, constant piece)."""
    anchors = []
    for index, finding in enumerate(report.findings):
        if finding.kind not in LOCATED_KINDS:
            continue
        if finding.witness is None:
            anchors.append(Anchor(index, finding))
            continue
        anchors.append(_anchor(index, finding, program))
    return anchors


def _anchor(index: int, finding: Finding, program: Program) -> Anchor:
    assert finding.witness is not None
    point, direction = finding.witness.point, finding.witness.direction
    names = list(point)
    at = {name: np.asarray(point[name], dtype=float)[None, :] for name in names}
    heading = {
        name: np.asarray(direction.get(name, [0.0] * len(point[name])), dtype=float)[None, :]
        for name in names
    }
    scale = 1 + max(float(np.max(np.abs(at[name]))) for name in names)
    step = NUDGE * scale
    before = {name: at[name] - step * heading[name] for name in names}
    after = {name: at[name] + step * heading[name] for name in names}
    try:
        states = [_states(program, env) for env in (before, at, after)]
    except KeyError:
        return Anchor(index, finding)  # the witness does not name every input: nothing to match
    switches = program.switches
    if finding.kind == "constant-piece":
        wanted = set(finding.variables)
        pieces = {}
        for i, switch in enumerate(switches):
            if switch.singular:
                continue
            names_in = {symbol.name for symbol in getattr(switch.node, "free_symbols", ())}
            if wanted and not names_in & wanted:
                continue
            values = set(states[1][i].tolist())
            if len(values) == 1:
                pieces[i] = values.pop()
        return Anchor(index, finding, states=pieces)
    changed = {i for i in range(len(switches)) if not np.array_equal(states[0][i], states[2][i])}
    surfaces = {
        i: surface
        for i in changed
        if (surface := surface_of(switches[i], states[0][i], states[2][i])) is not None
    }
    if finding.kind == "singularity":
        zero = _singular_zeros(program, at, scale)
        chosen = {i for i in changed if switches[i].singular} | zero
    else:
        chosen = {i for i in changed if not switches[i].singular} or changed
        if not chosen:
            chosen = {
                i
                for i in range(len(switches))
                if not np.array_equal(states[1][i], states[0][i])
                or not np.array_equal(states[1][i], states[2][i])
            }
    return Anchor(index, finding, switches=frozenset(chosen), surfaces=surfaces)


def surface_of(switch: Switch, before: np.ndarray, after: np.ndarray) -> int | None:
    """Which of a switch's surfaces a change of piece crosses, for rows with several (the two
    corners of `clip`): the classifier words each surface apart, so each is its own finding."""
    row = switch.row
    if row is None or row.state_surfaces is None:
        return None
    differ = np.nonzero(np.asarray(before) != np.asarray(after))[0]
    if not len(differ):
        return None
    column = int(differ[0])
    return int(row.state_surfaces(int(before[column]), int(after[column])))


def _states(program: Program, env: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    _, states = program.run(env)
    return [np.asarray(state).reshape(-1).astype(np.int64) for state in states]


def _singular_zeros(program: Program, env: Mapping[str, np.ndarray], scale: float) -> set[int]:
    """Singular switches whose singular quantity is zero (to rounding) at the witness."""
    zeros = set()
    for i, value in enumerate(program.singular_values(env)):
        if value is None:
            continue
        magnitude = np.abs(np.asarray(value, dtype=float))
        if magnitude.size and np.nanmin(magnitude) <= 1e-9 * scale:
            zeros.add(i)
    return zeros


def matching(anchors: Sequence[Anchor], kind: str, changed: Mapping[int, int | None]) -> Anchor | None:
    """The first finding of `kind` about one of the `changed` switches (switch -> surface crossed)."""
    for anchor in anchors:
        if anchor.kind != kind:
            continue
        for switch in anchor.switches & set(changed):
            wanted, crossed = anchor.surfaces.get(switch), changed[switch]
            if wanted is None or crossed is None or wanted == crossed:
                return anchor
    return None
