"""One measurement in a fresh process: `python benchmarks/measure.py '<task as JSON>'`.

`run.py` starts this script once per measurement so that no measurement profits from the caches
another one warmed (SymPy's cache, the parser, imported modules). Each task prints one JSON object
on standard output. Times are wall-clock seconds (`perf_counter`) with the process's CPU seconds
beside them, since a loaded machine stretches the first and not the second.

Tasks (the `task` key):

- `floor`: parse and build the SymPy expressions of some files, nothing else;
- `analysis`: `analyze_text` on the same files;
- `expression`: one sized definition (`family`, `nodes`), parsed, built and analysed;
- `file`: a generated file of `definitions` definitions (copies of one block of realistic
  definitions, so a larger file differs from a smaller one only in size), analysed;
- `tensorflow`: import TensorFlow and probe the gradient of every definition of some files
  numerically, as a user without kinks would.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus as generator
from typing_extensions import Self

WARM_UP = "warm_up(y, p) wrt p = mean(abs(y - p))\n"
# The floor and the analysis of the corpus take seconds each, and the machine is shared: a single
# run of either moved by 20 % from one run of the benchmark to the next. The fastest of three is
# what the ratio between them is taken from.
SHARED_MACHINE_REPEATS = 3


class Clock:
    """Wall and CPU seconds of a block."""

    def __enter__(self) -> Self:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def repeated(action: Callable[[], Any], budget: float = 3.0, most: int = 5) -> tuple[Clock, Any]:
    """Run `action` until `budget` seconds are spent (at most `most` times, at least once), each
    time with SymPy's cache emptied so no run profits from the one before; the fastest run's clock
    (the least disturbed by the rest of the machine) and the last result."""
    from sympy.core.cache import clear_cache

    best, result, spent = None, None, 0.0
    for _ in range(most):
        clear_cache()
        with Clock() as clock:
            result = action()
        spent += clock.wall
        if best is None or clock.wall < best.wall:
            best = clock
        if spent >= budget:
            break
    assert best is not None
    return best, result


def peak_memory_mb() -> float:
    """The peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------ syntax nodes


def count_nodes(statement: Any) -> int:
    """Expression nodes in a definition as written: its locals, its body and its `given`."""
    try:
        from analyzer.language import syntax as ast
    except ImportError:  # a baseline revision from before issue 15
        from analyzer import syntax as ast  # type: ignore[no-redef]

    roots = [local.value for local in statement.locals] + [statement.body]
    if statement.given is not None:
        roots.append(statement.given)
    count, pending = 0, list(roots)
    while pending:
        node = pending.pop()
        count += 1
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, ast.Keyword):
                    pending.append(item.value)
                elif (
                    dataclasses.is_dataclass(item)
                    and not isinstance(item, (ast.Span, ast.Keyword))
                    and type(item).__name__ in _EXPRESSIONS
                ):
                    pending.append(item)
    return count


_EXPRESSIONS = frozenset(
    {
        "Number",
        "Boolean",
        "Name",
        "TupleExpr",
        "Unary",
        "Binary",
        "Compare",
        "Membership",
        "BoolOp",
        "Not",
        "Conditional",
        "Call",
    }
)


# ------------------------------------------------------------------ parse and build only


def lowered_definitions(text: str, path: str) -> Iterator[Any]:
    """Parse `text` and build the SymPy expressions of every definition, as `analyze_text` does
    before its analysis (constants bound, calls to earlier definitions expanded)."""
    try:  # the layout of issue 15
        from analyzer.analysis.lowering import (
            FileContext,
            Lowerer,
            LoweringError,
            constant_binding,
            lower_constant,
        )
        from analyzer.language import syntax as ast
        from analyzer.language.parser import parse_source
    except ImportError:  # a baseline revision from before it (benchmarks/engine.py)
        from analyzer.lowering import FileContext, Lowerer, LoweringError, constant_binding, lower_constant  # type: ignore[no-redef]
        from analyzer.parser import parse_source  # type: ignore[no-redef]

        from analyzer import syntax as ast  # type: ignore[no-redef]

    source = parse_source(text, path)
    context = FileContext()
    for statement in source.statements:
        if isinstance(statement, ast.Definition):
            context.later.setdefault(statement.name, statement.span.line)
    for statement in source.statements:
        if isinstance(statement, ast.SyntaxProblem):
            continue
        if context.later.get(statement.name) == statement.span.line:
            del context.later[statement.name]
        try:
            if isinstance(statement, ast.Constant):
                context.constants[statement.name] = constant_binding(lower_constant(statement, context))
                continue
            lowered = Lowerer(context, statement.name).definition(statement)
        except (LoweringError, RecursionError):
            continue
        context.definitions[statement.name] = statement
        yield lowered


def floor(paths: list[str]) -> dict[str, Any]:
    texts = {path: Path(path).read_text(encoding="utf-8") for path in paths}
    list(lowered_definitions(WARM_UP, "<warm-up>"))
    clock, definitions = repeated(
        lambda: sum(1 for path, text in texts.items() for _ in lowered_definitions(text, path)),
        budget=math.inf,
        most=SHARED_MACHINE_REPEATS,
    )
    return {"seconds": clock.wall, "cpu_seconds": clock.cpu, "definitions": definitions}


def analysis(paths: list[str]) -> dict[str, Any]:
    from analyzer.analysis.api import analyze_text

    texts = {path: Path(path).read_text(encoding="utf-8") for path in paths}
    analyze_text(WARM_UP, "<warm-up>")
    clock, reports = repeated(
        lambda: [report for path, text in texts.items() for report in analyze_text(text, path)],
        budget=math.inf,
        most=SHARED_MACHINE_REPEATS,
    )
    classes = collections.Counter(report.classification for report in reports)
    return {
        "seconds": clock.wall,
        "cpu_seconds": clock.cpu,
        "definitions": len(reports),
        "classes": dict(classes),
        "peak_memory_mb": peak_memory_mb(),
    }


# ------------------------------------------------------------------ scaling


def expression(family: str, nodes: int) -> dict[str, Any]:
    from analyzer.analysis.api import analyze_text
    from analyzer.language.parser import parse_source

    text = generator.sized_definition(family, nodes)
    statement = parse_source(text).statements[0]
    counted = count_nodes(statement) if type(statement).__name__ == "Definition" else None
    analyze_text(WARM_UP, "<warm-up>")
    clock, (report,) = repeated(lambda: analyze_text(text, f"{family}-{nodes}.loss"))
    return {
        "family": family,
        "target_nodes": nodes,
        "nodes": counted,
        "seconds": clock.wall,
        "cpu_seconds": clock.cpu,
        "analysis_seconds": report.seconds,
        "class": report.classification,
        "reason": report.reason
        or (report.findings[0].message if report.classification == "invalid" else None),
    }


def file(definitions: int, seed: int, block: int = 100) -> dict[str, Any]:
    from analyzer.analysis.api import analyze_text

    text = generator.repeated_corpus(definitions // block, block, seed)
    analyze_text(WARM_UP, "<warm-up>")
    clock, reports = repeated(lambda: analyze_text(text, f"corpus-{definitions}.loss"))
    return {
        "definitions": len(reports),
        "seconds": clock.wall,
        "cpu_seconds": clock.cpu,
        "peak_memory_mb": peak_memory_mb(),
    }


# ------------------------------------------------------------------ the alternative: TensorFlow


LINES, POINTS = 24, 161  # the same number of points as kinks's own probe


def tensorflow(paths: list[str], seed: int) -> dict[str, Any]:
    """What a user does today: the loss in TensorFlow, and gradients by GradientTape at many
    points along random lines through the inputs' domain, checked for NaN, zero and jumps.

    The TensorFlow code is the code kinks generates (standing in for the user's own; not timed).
    The domain of each input comes from its `given` (a user knows it). Timed: importing
    TensorFlow, then every definition's gradients and checks.
    """
    import importlib.util

    import numpy as np

    if importlib.util.find_spec("tensorflow") is None:  # without importing it: that is timed below
        return {"skipped": "TensorFlow not installed"}
    from analyzer.analysis.probe import region_from
    from analyzer.tensorflow.codegen import to_tensorflow

    modules, domains = [], []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        modules.append(to_tensorflow(text, path))
        domains.append(
            {
                low.definition.name: (
                    list(low.symbols),
                    list(low.wrt),
                    region_from(low.given, list(low.symbols), None),
                )
                for low in lowered_definitions(text, path)
            }
        )
    rng = np.random.default_rng(seed)
    with Clock() as import_clock:
        import tensorflow as tf

        from analyzer.tensorflow.runtime import load_module

        loaded = [load_module(source) for source in modules]
    probed, failed = 0, 0
    with Clock() as clock:
        for module, definitions in zip(loaded, domains):
            for name, (params, wrt, region) in definitions.items():
                function = getattr(module, name, None)
                if function is None:
                    failed += 1
                    continue
                try:
                    _probe_gradient(tf, np, rng, function, params, wrt, region)
                    probed += 1
                except Exception:  # noqa: BLE001 - a definition TensorFlow cannot run is counted, not fatal
                    failed += 1
    return {
        "import_seconds": import_clock.wall,
        "seconds": clock.wall,
        "cpu_seconds": clock.cpu,
        "definitions": probed,
        "failed": failed,
    }


def _probe_gradient(
    tf: Any, np: Any, rng: Any, function: Callable[..., Any], params: list[str], wrt: list[str], region: Any
) -> dict[str, int]:
    count = LINES * POINTS
    t = np.tile(np.linspace(-3.0, 3.0, POINTS), LINES)[:, None]
    inputs = []
    for name in params:
        base = np.repeat(_sample(np, rng, region, name, (LINES, 3)), POINTS, axis=0)
        moving = name in wrt and name not in region.choices
        direction = np.repeat(rng.normal(0.0, 1.0, (LINES, 3)), POINTS, axis=0) if moving else 0.0
        points = base + 0.1 * t * direction
        bound = region.bounds.get(name)
        if bound is not None:  # stay inside the domain, as a user would
            points = np.clip(points, bound.lo + 1e-3, bound.hi - 1e-3)
        inputs.append(tf.Variable(points, dtype=tf.float64))
    watched = [variable for name, variable in zip(params, inputs) if name in wrt]
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(function(*inputs))
    gradients = tape.gradient(value, watched)
    found = {"nan": 0, "zero": 0, "jumps": 0}
    for gradient in gradients:
        if gradient is None:
            found["zero"] += count
            continue
        slope = gradient.numpy().reshape(LINES, POINTS, -1)
        found["nan"] += int(np.sum(~np.isfinite(slope)))
        found["zero"] += int(np.sum(np.all(slope == 0, axis=2)))
        steps = np.abs(np.diff(slope, axis=1))
        found["jumps"] += int(np.sum(steps > 10 * (np.median(steps) + 1e-12)))
    return found


def _sample(np: Any, rng: Any, region: Any, name: str, shape: tuple[int, int]) -> Any:
    if name in region.choices:
        return rng.choice(np.asarray(region.choices[name], dtype=float), size=shape)
    bound = region.bounds.get(name)
    lo, hi = (bound.lo, bound.hi) if bound is not None else (-math.inf, math.inf)
    if math.isfinite(lo) and math.isfinite(hi):
        return lo + (hi - lo) * (0.05 + 0.9 * rng.random(shape))
    if math.isfinite(lo):
        return lo + rng.exponential(1.0, shape) + 1e-3
    if math.isfinite(hi):
        return hi - rng.exponential(1.0, shape) - 1e-3
    return rng.normal(0.0, 1.5, shape)


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "floor": floor,
    "analysis": analysis,
    "expression": expression,
    "file": file,
    "tensorflow": tensorflow,
}


def main(argv: list[str]) -> int:
    task = json.loads(argv[1])
    name = task.pop("task")
    result = TASKS[name](**task)
    result.setdefault("peak_memory_mb", peak_memory_mb())
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
