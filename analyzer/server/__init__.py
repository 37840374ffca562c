"""`kinks server`: the Language Server Protocol over stdio, for editors (docs/editors.md).

- `protocol`: the pygls server and its handlers (diagnostics, hover, code actions);
- `worker`: the analysis on a worker thread, debounced, newest version wins;
- `convert`: reports to LSP diagnostics, hovers and quick fixes;
- `command`: the `kinks server` subcommand.

Nothing here is imported by `kinks check`; pygls is imported only when the server starts.
"""
