"""Analyse many files fast: reuse cached verdicts, spread the rest over processes, keep file order.

Every file's reports go through their JSON records (LANGUAGE.md §5) and back, whether they were
just computed, computed in another process or read from the cache, so the output of a run is the
same byte for byte however its work was scheduled. Workers return records, never SymPy objects.

The unit of work is a file: a definition may call the definitions above it, so a file is analysed
in one piece. Files are handed out largest first, so one big file does not finish last alone.
Small runs stay in this process, where starting workers would cost more than it saves.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where a pool is started: a small run never pays for them
    import multiprocessing.context
    from concurrent.futures import Future

from ..analysis.report import Report
from .cache import Cache, cacheable, report_from_record, with_file
from .files import LoadedFile

Analyzer = Callable[..., list[Report]]
Records = list[dict[str, Any]]

# Below this many definitions to analyse, one process is faster than starting workers: a worker
# pays for importing SymPy (about half a second) before it analyses anything.
PARALLEL_MIN_DEFINITIONS = 64
_DEFINITION_START = re.compile(r"^[^\W\d][\w.]*[ \t]*\(", re.MULTILINE)


@dataclass(slots=True)
class RunStatistics:
    """What a run did, for `--verbose` and the tests."""

    files: int = 0
    cached: int = 0
    analysed: int = 0
    workers: int = 0
    analysed_paths: list[str] = field(default_factory=list)


class AnalysisFailed(Exception):
    """The analysis of one file raised: a bug in kinks. The cause is chained; the path is named."""

    def __init__(self, path: str) -> None:
        super().__init__(f"while analysing {path}")
        self.path = path


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_PYTHON_LOSS_DEF = re.compile(
    r"^[ \t]*def[ \t]+\w*(?:loss|metric|forward|call)\w*[ \t]*\(", re.MULTILINE | re.IGNORECASE
)


def estimated_definitions(text: str, path: str = "") -> int:
    """A cheap count of the definitions in a text (lines that start with `name(`; in a Python file,
    the `def`s that look like losses), to plan the work."""
    if _is_python(path):
        return len(_PYTHON_LOSS_DEF.findall(text))
    return len(_DEFINITION_START.findall(text))


def analyze_files(
    files: Sequence[LoadedFile],
    get_analyzer: Callable[[], Analyzer],
    *,
    budget: float | None = None,
    cache: Cache | None = None,
    jobs: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
    parallel_threshold: int | None = None,
    statistics: RunStatistics | None = None,
    python_functions: Sequence[str] = (),
    data_names: Sequence[str] | None = None,
) -> list[list[Report]]:
    """The reports of every file, in the order of `files`.

    `get_analyzer()` gives `analyzer.analysis.api.analyze_text` or a stand-in with its signature; it is
    called only when a file needs analysis, so a fully cached run never imports the analysis
    machinery. The analyzer must be picklable (a module-level function) for the parallel path.
    `on_progress(done, total)` is called as files needing analysis finish. Workers are started
    when `jobs` > 1 and there are at least `parallel_threshold` (default PARALLEL_MIN_DEFINITIONS)
    definitions to analyse. `python_functions` (the setting's globs) is passed to the analyzer for
    Python files, only when it is not empty; `data_names` (the setting `data-names`) to it for every
    file, only when it is set.
    """
    if parallel_threshold is None:
        parallel_threshold = PARALLEL_MIN_DEFINITIONS
    statistics = statistics if statistics is not None else RunStatistics()
    statistics.files = len(files)
    records: list[Records | None] = [None] * len(files)
    keys: list[str | None] = [None] * len(files)
    pending: list[int] = []
    for index, loaded in enumerate(files):
        if loaded.unreadable is not None:
            records[index] = [loaded.unreadable.to_dict()]
            continue
        assert loaded.text is not None
        if cache is not None:
            keys[index] = cache.key(
                loaded.text, budget, _cache_options(loaded.path, python_functions, data_names)
            )
            hit = cache.load(keys[index])
            if hit is not None:
                records[index] = [with_file(record, loaded.path) for record in hit]
                statistics.cached += 1
                continue
        pending.append(index)

    statistics.analysed = len(pending)
    statistics.analysed_paths = [files[index].path for index in pending]
    workload = sum(estimated_definitions(files[index].text or "", files[index].path) for index in pending)
    workers = min(jobs, len(pending))
    fresh: dict[int, Records] = {}
    if pending:
        analyze = get_analyzer()
        if on_progress is not None:
            on_progress(0, len(pending))
        if workers > 1 and workload >= parallel_threshold:
            statistics.workers = workers
            fresh = _analyze_in_processes(
                files, pending, analyze, budget, workers, on_progress, python_functions, data_names
            )
        else:
            statistics.workers = 1
            fresh = _analyze_here(files, pending, analyze, budget, on_progress, python_functions, data_names)

    for index, file_records in fresh.items():
        records[index] = file_records
        key = keys[index]
        if cache is not None and key is not None and cacheable(file_records):
            cache.store(key, file_records)
    return [[report_from_record(record) for record in file_records or ()] for file_records in records]


def _is_python(path: str) -> bool:
    return path.endswith((".py", ".pyi"))


def _cache_options(
    path: str, python_functions: Sequence[str], data_names: Sequence[str] | None = None
) -> dict[str, Any] | None:
    options: dict[str, Any] = (
        {"python": True, "python-functions": list(python_functions)} if _is_python(path) else {}
    )
    if data_names is not None:
        options["data-names"] = list(data_names)
    return options or None


def records_for(
    analyze: Analyzer,
    text: str,
    path: str,
    budget: float | None,
    python_functions: Sequence[str] = (),
    data_names: Sequence[str] | None = None,
) -> Records:
    """Analyse one file and return its records; runs in a worker process or in this one.

    SymPy's cache is emptied first. Verdicts must depend on the file's text alone: the cache key
    says so, and a file must get the same verdict whichever files a process analysed before it.
    Today some verdicts depend on what SymPy's cache holds (which of two equal expressions it
    hands back), so without this a serial and a parallel run can disagree.
    """
    from sympy.core.cache import clear_cache

    clear_cache()
    records = []
    extra: dict[str, Any] = (
        {"python_functions": tuple(python_functions)} if python_functions and _is_python(path) else {}
    )
    if data_names is not None:
        extra["data_names"] = tuple(data_names)
    for report in analyze(text, path, budget=budget, **extra):
        if report.file is None:
            report.file = path
        records.append(report.to_dict())
    return records


def _analyze_here(
    files: Sequence[LoadedFile],
    pending: Sequence[int],
    analyze: Analyzer,
    budget: float | None,
    on_progress: Callable[[int, int], None] | None,
    python_functions: Sequence[str] = (),
    data_names: Sequence[str] | None = None,
) -> dict[int, Records]:
    results: dict[int, Records] = {}
    for done, index in enumerate(pending, start=1):
        loaded = files[index]
        try:
            results[index] = records_for(
                analyze, loaded.text or "", loaded.path, budget, python_functions, data_names
            )
        except Exception as error:
            raise AnalysisFailed(loaded.path) from error
        if on_progress is not None:
            on_progress(done, len(pending))
    return results


def _analyze_in_processes(
    files: Sequence[LoadedFile],
    pending: Sequence[int],
    analyze: Analyzer,
    budget: float | None,
    workers: int,
    on_progress: Callable[[int, int], None] | None,
    python_functions: Sequence[str] = (),
    data_names: Sequence[str] | None = None,
) -> dict[int, Records]:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # Largest first: the longest jobs start early, so the last one to finish is a short one.
    order = sorted(pending, key=lambda index: -len(files[index].text or ""))
    results: dict[int, Records] = {}
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=_process_context(), initializer=_leave_interrupts_to_the_parent
    ) as executor:
        futures: dict[Future[Records], int] = {
            executor.submit(
                records_for,
                analyze,
                files[index].text or "",
                files[index].path,
                budget,
                python_functions,
                data_names,
            ): index
            for index in order
        }
        remaining = set(futures)
        try:
            while remaining:
                finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = futures[future]
                    try:
                        results[index] = future.result()
                    except Exception as error:
                        raise AnalysisFailed(files[index].path) from error
                if on_progress is not None:
                    on_progress(len(results), len(pending))
        except BaseException:
            # A failure or Ctrl-C: drop the files not started, so leaving the pool waits only for
            # the few being analysed right now.
            for future in remaining:
                future.cancel()
            raise
    return results


def _leave_interrupts_to_the_parent() -> None:
    # Ctrl-C reaches every process of the terminal's group; the parent stops the run, and workers
    # that died of it would each print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _process_context() -> multiprocessing.context.BaseContext:
    """A fork server that has imported the analyzer once, where there is one; spawn elsewhere.

    Plain fork would copy a process whose numerical libraries may be running threads (unsafe, and
    deprecated since Python 3.12); spawn would import SymPy again in every worker.
    """
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["analyzer.analysis.api", "analyzer.analysis.python_api"])
        return context
    return multiprocessing.get_context("spawn")
