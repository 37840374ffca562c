"""The `kinks` command: `main` (parsing and dispatch, exit statuses), one module per subcommand."""
