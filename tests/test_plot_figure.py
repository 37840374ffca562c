"""What is handed to Matplotlib, the files `kinks plot` writes, Jupyter's view, and the gallery.

Marks are checked on the artists themselves (their data and their `gid`), never on pixels; the
written files are reopened as images.
"""

from __future__ import annotations

import argparse
import base64
import io
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

from conftest import EXAMPLES, ROOT
from matplotlib.figure import Figure

from analyzer import analyze, analyze_text
from analyzer.cli import plot as plot_commands
from analyzer.cli.main import UsageError
from analyzer.plotting import plot_data
from analyzer.plotting.figure import draw_line, draw_map


def marked(figure: Figure) -> dict[tuple[str, int], dict[str, list]]:
    """The artists that stand for findings, by (marker or span, number) and part."""
    found: dict[tuple[str, int], dict[str, list]] = {}
    for artist in figure.findobj(lambda a: (a.get_gid() or "").startswith("kinks:")):
        gid = artist.get_gid()
        if gid == "kinks:notes":
            continue
        _, what, number, part = gid.split(":")
        found.setdefault((what, int(number)), {}).setdefault(part, []).append(artist)
    return found


@pytest.mark.parametrize(
    ("text", "wrt", "given", "at"),
    [
        ("clip(x, 0, 1)", None, None, {}),
        ("x if x > 0 else x - 1", None, None, {}),
        ("step(x)", None, None, {}),
        ("x == 0", None, None, {}),
        ("sqrt(abs(x))", None, None, {}),
        ("log(x)", None, None, {}),
        ("mean(relu(1 - s))", None, None, {}),
        ("max(1 - y * s, 0)", ["s"], "y in {-1, 1}", {"y": 1}),
        ("huber(x, 1.0)", None, None, {}),
    ],
)
def test_the_drawn_marks_are_the_plot_data_and_nothing_else(text: str, wrt, given, at) -> None:
    report = analyze(text, wrt=wrt, given=given)
    data = plot_data(report, wrt[0] if wrt else None, at=at)
    figure = draw_line(data)
    artists = marked(figure)
    expected = {("marker", n) for n in range(len(data.markers))} | {
        ("span", n) for n in range(len(data.spans))
    }
    assert set(artists) == expected
    for number, marker in enumerate(data.markers):
        parts = artists[("marker", number)]
        if marker.kind == "kink":
            np.testing.assert_allclose(parts["point"][0].get_offsets(), [[marker.position, marker.value]])
            np.testing.assert_allclose(
                parts["slopes"][0].get_offsets(),
                [[marker.position, marker.left_slope], [marker.position, marker.right_slope]],
            )
            for tangent, slope in zip(parts["tangent"], (marker.left_slope, marker.right_slope)):
                xs, ys = tangent.get_data()
                assert (ys[1] - ys[0]) / (xs[1] - xs[0]) == pytest.approx(slope)
        elif marker.kind == "discontinuity":
            np.testing.assert_allclose(parts["closed"][0].get_offsets(), [[marker.position, marker.value]])
            opened = sorted(float(y) for _, y in parts["open"][0].get_offsets())
            limits = sorted(
                v for v in (marker.left_value, marker.right_value) if abs(v - marker.value) > 1e-6
            )
            assert opened == pytest.approx(limits)
            assert list(parts["line"][0].get_xdata()) == [marker.position] * 2
        else:
            for line in parts["asymptote"] + parts["asymptote-slope"]:
                assert list(line.get_xdata()) == [marker.position] * 2
            if marker.cusp:
                np.testing.assert_allclose(parts["point"][0].get_offsets(), [[marker.position, marker.value]])
    for number, span in enumerate(data.spans):
        for band in artists[("span", number)]["value"] + artists[("span", number)]["slope"]:
            # axvspan is a Rectangle (Matplotlib >= 3.9) or a Polygon (before); x is in data units.
            if hasattr(band, "get_width"):
                xs = (band.get_x(), band.get_x() + band.get_width())
            else:
                xs = (band.get_xy()[:, 0].min(), band.get_xy()[:, 0].max())
            assert xs == pytest.approx((span.start, span.end), abs=1e-9)
    # Each finding is labelled once, with its code and where.
    labels = [a for parts in artists.values() for a in parts.get("label", [])]
    assert sorted(a.get_text().split("\n")[0] for a in labels) == sorted(
        {f"{m.code} {m.where}" for m in data.markers} | {f"{s.code} {s.where}" for s in data.spans}
    )


def test_the_curves_handed_to_matplotlib_are_the_data() -> None:
    data = plot_data(analyze("abs(x)"))
    figure = draw_line(data)
    value_ax, slope_ax = figure.axes[:2]
    xs, ys = value_ax.lines[0].get_data()
    np.testing.assert_array_equal(xs, data.t)
    np.testing.assert_array_equal(ys, data.value)
    assert slope_ax.lines[0].get_label() == "d/dx, from SymPy"


def test_a_heat_map_draws_one_contour_per_finding_curve() -> None:
    data = plot_data(analyze("clip(x + y, 0, 1)"), ["x", "y"], limits=[(-2, 2), (-2, 2)])
    figure = draw_map(data)
    artists = marked(figure)
    assert {key for key in artists if key[0] == "marker"} == {("marker", n) for n in range(len(data.curves))}
    assert {key for key in artists if key[0] == "span"} == {("span", n) for n in range(len(data.pieces))}
    for number, curve in enumerate(data.curves):
        contour = artists[("marker", number)]["curve"][0]
        assert list(contour.levels) == list(curve.levels)
        offset = 0.0 if curve.where == "x + y == 0" else 1.0
        vertices = np.concatenate([path.vertices for path in contour.get_paths() if len(path.vertices)])
        # On the finding's own line, to within a cell of the grid.
        assert np.max(np.abs(vertices.sum(axis=1) - offset)) < 4 / 240


def test_report_plot_returns_a_figure_and_overlays_share_axes() -> None:
    figure = analyze("relu(x)").plot()
    assert isinstance(figure, Figure)
    from analyzer.plotting import compare_reports

    both = compare_reports([(analyze("step(x)"), "step"), (analyze("sigmoid(4 * x)"), "sigmoid")], "x")
    value_ax = both.axes[0]
    assert [line.get_label() for line in value_ax.lines if not line.get_label().startswith("_")] == [
        "step",
        "sigmoid",
    ]


# ------------------------------------------------------------------ the command


def run_plot(*argv: str) -> int:
    """`kinks plot ...` through its own parser (the command's module alone)."""
    parser = argparse.ArgumentParser(prog="kinks")
    plot_commands.register(parser.add_subparsers())
    arguments = parser.parse_args(["plot", *argv])
    return arguments.run(arguments)


def is_png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_each_format_is_written_and_opens_as_an_image(tmp_path: Path, suffix: str, capsys) -> None:
    output = tmp_path / f"relu{suffix}"
    assert run_plot("relu(x)", "-o", str(output)) == 0
    assert f"wrote {output}" in capsys.readouterr().out
    data = output.read_bytes()
    if suffix == ".png":
        assert is_png(data)
        image = matplotlib.image.imread(output)
        assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 300
    elif suffix == ".svg":
        root = ElementTree.fromstring(data)
        assert root.tag.endswith("svg")
        gids = {element.get("id") for element in root.iter()}
        assert {"kinks:marker:0:point", "kinks:span:0:value"} <= gids  # the marks keep their ids
    else:
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF") and b"/Type /Page" in data


def test_plot_a_definition_of_a_file(tmp_path: Path, capsys) -> None:
    output = tmp_path / "accuracy.png"
    status = run_plot(f"{EXAMPLES / 'classification.loss'}:accuracy", "--wrt", "p", "-o", str(output))
    assert status == 0
    out = capsys.readouterr().out
    assert "K101 discontinuity where ties among the largest entries of p: marked at t = 0.8" in out
    assert "K001" in out
    assert is_png(output.read_bytes())


def test_default_output_name(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_plot("relu(w * x + b)", "--wrt", "w", "--wrt", "b", "--at", "x=1.5") == 0
    assert is_png((tmp_path / "relu_w_x_b.png").read_bytes())
    assert "drawn as a curve" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["relu(x)", "--wrt", "z"], "`z` is not a variable of the expression: its variables are x"),
        (["relu(x)", "--range", "1", "1"], "empty range: LO must be less than HI"),
        (["relu(x)", "--range", "2", "-2"], "empty range"),
        (["relu(x"], "the expression, column"),
        (["relu(x)", "-o", "out.gif"], "written as .png, .svg, .pdf"),
        (["relu(x)", "--at", "x"], "expected NAME=VALUE"),
        (["x * y", "--at", "y=abc"], "'abc' is not a number"),
        (["relu(x)", "--at", "y=1"], "`y` is not a parameter"),
        (["x + y + z", "--wrt", "x,y,z"], "one or two variables"),
        (
            [f"{EXAMPLES / 'classification.loss'}:acuracy", "--wrt", "p"],
            "has no definition named `acuracy`; did you mean",
        ),
        (
            [f"{EXAMPLES / 'classification.loss'}:bce", "--wrt", "q"],
            "`q` is not a parameter of bce: its parameters are y, p",
        ),
        ([f"{EXAMPLES / 'classification.loss'}"], "name one, as"),
        ([f"{EXAMPLES / 'missing.loss'}:f"], "no such file"),
        ([f"{EXAMPLES / 'classification.loss'}:bce", "--given", "p > 0"], "--given is for expressions"),
    ],
)
def test_bad_input_is_a_clear_usage_error(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        run_plot(*argv)
    assert message in str(raised.value)


def test_through_the_kinks_command(tmp_path: Path) -> None:
    output = tmp_path / "relu.svg"
    done = subprocess.run(
        [sys.executable, "-m", "analyzer", "plot", "relu(x)", "-o", str(output)],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert output.exists()
    failed = subprocess.run(
        [sys.executable, "-m", "analyzer", "plot", "relu(x)", "--wrt", "z"],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert failed.returncode == 2
    assert (
        failed.stderr.startswith("kinks: error: `z` is not a variable") and "Traceback" not in failed.stderr
    )


def test_the_analysis_path_does_not_import_matplotlib() -> None:
    code = (
        "import sys; from analyzer import analyze; "
        "from analyzer.cli import main as cli, plot as plot_commands; "
        "r = analyze('relu(x)'); cli._build_parser(); print('matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# ------------------------------------------------------------------ Jupyter


def test_a_report_shows_its_class_findings_and_plot_in_jupyter() -> None:
    html = analyze("relu(x)")._repr_html_()
    assert "piecewise-differentiable" in html
    assert "<td><code>K201</code></td><td>kink</td><td><code>x == 0</code></td>" in html
    assert "<td><code>x &lt; 0</code></td>" in html
    encoded = html.split('src="data:image/png;base64,')[1].split('"')[0]
    assert is_png(base64.b64decode(encoded))


def test_jupyter_view_without_matplotlib_or_without_a_body(monkeypatch) -> None:
    invalid = analyze_text("f(x) = relu(x")[0]._repr_html_()
    assert "invalid" in invalid and "E001" in invalid and "<img" not in invalid
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    html = analyze("relu(x)")._repr_html_()
    assert "K201" in html and "<img" not in html


def test_jupyter_view_says_why_there_is_no_plot() -> None:
    html = analyze("1 + 2")._repr_html_()
    assert "No plot: nothing to plot" in html


# ------------------------------------------------------------------ the gallery


def test_the_gallery_script_draws_every_picture(tmp_path: Path) -> None:
    page = tmp_path / "gallery.md"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "make_gallery.py"), "--out", str(tmp_path), "--page", str(page)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    written = [Path(line) for line in done.stdout.split()]
    assert len(written) >= 10
    for path in written:
        image = matplotlib.image.imread(io.BytesIO(path.read_bytes()), format="png")
        assert image.shape[0] > 300 and image.shape[1] > 300
    # The committed page is the one the script writes, and it shows every picture.
    text = page.read_text(encoding="utf-8")
    committed = (ROOT / "docs" / "gallery.md").read_text(encoding="utf-8")
    assert text == committed, "docs/gallery.md is out of date: run python examples/make_gallery.py"
    for path in written:
        assert f"(../examples/gallery/{path.name})" in text
        assert (EXAMPLES / "gallery" / path.name).is_file()


def test_the_gallery_commands_run() -> None:
    """Every `kinks plot` line of the gallery page works as printed."""
    import shlex

    gallery = _gallery_module()
    commands = [picture.how for picture in gallery.PICTURES if picture.how.startswith("kinks plot ")]
    assert len(commands) >= 8
    for command in commands:
        argv = shlex.split(command)[2:]
        argv = [str(ROOT / a) if a.startswith("examples/") else a for a in argv]
        with TemporaryOutput() as output:
            assert run_plot(*argv, "-o", str(output)) == 0, command
            assert is_png(output.read_bytes())


def _gallery_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_gallery", EXAMPLES / "make_gallery.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


class TemporaryOutput:
    def __enter__(self) -> Path:
        import tempfile

        self.directory = tempfile.TemporaryDirectory()
        return Path(self.directory.name) / "picture.png"

    def __exit__(self, *exc: object) -> None:
        self.directory.cleanup()
