"""The language server's round trips on a 50-definition file: open -> diagnostics, edit -> diagnostics.

    python benchmarks/lsp_roundtrip.py                  # 50 definitions, 5 edits, the default debounce
    python benchmarks/lsp_roundtrip.py --definitions 100 --edits 10 --debounce 0.25

Starts `kinks server` as a subprocess and drives it with pygls's own LSP client over stdio, as an
editor does. Times, in milliseconds:

- `initialize`: the initialize request's round trip (the server process is already started);
- `open_cold`: didOpen of the file right after `initialized` -> its publishDiagnostics (the server
  warms the analysis up on its worker thread meanwhile, so this includes what is left of that);
- `open_warm`: didOpen of the same text under another name, once warm;
- `edit`: didChange of one definition's body (a different definition each time) -> the diagnostics
  of that version: the median and the slowest of `--edits`; it includes the debounce, which is
  also given alone (`debounce`), so `edit - debounce` is the analysis and the protocol;
- `hover_during_analysis`: a hover sent right after an edit, while that edit waits or is analysed:
  how long the editor waits for an answer while kinks is busy (the protocol thread never analyses).

The corpus is benchmarks/corpus.py's seeded generator, the same as the engine benchmarks use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import corpus


class Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("kinks-benchmark", "1")
        self.published: dict[tuple[str, int | None], float] = {}
        self.arrived = asyncio.Event()


async def _published(client: Client, uri: str, version: int, timeout: float = 120.0) -> float:
    """When (time.perf_counter) the diagnostics of this version arrived."""
    deadline = time.perf_counter() + timeout
    while (uri, version) not in client.published:
        client.arrived.clear()
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise TimeoutError(f"no diagnostics for {uri} version {version}")
        try:
            await asyncio.wait_for(client.arrived.wait(), remaining)
        except asyncio.TimeoutError:
            pass
    return client.published[(uri, version)]


def _edited(text: str, number: int) -> tuple[str, int]:
    """The text with the body of the `number`-th one-line definition changed; and its 0-based line."""
    lines = text.split("\n")
    definitions = [
        index
        for index, line in enumerate(lines)
        if line[:1].isalpha()
        and "(" in line.split("=")[0]
        and " = " in line
        and "#" not in line
        and line.count("(") == line.count(")")
        and not line.endswith(":")
    ]
    index = definitions[(number * 7) % len(definitions)]
    lines[index] = lines[index] + f" + 0 * {number}"
    return "\n".join(lines), index


async def measure(definitions: int, edits: int, debounce: float) -> dict[str, object]:
    client = Client()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def publish(ls: Client, params: types.PublishDiagnosticsParams) -> None:
        ls.published[(params.uri, params.version)] = time.perf_counter()
        ls.arrived.set()

    await client.start_io(sys.executable, "-m", "analyzer", "server", "--debounce", str(debounce))
    results: dict[str, object] = {"definitions": definitions, "debounce_ms": round(debounce * 1000, 1)}
    try:
        started = time.perf_counter()
        await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
        client.initialized(types.InitializedParams())
        results["initialize_ms"] = round((time.perf_counter() - started) * 1000, 1)

        text = corpus(definitions, seed=0)
        folder = Path(tempfile.mkdtemp(prefix="kinks-lsp-"))

        async def open_document(name: str) -> tuple[str, float]:
            uri = (folder / name).as_uri()
            sent = time.perf_counter()
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(uri=uri, language_id="loss", version=1, text=text)
                )
            )
            return uri, (await _published(client, uri, 1)) - sent

        uri, cold = await open_document("cold.loss")
        results["open_cold_ms"] = round(cold * 1000, 1)
        _, warm = await open_document("warm.loss")
        results["open_warm_ms"] = round(warm * 1000, 1)

        times, hovers = [], []
        for number in range(1, edits + 1):
            edited, line = _edited(text, number)
            sent = time.perf_counter()
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=number + 1),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=edited)],
                )
            )
            await asyncio.sleep(debounce + 0.02)  # the analysis of this edit has started
            asked = time.perf_counter()
            await client.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=line, character=0),
                )
            )
            hovers.append(time.perf_counter() - asked)
            times.append((await _published(client, uri, number + 1)) - sent)
        results["edit_median_ms"] = round(statistics.median(times) * 1000, 1)
        results["edit_max_ms"] = round(max(times) * 1000, 1)
        results["hover_during_analysis_median_ms"] = round(statistics.median(hovers) * 1000, 1)
        results["hover_during_analysis_max_ms"] = round(max(hovers) * 1000, 1)
        diagnostics = len([key for key in client.published if key[0] == uri])
        results["publishes_for_the_file"] = diagnostics
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--definitions", type=int, default=50)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--debounce", type=float, default=0.25, help="seconds (the server's default: 0.25)")
    arguments = parser.parse_args()
    print(
        json.dumps(asyncio.run(measure(arguments.definitions, arguments.edits, arguments.debounce)), indent=2)
    )


if __name__ == "__main__":
    main()
