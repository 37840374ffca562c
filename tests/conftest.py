"""The paths the test modules share (`from conftest import ROOT, EXAMPLES, ...`).

pytest puts this directory on `sys.path` for the modules under it, tests/fuzz included, so the
names import as a module; they are computed once, here, instead of once per test file.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent  # the checkout
PACKAGE = ROOT / "analyzer"
EXAMPLES = ROOT / "examples"
BENCHMARKS = ROOT / "benchmarks"
DOCS = ROOT / "docs"
FIXTURES = TESTS / "fixtures"
REGRESSIONS = TESTS / "regressions"
# The acceptance cases: the shared ones beside the checkout (../shared/cases), else the copy kept in
# tests/ for a clone without them (tests/test_acceptance.py checks that the two agree).
SHARED_CASES = ROOT.parent / "shared" / "cases"
LOCAL_CASES = TESTS / "acceptance_cases"
CASES = SHARED_CASES if SHARED_CASES.is_dir() else LOCAL_CASES
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.loss"))
