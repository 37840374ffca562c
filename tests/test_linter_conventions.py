"""ruff's conventions in `kinks check` (issue 17): --statistics, --add-noqa, --show-settings,
--show-files, -s/--silent, bare `kinks`, a subcommand's own usage, NO_COLOR/FORCE_COLOR, standard
input for `explain` and `verify`, `extend` and `extend-per-file-ignores` in the configuration.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from analyzer.cli import check as check_command
from analyzer.cli import main as cli


@pytest.fixture(autouse=True)
def plain(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("FORCE_COLOR", "NO_COLOR", "KINKS_CACHE_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    Path("a.loss").write_text("f(x) = abs(x)\ng(x) = 1/x\nh(x) = abs(x - 1)\n", encoding="utf-8")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_statistics_count_each_code(capsys) -> None:
    status, out, _ = run(capsys, "check", "--isolated", "--no-cache", "--statistics", ".")
    assert status == 1
    assert out.splitlines() == ["2\tK201\tkink", "1\tK102\tsingularity"]


def test_silent_prints_nothing_but_keeps_the_status(capsys) -> None:
    assert run(capsys, "check", "--isolated", "--no-cache", "-s", ".") == (1, "", "")


def test_show_files_and_show_settings(capsys) -> None:
    Path("sub").mkdir()
    Path("sub/b.loss").write_text("k(x) = x\n", encoding="utf-8")
    assert run(capsys, "check", "--isolated", "--show-files", ".") == (0, "a.loss\nsub/b.loss\n", "")
    status, out, _ = run(capsys, "check", "--isolated", "--ignore", "K201", "--show-settings")
    assert status == 0 and "fail-on: warning" in out
    select = next(line for line in out.splitlines() if line.startswith("select: "))
    assert "K201" not in select and "K902" not in select and "K102" in select


def test_add_noqa_silences_what_is_reported(capsys) -> None:
    Path("a.loss").write_text("f(x) = abs(x)  # noqa: K102\ng(x) = x^2\n", encoding="utf-8")
    status, _, err = run(capsys, "check", "--isolated", "--no-cache", "--add-noqa", ".")
    assert status == 0 and "Added 1 noqa directive." in err
    assert Path("a.loss").read_text(encoding="utf-8") == "f(x) = abs(x)  # noqa: K102, K201\ng(x) = x^2\n"
    assert run(capsys, "check", "--isolated", "--no-cache", ".")[0] == 0


def test_bare_kinks_prints_the_help(capsys) -> None:
    status, out, err = run(capsys)
    assert (
        status == 2 and out == "" and err.startswith("usage: kinks") and "check" in err and "commands:" in err
    )


def test_an_unknown_option_of_check_prints_checks_usage(capsys) -> None:
    status, _, err = run(capsys, "check", "--no-such-option", ".")
    assert status == 2
    assert err.startswith("usage: kinks check") and "unrecognized arguments: --no-such-option" in err


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, False),
        ({"NO_COLOR": "1"}, False),
        ({"NO_COLOR": ""}, False),
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": ""}, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": ""}, True),
    ],
)
def test_no_color_and_force_color(monkeypatch, environment, expected) -> None:
    # no-color.org: NO_COLOR present and not empty turns colour off; FORCE_COLOR present and not
    # empty turns it on, also when standard output is not a terminal.
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert check_command.use_color(io.StringIO()) is expected


def test_no_color_wins_on_a_terminal(monkeypatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert check_command.use_color(Terminal()) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert check_command.use_color(Terminal()) is False


def test_explain_reads_standard_input(capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"f(x) = abs(x)\n")))
    status, out, _ = run(capsys, "explain", "-")
    assert status == 0 and out.startswith("-:1: f") and "kink" in out


def test_verify_takes_standard_input_as_a_path() -> None:
    from analyzer.cli.tf import _loss_files

    assert _loss_files(["-"]) == ["-"]


def test_extend_and_extend_per_file_ignores(capsys) -> None:
    Path("base.toml").write_text(
        'ignore = ["K102"]\nfail-on = "info"\n[per-file-ignores]\n"a.loss" = ["K301"]\n', encoding="utf-8"
    )
    Path("kinks.toml").write_text(
        'extend = "base.toml"\n[extend-per-file-ignores]\n"a.loss" = ["K201"]\n', encoding="utf-8"
    )
    status, out, _ = run(capsys, "check", "--no-cache", "--output-format", "concise", "a.loss")
    assert status == 0 and "K102" not in out and "K201" not in out  # fail-on info: nothing is left
    # this file's selection is a layer above the base's
    Path("kinks.toml").write_text('extend = "base.toml"\nextend-select = ["K102"]\n', encoding="utf-8")
    status, out, _ = run(capsys, "check", "--no-cache", "--output-format", "concise", "a.loss")
    assert status == 1 and "K102" in out and "K201" in out
    Path("base.toml").write_text('extend = "kinks.toml"\n', encoding="utf-8")
    status, _, err = run(capsys, "check", "--no-cache", "a.loss")
    assert status == 2 and "`extend` makes a circle" in err


def test_the_github_action_runs_kinks_and_uploads_sarif() -> None:
    import shlex

    import yaml

    action = yaml.safe_load(
        (Path(__file__).resolve().parent.parent / "action.yml").read_text(encoding="utf-8")
    )
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert all("shell" in step for step in steps if "run" in step)  # a composite action's run steps need one
    parser = cli._build_parser()
    formats = []
    for step in steps:
        for line in step.get("run", "").splitlines():
            if line.startswith("kinks "):
                words = ["value" if word.startswith("$") else word for word in shlex.split(line)[1:]]
                arguments = parser.parse_args(words)
                formats.append(arguments.output_format)
    assert formats == ["github", "sarif"]
    upload = next(
        step for step in steps if step.get("uses", "").startswith("github/codeql-action/upload-sarif")
    )
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    # Inputs reach the shell through the environment, never pasted into the script.
    assert all("${{" not in step.get("run", "") for step in steps)
    assert steps[-1]["run"].startswith("exit ")


def test_the_documented_use_of_the_action_names_its_inputs() -> None:
    import re

    import yaml

    repo = Path(__file__).resolve().parent.parent
    action = yaml.safe_load((repo / "action.yml").read_text(encoding="utf-8"))
    text = (repo / "docs" / "linter.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```yaml\n(# with the action.*?)```", text, re.DOTALL)
    step = next(step for step in yaml.safe_load(block)["jobs"]["kinks"]["steps"] if "with" in step)
    mentioned = set(step["with"]) | set(re.findall(r"# (\S+):", block))
    assert mentioned == set(action["inputs"])
