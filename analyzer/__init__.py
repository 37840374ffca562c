"""kinks: a symbolic differentiability analyzer for loss functions.

>>> from analyzer import analyze
>>> analyze("mean(abs(y - p))", wrt=["p"]).classification
'piecewise-differentiable'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .analysis.report import Finding, KinksSyntaxError, Report, VariableVerdict

if TYPE_CHECKING:
    from .analysis.api import analyze, analyze_text
    from .analysis.python_api import analyze_file, analyze_function, analyze_python

_ANALYSIS = frozenset({"analyze", "analyze_text"})
_PYTHON = frozenset({"analyze_file", "analyze_python", "analyze_function"})  # `.loss` or `.py`


def __getattr__(name: str) -> Any:
    # The analysis (SymPy, NumPy, Lark) is imported when first used, not with the package: a command
    # that analyses nothing (`kinks --version`, `kinks rule`, a `kinks check` answered from the
    # cache) then never pays for it.
    if name in _ANALYSIS:
        from .analysis import api

        return getattr(api, name)
    if name in _PYTHON:
        from .analysis import python_api

        return getattr(python_api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_tensorflow(
    text_or_reports: str | Report | Iterable[Report], path: str | None = None, *, mode: str = "plain"
) -> str:
    """TensorFlow code (a module, as text) for a `.loss` text, an expression, or reports.

    `mode` is "plain", "smooth" or "ste". Does not import TensorFlow (see analyzer.tensorflow).
    """
    from .tensorflow.codegen import to_tensorflow as generate

    return generate(text_or_reports, path, mode=mode)


def tf_function(text: str, name: str | None = None, *, mode: str = "plain") -> Callable[..., Any]:
    """The TensorFlow function of definition `name` of a `.loss` text (imports TensorFlow)."""
    from .tensorflow.codegen import tf_function as load

    return load(text, name, mode=mode)


__all__ = [
    "Finding",
    "KinksSyntaxError",
    "Report",
    "VariableVerdict",
    "__version__",
    "analyze",
    "analyze_file",
    "analyze_function",
    "analyze_python",
    "analyze_text",
    "tf_function",
    "to_tensorflow",
]
