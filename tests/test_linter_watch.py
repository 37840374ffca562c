"""`kinks check --watch` (issue 17): a report now, a fresh one after every change of a checked
file, a new file in a watched directory, and a clean exit (status 0, no traceback) on Ctrl-C.

The command runs as a real subprocess on a temporary folder; its two output streams are read by
threads, so the test waits on what it printed, never on a fixed sleep.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from analyzer.cli import main as cli

REPO = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 120  # a loaded machine imports SymPy slowly

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Ctrl-C is a POSIX signal here")


class Watched:
    """A `kinks check --watch` subprocess and everything it has printed so far."""

    def __init__(self, folder: Path, *options: str) -> None:
        env = {
            key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "KINKS_CACHE_DIR")
        }
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env["NO_COLOR"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "analyzer", "check", "--isolated", "--watch", *options, "."],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen = {"out": "", "err": ""}
        for name, stream in (("out", self.process.stdout), ("err", self.process.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self.lines.put((name, line))

    def wait_for(self, stream: str, text: str, count: int = 1) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while self.seen[stream].count(text) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {text!r} {count} times; saw {self.seen}"
            try:
                name, line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            self.seen[name] += line

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        status = self.process.wait(timeout=WAIT_SECONDS)
        time.sleep(0.2)  # let the readers drain what was printed last
        while not self.lines.empty():
            name, line = self.lines.get()
            self.seen[name] += line
        return status


def test_watch_reports_again_after_each_change_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    losses = tmp_path / "losses"
    losses.mkdir()
    (losses / "a.loss").write_text("mae(y, p) wrt p = mean(abs(y - p))\n")
    watched = Watched(tmp_path, "--output-format", "concise")
    try:
        watched.wait_for("out", "Found 1 diagnostic (1 info)")
        watched.wait_for("err", "watching 1 file for changes")
        # an edit of a checked file: a fresh report, with the new finding
        (losses / "a.loss").write_text(
            "mae(y, p) wrt p = mean(abs(y - p))\nacc(y, p) wrt p = mean(round(p) == y)\n"
        )
        watched.wait_for("out", "K001")
        watched.wait_for("err", "watching 1 file for changes", count=2)
        assert "a.loss changed: checking again" in watched.seen["err"]
        # a new file in the watched directory is checked too
        (losses / "b.loss").write_text("mse(y, p) wrt p = mean((y - p)^2)\n")
        watched.wait_for("err", "watching 2 files for changes")
    finally:
        status = watched.stop()
    assert status == 0
    assert "Traceback" not in watched.seen["err"] and "KeyboardInterrupt" not in watched.seen["err"]
    assert watched.seen["out"].count("Found ") == 3  # one report a run, each printed whole


@pytest.mark.parametrize("option", ["--add-noqa", "--show-files", "--show-settings"])
def test_watch_with_a_one_off_option_is_a_usage_error(
    option: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["check", "--isolated", "--watch", option, str(tmp_path)]) == 2
    assert f"--watch cannot be combined with {option}" in capsys.readouterr().err


def test_watch_of_standard_input_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "--isolated", "--watch", "-"]) == 2
    assert "--watch cannot be combined with -" in capsys.readouterr().err
