"""The long robustness run: many thousand fuzz cases, the oracle, pathological inputs, the soak.

    python tests/fuzz/run_long.py                        # everything, about an hour on one core
    python tests/fuzz/run_long.py --part valid --cases 500 --seed 7
    python tests/fuzz/run_long.py --part pathological    # each input in a child process: time, peak RSS
    python tests/fuzz/run_long.py --json summary.json    # the numbers, for the record
    # the high-precision oracle's campaign (issue 11): 10,000 definitions, about 15 min on one core
    python tests/fuzz/run_long.py --part oracle --cases 5000 --seed 41
    python tests/fuzz/run_long.py --part scaled --cases 5000 --seed 41

Parts:
  valid         generated valid files: the properties of tests/fuzz/properties.py (no exception, no
                internal error, within budget, deterministic, `kinks check` exits 0/1 with JSON,
                `kinks tf` output compiles)
  broken        mutated and random text, and raw bytes through `kinks check`
  oracle        generated definitions: every verdict against the numeric oracle (tests/fuzz/oracle.py)
  scaled        the same, on definitions moved far from the origin, made narrow or steep, scaled,
                with slopes that cancel and jumps at cusps (strategies.SCALED_SHAPES)
  pathological  the inputs of tests/test_robustness.py at full size, each in a child process with
                a time limit; its peak resident memory is measured
  soak          10,000 generated definitions through `analyze` in this process; memory must level off

Failures are printed with their input and collected in the summary; nothing stops the run. A
failure found here becomes a fixture under tests/regressions/ (see its README).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE.parent), str(REPO)]

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from fuzz import oracle, properties, strategies
from fuzz.pathological import CASES as PATHOLOGICAL

BUDGET = 1.0
SLOW_CASE_SECONDS = 30.0  # reported as it happens, so a hang shows in the log


@dataclass(slots=True)
class PartResult:
    name: str
    cases: int = 0
    checks: int = 0  # oracle: points, change points and witnesses compared; tf: modules compiled
    seconds: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def record(self, kind: str, text: Any, message: str) -> None:
        shown = text if isinstance(text, str) else repr(text)
        self.failures.append({"kind": kind, "input": shown[:4000], "message": message[:4000]})
        print(f"\n--- {self.name}: {kind}\n{shown[:2000]}\n>>> {message[:2000]}\n", flush=True)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float:
    """Resident memory now (Linux /proc), else the peak."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return _peak_rss_mb()


def _generate(strategy: st.SearchStrategy[Any], cases: int, seed: int, body: Callable[[Any], None]) -> None:
    """Run `body` on `cases` generated examples (generation only: failures are recorded by `body`)."""

    done = 0
    started = time.monotonic()

    @hypothesis_seed(seed)
    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(strategy)
    def run(example: Any) -> None:
        nonlocal done
        began = time.monotonic()
        body(example)
        done += 1
        took = time.monotonic() - began
        if took > SLOW_CASE_SECONDS:
            print(f"    slow case ({took:.1f} s): {str(example)[:300]!r}", flush=True)
        if done % 250 == 0:
            print(f"    {done} cases, {time.monotonic() - started:.0f} s", flush=True)

    run()


# ---------------------------------------------------------------- parts


def part_valid(cases: int, seed: int) -> PartResult:
    result = PartResult("valid")
    tf_modes = ("plain", "smooth", "ste")
    directory = Path(tempfile.mkdtemp(prefix="kinks-fuzz-"))

    def body(text: str) -> None:
        result.cases += 1
        try:
            reports = properties.analyse(text, BUDGET)
            if result.cases % 4 == 0:
                properties.check_deterministic(text, reports, BUDGET)
            if result.cases % 10 == 0:
                properties.check_command_line(text.encode(), directory, BUDGET)
            result.checks += properties.check_generated_code(
                text, tf_modes if result.cases % 5 == 0 else ("plain",)
            )
        except properties.PropertyFailure as failure:
            result.record("property", text, str(failure))
        except Exception:  # noqa: BLE001 - a crash of the checks themselves is a finding too
            result.record("crash", text, traceback.format_exc())

    _generate(strategies.sources(), cases, seed, body)
    return result


def part_broken(cases: int, seed: int) -> PartResult:
    result = PartResult("broken")
    directory = Path(tempfile.mkdtemp(prefix="kinks-fuzz-"))

    def body(example: tuple[str, bytes]) -> None:
        text, data = example
        result.cases += 1
        try:
            properties.analyse(text, BUDGET)
            properties.check_command_line(data, directory, BUDGET)
            result.checks += properties.check_generated_code(text)
        except properties.PropertyFailure as failure:
            result.record("property", (text, data), str(failure))
        except Exception:  # noqa: BLE001
            result.record("crash", (text, data), traceback.format_exc())

    _generate(st.tuples(strategies.hostile_texts(), strategies.file_bytes()), cases, seed, body)
    return result


def part_oracle(cases: int, seed: int, strategy: Any = None, name: str = "oracle") -> PartResult:
    result = PartResult(name)
    classes: dict[str, int] = {}

    def body(text: str) -> None:
        result.cases += 1
        try:
            reports = properties.analyse(text, 2.0)
        except properties.PropertyFailure as failure:
            result.record("property", text, str(failure))
            return
        for report in reports:
            classes[report.classification] = classes.get(report.classification, 0) + 1
            try:
                verdict = oracle.check(report, seed=result.cases)
            except Exception:  # noqa: BLE001
                result.record("oracle crash", text, traceback.format_exc())
                continue
            result.checks += verdict.checked
            for disagreement in verdict.disagreements:
                result.record(f"oracle: {report.classification}", text, str(disagreement))

    _generate(strategy if strategy is not None else strategies.oracle_sources(), cases, seed, body)
    result.notes["classes"] = classes
    return result


def part_scaled(cases: int, seed: int) -> PartResult:
    """The oracle on definitions moved far, made narrow or steep, scaled, cancelled (issue 11)."""
    return part_oracle(cases, seed, strategies.scaled_oracle_sources(), "scaled")


def part_pathological(cases: int, seed: int, only: str | None = None) -> PartResult:
    result = PartResult("pathological")
    for case in PATHOLOGICAL:
        if only and only not in case.name:
            continue
        result.cases += 1
        outcome = run_in_child(case.name, case.timeout)
        result.notes[case.name] = outcome
        print(
            f"{case.name:<34} {outcome.get('status', '?'):<8} {outcome.get('seconds', 0):7.2f} s "
            f"{outcome.get('peak_rss_mb', 0):8.1f} MB  {outcome.get('summary', '')[:90]}",
            flush=True,
        )
        if outcome.get("status") != "ok":
            result.record(outcome.get("status", "failed"), case.name, json.dumps(outcome)[:3000])
        elif outcome["peak_rss_mb"] > case.max_rss_mb:
            result.record(
                "memory", case.name, f"peak RSS {outcome['peak_rss_mb']:.0f} MB > {case.max_rss_mb} MB"
            )
    return result


def run_in_child(name: str, timeout: float) -> dict[str, Any]:
    """One pathological case in a fresh interpreter: its outcome, time and peak RSS."""
    program = textwrap.dedent(f"""
        import json, resource, sys, time
        sys.path[:0] = [{str(HERE.parent)!r}, {str(REPO)!r}]
        from fuzz.pathological import run_case
        started = time.monotonic()
        outcome = run_case({name!r})
        outcome["seconds"] = time.monotonic() - started
        outcome["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(json.dumps(outcome))
    """)
    started = time.monotonic()
    try:
        child = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {
            "status": "hang",
            "seconds": time.monotonic() - started,
            "peak_rss_mb": 0.0,
            "summary": f"no answer within {timeout:g} s",
        }
    if child.returncode != 0:
        return {
            "status": "crash",
            "seconds": time.monotonic() - started,
            "peak_rss_mb": 0.0,
            "summary": f"exit {child.returncode}: {child.stderr[-1500:]}",
        }
    try:
        return json.loads(child.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {
            "status": "crash",
            "summary": f"no outcome printed: {child.stdout[-500:]} {child.stderr[-1000:]}",
            "seconds": time.monotonic() - started,
            "peak_rss_mb": 0.0,
        }


def part_soak(cases: int, seed: int) -> PartResult:
    """`analyze` on many definitions in one process, as an editor would: memory must level off."""
    from analyzer import analyze

    result = PartResult("soak")
    bodies: list[tuple[str, tuple[str, ...]]] = []
    _generate(strategies.soak_expressions(), cases, seed, bodies.append)
    gc.collect()
    checkpoints: list[tuple[int, float]] = []
    warm_up = min(1000, len(bodies) // 5)
    for index, (text, wrt) in enumerate(bodies, start=1):
        result.cases += 1
        try:
            report = analyze(text, wrt=list(wrt), budget=BUDGET)
            if any(finding.code == "E999" for finding in report.findings):
                result.record("internal error", text, report.findings[0].message)
        except Exception:  # noqa: BLE001
            result.record("crash", text, traceback.format_exc())
        if index == warm_up or index % 1000 == 0 or index == len(bodies):
            gc.collect()
            checkpoints.append((index, round(_current_rss_mb(), 1)))
            print(f"soak: {index:>6} definitions, resident {checkpoints[-1][1]:.1f} MB", flush=True)
    after_warm_up = [rss for index, rss in checkpoints if index >= warm_up]
    growth = after_warm_up[-1] - after_warm_up[0] if after_warm_up else 0.0
    result.notes.update(checkpoints=checkpoints, growth_after_warm_up_mb=round(growth, 1))
    if growth > SOAK_GROWTH_LIMIT_MB:
        result.record(
            "memory", f"{len(bodies)} definitions", f"resident memory grew {growth:.1f} MB after warm-up"
        )
    return result


SOAK_GROWTH_LIMIT_MB = 40.0

PARTS: dict[str, tuple[Callable[[int, int], PartResult], int]] = {
    "valid": (part_valid, 4000),
    "broken": (part_broken, 6000),
    "oracle": (part_oracle, 3000),
    "scaled": (part_scaled, 3000),
    "pathological": (part_pathological, 0),
    "soak": (part_soak, 10000),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=(*PARTS, "all"), default="all")
    parser.add_argument("--cases", type=int, default=None, help="cases per part (default: each part's own)")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    parser.add_argument("--only", default=None, help="pathological: only cases whose name contains this")
    parser.add_argument("--json", type=Path, default=None, help="write the summary here")
    arguments = parser.parse_args(argv)
    names = list(PARTS) if arguments.part == "all" else [arguments.part]
    summary: dict[str, Any] = {"seed": arguments.seed, "python": sys.version.split()[0], "parts": {}}
    failed = False
    for name in names:
        function, default_cases = PARTS[name]
        cases = arguments.cases if arguments.cases is not None else default_cases
        print(f"=== {name}: {cases or 'all'} cases, seed {arguments.seed}", flush=True)
        started = time.monotonic()
        if name == "pathological":
            result = part_pathological(cases, arguments.seed, arguments.only)
        else:
            result = function(cases, arguments.seed)
        result.seconds = round(time.monotonic() - started, 1)
        failed |= bool(result.failures)
        summary["parts"][name] = {
            "cases": result.cases,
            "checks": result.checks,
            "seconds": result.seconds,
            "failures": result.failures,
            "notes": result.notes,
        }
        print(
            f"=== {name}: {result.cases} cases, {result.checks} checks, {len(result.failures)} failures, "
            f"{result.seconds:.0f} s",
            flush=True,
        )
    summary["peak_rss_mb_of_this_process"] = round(_peak_rss_mb(), 1)
    if arguments.json:
        arguments.json.write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
