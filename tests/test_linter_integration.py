"""What a repository wires up: the pre-commit hook and the GitHub Actions workflow of docs/linter.md.

The hook's `entry` is run the way pre-commit runs it (the staged files appended), and every
`kinks` command in the documented workflow must parse with the real command-line parser.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from analyzer.cli import main as cli

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("FORCE_COLOR", "NO_COLOR", "KINKS_DEBUG"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("KINKS_CACHE_DIR", str(tmp_path / "cache"))


def hook() -> dict:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(hooks, list) and len(hooks) == 1
    return hooks[0]


def test_the_hook_has_what_pre_commit_requires() -> None:
    entry = hook()
    assert {"id", "name", "entry", "language"} <= set(entry)
    assert entry["id"] == "kinks" and entry["language"] == "python"
    assert re.search(entry["files"], "losses/regression.loss")
    assert re.search(entry["files"], "losses/train.py")  # issue 13: the loss functions of Python files
    assert not re.search(entry["files"], "losses/notes.md")
    assert shlex.split(entry["entry"])[:2] == ["kinks", "check"]


def test_the_hook_entry_runs_on_staged_files_and_respects_exclusions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("pyproject.toml").write_text('[tool.kinks]\nextend-exclude = ["generated"]\n', encoding="utf-8")
    Path("generated").mkdir()
    Path("generated/broken.loss").write_text("broken(x = \n", encoding="utf-8")
    Path("good.loss").write_text("mse(y, p) wrt p = mean((y - p)^2)\n", encoding="utf-8")
    arguments = shlex.split(hook()["entry"])[1:]
    staged = ["good.loss", "generated/broken.loss"]  # what pre-commit appends
    assert cli.main([*arguments, *staged]) == 0
    assert capsys.readouterr().out == "All checks passed! (1 definition, 1 file)\n"
    Path("good.loss").write_text("accuracy(y, p) wrt p = mean(argmax(p) == argmax(y))\n", encoding="utf-8")
    assert cli.main([*arguments, "--output-format", "json", *staged]) == 1
    assert [record["file"] for record in json.loads(capsys.readouterr().out)] == ["good.loss"]


def documented_workflow() -> dict:
    text = (REPO / "docs" / "linter.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(# \.github/workflows/.*?)```", text, re.DOTALL)
    assert len(blocks) == 1
    return yaml.safe_load(blocks[0])


def test_the_documented_workflow_runs_real_kinks_commands() -> None:
    workflow = documented_workflow()
    steps = workflow["jobs"]["kinks"]["steps"]
    commands = [step["run"] for step in steps if "run" in step and step["run"].startswith("kinks ")]
    formats = set()
    parser = cli._build_parser()
    for command in commands:
        arguments = parser.parse_args(shlex.split(command)[1:])
        formats.add(arguments.output_format)
    assert formats == {"github", "sarif", "junit"}
    uploads = [step for step in steps if step.get("uses", "").startswith("github/codeql-action/upload-sarif")]
    assert uploads and uploads[0]["with"]["sarif_file"] == "kinks.sarif"


def test_the_documented_configuration_is_valid(tmp_path: Path) -> None:
    from analyzer.lint.config import load_config

    text = (REPO / "docs" / "linter.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```toml\n(\[tool\.kinks\].*?)```", text, re.DOTALL)
    path = tmp_path / "pyproject.toml"
    path.write_text(block, encoding="utf-8")
    config = load_config(path)
    assert set(config.values) >= {"select", "ignore", "fail-on", "budget", "per-file-ignores", "cache-dir"}
