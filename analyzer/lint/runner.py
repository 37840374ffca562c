"""Analyse many files fast: reuse cached verdicts, spread the rest over processes, keep file order.

Every file's reports go through their JSON records (LANGUAGE.md §5) and back, whether they were
just computed, computed in another process or read from the cache, so the output of a run is the
same byte for byte however its work was scheduled. Workers return records, never SymPy objects.

The unit of work is a part of a file: every process reads and lowers the whole file (a definition
may call the definitions above it), and classifies, the costly step, only the definitions of its
part (`analyze_text(only=...)`): every `parts`-th report from `part` on. The parts of a file
together give each of its reports once, and are put back in position order, so one 160-definition
file keeps every core busy. Parts are handed out largest first, so a big one does not finish last
alone. Small runs stay in this process, where starting workers would cost more than it saves.
Progress counts definitions: workers say through a queue as each one is done.
"""

from __future__ import annotations

import os
import re
import signal
import sys
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
# A part has at least this many definitions: each part parses the file again and lowers what the
# definitions below call, cheap beside classifying but not free. And a file has at most this many
# parts a worker: interleaved parts carry like loads, so a few even the workers out.
DEFINITIONS_PER_PART = 16
PARTS_PER_WORKER = 2
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
    estimates = {
        index: estimated_definitions(files[index].text or "", files[index].path) for index in pending
    }
    workload = sum(estimates.values())
    workers = min(jobs, max(workload, len(pending)))
    fresh: dict[int, Records] = {}
    if pending:
        analyze = get_analyzer()
        progress = _Progress(on_progress, workload)
        if workers > 1 and workload >= parallel_threshold:
            statistics.workers = workers
            fresh = _analyze_in_processes(
                files,
                plan_parts(estimates, workers),
                analyze,
                budget,
                workers,
                progress,
                python_functions,
                data_names,
            )
        else:
            statistics.workers = 1
            fresh = _analyze_here(files, pending, analyze, budget, progress, python_functions, data_names)
        progress.finish()

    for index, file_records in fresh.items():
        records[index] = file_records
        key = keys[index]
        if cache is not None and key is not None and cacheable(file_records):
            cache.store(key, file_records)
    return [[report_from_record(record) for record in file_records or ()] for file_records in records]


@dataclass(frozen=True, slots=True)
class Part:
    """Every `parts`-th report of a file from position `part` on (all of them when `parts` is 1)."""

    file: int
    part: int = 0
    parts: int = 1
    definitions: int = 0  # the estimate, to hand the largest out first

    def positions(self) -> range | None:
        """What `analyze_text(only=...)` is given: None for the whole file."""
        return None if self.parts == 1 else range(self.part, sys.maxsize, self.parts)


def plan_parts(estimates: dict[int, int], workers: int) -> list[Part]:
    """The parts of the files to analyse (file index -> its estimated definitions), largest first;
    the order is fixed by the files alone, so a run is reproducible."""
    parts = []
    for index, definitions in estimates.items():
        count = max(1, min(definitions // DEFINITIONS_PER_PART, workers * PARTS_PER_WORKER))
        share = -(-definitions // count)
        parts.extend(Part(index, part, count, share) for part in range(count))
    return sorted(parts, key=lambda part: (-part.definitions, part.file, part.part))


def merge_parts(parts: Sequence[tuple[Part, Records]]) -> Records:
    """One file's records from its parts: the k-th record of part j is the report at position
    j + k * parts. Raises ValueError when the parts do not fit together (a bug)."""
    count = parts[0][0].parts
    if len(parts) != count or {part.part for part, _ in parts} != set(range(count)):
        raise ValueError("the parts of a file are missing or repeated")
    total = sum(len(records) for _, records in parts)
    merged: list[dict[str, Any] | None] = [None] * total
    for part, records in parts:
        for k, record in enumerate(records):
            position = part.part + k * count
            if position >= total:
                raise ValueError("the parts of a file disagree on how many reports it has")
            merged[position] = record
    if any(record is None for record in merged):
        raise ValueError("the parts of a file disagree on how many reports it has")
    return [record for record in merged if record is not None]


class _Progress:
    """Counts the definitions done against the estimate; the estimate grows if it was short."""

    def __init__(self, on_progress: Callable[[int, int], None] | None, total: int) -> None:
        self.on_progress = on_progress
        self.done = 0
        self.total = total
        if on_progress is not None:
            on_progress(0, max(total, 1))

    def advance(self, count: int = 1) -> None:
        self.done += count
        self.total = max(self.total, self.done)
        if self.on_progress is not None:
            self.on_progress(self.done, self.total)

    def finish(self) -> None:
        if self.on_progress is not None and self.done != self.total:
            self.total = self.done
            self.on_progress(self.done, self.total)


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
    only: range | None = None,
    on_report: Callable[[], None] | None = None,
) -> Records:
    """Analyse one file, or the part of it at the positions `only`, and return its records; runs in
    a worker process or in this one. `on_report()` is called as each report is done (in a worker,
    the queue to the parent is used instead).

    SymPy's cache is emptied first (and the analyzer empties it before each statement). Verdicts
    must depend on the file's text alone: the cache key says so, and a definition must get the same
    verdict whichever definitions a process analysed before it. Some verdicts depend on what
    SymPy's cache holds (which of two equal expressions it hands back), so without this a serial
    and a parallel run can disagree.
    """
    from sympy.core.cache import clear_cache

    clear_cache()
    records = []
    extra: dict[str, Any] = (
        {"python_functions": tuple(python_functions)} if python_functions and _is_python(path) else {}
    )
    if data_names is not None:
        extra["data_names"] = tuple(data_names)
    if only is not None:
        extra["only"] = only
    if on_report is None and _progress_queue is not None:
        on_report = _put_one
    if on_report is not None:
        extra["on_report"] = on_report
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
    progress: _Progress,
    python_functions: Sequence[str] = (),
    data_names: Sequence[str] | None = None,
) -> dict[int, Records]:
    results: dict[int, Records] = {}
    # the hook is passed only when a bar is drawn: stand-in analyzers need not take it
    on_report = progress.advance if progress.on_progress is not None else None
    for index in pending:
        loaded = files[index]
        try:
            results[index] = records_for(
                analyze,
                loaded.text or "",
                loaded.path,
                budget,
                python_functions,
                data_names,
                on_report=on_report,
            )
        except Exception as error:
            raise AnalysisFailed(loaded.path) from error
    return results


def _analyze_in_processes(
    files: Sequence[LoadedFile],
    parts: Sequence[Part],
    analyze: Analyzer,
    budget: float | None,
    workers: int,
    progress: _Progress,
    python_functions: Sequence[str] = (),
    data_names: Sequence[str] | None = None,
) -> dict[int, Records]:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = _process_context()
    queue = context.Queue() if progress.on_progress is not None else None
    done: dict[int, list[tuple[Part, Records]]] = {}
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(queue,)
    ) as executor:
        futures: dict[Future[Records], Part] = {
            executor.submit(
                records_for,
                analyze,
                files[part.file].text or "",
                files[part.file].path,
                budget,
                python_functions,
                data_names,
                part.positions(),
            ): part
            for part in parts
        }
        remaining = set(futures)
        try:
            while remaining:
                finished, remaining = wait(remaining, timeout=0.1, return_when=FIRST_COMPLETED)
                _drain(queue, progress)
                for future in finished:
                    part = futures[future]
                    try:
                        done.setdefault(part.file, []).append((part, future.result()))
                    except Exception as error:
                        raise AnalysisFailed(files[part.file].path) from error
        except BaseException:
            # A failure or Ctrl-C: drop the parts not started, so leaving the pool waits only for
            # the few being analysed right now.
            for future in remaining:
                future.cancel()
            raise
    _drain(queue, progress)
    results: dict[int, Records] = {}
    for index, file_parts in done.items():
        try:
            results[index] = merge_parts(file_parts)
        except ValueError as error:
            raise AnalysisFailed(files[index].path) from error
    return results


def _drain(queue: Any, progress: _Progress) -> None:
    import queue as queues

    if queue is None:
        return
    count = 0
    while True:
        try:
            count += queue.get_nowait()
        except queues.Empty:
            break
    if count:
        progress.advance(count)


# In a worker: where to say that a definition is done (None: nobody is counting).
_progress_queue: Any = None


def _put_one() -> None:
    _progress_queue.put(1)


def _start_worker(queue: Any) -> None:
    global _progress_queue
    _progress_queue = queue
    _leave_interrupts_to_the_parent()


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
