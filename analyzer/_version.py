"""The version of kinks, in a module of its own so that modules inside the package can read it
without importing the package's `__init__` (and its API) back."""

__version__ = "0.1.0"
