"""TensorFlow code generation for `.loss` definitions: plain, smooth and straight-through variants.

Nothing here imports TensorFlow at module level: `to_tensorflow` writes code as text, and only
`tf_function` and `verify` run it.
"""

from __future__ import annotations

from .codegen import CodegenError, CodegenWarning, tf_function, to_tensorflow

__all__ = ["CodegenError", "CodegenWarning", "tf_function", "to_tensorflow"]
