"""Jupyter: a real notebook (examples/jupyter.ipynb) executed headless with nbclient.

`Report.plot()` as the last expression of a cell must display an image, not
`<Figure size 800x660 with 2 Axes>`; the reports of a file must display as an HTML table and stay a
list. The kernel is the `python3` kernel of ipykernel in the running environment (the test extra
installs it). It runs with Matplotlib's Agg backend, as a headless machine has it, and with the
inline backend a Jupyter user has by default.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _run(tmp_path: Path, backend: str | None, monkeypatch: pytest.MonkeyPatch) -> list:
    if backend is None:
        monkeypatch.delenv("MPLBACKEND", raising=False)  # ipykernel's default: the inline backend
    else:
        monkeypatch.setenv("MPLBACKEND", backend)
    notebook = nbformat.read(EXAMPLES / "jupyter.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _source(cells: list, start: str):
    return next(cell for cell in cells if cell.source.startswith(start))


@pytest.mark.parametrize("backend", ["agg", None], ids=["agg", "inline"])
def test_the_notebook_displays_plots_and_tables(
    tmp_path: Path, backend: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sys.executable  # the kernel is this environment's python3 (ipykernel's own spec)
    cells = _run(tmp_path, backend, monkeypatch)
    for cell in cells:
        errors = [output for output in cell.outputs if output.output_type == "error"]
        assert not errors, f"{cell.source!r} raised: {errors}"

    for start in ('analyze("relu(x)").plot()', 'analyze("step(x - 0.5)").plot()'):
        results = [
            output
            for output in _source(cells, start).outputs
            if output.output_type in ("execute_result", "display_data")
        ]
        images = [output for output in results if "image/png" in output.data]
        assert len(images) == 1, f"{start}: {results}"
        png = base64.b64decode(images[0].data["image/png"])
        assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000

    table = _source(cells, "reports = analyze_text(").outputs
    html = [output.data["text/html"] for output in table if output.output_type == "execute_result"]
    assert len(html) == 1
    assert html[0].startswith('<table class="kinks-reports">')
    for expected in (
        "<th>class</th>",
        "<code>mae</code>",
        "piecewise-differentiable",
        "zero-gradient",
        "K001",
    ):
        assert expected in html[0]

    still_a_list = _source(cells, "isinstance(reports, list)").outputs[0].data["text/plain"]
    assert still_a_list == "(True, 4)"

    one = _source(cells, "reports[0]").outputs[0].data
    assert "kinks-report" in one["text/html"] and "data:image/png;base64," in one["text/html"]
