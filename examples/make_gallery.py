"""Draw the gallery: familiar losses and metrics, with what kinks finds in them marked.

    python examples/make_gallery.py          # writes examples/gallery/*.png and docs/gallery.md
    python examples/make_gallery.py --out /tmp/gallery --page /tmp/gallery/gallery.md

Every picture is drawn from kinks' own analysis through the public API (`analyze`, `analyze_file`,
`Report.plot`, `analyzer.plotting.compare_reports`); it needs the `plot` extra. The page links the
pictures where they are kept in the repository (examples/gallery/), wherever they were drawn.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer import analyze, analyze_file
from analyzer.plotting import compare_reports

EXAMPLES = Path(__file__).resolve().parent
REPO_ROOT = EXAMPLES.parent
DPI = 100
PAGE_LINK = "../examples/gallery/"  # from docs/gallery.md to the pictures


def _definition(file: str, name: str) -> Any:
    return next(report for report in analyze_file(EXAMPLES / file) if report.name == name)


@dataclass(frozen=True)
class Picture:
    name: str  # the file name, without .png
    title: str
    caption: str
    how: str  # the command (or Python) that draws it
    draw: Callable[[], Any]  # returns a Matplotlib Figure


PICTURES: tuple[Picture, ...] = (
    Picture(
        "relu",
        "ReLU",
        "A kink at 0, where the one-sided slopes are 0 and 1 (the two dashed tangents), and a constant "
        "piece below it: a unit that lands there is dead, its gradient is exactly zero.",
        'kinks plot "relu(x)"',
        lambda: analyze("relu(x)").plot(title="relu(x)"),
    ),
    Picture(
        "abs",
        "Absolute value",
        "A kink at 0 with slopes -1 and 1; the gradient exists everywhere else. This is the L1 loss.",
        'kinks plot "abs(x)"',
        lambda: analyze("abs(x)").plot(title="abs(x)"),
    ),
    Picture(
        "huber",
        "Huber",
        "Nothing to mark: the quadratic and the linear pieces meet with equal slopes at ±1, so Huber "
        "is C1. Only its second derivative jumps, which shows as corners in the derivative.",
        'kinks plot "huber(x, 1.0)"',
        lambda: analyze("huber(x, 1.0)").plot(title="huber(x, delta=1.0)"),
    ),
    Picture(
        "hinge",
        "Hinge",
        "On a positive example (y = 1): a kink where the margin y·s reaches 1 and a constant piece "
        "beyond it, where the example stops contributing to the gradient.",
        'kinks plot "max(1 - y * s, 0)" --given "y in {-1, 1}" --wrt s --at y=1',
        lambda: analyze("max(1 - y * s, 0)", wrt=["s"], given="y in {-1, 1}").plot(
            "s", at={"y": 1}, title="hinge: max(1 - y * s, 0), y = 1"
        ),
    ),
    Picture(
        "thresholded_accuracy",
        "Thresholded accuracy",
        "Binary accuracy at 0.5 over three predictions, walked along a path that moves all three: "
        "each prediction that crosses 0.5 is a jump (filled: the value at the point, open: the "
        "other side), and the gradient is zero everywhere else (K001).",
        'kinks plot "mean(equal(y, cast(p > 0.5, float32)))" --given "y in {0, 1}" --wrt p --at y=1,0,1',
        lambda: analyze("mean(equal(y, cast(p > 0.5, float32)))", wrt=["p"], given="y in {0, 1}").plot(
            "p", at={"y": [1, 0, 1]}, title="accuracy: mean(y == (p > 0.5)), y = (1, 0, 1)"
        ),
    ),
    Picture(
        "argmax_vs_softargmax",
        "argmax versus softargmax",
        "argmax jumps where the largest entries tie and is flat everywhere else; the softargmax "
        "sum(softmax(p / T) * range_like(p)) follows it smoothly, and more closely as T shrinks.",
        'compare_reports([(analyze("argmax(p)"), "argmax(p)"), '
        '(analyze("sum(softmax(p / 0.1) * range_like(p))"), "T = 0.1")], "p")',
        lambda: compare_reports(
            [
                (analyze("argmax(p)"), "argmax(p)"),
                (analyze("sum(softmax(p / 0.3) * range_like(p))"), "softargmax, T = 0.3"),
                (analyze("sum(softmax(p / 0.1) * range_like(p))"), "softargmax, T = 0.1"),
            ],
            "p",
            title="argmax versus softargmax along a path that crosses a tie",
        ),
    ),
    Picture(
        "step_vs_sigmoid",
        "A step versus sigmoids of growing sharpness",
        "The step jumps at 0 and has no gradient anywhere; sigmoid(k x) is smooth for every k, and "
        "its derivative gathers at 0 as k grows: a usable gradient, but a narrow one.",
        'compare_reports([(analyze("step(x)"), "step(x)"), (analyze("sigmoid(16 * x)"), "k = 16")], "x")',
        lambda: compare_reports(
            [
                (analyze("step(x)"), "step(x)"),
                (analyze("sigmoid(x)"), "sigmoid(x)"),
                (analyze("sigmoid(4 * x)"), "sigmoid(4 x)"),
                (analyze("sigmoid(16 * x)"), "sigmoid(16 x)"),
            ],
            "x",
            limits=(-3, 3),
            title="a step versus sigmoids of growing sharpness",
        ),
    ),
    Picture(
        "neuron_step",
        "The piecewise-constant neuron",
        "A perceptron unit step(w x + b) over its weight and bias (x = 1.5): it jumps across the line "
        "w x + b = 0 and is flat on both sides, so no gradient reaches w or b.",
        'kinks plot "step(w * x + b)" --wrt w --wrt b --at x=1.5 --range -3 3',
        lambda: analyze("step(w * x + b)", wrt=["w", "b"]).plot(
            ["w", "b"], at={"x": 1.5}, limits=[(-3, 3)], title="step(w * x + b), x = 1.5"
        ),
    ),
    Picture(
        "neuron_smoothed",
        "The smoothed neuron",
        "The same unit through a sigmoid, sigmoid((w x + b) / 0.25), coloured by the norm of its "
        "gradient: large in a band around the old jump line, and never exactly zero.",
        'kinks plot "sigmoid((w * x + b) / 0.25)" --wrt w --wrt b --at x=1.5 --range -3 3 --heatmap gradient',
        lambda: analyze("sigmoid((w * x + b) / 0.25)", wrt=["w", "b"]).plot(
            ["w", "b"],
            at={"x": 1.5},
            limits=[(-3, 3)],
            heatmap="gradient",
            title="sigmoid((w * x + b) / 0.25), x = 1.5",
        ),
    ),
    Picture(
        "bce",
        "Binary cross-entropy",
        "On one probability with y = 1 and 0 < p < 1: smooth inside the region, with a singularity "
        "at its edge p = 0, where log(p) and its slope blow up (a NaN risk if p can reach 0). The "
        "singularity of log(1 - p) does not occur for y = 1; the note under the plot says so.",
        'kinks plot "-(y * log(p) + (1 - y) * log(1 - p))" --given "0 < p < 1 and y in {0, 1}" --wrt p',
        lambda: analyze(
            "-(y * log(p) + (1 - y) * log(1 - p))", wrt=["p"], given="0 < p < 1 and y in {0, 1}"
        ).plot("p", title="bce(y, p), y = 1"),
    ),
    Picture(
        "dead_neuron_fit",
        "Fitting a ReLU neuron",
        "fit_layer of examples/activations.loss along its weight, for three samples and b = -0.5: a "
        "kink each time a sample's unit switches off, and a constant piece once all of them are dead.",
        "kinks plot examples/activations.loss:fit_layer --wrt w --at x=0.5,1,2 --at y=1,2,3 "
        "--at b=-0.5 --at w=0 --along w=1",
        lambda: _definition("activations.loss", "fit_layer").plot(
            "w",
            at={"x": [0.5, 1.0, 2.0], "y": [1.0, 2.0, 3.0], "b": -0.5, "w": 0.0},
            along={"w": 1.0},
            title="fit_layer(x, y, w, b) along w, b = -0.5",
        ),
    ),
)

INTRODUCTION = """\
# Gallery

What kinks finds, drawn. Each picture is the value of a definition over its derivative, drawn by
`kinks plot` (or `Report.plot` in Python) from kinks' own analysis: every mark is a finding, with its
code and its `where`, and nothing else is marked.

- **Kinks (K201)**: red dots, with the two one-sided tangents dashed; the derivative panel shows the
  two one-sided slopes as open circles.
- **Jumps (K101)**: a gap in the curve, with a filled circle for the value at the point and an open
  circle for the other side.
- **Constant pieces (K202)**: grey bands, where the whole gradient vanishes (hatched on heat maps).
- **Singularities (K102)**: dashed vertical lines, where the value or the slope is infinite.
- Findings that have no place on a line (K001: the gradient is zero almost everywhere) or that do not
  occur along the plotted inputs are listed under the plot.

The derivative comes from SymPy for scalar inputs, and by central differences along the path for
vectors, which are walked along a path that crosses ties (`p = (t, 0.3 + 0.5 t, 0.6 + 0.25 t)`,
or one you name with `--at` and `--along`). Regenerate the pictures with
`python examples/make_gallery.py`.
"""


def page() -> str:
    sections = [INTRODUCTION]
    for picture in PICTURES:
        sections.append(
            f"## {picture.title}\n\n{picture.caption}\n\n```\n{picture.how}\n```\n\n"
            f"![{picture.title}]({PAGE_LINK}{picture.name}.png)\n"
        )
    return "\n".join(sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=None, help="directory for the pictures (default: examples/gallery)"
    )
    parser.add_argument(
        "--page",
        type=Path,
        default=None,
        help="where to write the gallery page (default: docs/gallery.md when --out is not given)",
    )
    arguments = parser.parse_args(argv)
    out = arguments.out or EXAMPLES / "gallery"
    page_path = arguments.page or (REPO_ROOT / "docs" / "gallery.md" if arguments.out is None else None)
    out.mkdir(parents=True, exist_ok=True)
    for picture in PICTURES:
        figure = picture.draw()
        path = out / f"{picture.name}.png"
        # Fixed metadata keeps a redrawn picture byte-identical when nothing changed.
        figure.savefig(path, dpi=DPI, metadata={"Software": None})
        print(path)
    if page_path is not None:
        page_path.parent.mkdir(parents=True, exist_ok=True)
        page_path.write_text(page(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
