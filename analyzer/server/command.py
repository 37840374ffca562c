"""`kinks server`: start the language server on standard input and output.

    kinks server            # what an editor runs; --stdio is accepted and means the same

It imports nothing heavy until it runs: pygls when the server starts, the analysis when the first
document arrives (or right after the client's `initialized`, on the worker thread).
"""

from __future__ import annotations

import argparse
import logging
import math
from typing import Any

from ..cli.common import EXIT_OK


def register(commands: Any) -> None:
    server = commands.add_parser(
        "server",
        help="run the language server (LSP over stdio) for editors",
        description=(
            "Speak the Language Server Protocol on standard input and output: diagnostics for .loss and .py "
            "files as `kinks check` reports them (same codes, spans, severities and configuration), "
            "hovers with the explanation and the rule's doc, and quick fixes. See docs/editors.md."
        ),
    )
    server.add_argument(
        "--stdio", action="store_true", help="use standard input and output (the default and only transport)"
    )
    server.add_argument(
        "--debounce",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="wait this long after the last change before analysing (default: 0.25)",
    )
    server.add_argument("--log-file", metavar="FILE", help="write the server's log to FILE")
    server.set_defaults(run=run_server)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (seconds >= 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"must be zero or a positive number of seconds, got {text!r}")
    return seconds


def run_server(arguments: argparse.Namespace) -> int:
    from .protocol import make_server
    from .worker import DEFAULT_DEBOUNCE

    if arguments.log_file:
        logging.basicConfig(
            filename=arguments.log_file,
            level=logging.INFO,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )
    debounce = DEFAULT_DEBOUNCE if arguments.debounce is None else arguments.debounce
    make_server(debounce).start_io()
    return EXIT_OK
