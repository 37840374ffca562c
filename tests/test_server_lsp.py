"""`kinks server` driven by a real LSP client (pytest-lsp): the server runs as a subprocess on stdio.

The session of issue 16: initialise, open a file, receive its diagnostics (the same as `kinks check
--format json` gives for the file, with its configuration), hover on a finding, apply the code
actions (replace with the surrogate, add `# noqa`), edit, receive the updated diagnostics, save,
close, shut down.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from analyzer.cli.main import main

PUBLISH = types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS
TIMEOUT = 60.0  # seconds; the first analysis imports SymPy on a shared machine

SOURCE = """\
eps = 1e-7
mae(y, p) wrt p = mean(abs(y - p))
accuracy(y, p) wrt p = mean(argmax(p) == argmax(y))
hinge(y, s) wrt s given y in {-1, 1} = mean(max(1 - y * s, 0))
safe_log(p) wrt p = log(p + eps)
"""


def _make_client() -> LanguageClient:
    """pytest-lsp's test client, which also keeps every publishDiagnostics (with its version)."""
    client = LanguageClient()
    client.published = []  # type: ignore[attr-defined]
    client.published_event = asyncio.Event()  # type: ignore[attr-defined]

    def publish(ls: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        ls.diagnostics[params.uri] = params.diagnostics
        ls.published.append(params)  # type: ignore[attr-defined]
        ls.published_event.set()  # type: ignore[attr-defined]

    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, PUBLISH: publish})
    return client


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "analyzer", "server", "--debounce", "0.05"],
        client_factory=_make_client,
    )
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


async def _diagnostics(client: LanguageClient, uri: str, version: int | None) -> list[types.Diagnostic]:
    """Wait for the diagnostics of this version of the document."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while True:
        for params in client.published:  # type: ignore[attr-defined]
            if params.uri == uri and params.version == version:
                return params.diagnostics
        client.published_event.clear()  # type: ignore[attr-defined]
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no diagnostics for {uri} version {version}")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(client.published_event.wait(), remaining)  # type: ignore[attr-defined]


def _check_json(path: Path) -> list[dict]:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        main(["check", "--output-format", "json", "--no-cache", str(path)])
    return json.loads(output.getvalue())


def _key(code: str, span: dict, severity: str) -> tuple:
    return (code, span["line"], span["column"], span["end_line"], span["end_column"], severity)


_SEVERITY = {
    types.DiagnosticSeverity.Error: "error",
    types.DiagnosticSeverity.Warning: "warning",
    types.DiagnosticSeverity.Information: "info",
}


def _lsp_key(diagnostic: types.Diagnostic) -> tuple:
    r = diagnostic.range
    span = {
        "line": r.start.line + 1,
        "column": r.start.character + 1,
        "end_line": r.end.line + 1,
        "end_column": r.end.character + 1,
    }
    return _key(str(diagnostic.code), span, _SEVERITY[diagnostic.severity])


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply text edits as a client does (ASCII text: UTF-16 units are characters)."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(position: types.Position) -> int:
        return offsets[position.line] + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def _change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def _open(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="loss", version=version, text=text),
        )
    )


def _codes(diagnostics: list[types.Diagnostic]) -> list[tuple[str, int]]:
    return sorted((str(d.code), d.range.start.line + 1) for d in diagnostics)


@pytest.mark.asyncio
async def test_a_session_open_hover_fix_edit_save_close(client: LanguageClient, tmp_path: Path) -> None:
    (tmp_path / "kinks.toml").write_text('ignore = ["K202"]\n', encoding="utf-8")
    path = tmp_path / "losses.loss"
    path.write_text(SOURCE, encoding="utf-8")
    uri = path.as_uri()

    # open: the diagnostics of `kinks check` for the file, with its configuration (no K202)
    _open(client, uri, SOURCE)
    diagnostics = await _diagnostics(client, uri, 1)
    expected = sorted(
        _key(f["code"], f["span"], f["severity"]) for record in _check_json(path) for f in record["findings"]
    )
    assert sorted(_lsp_key(d) for d in diagnostics) == expected
    assert {"K201", "K001"} <= {str(d.code) for d in diagnostics}
    assert "K202" not in {str(d.code) for d in diagnostics}
    assert all(d.source == "kinks" for d in diagnostics)

    kink = next(d for d in diagnostics if d.code == "K201" and d.range.start.line == 1)
    zero = next(d for d in diagnostics if d.code == "K001")

    # hover on the kink of abs: the finding, the explanation tree, the rule's doc
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=1, character=kink.range.start.character + 2),
        )
    )
    assert hover is not None
    text = hover.contents.value
    assert "K201" in text and "abs(y - p)" in text
    assert "so mae is piecewise-differentiable" in text  # the `kinks explain` tree
    assert "What it does" in text  # the rule doc of `kinks rule K201`
    # off any finding and off the definitions' first lines: nothing
    assert (
        await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=2),
            )
        )
        is None
    )

    # code action on the kink: replace with the surrogate (huber), and add `# noqa: K201`
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=kink.range,
            context=types.CodeActionContext(diagnostics=[kink]),
        )
    )
    titles = [action.title for action in actions]
    assert any(title.startswith("Replace with the surrogate: huber(y - p") for title in titles), titles
    assert "Add `# noqa: K201`" in titles
    replace = next(action for action in actions if action.title.startswith("Replace with the surrogate"))
    assert replace.kind == types.CodeActionKind.QuickFix and replace.is_preferred
    assert replace.diagnostics and replace.diagnostics[0].code == "K201"
    edited = _apply(SOURCE, replace.edit.changes[uri])
    assert "mae(y, p) wrt p = mean(huber(y - p, 1.0))" in edited

    # edit: the updated diagnostics, for the new version, without the kink of mae
    _change(client, uri, 2, edited)
    diagnostics = await _diagnostics(client, uri, 2)
    assert ("K201", 2) not in _codes(diagnostics)
    assert ("K001", 3) in _codes(diagnostics)

    # the noqa action on the zero gradient of accuracy
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=zero.range,
            context=types.CodeActionContext(diagnostics=[zero]),
        )
    )
    noqa = next(action for action in actions if action.title == "Add `# noqa: K001`")
    edited = _apply(edited, noqa.edit.changes[uri])
    assert edited.splitlines()[2].endswith("argmax(y))  # noqa: K001")
    _change(client, uri, 3, edited)
    diagnostics = await _diagnostics(client, uri, 3)
    assert ("K001", 3) not in _codes(diagnostics)
    assert not any(d.code == "K902" for d in diagnostics)  # the noqa is used

    # save after a change of configuration: analysed again with the new settings
    (tmp_path / "kinks.toml").write_text('select = ["K1"]\n', encoding="utf-8")
    published = len(client.published)  # type: ignore[attr-defined]
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    for _ in range(int(TIMEOUT * 10)):
        if len(client.published) > published:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.1)
    diagnostics = client.published[-1].diagnostics  # type: ignore[attr-defined]
    assert diagnostics and all(str(d.code).startswith(("K1", "E")) for d in diagnostics)

    # close: the diagnostics are cleared
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    for _ in range(100):
        if not client.published[-1].diagnostics:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.05)
    assert client.published[-1].uri == uri and len(client.published[-1].diagnostics) == 0  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_quick_edits_publish_only_the_newest_version(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "edits.loss"
    uri = path.as_uri()
    _open(client, uri, "f(x) = abs(x)\n")
    first = await _diagnostics(client, uri, 1)
    assert _codes(first) == [("K201", 1)]
    # three edits faster than the debounce: only the last is analysed and published
    _change(client, uri, 2, "f(x) = sign(x)\n")
    _change(client, uri, 3, "f(x) = round(x)\n")
    _change(client, uri, 4, "f(x) = x^2\n")
    assert len(await _diagnostics(client, uri, 4)) == 0
    await asyncio.sleep(0.3)
    versions = [params.version for params in client.published if params.uri == uri]  # type: ignore[attr-defined]
    assert versions == [1, 4]


@pytest.mark.asyncio
async def test_syntax_errors_and_other_files(client: LanguageClient, tmp_path: Path) -> None:
    uri = (tmp_path / "broken.loss").as_uri()
    _open(client, uri, "f(x) = abs(x\ng(x) = undefined_name + x\n")
    diagnostics = await _diagnostics(client, uri, 1)
    assert {str(d.code) for d in diagnostics} >= {"E001", "E002"}
    assert all(d.severity == types.DiagnosticSeverity.Error for d in diagnostics)
    # errors get no `# noqa` action: they are to be fixed
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=diagnostics[:1]),
        )
    )
    assert not actions
    # a file that is not a .loss file is left alone
    other = (tmp_path / "notes.txt").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=other, language_id="plaintext", version=1, text="abs(x)\n"
            )
        )
    )
    await asyncio.sleep(0.5)
    assert all(params.uri != other for params in client.published)  # type: ignore[attr-defined]


PYTHON_SOURCE = """\
import tensorflow as tf
from tensorflow.keras import backend as K


def mae_loss(y_true, y_pred):
    return K.mean(tf.abs(y_true - y_pred))


def accuracy_metric(y_true, y_pred):
    return K.mean(K.equal(K.argmax(y_true), K.argmax(y_pred)))
"""


@pytest.mark.asyncio
async def test_a_python_module_gets_the_diagnostics_of_kinks_check(
    client: LanguageClient, tmp_path: Path
) -> None:
    path = tmp_path / "train.py"
    path.write_text(PYTHON_SOURCE, encoding="utf-8")
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=PYTHON_SOURCE)
        )
    )
    diagnostics = await _diagnostics(client, uri, 1)
    assert ("K201", 6) in _codes(diagnostics)  # the kink of tf.abs, on its own line
    assert any(code == "K001" and line == 10 for code, line in _codes(diagnostics))
