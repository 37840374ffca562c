"""Generated TensorFlow losses against their `keras.losses` counterparts: time ratio generated / Keras.

For each loss of `analyzer.tensorflow.keras_definitions`, on one batch of 1,000,000 float32 elements
(100,000 rows of 10), in the same process and interleaved (generated, Keras, generated, ...):

- forward: the mean of the loss;
- forward + backward: the mean and its gradient with respect to the predictions (GradientTape);

each run eagerly, under `tf.function`, and under `tf.function(jit_compile=True)` (XLA). The figure
is the median, over the pairs of runs after warm-up, of the ratio generated / Keras within a pair
(below 1: the generated code is faster); pairs run back to back, so that other work on the machine
slows both runs of a pair alike. Target: no ratio above 1.10.

    python benchmarks/keras_losses.py                 # the table, in Markdown
    python benchmarks/keras_losses.py --json out.json --repeats 30 --only hinge
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODES = ("eager", "function", "xla")
PASSES = ("forward", "backward")
TARGET = 1.10


def _programs(loss: Callable[..., Any], mode: str) -> dict[str, Callable[..., Any]]:
    import tensorflow as tf

    def forward(y: Any, p: Any) -> Any:
        return tf.reduce_mean(loss(y, p))

    def backward(y: Any, p: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(p)
            value = tf.reduce_mean(loss(y, p))
        return value, tape.gradient(value, p)

    if mode == "eager":
        return {"forward": forward, "backward": backward}
    jit = mode == "xla"
    return {
        "forward": tf.function(forward, jit_compile=jit),
        "backward": tf.function(backward, jit_compile=jit),
    }


def _run(program: Callable[..., Any], y: Any, p: Any) -> float:
    started = time.perf_counter()
    result = program(y, p)
    for tensor in result if isinstance(result, tuple) else (result,):
        tensor.numpy()  # wait for the value
    return time.perf_counter() - started


def measure(
    rows: int, columns: int, repeats: int, warmup: int, only: set[str] | None
) -> list[dict[str, Any]]:
    import keras
    import numpy as np
    import tensorflow as tf

    from analyzer.tensorflow.codegen import generate, lower_source
    from analyzer.tensorflow.keras_definitions import KERAS_LOSSES, KERAS_LOSSES_SOURCE
    from analyzer.tensorflow.runtime import load_module

    module = generate(lower_source(KERAS_LOSSES_SOURCE, "keras_losses.loss"))
    generated = load_module(module.text)
    rng = np.random.default_rng(0)
    results = []
    for case in KERAS_LOSSES:
        if only and case.name not in only:
            continue
        y = tf.constant(case.labels(rng, (rows, columns)), dtype=tf.float32)
        p = tf.constant(case.predictions(rng, (rows, columns)), dtype=tf.float32)
        ours = getattr(generated, module.functions[case.name])
        theirs = functools.partial(getattr(keras.losses, case.keras), **dict(case.keras_kwargs))
        record: dict[str, Any] = {"loss": case.name, "keras": f"keras.losses.{case.keras}"}
        for mode in MODES:
            mine, reference = _programs(ours, mode), _programs(theirs, mode)
            for phase in PASSES:
                for _ in range(warmup):
                    _run(mine[phase], y, p)
                    _run(reference[phase], y, p)
                ours_times, keras_times = [], []
                for index in range(repeats):
                    # Back to back, in alternating order: a slow spell of the machine hits both runs
                    # of a pair, and neither always runs first.
                    if index % 2:
                        keras_times.append(_run(reference[phase], y, p))
                        ours_times.append(_run(mine[phase], y, p))
                    else:
                        ours_times.append(_run(mine[phase], y, p))
                        keras_times.append(_run(reference[phase], y, p))
                ratios = [ours / theirs for ours, theirs in zip(ours_times, keras_times)]
                record[f"{mode}/{phase}"] = {
                    "ratio": statistics.median(ratios),
                    "generated_ms": 1e3 * statistics.median(ours_times),
                    "keras_ms": 1e3 * statistics.median(keras_times),
                    "generated_best_ms": 1e3 * min(ours_times),
                    "keras_best_ms": 1e3 * min(keras_times),
                }
        results.append(record)
        print(f"  {case.name}: done", file=sys.stderr, flush=True)
    return results


def table(results: list[dict[str, Any]]) -> str:
    columns = [f"{mode}/{phase}" for mode in MODES for phase in PASSES]
    titles = {"eager": "eager", "function": "tf.function", "xla": "XLA"}
    header = (
        "| loss | "
        + " | ".join(
            f"{titles[c.split('/')[0]]} {'fwd' if c.endswith('forward') else 'fwd+bwd'}" for c in columns
        )
        + " |"
    )
    lines = [header, "|" + " --- |" * (len(columns) + 1)]
    for record in results:
        cells = []
        for column in columns:
            ratio = record[column]["ratio"]
            cells.append(f"**{ratio:.2f}**" if ratio > TARGET else f"{ratio:.2f}")
        lines.append(f"| {record['loss']} | " + " | ".join(cells) + " |")
    worst = max((record[c]["ratio"] for record in results for c in columns), default=0.0)
    lines.append("")
    lines.append(
        f"Median ratio generated / Keras over paired runs; worst {worst:.2f} "
        f"(target {TARGET:.2f}; bold: above it)."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the batch (default: 100000)")
    parser.add_argument("--columns", type=int, default=10, help="entries per row (default: 10)")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs of each program (default: 15)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default: 3)")
    parser.add_argument("--only", action="append", help="only this loss (repeatable)")
    parser.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")
    arguments = parser.parse_args(argv)
    results = measure(
        arguments.rows,
        arguments.columns,
        arguments.repeats,
        arguments.warmup,
        set(arguments.only) if arguments.only else None,
    )
    print(table(results))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
