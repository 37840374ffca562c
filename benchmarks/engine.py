"""The verdict engine against a baseline revision, in one run: `python benchmarks/engine.py
[--baseline REV] [--definitions N]`.

For the seeded benchmark corpus (corpus.py, the same 1,000 definitions as run.py by default) it
measures, in a fresh process per tree and per measurement, on one core:

- points evaluated per definition: every row of every batch the compiled body was run on (values,
  values with tangents, and the cones of a few steps), counted by wrapping `Program`'s entry
  points; deterministic, unlike times;
- definitions per second of the whole analysis (in-process, after a warm-up, best of three);
- the parse-and-build floor (best of three) and the ratio of the analysis to it;
- the classes the corpus gets.

The baseline is checked out with `git worktree` into a temporary folder and removed after; both
trees run the same corpus text, written once. Ratios of one run are what is reported: the machine
is shared, so times move between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import corpus as generator

CHILD = r"""
import collections, json, sys, time
sys.setrecursionlimit(20000)
tree, corpus_path, measure_path = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, tree)
sys.path.insert(1, measure_path)
import numpy as np
try:  # the layout of issue 15
    from analyzer.analysis import evaluate
    from analyzer.analysis.api import analyze_text
except ImportError:  # a revision from before it
    from analyzer import evaluate
    from analyzer.api import analyze_text
import measure

counted = collections.Counter()

def rows_of(env):
    for value in env.values():
        array = np.asarray(value)
        if array.ndim:
            return int(array.shape[0])
    return 1

def wrap(name):
    original = getattr(evaluate.Program, name, None)
    if original is None:
        return
    def counting(self, env, *args, **kwargs):
        counted["points"] += rows_of(env)
        counted["calls"] += 1
        return original(self, env, *args, **kwargs)
    setattr(evaluate.Program, name, counting)

def cpu_seconds(run):
    start = time.process_time()
    run()
    return time.process_time() - start

text = open(corpus_path, encoding="utf-8").read()
analyze_text(measure.WARM_UP, "<warm-up>")
mode = sys.argv[4]
if mode == "count":
    for name in ("run", "tangents", "states_of", "values_of"):
        wrap(name)
    reports = analyze_text(text, "corpus.loss")
    classes = collections.Counter(report.classification for report in reports)
    print(json.dumps({"definitions": len(reports), "points": counted["points"], "calls": counted["calls"],
                      "classes": dict(classes)}))
elif mode == "time":
    best = min(cpu_seconds(lambda: analyze_text(text, "corpus.loss")) for _ in range(3))
    print(json.dumps({"cpu_seconds": best}))
else:
    def build():
        return sum(1 for _ in measure.lowered_definitions(text, "corpus.loss"))
    best = min(cpu_seconds(build) for _ in range(3))
    print(json.dumps({"cpu_seconds": best}))
"""


def _run(tree: Path, corpus: Path, mode: str) -> dict:
    environment = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), str(corpus), str(HERE), mode],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        timeout=3600,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline", default="fe699e1", help="the revision to compare with (default: before issue 11)"
    )
    parser.add_argument("--definitions", type=int, default=1000)
    parser.add_argument("--output", default=str(HERE / "engine.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        corpus = folder_path / "corpus.loss"
        corpus.write_text(generator.corpus(args.definitions, seed=1000), encoding="utf-8")
        baseline = folder_path / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), args.baseline],
            check=True,
            capture_output=True,
        )
        try:
            results = {}
            for label, tree in (("baseline", baseline), ("now", ROOT)):
                results[label] = {mode: _run(tree, corpus, mode) for mode in ("count", "time", "floor")}
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                check=False,
                capture_output=True,
            )
    print(f"| measure ({args.definitions} corpus definitions, one core) | {args.baseline} | now |")
    print("| --- | --- | --- |")
    rows = []
    for label in ("baseline", "now"):
        r = results[label]
        n = r["count"]["definitions"]
        r["summary"] = {
            "points_per_definition": r["count"]["points"] / n,
            "runs_per_definition": r["count"]["calls"] / n,
            "definitions_per_second": n / r["time"]["cpu_seconds"],
            "ratio_to_floor": r["time"]["cpu_seconds"] / r["floor"]["cpu_seconds"],
        }
        rows.append(r["summary"])
    for key, title in (
        ("points_per_definition", "points evaluated per definition"),
        ("runs_per_definition", "runs of the compiled body per definition"),
        ("definitions_per_second", "definitions per second"),
        ("ratio_to_floor", "analysis / parse-and-build floor"),
    ):
        print(f"| {title} | {rows[0][key]:,.1f} | {rows[1][key]:,.1f} |")
    print(f"| classes | {results['baseline']['count']['classes']} | {results['now']['count']['classes']} |")
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
