"""The Figure that kinks draws on: a Matplotlib Figure that Jupyter displays by itself.

kinks never uses pyplot (no global state, no window), so Jupyter's inline backend does not know
its figures, and `report.plot()` as the last expression of a cell showed only
`<Figure size 800x660 with 2 Axes>`. This subclass gives the figure `_repr_png_`, which IPython
calls for any object, whatever the Matplotlib backend (Agg in a headless run included). It is a
Figure in every other respect: `savefig`, `axes`, and IPython's own Figure formatter, when pyplot
has registered it, still apply.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure


class NotebookFigure(Figure):
    """A Figure with the rich display hook Jupyter looks for."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()
