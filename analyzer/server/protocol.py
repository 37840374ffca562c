"""The language server: pygls handles the protocol, kinks answers diagnostics, hovers and quick fixes.

- `textDocument/didOpen`, `didSave`: the document is analysed at once; `didChange`: after the
  debounce. Diagnostics are published with the version they were computed for; results for a
  version that is no longer the newest are dropped (see `worker.Scheduler`).
- `textDocument/hover` on a finding: its message, the explanation of its definition (the tree of
  `kinks explain`) and its rule's doc (`kinks rule`).
- `textDocument/codeAction`: "replace with the surrogate" where the finding's suggestion is an
  expression, and "add `# noqa: CODE`".

Hovers and code actions answer from the last analysis, and only while it is of the text the editor
has: never from positions of an older version.
"""

from __future__ import annotations

import logging

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from . import convert
from .convert import Analysis
from .worker import DEFAULT_DEBOUNCE, Scheduler

LANGUAGE_IDS = ("loss", "python")
SUFFIXES = (".loss", ".py")

logger = logging.getLogger(__name__)


class KinksServer(LanguageServer):
    def __init__(self, debounce: float = DEFAULT_DEBOUNCE) -> None:
        from ..cli.common import version

        super().__init__("kinks", version(), text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.analyses: dict[str, Analysis] = {}
        self.scheduler = Scheduler(self.publish_analysis, debounce=debounce, on_error=self.analysis_failed)
        self._settings_problems: set[str] = set()

    # ------------------------------------------------------------ documents

    def wants(
        self,
        document: types.TextDocumentItem
        | types.VersionedTextDocumentIdentifier
        | types.TextDocumentIdentifier,
    ) -> bool:
        """kinks reads `.loss` files and the loss functions of Python modules (by language id, or by
        name for clients that send none)."""
        language = getattr(document, "language_id", None)
        return language in LANGUAGE_IDS or document.uri.endswith(SUFFIXES)

    def analyse(self, uri: str, *, wait: bool) -> None:
        document = self.workspace.get_text_document(uri)
        path = to_fs_path(uri) if uri.startswith("file:") else None
        self.scheduler.schedule(uri, document.version, document.source, path, wait=wait)

    def publish_analysis(self, analysis: Analysis) -> None:
        """Called on the event loop with a result for the newest version of its document."""
        self.analyses[analysis.uri] = analysis
        codec = self.workspace.position_codec
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=analysis.uri,
                version=analysis.version,
                diagnostics=convert.diagnostics(analysis, codec),
            )
        )
        problem = analysis.settings_problem
        if problem is not None and problem not in self._settings_problems:
            self._settings_problems.add(problem)
            self.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Warning,
                    message=f"kinks: {problem}; using the default settings",
                )
            )

    def analysis_failed(self, uri: str, error: BaseException) -> None:
        logger.exception("kinks: the analysis of %s failed", uri, exc_info=error)
        self.window_log_message(
            types.LogMessageParams(
                type=types.MessageType.Error,
                message=f"kinks: internal error while analysing {uri}: {type(error).__name__}: {error}",
            )
        )

    def current(self, uri: str) -> Analysis | None:
        """The last analysis of the document, if it is of the text the editor has now."""
        analysis = self.analyses.get(uri)
        if analysis is None:
            return None
        document = self.workspace.get_text_document(uri)
        return analysis if analysis.text == document.source else None

    def close(self, uri: str) -> None:
        self.scheduler.forget(uri)
        self.analyses.pop(uri, None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def make_server(debounce: float = DEFAULT_DEBOUNCE) -> KinksServer:
    server = KinksServer(debounce)

    @server.feature(types.INITIALIZED)
    def initialized(ls: KinksServer, params: types.InitializedParams) -> None:
        ls.scheduler.warm_up()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: KinksServer, params: types.DidOpenTextDocumentParams) -> None:
        if ls.wants(params.text_document):
            ls.analyse(params.text_document.uri, wait=False)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: KinksServer, params: types.DidChangeTextDocumentParams) -> None:
        if ls.wants(params.text_document) or params.text_document.uri in ls.scheduler.latest:
            ls.analyse(params.text_document.uri, wait=True)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: KinksServer, params: types.DidSaveTextDocumentParams) -> None:
        if ls.wants(params.text_document) or params.text_document.uri in ls.scheduler.latest:
            ls.analyse(params.text_document.uri, wait=False)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: KinksServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.close(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: KinksServer, params: types.HoverParams) -> types.Hover | None:
        analysis = ls.current(params.text_document.uri)
        if analysis is None:
            return None
        line, column = convert.kinks_position(params.position, analysis.lines, ls.workspace.position_codec)
        text = convert.hover_markdown(analysis, line, column)
        if text is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(ls: KinksServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        analysis = ls.current(params.text_document.uri)
        if analysis is None:
            return None
        only = params.context.only
        if only and not any(
            kind == types.CodeActionKind.QuickFix or types.CodeActionKind.QuickFix.startswith(kind)
            for kind in only
        ):
            return None
        codec = ls.workspace.position_codec
        start = convert.kinks_position(params.range.start, analysis.lines, codec)
        end = convert.kinks_position(params.range.end, analysis.lines, codec)
        return [
            convert.code_action(fix, analysis, codec) for fix in convert.fixes(analysis, start, end)
        ] or None

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: KinksServer, params: None) -> None:
        ls.scheduler.shutdown()

    return server
