"""The design, checked on the code (docs/architecture.md): findings are made from their rule, the
atom table's rows are the only place that lists functions, and a row's TensorFlow column is what the
printer prints."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analyzer.analysis.report import Finding
from analyzer.analysis.rules import RULES

PACKAGE = Path(__file__).resolve().parents[1] / "analyzer"

# A finding read back from a record (the analysis cache) carries the kind it was saved with.
_RECORDS = frozenset({"lint/cache.py"})
# Not yet made from its rule: the linter's module, which another change owns.
_PENDING = frozenset({"lint/files.py"})


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def test_a_finding_is_made_from_its_rule() -> None:
    """`Finding.of(code, ...)`: no module pairs a code with a kind of its own."""
    offences = []
    for module, tree in _modules():
        if module in _RECORDS | _PENDING:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Finding":
                offences.append(f"{module}:{node.lineno}")
    assert not offences, "Finding(kind, code, ...) written out; use Finding.of(code, ...):\n" + "\n".join(
        offences
    )


@pytest.mark.parametrize("code", sorted(RULES))
def test_a_finding_of_a_rule_has_the_rule_s_kind_and_severity(code: str) -> None:
    finding = Finding.of(code, "message", None, atom="relu")
    assert (finding.kind, finding.severity, finding.atom) == (RULES[code].kind, RULES[code].severity, "relu")


def test_a_finding_of_an_unknown_code_is_refused() -> None:
    with pytest.raises(KeyError):
        Finding.of("K999", "message", None)
