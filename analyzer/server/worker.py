"""The analysis, off the protocol thread: one worker thread, debounced, newest version wins.

The protocol's event loop never analyses: it hands the text of a document version to a single
worker thread and goes on answering hovers, code actions and further edits. A change waits
`debounce` seconds for the next keystroke before it is analysed (open and save do not wait). When
a newer version of the document arrives, the waiting analysis of the older one is cancelled; one
already running finishes, and its result is dropped instead of published. A job queued behind it
for a version that is no longer the newest is skipped without analysing.

`analyse_document` is what `kinks check` does for one file: the configuration found from the
file's directory (`[tool.kinks]` in pyproject.toml, kinks.toml), `analyze_text` with its budget,
then the file's selection. So the editor shows exactly the diagnostics of the command line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .convert import Analysis

DEFAULT_DEBOUNCE = 0.25  # seconds after the last change before it is analysed

Analyse = Callable[[str, "int | None", str, "str | None"], Analysis]


def analyse_document(uri: str, version: int | None, text: str, path: str | None) -> Analysis:
    """The reports of one document version, selected as `kinks check` selects them for its path."""
    from sympy.core.cache import clear_cache

    from ..analysis.python_api import analyze_source
    from ..cli.check import select
    from ..language import syntax as ast
    from ..language.parser import parse_source
    from ..language.python_source import is_python_path
    from ..lint.config import ConfigError, settings_for

    started = time.monotonic()
    name = path or uri
    problem = None
    try:
        # Discovery starts at the file's directory, as `kinks check FILE` does; an unsaved buffer
        # uses the server's working directory (normally the workspace root).
        settings = settings_for([path] if path else [str(Path.cwd())], {})
    except ConfigError as error:
        problem = str(error)
        settings = settings_for([str(Path.cwd())], {}, isolated=True)
    # As the runner does before each file: verdicts depend on the text alone, not on what SymPy's
    # cache holds from the last analysis.
    clear_cache()
    # the same entry point as `kinks check`: a Python module's loss functions, or a .loss file
    reports = analyze_source(
        text,
        name,
        budget=settings.budget,
        python_functions=settings.python_functions,
        data_names=settings.data_names,
    )
    codes = settings.codes_for(name)
    reports = [select(report, codes) for report in reports]
    noqa = {}
    statements = [] if is_python_path(name) else parse_source(text, name).statements
    for statement in statements:
        if statement.noqa is not None:
            line = (
                statement.statement_line if isinstance(statement, ast.SyntaxProblem) else statement.span.line
            )
            noqa[line or statement.span.line] = statement.noqa
    return Analysis(uri, version, text, reports, noqa, time.monotonic() - started, problem)


def warm_up() -> None:
    """Import the analysis machinery (SymPy, the grammar) before the first document needs it."""
    from ..analysis.api import analyze

    analyze("abs(x)")


class Scheduler:
    """Runs `analyse` on the worker thread and calls `publish` on the event loop with the results
    that are still for the newest version of their document."""

    def __init__(
        self,
        publish: Callable[[Analysis], None],
        *,
        analyse: Analyse = analyse_document,
        debounce: float = DEFAULT_DEBOUNCE,
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        self.publish = publish
        self.on_error = on_error
        self.analyse = analyse
        self.debounce = debounce
        self.latest: dict[str, int | None] = {}
        self.dropped = 0  # results computed for a version that was no longer the newest
        self.skipped = 0  # jobs not started because a newer version had arrived
        self._waiting: dict[str, asyncio.Task[None]] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kinks-analysis")

    def warm_up(self) -> None:
        self._executor.submit(warm_up)

    def schedule(self, uri: str, version: int | None, text: str, path: str | None, *, wait: bool) -> None:
        """Analyse this version (after the debounce when `wait`), superseding every older one."""
        self.latest[uri] = version
        previous = self._waiting.pop(uri, None)
        if previous is not None:
            previous.cancel()
        delay = self.debounce if wait else 0.0
        task = asyncio.get_running_loop().create_task(self._run(uri, version, text, path, delay))
        self._waiting[uri] = task
        task.add_done_callback(
            lambda done: self._waiting.pop(uri, None) if self._waiting.get(uri) is done else None
        )

    def forget(self, uri: str) -> None:
        """The document was closed: nothing more is published for it."""
        self.latest.pop(uri, None)
        task = self._waiting.pop(uri, None)
        if task is not None:
            task.cancel()

    def is_current(self, uri: str, version: int | None) -> bool:
        return uri in self.latest and self.latest[uri] == version

    async def _run(self, uri: str, version: int | None, text: str, path: str | None, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._job, uri, version, text, path)
        # The analysis is not cancelled with the task (a thread cannot be interrupted): shield it,
        # so a newer version's task can cancel this one without losing track of the job.
        try:
            analysis = await asyncio.shield(future)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a bug in kinks: say so, keep serving
            if self.on_error is not None:
                self.on_error(uri, error)
            return
        if analysis is None:
            return
        if not self.is_current(uri, version):
            self.dropped += 1
            return
        self.publish(analysis)

    def _job(self, uri: str, version: int | None, text: str, path: str | None) -> Analysis | None:
        if not self.is_current(uri, version):
            self.skipped += 1
            return None
        return self.analyse(uri, version, text, path)

    def shutdown(self) -> None:
        for task in self._waiting.values():
            task.cancel()
        self._waiting.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)
