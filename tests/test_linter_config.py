"""Settings: configuration discovery, validation (unknown keys name themselves), rule selection as
ruff does it, per-file ignores, include/exclude globs, and the check options that use them.

The analysis is a stub here (each line `name CODE...` is a definition with those findings), so
these tests are exact about the command's logic and fast.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from analyzer.analysis.report import Finding, Report
from analyzer.cli import check as check_command
from analyzer.cli import main as cli
from analyzer.language.syntax import Span
from analyzer.lint.config import DEFAULT_CACHE_DIR
from analyzer.lint.selection import (
    ALL_CODES,
    DEFAULT_CODES,
    ERROR_CODES,
    Layer,
    PathPattern,
    SelectionError,
    enabled_codes,
    parse_ignore,
    parse_selector,
)


class StubAnalyzer:
    """Each non-blank line `name CODE...` is a definition with those findings; calls are logged."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float | None]] = []

    def __call__(self, text: str, path: str, *, budget: float | None = None) -> list[Report]:
        self.calls.append((path, budget))
        reports = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip() and not line.startswith("#"):
                name, *codes = line.split()
                findings = [
                    Finding("stub", code, f"stub {code}", Span(number, 1, number, 2)) for code in codes
                ]
                reports.append(
                    Report(name=name, line=number, file=path, classification="smooth", findings=findings)
                )
        return reports


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> StubAnalyzer:
    analyzer = StubAnalyzer()
    monkeypatch.setattr(check_command, "_analyzer", lambda: analyzer)
    for variable in ("FORCE_COLOR", "NO_COLOR", "KINKS_DEBUG", "KINKS_CACHE_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    return analyzer


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict], str]:
    """Run `kinks check --output-format json --no-cache ...`; the records and standard error."""
    status = cli.main(["check", "--output-format", "json", "--no-cache", *argv])
    captured = capsys.readouterr()
    records = json.loads(captured.out) if captured.out.strip() else []
    return status, records, captured.err


def codes(records: list[dict]) -> list[str]:
    return [finding["code"] for record in records for finding in record["findings"]]


EVERYTHING = "f K001 K101 K102 K201 K202 K301 K901 K902 E001\n"


# ---------------------------------------------------------------- selection semantics


def layer(
    select: list[str] | None = None, extend: tuple[str, ...] = (), ignore: tuple[str, ...] = ()
) -> Layer:
    return Layer(
        tuple(parse_selector(text, "test") for text in select) if select is not None else None,
        tuple(parse_selector(text, "test") for text in extend),
        tuple(parse_ignore(text, "test") for text in ignore),
    )


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ([], DEFAULT_CODES),  # everything by default
        ([layer(["K1"])], {"K101", "K102"}),
        ([layer(ignore=("K2",))], DEFAULT_CODES - {"K201", "K202"}),
        # ruff: a more specific selector wins within a layer, and ignore wins ties
        ([layer(ignore=("K2",), extend=("K201",))], DEFAULT_CODES - {"K202"}),
        ([layer(["K2"], ignore=("K201",))], {"K201", "K202"} - {"K201"}),
        ([layer(["K201"], ignore=("K201",))], set()),
        ([layer(["ALL"], ignore=("K9",))], ALL_CODES - {"K901", "K902", "K903", "K904"}),
        # ruff's own example: config select E,F ignore F401; `--select F401` enforces F401 alone...
        ([layer(["K1", "K2"], ignore=("K201",)), layer(["K201"])], {"K201"}),
        # ...and `--extend-select B` keeps the config's selection and its ignore
        ([layer(["K1", "K2"], ignore=("K201",)), layer(extend=("K3",))], {"K101", "K102", "K202", "K301"}),
        ([layer(ignore=("K201",)), layer(ignore=("K202",))], DEFAULT_CODES - {"K201", "K202"}),
    ],
)
def test_enabled_codes(layers: list[Layer], expected: set[str]) -> None:
    assert enabled_codes(layers) == frozenset(expected) | ERROR_CODES  # errors are always reported


@pytest.mark.parametrize("text", ["K9999", "X1", "", "K2x"])
def test_selector_that_matches_nothing_is_an_error(text: str) -> None:
    with pytest.raises(SelectionError, match="matches no rule code"):
        parse_selector(text, "--select")


@pytest.mark.parametrize("text", ["E", "E001", "e0"])
def test_errors_cannot_be_ignored(text: str) -> None:
    with pytest.raises(SelectionError, match="cannot be ignored"):
        parse_ignore(text, "--ignore")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.loss", "a/b.loss", True),  # no slash: the name, at any depth
        ("build", "src/build", True),
        ("tests/*.loss", "tests/a.loss", True),  # a slash: the path from the root
        ("tests/*.loss", "tests/deep/a.loss", False),  # `*` stays within a directory
        ("tests/**/*.loss", "tests/deep/er/a.loss", True),
        ("tests/**/*.loss", "tests/a.loss", True),
        ("**/legacy", "a/b/legacy", True),
        ("{a,b}/*.loss", "b/x.loss", True),
        ("[ab].loss", "c.loss", False),
        ("[!ab].loss", "c.loss", True),
        ("x?.loss", "x1.loss", True),
        ("./sub/*.loss", "sub/a.loss", True),
        ("!legacy/*", "legacy/a.loss", False),
        ("!legacy/*", "new/a.loss", True),
        ("a.loss", "a_loss", False),  # a dot is a dot
    ],
)
def test_path_patterns(pattern: str, path: str, expected: bool) -> None:
    assert PathPattern(pattern).matches(path) is expected


def test_select_ignore_extend_select_on_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    path = str(write(tmp_path / "f.loss", EVERYTHING))
    assert codes(check(capsys, "--select", "K1", path)[1]) == ["K101", "K102", "E001"]
    assert codes(check(capsys, "--select", "K1,K201", "--select", "K3", path)[1]) == [
        "K101",
        "K102",
        "K201",
        "K301",
        "E001",
    ]
    assert codes(check(capsys, "--select", "K1", "--extend-select", "K001", path)[1]) == [
        "K001",
        "K101",
        "K102",
        "E001",
    ]
    assert codes(check(capsys, "--ignore", "K2,K9", path)[1]) == ["K001", "K101", "K102", "K301", "E001"]


def test_bad_selectors_on_the_command_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    path = str(write(tmp_path / "f.loss", "f\n"))
    status, _, err = check(capsys, "--select", "K77", path)
    assert status == 2 and "--select: `K77` matches no rule code" in err
    status, _, err = check(capsys, "--ignore", "E001", path)
    assert status == 2 and "--ignore: `E001` cannot be ignored" in err
    assert stub.calls == []


# ---------------------------------------------------------------- discovery


def test_tool_kinks_in_the_nearest_pyproject_upwards_is_used(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "repo" / "pyproject.toml", '[project]\nname = "x"\n\n[tool.kinks]\nselect = ["K1"]\n')
    path = write(tmp_path / "repo" / "losses" / "deep" / "f.loss", EVERYTHING)
    monkeypatch.chdir(tmp_path)  # found from the checked paths, not from where kinks runs
    assert codes(check(capsys, str(path))[1]) == ["K101", "K102", "E001"]
    monkeypatch.chdir(tmp_path / "repo")
    assert codes(check(capsys, ".")[1]) == ["K101", "K102", "E001"]


def test_pyproject_without_tool_kinks_is_skipped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    write(tmp_path / "kinks.toml", 'select = ["K3"]\n')
    write(tmp_path / "sub" / "pyproject.toml", "[tool.ruff]\nline-length = 100\n")
    path = write(tmp_path / "sub" / "f.loss", EVERYTHING)
    assert codes(check(capsys, str(path))[1]) == ["K301", "E001"]


def test_another_tools_broken_pyproject_is_not_kinks_business(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    write(tmp_path / "pyproject.toml", "[tool.black\nline-length = \n")
    path = write(tmp_path / "f.loss", "f K201\n")
    assert codes(check(capsys, str(path))[1]) == ["K201"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # in one directory: .kinks.toml, then kinks.toml, then pyproject.toml, as ruff
        ({".kinks.toml": 'select = ["K1"]', "kinks.toml": 'select = ["K2"]'}, ["K101", "K102"]),
        (
            {"kinks.toml": 'select = ["K2"]', "pyproject.toml": '[tool.kinks]\nselect = ["K3"]'},
            ["K201", "K202"],
        ),
        # the nearest directory wins
        (
            {
                "pyproject.toml": '[tool.kinks]\nselect = ["K3"]',
                "sub/pyproject.toml": '[tool.kinks]\nselect = ["K0"]',
            },
            ["K001"],
        ),
    ],
)
def test_which_file_wins(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    stub: StubAnalyzer,
    files: dict[str, str],
    expected: list[str],
) -> None:
    for name, text in files.items():
        write(tmp_path / name, text + "\n")
    path = write(tmp_path / "sub" / "f.loss", "f K001 K101 K102 K201 K202 K301\n")
    assert codes(check(capsys, str(path))[1]) == expected


def test_config_option_and_isolated(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    write(tmp_path / "kinks.toml", 'select = ["K1"]\n')
    other = write(tmp_path / "elsewhere" / "strict.toml", 'select = ["K2"]\n')
    named = write(tmp_path / "elsewhere" / "pyproject.toml", '[tool.kinks]\nselect = ["K3"]\n')
    path = str(write(tmp_path / "f.loss", "f K101 K201 K301\n"))
    assert codes(check(capsys, path)[1]) == ["K101"]
    assert codes(check(capsys, "--config", str(other), path)[1]) == ["K201"]
    assert codes(check(capsys, "--config", str(named), path)[1]) == ["K301"]
    assert codes(check(capsys, "--isolated", path)[1]) == ["K101", "K201", "K301"]


def test_command_line_beats_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    write(tmp_path / "kinks.toml", 'select = ["K1", "K2"]\nignore = ["K201"]\nfail-on = "info"\n')
    path = str(write(tmp_path / "f.loss", "f K101 K201 K202\n"))
    assert codes(check(capsys, path)[1]) == ["K101", "K202"]
    assert codes(check(capsys, "--select", "K201", path)[1]) == ["K201"]  # ruff: --select starts afresh
    assert codes(check(capsys, "--extend-select", "K3", path)[1]) == ["K101", "K202"]
    info = write(tmp_path / "info.loss", "f K202\n")
    assert check(capsys, str(info))[0] == 1  # fail-on = "info" from the file
    assert check(capsys, "--fail-on", "warning", str(info))[0] == 0


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("kinks.toml", 'selct = ["K1"]\n', "kinks.toml: unknown key `selct`; did you mean `select`?"),
        (
            "pyproject.toml",
            '[tool.kinks]\nfail_on = "error"\n',
            "[tool.kinks]: unknown key `fail_on`; did you mean `fail-on`?",
        ),
        ("kinks.toml", "[lint]\nselect = []\n", "unknown key `lint`"),
        ("kinks.toml", 'select = "K1"\n', "`select` must be a list of strings, got 'K1'"),
        ("kinks.toml", "budget = -1\n", "`budget` must be a positive number of seconds, got -1"),
        ("kinks.toml", "budget = true\n", "`budget` must be a positive number of seconds"),
        (
            "kinks.toml",
            'fail-on = "never"\n',
            "`fail-on` must be one of 'info', 'warning', 'error', got 'never'",
        ),
        ("kinks.toml", 'output-format = "xml"\n', "`output-format` must be one of"),
        ("kinks.toml", 'force-exclude = "yes"\n', "`force-exclude` must be true or false"),
        ("kinks.toml", 'per-file-ignores = ["K1"]\n', "`per-file-ignores` must be a table"),
        (
            "kinks.toml",
            '[per-file-ignores]\n"tests/*" = ["K77"]\n',
            '`per-file-ignores`."tests/*": `K77` matches no rule code',
        ),
        ("kinks.toml", 'ignore = ["E002"]\n', "`E002` cannot be ignored"),
        ("kinks.toml", "select = [\n", "kinks.toml: invalid TOML:"),
        ("kinks.toml", "budget = 1\nbudget = 2\n", "(at line 2, column"),
    ],
)
def test_configuration_errors_exit_2_naming_file_and_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer, name: str, text: str, message: str
) -> None:
    write(tmp_path / name, text)
    path = write(tmp_path / "f.loss", "f K201\n")
    status, records, err = check(capsys, str(path))
    assert status == 2 and records == []
    assert message in err, err
    assert err.startswith("kinks: error: ") and str(tmp_path / name) in err
    assert stub.calls == []


def test_config_option_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer) -> None:
    path = str(write(tmp_path / "f.loss", "f\n"))
    status, _, err = check(capsys, "--config", str(tmp_path / "missing.toml"), path)
    assert status == 2 and "cannot read the configuration file" in err
    bare = write(tmp_path / "other" / "pyproject.toml", "[project]\nname = 'x'\n")
    status, _, err = check(capsys, "--config", str(bare), path)
    assert status == 2 and "there is no [tool.kinks] table" in err


# ---------------------------------------------------------------- what the settings do


def test_per_file_ignores(capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.kinks.per-file-ignores]\n"metrics/*.loss" = ["K0"]\n"legacy.loss" = ["ALL"]\n"!src/**" = ["K301"]\n',
    )
    for name in ("metrics/m.loss", "src/deep/legacy.loss", "src/ok.loss", "top.loss"):
        write(tmp_path / name, "f K001 K301 E001\n")
    _, records, _ = check(capsys, ".")
    by_file = {record["file"]: [finding["code"] for finding in record["findings"]] for record in records}
    assert by_file == {
        "metrics/m.loss": ["E001"],  # K0 by the glob, K301 since it is not under src/
        "src/deep/legacy.loss": ["E001"],  # ALL, but errors are always reported
        "src/ok.loss": ["K001", "K301", "E001"],
        "top.loss": ["K001", "E001"],
    }


def test_budget_and_output_format_from_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    write(tmp_path / "kinks.toml", 'budget = 7.5\noutput-format = "concise"\n')
    path = write(tmp_path / "f.loss", "f K201\n")
    assert cli.main(["check", "--no-cache", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}:1:1: K201 stub K201\nFound 1 diagnostic")
    assert stub.calls == [(str(path), 7.5)]
    cli.main(["check", "--no-cache", "--budget", "1", "--output-format", "json", str(path)])
    assert json.loads(capsys.readouterr().out)[0]["name"] == "f"
    assert stub.calls[-1] == (str(path), 1.0)


def test_default_exclusions_and_extend_exclude(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    for name in (
        "a.loss",
        ".venv/lib/b.loss",
        "node_modules/c.loss",
        "build/d.loss",
        "legacy/e.loss",
        "src/legacy/f.loss",
        "src/g.loss",
        "notes.txt",
    ):
        write(tmp_path / name, "f\n")
    check(capsys, ".")
    assert [path for path, _ in stub.calls] == ["a.loss", "legacy/e.loss", "src/g.loss", "src/legacy/f.loss"]
    stub.calls.clear()
    write(tmp_path / "kinks.toml", 'extend-exclude = ["legacy"]\n')
    check(capsys, ".")
    assert [path for path, _ in stub.calls] == ["a.loss", "src/g.loss"]
    stub.calls.clear()
    check(capsys, "--exclude", "src", ".")  # replaces the defaults: .venv is walked again
    assert [path for path, _ in stub.calls] == [
        ".venv/lib/b.loss",
        "a.loss",
        "build/d.loss",
        "node_modules/c.loss",
    ]


def test_gitignore_is_respected_inside_a_repository(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    for name in (
        "a.loss",
        "scratch/b.loss",
        "src/c.loss",
        "src/d.tmp.loss",
        "src/keep.tmp.loss",
        "src/deep/e.loss",
        "private.loss",
    ):
        write(tmp_path / name, "f\n")
    write(tmp_path / ".gitignore", "scratch/\n*.tmp.loss\n")
    write(tmp_path / "src" / ".gitignore", "!keep.tmp.loss\ndeep\n")
    write(tmp_path / ".git" / "info" / "exclude", "/private.loss\n")
    check(capsys, ".")
    assert [path for path, _ in stub.calls] == ["a.loss", "src/c.loss", "src/keep.tmp.loss"]
    stub.calls.clear()
    check(capsys, "scratch/b.loss", ".")  # named on the command line: checked whatever git says
    assert next(path for path, _ in stub.calls) == "scratch/b.loss"
    stub.calls.clear()
    check(capsys, "--no-respect-gitignore", ".")
    assert len(stub.calls) == 7
    stub.calls.clear()
    write(tmp_path / "kinks.toml", "respect-gitignore = false\n")
    check(capsys, ".")
    assert len(stub.calls) == 7


def test_gitignore_outside_a_repository_is_not_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    write(tmp_path / "a.loss", "f\n")
    write(tmp_path / ".gitignore", "a.loss\n")
    check(capsys, ".")
    assert [path for path, _ in stub.calls] == (
        ["a.loss"] if not any((parent / ".git").exists() for parent in tmp_path.parents) else []
    )


def test_include_patterns(capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer) -> None:
    for name in ("a.loss", "b.kinks", "sub/c.kinks", "d.txt"):
        write(tmp_path / name, "f\n")
    check(capsys, "--include", "*.loss,*.kinks", ".")
    assert [path for path, _ in stub.calls] == ["a.loss", "b.kinks", "sub/c.kinks"]


def test_force_exclude_applies_to_paths_named_explicitly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    write(tmp_path / "kinks.toml", 'extend-exclude = ["generated"]\n')
    named = str(write(tmp_path / "generated" / "x.loss", "f\n"))
    kept = str(write(tmp_path / "y.loss", "f\n"))
    check(capsys, named, kept)
    assert [path for path, _ in stub.calls] == [named, kept]  # named on the command line: checked
    stub.calls.clear()
    check(capsys, "--force-exclude", named, kept)  # what pre-commit runs
    assert [path for path, _ in stub.calls] == [kept]


def test_no_paths_means_the_current_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    write(tmp_path / "sub" / "a.loss", "f\n")
    check(capsys)
    assert [path for path, _ in stub.calls] == ["sub/a.loss"]


def test_errors_are_reported_whatever_the_selection(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    path = str(write(tmp_path / "f.loss", "f E001 E002 K201\n"))
    status, records, _ = check(capsys, "--select", "K201", "--fail-on", "error", path)
    assert (status, codes(records)) == (1, ["E001", "E002", "K201"])


def test_stdin_filename_names_standard_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "kinks.toml", '[per-file-ignores]\n"tests/*" = ["K2"]\n')
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"f K201 K101\n")))
    status, records, _ = check(capsys, "--stdin-filename", "tests/t.loss")
    assert status == 1
    assert [(record["file"], codes([record])) for record in records] == [("tests/t.loss", ["K101"])]


def test_exit_zero_quiet_and_output_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer
) -> None:
    path = str(write(tmp_path / "f.loss", "f K102\n"))
    assert cli.main(["check", "--no-cache", "--exit-zero", path]) == 0
    capsys.readouterr()
    assert cli.main(["check", "--no-cache", "-q", path]) == 1
    out = capsys.readouterr().out
    assert "K102" in out and "Found" not in out
    target = tmp_path / "reports" / "kinks.json"
    assert cli.main(["check", "--no-cache", "--output-format", "json", "-o", str(target), path]) == 1
    assert capsys.readouterr().out == ""
    assert json.loads(target.read_text(encoding="utf-8"))[0]["findings"][0]["code"] == "K102"


def test_cache_dir_from_the_file_is_relative_to_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "repo" / "kinks.toml", 'cache-dir = "var/cache"\n')
    path = write(tmp_path / "repo" / "f.loss", "f\n")
    monkeypatch.chdir(tmp_path)
    cli.main(["check", str(path)])
    assert (tmp_path / "repo" / "var" / "cache" / "CACHEDIR.TAG").is_file()
    assert not (tmp_path / DEFAULT_CACHE_DIR).exists()


def test_default_cache_dir_is_at_the_project_root(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stub: StubAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "repo" / "pyproject.toml", "[tool.kinks]\n")
    path = write(tmp_path / "repo" / "src" / "f.loss", "f\n")
    monkeypatch.chdir(tmp_path / "repo" / "src")
    cli.main(["check", "f.loss"])
    assert (tmp_path / "repo" / DEFAULT_CACHE_DIR / ".gitignore").read_text(encoding="utf-8").endswith("*\n")
    assert path.exists()


def test_unused_noqa_is_off_by_default_as_ruffs_rule() -> None:
    # ruff's RUF100: not in the default selection; ALL or naming it turns it on.
    assert DEFAULT_CODES == ALL_CODES - ERROR_CODES - {"K902"}
    assert "K902" not in enabled_codes([])
    assert "K902" in enabled_codes([layer(extend=("K902",))])
    assert "K902" in enabled_codes([layer(["ALL"])])
    assert "K904" in enabled_codes([])
