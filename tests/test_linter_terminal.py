"""`kinks check` in a real terminal and through a pipe, as a user and as CI see it.

The terminal is a pseudo-terminal from Python's `pty` module (so nothing needs installing): there,
the output is coloured and the progress bar is drawn on standard error, then erased before the
report. Through pipes there is neither. KINKS_PROGRESS_DELAY=0 makes the bar appear at once, so
the check does not depend on how fast the machine is.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
INPUTS = [str(REPO / "tests" / "fixtures" / "golden_tree"), str(REPO / "examples" / "regression.loss")]
SGR = re.compile(r"\x1b\[[0-9;]*m")  # colours and bold
ERASE_LINE = "\r\x1b[K"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def environment(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("FORCE_COLOR", "NO_COLOR", "KINKS_DEBUG", "KINKS_CACHE_DIR", "KINKS_PROGRESS_DELAY")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["TERM"] = "xterm-256color"
    env["KINKS_PROGRESS_DELAY"] = "0"
    env.update(extra)
    return env


def run_in_terminal(*arguments: str, **extra: str) -> tuple[int, str]:
    """Run `python -m analyzer` with stdin, stdout and stderr on one pseudo-terminal; what it showed."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "analyzer", *arguments],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=environment(**extra),
        close_fds=True,
    )
    os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: every process holding it has exited
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    os.close(controller)
    status = process.wait(timeout=60)
    # The terminal driver turns "\n" into "\r\n"; undo it to compare with what kinks wrote.
    return status, b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")


def test_in_a_terminal_colours_are_on_and_the_progress_bar_is_drawn_then_erased(tmp_path: Path) -> None:
    status, screen = run_in_terminal("check", "--isolated", "--no-cache", *INPUTS)
    assert status == 1
    assert "\x1b[1m" in screen and "\x1b[31m" in screen  # bold locations, red errors
    bars = [match.start() for match in re.finditer(r"checking [█░]+ \d+/\d+ definitions", screen)]
    assert bars, screen
    first_report = screen.index("golden_tree/losses.loss:")
    assert max(bars) < screen.rindex(ERASE_LINE) < first_report  # gone before the report is printed
    # the bar counts definitions, not files, and ends full
    assert re.search(r"checking ░+ 0/\d+ definitions", screen)
    assert re.search(r"checking █+ (\d+)/\1 definitions", screen)


def test_the_bar_moves_definition_by_definition_within_one_file(tmp_path: Path) -> None:
    many = tmp_path / "many.loss"
    many.write_text("".join(f"f{k}(y, p) wrt p = mean(abs(y - p)) * {k + 1}\n" for k in range(12)))
    status, screen = run_in_terminal("check", "--isolated", "--no-cache", str(many))
    assert status == 0, screen
    counts = {int(done) for done in re.findall(r"(\d+)/12 definitions", screen)}
    assert 12 in counts and counts & set(range(1, 12)), counts  # not 0/1 files until the end


def test_no_color_keeps_the_progress_bar_but_drops_the_colours() -> None:
    status, screen = run_in_terminal("check", "--isolated", "--no-cache", *INPUTS, NO_COLOR="1")
    assert status == 1
    assert not SGR.search(screen)
    assert "definitions" in screen and ERASE_LINE in screen


def test_quiet_and_cached_runs_draw_no_bar(tmp_path: Path) -> None:
    _, screen = run_in_terminal("check", "--isolated", "--no-cache", "-q", *INPUTS)
    assert not re.search(r"\d+/\d+ definitions", screen) and ERASE_LINE not in screen
    cache = str(tmp_path / "cache")
    run_in_terminal("check", "--isolated", "--cache-dir", cache, *INPUTS)
    _, screen = run_in_terminal("check", "--isolated", "--cache-dir", cache, *INPUTS)
    assert "definitions" not in screen.split("golden_tree/losses.loss:")[0]  # nothing to analyse, no bar


def test_through_a_pipe_there_are_no_colours_and_no_progress_bar() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "analyzer", "check", "--isolated", "--no-cache", *INPUTS],
        capture_output=True,
        env=environment(),
        timeout=240,
        check=False,
    )
    assert result.returncode == 1
    assert b"\x1b" not in result.stdout and b"\x1b" not in result.stderr
    assert result.stderr == b""
    assert b"golden_tree/losses.loss:5:24: K201" in result.stdout
