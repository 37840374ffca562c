"""The one error of plotting: the plot cannot be drawn as asked; the message is for the user."""

from __future__ import annotations


class PlotError(ValueError):
    """Bad input for a plot (an unknown name, an empty range, nothing defined to draw)."""
