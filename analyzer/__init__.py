"""kinks: a symbolic differentiability analyzer for loss functions.

    >>> from analyzer import analyze
    >>> analyze("mean(abs(y - p))", wrt=["p"]).classification
    'piecewise-differentiable'
"""

from __future__ import annotations

from .api import analyze, analyze_file, analyze_text
from .report import Finding, Report, VariableVerdict

__version__ = "0.1.0"

__all__ = ["Finding", "Report", "VariableVerdict", "__version__", "analyze", "analyze_file", "analyze_text"]
