"""The walk over a file's statements, shared by the analysis and the code generator.

A `.loss` file is read top to bottom: a definition sees the constants and definitions above it
(LANGUAGE.md §1), a name used before its statement is an error that names the line below, and a
statement that uses a failed one fails with its cause. `StatementWalk` keeps that `FileContext`
while it hands each statement to its subclass: `analysis.api.analyze_text` makes a report of each,
`tensorflow.codegen_lowering.lower_source` lowers the valid ones again for code.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..language import syntax as ast
from .lowering import FileContext


class StatementWalk:
    """Walks statements in file order, keeping `context`: every definition is `later` until its own
    statement is reached; a statement's handler returns None, or the cause that makes it `broken`
    for the statements below; a definition accepted becomes one of the `definitions` they can call."""

    def __init__(self, context: FileContext | None = None) -> None:
        self.context = context if context is not None else FileContext()

    def run(self, statements: Sequence[ast.Statement]) -> None:
        context = self.context
        for statement in statements:
            if isinstance(statement, ast.Definition):
                context.later.setdefault(statement.name, statement.span.line)
        for statement in statements:
            if isinstance(statement, ast.SyntaxProblem):
                self.syntax_problem(statement)
                continue
            if context.later.get(statement.name) == statement.span.line:
                del context.later[statement.name]
            if isinstance(statement, ast.Constant):
                cause = self.constant(statement)
            else:
                cause = self.definition(statement)
                if cause is None:
                    context.definitions[statement.name] = statement
            if cause is not None:
                context.broken[statement.name] = cause

    # -------------------------------------------------------------- what a statement gives

    def syntax_problem(self, statement: ast.SyntaxProblem) -> None:
        """A statement that did not parse (it names nothing the others can use)."""

    def constant(self, statement: ast.Constant) -> str | None:
        """Bind the constant in `context.constants`; None, or why it failed."""
        raise NotImplementedError

    def definition(self, statement: ast.Definition) -> str | None:
        """None when the definition is valid (the ones below may call it), else why it is not."""
        raise NotImplementedError
