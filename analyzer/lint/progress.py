"""A progress bar on standard error, for long runs in a terminal, and nothing anywhere else.

It appears only once the run has lasted `delay` seconds (so a quick run never flickers), only when
standard error is a terminal (so logs, pipes and CI stay clean), and erases itself before the
report is printed. A small thread redraws it, so the elapsed time moves even while one big file
is being analysed.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from typing import TextIO

DELAY_VARIABLE = "KINKS_PROGRESS_DELAY"
DEFAULT_DELAY = 0.5
_REDRAW_SECONDS = 0.1
_ERASE_LINE = "\r\x1b[K"


def progress_enabled(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def configured_delay() -> float:
    """Seconds before the bar appears: KINKS_PROGRESS_DELAY, or half a second."""
    try:
        delay = float(os.environ.get(DELAY_VARIABLE, DEFAULT_DELAY))
    except ValueError:
        return DEFAULT_DELAY
    return delay if delay >= 0 else DEFAULT_DELAY


class ProgressBar:
    """`update(done, total)` as work finishes; `close()` at the end, before printing the report."""

    def __init__(self, stream: TextIO, label: str = "checking", delay: float | None = None) -> None:
        self.stream = stream
        self.label = label
        self.delay = configured_delay() if delay is None else delay
        self.started = time.monotonic()
        self.done = 0
        self.total = 0
        self.shown = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="kinks-progress", daemon=True)
        self._thread.start()

    def update(self, done: int, total: int) -> None:
        with self._lock:
            self.done, self.total = done, total
            self._draw_if_due()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            if self.shown:
                self.stream.write(_ERASE_LINE)
                self.stream.flush()
                self.shown = False

    def _tick(self) -> None:
        while not self._stop.wait(_REDRAW_SECONDS):
            with self._lock:
                self._draw_if_due()

    def _draw_if_due(self) -> None:
        elapsed = time.monotonic() - self.started
        if self._stop.is_set() or elapsed < self.delay or self.total == 0:
            return
        self.stream.write(_ERASE_LINE + self._line(elapsed))
        self.stream.flush()
        self.shown = True

    def _line(self, elapsed: float) -> str:
        columns = shutil.get_terminal_size((80, 24)).columns
        counts = f" {self.done}/{self.total} definitions  {elapsed:.1f} s"
        width = max(10, min(40, columns - len(self.label) - len(counts) - 4))
        filled = width * self.done // self.total
        full, empty = ("█", "░") if _can_encode(self.stream, "█░") else ("#", "-")
        return f"{self.label} {full * filled}{empty * (width - filled)}{counts}"


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True
