"""The linter: configuration, rule selection, files, the cache, the parallel runner, progress and the
output formats (text, json, github, junit, sarif)."""
