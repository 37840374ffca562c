"""The `kinks` command.

Two layers: the command's own logic (paths, reading, exit codes, colour, failures) against a stub
analyzer, so it is exact whatever the analysis says; then end to end with the real analyzer, in
process through `main()` and as `python -m analyzer` in a subprocess.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from analyzer.analysis.report import Finding, Report
from analyzer.cli import check as check_command
from analyzer.cli import main as cli
from analyzer.language.syntax import Span

SMOOTH = "mse(y, p) wrt p = mean((y - p)^2)\n"
KINK = "mae(y, p) wrt p = mean(abs(y - p))\n"
SYNTAX_ERROR = "unbalanced(x) = relu(x\n"
NOT_UTF8 = b"f(x) = x\n# caf\xe9\n"

DEFINITION_KEYS = {"file", "name", "line", "wrt", "class", "smoothness", "findings"}
INVALID_KEYS = {"file", "name", "line", "wrt", "class", "findings"}
ADDED_KEYS = {"by_variable", "reason"}  # report.py's additions, allowed by §5


def write(directory: Path, name: str, content: str | bytes) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Colour, debug and cache settings of the machine running the tests must not leak into them;
    each test gets a cache of its own, so a stub's verdicts are never read by another test."""
    for variable in ("FORCE_COLOR", "NO_COLOR", "KINKS_DEBUG", "KINKS_PROGRESS_DELAY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("KINKS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


# ---------------------------------------------------------------- the command's logic, stub analyzer


class StubAnalyzer:
    """Reads each non-blank line `name [CODE]` as a definition with that finding, and logs its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float | None]] = []

    def __call__(self, text: str, path: str, *, budget: float | None = None) -> list[Report]:
        self.calls.append((text, path, budget))
        reports = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, *codes = line.split()
            findings = [
                Finding(
                    kind="stub",
                    code=code,
                    message=f"stub {code}",
                    span=Span(number, 1, number, len(name) + 1),
                )
                for code in codes
            ]
            reports.append(
                Report(name=name, line=number, file=path, classification="smooth", findings=findings)
            )
        return reports

    @property
    def paths(self) -> list[str]:
        return [path for _, path, _ in self.calls]


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> StubAnalyzer:
    analyzer = StubAnalyzer()
    monkeypatch.setattr(check_command, "_analyzer", lambda: analyzer)
    return analyzer


@pytest.mark.parametrize(
    ("code", "fail_on", "status"),
    [
        ("K201", "warning", 0),  # info does not reach the default threshold
        ("K201", "info", 1),
        ("K102", "warning", 1),
        ("K102", "error", 0),
        ("K001", "error", 1),
        ("E001", "error", 1),  # syntax errors always fail
    ],
)
def test_exit_status_follows_fail_on(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: StubAnalyzer,
    code: str,
    fail_on: str,
    status: int,
) -> None:
    path = write(tmp_path, "f.loss", f"f {code}\n")
    assert run_main(capsys, "check", "--fail-on", fail_on, str(path))[0] == status


def test_default_fail_on_is_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    assert run_main(capsys, "check", str(write(tmp_path, "i.loss", "f K201\n")))[0] == 0
    assert run_main(capsys, "check", str(write(tmp_path, "w.loss", "f K301\n")))[0] == 1


def test_clean_file_prints_all_checks_passed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    path = write(tmp_path, "ok.loss", "f\ng\n")
    assert run_main(capsys, "check", str(path)) == (0, "All checks passed! (2 definitions, 1 file)\n", "")


def test_text_output_shows_each_finding_with_its_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    path = write(tmp_path, "f.loss", "fine\nkinky K201\n")
    status, out, _ = run_main(capsys, "check", "--fail-on", "info", str(path))
    assert status == 1
    assert out == (
        f"{path}:2:1: K201 stub K201\n"
        "  2 | kinky K201\n"
        "    | ^^^^^\n"
        "\n"
        "Found 1 diagnostic (1 info) in 2 definitions across 1 file.\n"
    )


def test_budget_is_passed_to_the_analyzer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    path = str(write(tmp_path, "f.loss", "f\n"))
    run_main(capsys, "check", path)
    run_main(capsys, "check", "--budget", "2.5", path)
    assert [budget for _, _, budget in stub.calls] == [None, 2.5]


@pytest.mark.parametrize("budget", ["0", "-1", "abc", "nan", "inf"])
def test_bad_budget_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer, budget: str
) -> None:
    status, out, err = run_main(capsys, "check", "--budget", budget, str(write(tmp_path, "f.loss", "f\n")))
    assert status == 2
    assert "--budget" in err and out == ""
    assert stub.calls == []


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--format", "xml", "f.loss"],
        ["check", "--fail-on", "never", "f.loss"],
        ["check", "--no-such-option", "f.loss"],
        ["check", "--jobs", "0", "f.loss"],
        ["frobnicate"],
    ],
)
def test_bad_usage_exits_2_with_a_message(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    status, out, err = run_main(capsys, *argv)
    assert status == 2
    assert out == ""
    assert "usage: kinks" in err and "error:" in err


def test_nonexistent_paths_exit_2_naming_each_and_analyze_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    real = write(tmp_path, "real.loss", "f\n")
    status, out, err = run_main(
        capsys, "check", str(real), str(tmp_path / "nope.loss"), str(tmp_path / "gone")
    )
    assert status == 2
    assert out == ""
    assert f"kinks: error: {tmp_path / 'nope.loss'}: no such file or directory" in err
    assert f"kinks: error: {tmp_path / 'gone'}: no such file or directory" in err
    assert stub.calls == []


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_main(capsys, "--version")
    assert status == 0
    assert out.startswith("kinks ")


def test_directory_is_walked_recursively_in_sorted_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    for name in ["b.loss", "a/z.loss", "a/b.loss", "a.loss", "notes.txt", "c/deep/er.loss"]:
        write(tmp_path, name, "f\n")
    (tmp_path / "dir.loss").mkdir()  # a directory named like a file is walked, not read
    status, out, _ = run_main(capsys, "check", "--format", "json", str(tmp_path))
    assert status == 0
    expected = [
        str(tmp_path / name) for name in ["a/b.loss", "a/z.loss", "a.loss", "b.loss", "c/deep/er.loss"]
    ]
    assert stub.paths == expected
    assert [record["file"] for record in json.loads(out)] == expected


def test_paths_keep_command_line_order_and_a_file_named_twice_is_checked_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    second = write(tmp_path, "sub/second.loss", "f\n")
    first = write(tmp_path, "first.loss", "f\n")
    run_main(capsys, "check", str(second), str(first), str(tmp_path / "sub"))
    assert stub.paths == [str(second), str(first)]


def test_an_explicit_file_is_checked_whatever_its_extension(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    path = write(tmp_path, "losses.txt", "f\n")
    assert run_main(capsys, "check", str(path))[0] == 0
    assert stub.paths == [str(path)]


def test_directory_without_loss_files_warns_and_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    status, out, err = run_main(capsys, "check", "--format", "json", str(tmp_path))
    assert (status, json.loads(out)) == (0, [])
    assert "no .loss or .py files found" in err


def test_stdin_is_read_as_dash(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stub: StubAnalyzer
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"f K102\n")))
    status, out, _ = run_main(capsys, "check", "--format", "json", "-")
    assert status == 1
    assert stub.calls == [("f K102\n", "-", None)]
    assert json.loads(out)[0]["file"] == "-"


def test_text_is_decoded_with_universal_newlines_and_without_bom(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    path = write(tmp_path, "crlf.loss", "\ufefff\r\ng\rh\n".encode())
    run_main(capsys, "check", str(path))
    assert stub.calls[0][0] == "f\ng\nh\n"


def test_non_utf8_file_becomes_an_e006_record(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    bad = write(tmp_path, "bad.loss", NOT_UTF8)
    good = write(tmp_path, "good.loss", "f\n")
    status, out, err = run_main(capsys, "check", "--format", "json", str(bad), str(good))
    assert status == 1
    assert err == ""
    assert stub.paths == [str(good)]  # the unreadable file is never analyzed; the others still are
    bad_record, good_record = json.loads(out)
    assert set(bad_record) == INVALID_KEYS
    assert bad_record["file"] == str(bad)
    assert (bad_record["name"], bad_record["line"], bad_record["class"]) == (None, 1, "invalid")
    (finding,) = bad_record["findings"]
    assert (finding["kind"], finding["code"], finding["severity"]) == ("error", "E006", "error")
    # The span points at the first byte that cannot be decoded: `\xe9` after `# caf` on line 2.
    assert finding["span"] == {"line": 2, "column": 6, "end_line": 2, "end_column": 7}
    assert "UTF-8" in finding["message"] and "line 2" in finding["message"]
    assert good_record["file"] == str(good)


def test_non_utf8_file_in_text_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    bad = write(tmp_path, "bad.loss", NOT_UTF8)
    status, out, _ = run_main(capsys, "check", "--fail-on", "error", str(bad))
    assert status == 1
    assert out.startswith(f"{bad}:2:6: E006 the file is not UTF-8 text")
    assert out.endswith("Found 1 diagnostic (1 error) in 1 definition across 1 file.\n")


def test_non_utf8_stdin_becomes_an_e006_record(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stub: StubAnalyzer
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe")))
    status, out, _ = run_main(capsys, "check", "--format", "json", "-")
    assert status == 1
    assert [(record["file"], record["findings"][0]["code"]) for record in json.loads(out)] == [("-", "E006")]


def test_unreadable_file_becomes_an_e006_record(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stub: StubAnalyzer
) -> None:
    locked = write(tmp_path, "locked.loss", "f\n")
    real_read_bytes = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        # chmod cannot lock a file away from root, who runs CI: fail the read itself.
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    status, out, _ = run_main(capsys, "check", "--format", "json", str(locked))
    assert status == 1
    (record,) = json.loads(out)
    assert record["findings"][0]["code"] == "E006"
    assert "Permission denied" in record["findings"][0]["message"]


def test_report_without_file_gets_the_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        check_command, "_analyzer", lambda: lambda text, path, budget=None: [Report(name="f", line=1)]
    )
    path = write(tmp_path, "f.loss", "f(x) = x\n")
    _, out, _ = run_main(capsys, "check", "--format", "json", str(path))
    assert json.loads(out)[0]["file"] == str(path)


def crashing_analyzer(text: str, path: str, *, budget: float | None = None) -> list[Report]:
    raise RuntimeError("the simplifier fell over")


def test_a_crash_is_reported_as_a_bug_without_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(check_command, "_analyzer", lambda: crashing_analyzer)
    status, out, err = run_main(capsys, "check", str(write(tmp_path, "f.loss", "f\n")))
    assert status == 2
    assert out == ""
    assert "RuntimeError: the simplifier fell over" in err
    assert "bug in kinks" in err and "KINKS_DEBUG=1" in err
    assert "Traceback" not in err


def test_kinks_debug_shows_the_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(check_command, "_analyzer", lambda: crashing_analyzer)
    monkeypatch.setenv("KINKS_DEBUG", "1")
    status, _, err = run_main(capsys, "check", str(write(tmp_path, "f.loss", "f\n")))
    assert status == 2
    assert "Traceback" in err and "crashing_analyzer" in err
    assert "bug in kinks" in err


class FakeStream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "environment", "expected"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),  # no-color.org: only a non-empty value counts
        (False, {"FORCE_COLOR": "1"}, True),
        (True, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, True),
    ],
)
def test_color_choice(
    monkeypatch: pytest.MonkeyPatch, tty: bool, environment: dict[str, str], expected: bool
) -> None:
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert check_command.use_color(FakeStream(tty)) is expected


def test_force_color_colours_text_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stub: StubAnalyzer
) -> None:
    path = str(write(tmp_path, "f.loss", "f K102\n"))
    assert "\x1b[" not in run_main(capsys, "check", path)[1]
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[33mK102" in run_main(capsys, "check", path)[1]


# ---------------------------------------------------------------- end to end, the real analyzer


def test_syntax_error_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "broken.loss", SYNTAX_ERROR)
    status, out, _ = run_main(capsys, "check", "--fail-on", "error", str(path))
    assert status == 1
    assert f"{path}:1:" in out and "E001" in out


def test_smooth_file_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "smooth.loss", SMOOTH)
    status, out, _ = run_main(capsys, "check", "--fail-on", "warning", str(path))
    assert (status, out) == (0, "All checks passed! (1 definition, 1 file)\n")


def test_kink_is_info_and_fails_only_with_fail_on_info(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = str(write(tmp_path, "mae.loss", KINK))
    assert run_main(capsys, "check", path)[0] == 0
    status, out, _ = run_main(capsys, "check", "--fail-on", "info", path)
    assert status == 1
    assert f"{path}:1:" in out and "K201" in out


def test_json_records_follow_section_5(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "mixed.loss", SYNTAX_ERROR + KINK + SMOOTH)
    status, out, _ = run_main(capsys, "check", "--format", "json", str(path))
    assert status == 1
    records = json.loads(out)
    assert isinstance(records, list)
    assert [record["class"] for record in records] == ["invalid", "piecewise-differentiable", "smooth"]
    invalid, kink, smooth = records
    assert INVALID_KEYS <= set(invalid) <= INVALID_KEYS | {"reason"}
    assert invalid["findings"][0]["code"] == "E001"
    for record in (kink, smooth):
        assert DEFINITION_KEYS <= set(record) <= DEFINITION_KEYS | ADDED_KEYS
        assert record["file"] == str(path)
        assert record["wrt"] == ["p"]
    assert [(record["name"], record["line"]) for record in (kink, smooth)] == [("mae", 2), ("mse", 3)]
    assert [finding["code"] for finding in kink["findings"]] == ["K201"]
    assert kink["findings"][0]["kind"] == "kink"
    assert smooth["findings"] == [] and smooth["smoothness"] == 2


def python_m_analyzer(
    *arguments: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "KINKS_DEBUG")
    }
    # The tests run against this checkout even where kinks is not installed.
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "analyzer", *arguments],
        input=stdin if stdin is not None else b"",
        check=False,  # the exit status is what the tests check
        capture_output=True,
        cwd=cwd,
        env=environment,
        timeout=300,
    )


def test_subprocess_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = python_m_analyzer("check", str(tmp_path / "missing.loss"))
    assert missing.returncode == 2
    assert b"no such file or directory" in missing.stderr and b"Traceback" not in missing.stderr
    bad_option = python_m_analyzer("check", "--format", "yaml", str(tmp_path))
    assert bad_option.returncode == 2
    assert b"invalid choice: 'yaml'" in bad_option.stderr


def test_subprocess_stdin(tmp_path: Path) -> None:
    result = python_m_analyzer("check", "--format", "json", "-", stdin=KINK.encode())
    assert result.returncode == 0, result.stderr.decode()
    (record,) = json.loads(result.stdout)
    assert (record["file"], record["name"], record["class"]) == ("-", "mae", "piecewise-differentiable")


def test_subprocess_directory_walk_with_relative_paths(tmp_path: Path) -> None:
    write(tmp_path, "losses/b.loss", SMOOTH)
    write(tmp_path, "losses/a/broken.loss", SYNTAX_ERROR)
    write(tmp_path, "losses/README.md", "not a loss file")
    result = python_m_analyzer("check", "--format", "json", "losses", cwd=tmp_path)
    assert result.returncode == 1, result.stderr.decode()
    records = json.loads(result.stdout)
    assert [(record["file"], record["class"]) for record in records] == [
        (os.path.join("losses", "a", "broken.loss"), "invalid"),
        (os.path.join("losses", "b.loss"), "smooth"),
    ]


def test_subprocess_non_utf8_file(tmp_path: Path) -> None:
    bad = write(tmp_path, "latin1.loss", NOT_UTF8)
    result = python_m_analyzer("check", str(bad))
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    assert result.stdout.decode().startswith(f"{bad}:2:6: E006 ")


def test_subprocess_text_output_has_no_colour_when_piped(tmp_path: Path) -> None:
    result = python_m_analyzer("check", "--fail-on", "info", str(write(tmp_path, "mae.loss", KINK)))
    assert result.returncode == 1
    assert b"\x1b[" not in result.stdout
    assert b"K201" in result.stdout
