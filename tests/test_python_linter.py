"""Issue 13: `kinks check` on Python files: the walk, every output format, exit statuses, the
cache, noqa, the pre-commit hook, and `kinks explain/plot/tf FILE.py`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from analyzer.cli import main as cli
from analyzer.lint.config import OUTPUT_FORMATS

TRAIN = """\
import torch
import torch.nn.functional as F
from keras import backend as K


def l1_loss(input, target):
    return torch.mean(torch.abs(input - target))


def accuracy_metric(y_true, y_pred):
    return K.mean(K.cast(K.equal(K.argmax(y_true), K.argmax(y_pred)), "float32"))


def smooth_loss(input, target):
    return torch.mean((input - target) ** 2)


def looped_loss(input, target):
    for _ in range(3):
        input = input * 2
    return input


def plain_helper(x):
    return torch.abs(x)
"""


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("FORCE_COLOR", "NO_COLOR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("KINKS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = cli.main(list(arguments))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRAIN, encoding="utf-8")
    (tmp_path / "src" / "losses.loss").write_text("mae(y, p) wrt p = mean(abs(y - p))\n", encoding="utf-8")
    (tmp_path / "src" / "ignored").mkdir()
    (tmp_path / "src" / "ignored" / "junk_loss.py").write_text("def junk_loss(x):\n    return abs(x)\n")
    (tmp_path / ".gitignore").write_text("src/ignored/\n")
    (tmp_path / ".git").mkdir()
    return tmp_path / "src"


def test_a_directory_of_python_and_loss_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = project(tmp_path)
    status, out, _ = run(capsys, "check", "--isolated", "--output-format", "json", str(src))
    records = json.loads(out)
    assert status == 1  # accuracy's zero gradient is an error
    assert [(Path(r["file"]).name, r["name"]) for r in records] == [
        ("losses.loss", "mae"),
        ("train.py", "l1_loss"),
        ("train.py", "accuracy_metric"),
        ("train.py", "smooth_loss"),
        ("train.py", "looped_loss"),
    ]
    by_name = {r["name"]: r for r in records}
    assert by_name["accuracy_metric"]["class"] == "zero-gradient"
    assert by_name["l1_loss"]["findings"][0]["span"] == {
        "line": 7,
        "column": 23,
        "end_line": 7,
        "end_column": 48,
    }
    assert by_name["looped_loss"]["class"] == "invalid"
    assert by_name["looped_loss"]["findings"][0]["code"] == "K903"


def test_include_chooses_the_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = project(tmp_path)
    _, out, _ = run(capsys, "check", "--isolated", "--include", "*.loss", "--output-format", "json", str(src))
    assert {Path(r["file"]).name for r in json.loads(out)} == {"losses.loss"}


def test_exit_status_follows_the_severities(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "ok.py"
    path.write_text(
        "import torch\ndef a_loss(x, y):\n    return torch.mean((x - y) ** 2)\n"
        "def b_loss(x):\n    while x:\n        x = x - 1\n    return x\n"
    )
    assert run(capsys, "check", "--isolated", str(path))[0] == 0  # K903 is info
    assert run(capsys, "check", "--isolated", "--fail-on", "info", str(path))[0] == 1
    bad = tmp_path / "bad.py"
    bad.write_text("def broken_loss(:\n")
    status, out, _ = run(capsys, "check", "--isolated", str(bad))
    assert status == 1 and "E001" in out
    assert run(capsys, "check", "--isolated", str(tmp_path / "missing.py"))[0] == 2


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_every_output_format(capsys: pytest.CaptureFixture[str], tmp_path: Path, output_format: str) -> None:
    src = project(tmp_path)
    status, out, _ = run(
        capsys, "check", "--isolated", "--output-format", output_format, str(src / "train.py")
    )
    assert status == 1
    assert "train.py" in out and "K001" in out
    if output_format == "json":
        assert {r["file"] for r in json.loads(out)} == {str(src / "train.py")}
    if output_format == "text":
        assert "  7 |     return torch.mean(torch.abs(input - target))" in out
    if output_format == "sarif":
        assert json.loads(out)["runs"][0]["results"]


def test_noqa_in_a_python_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        TRAIN.replace(
            "def accuracy_metric(y_true, y_pred):", "def accuracy_metric(y_true, y_pred):  # noqa: K001, K101"
        ).replace(
            "torch.mean(torch.abs(input - target))", "torch.mean(torch.abs(input - target))  # noqa: K201"
        )
    )
    status, out, _ = run(capsys, "check", "--isolated", "--output-format", "json", str(path))
    records = {r["name"]: r for r in json.loads(out)}
    assert status == 0
    assert records["l1_loss"]["findings"] == [] and records["accuracy_metric"]["findings"] == []


MAE_LOSS = (
    "import tensorflow as tf\n\ndef mae_loss(y_true, y_pred):{noqa}\n"
    "    return tf.reduce_mean(tf.abs(y_true - y_pred))\n"
)

# (the comment on the `def` line, the codes reported, the K904 message's tail)
MALFORMED_NOQA_CASES = [
    ("  # noqa K201", ["K201", "K904"], "missing `:` after `# noqa` (write `# noqa: CODE`)"),
    ("  # noqa:", ["K201", "K904"], "expected a code after `# noqa:`"),
    ("  # noqa: - fine", ["K201", "K904"], "expected a code after `# noqa:`"),
    ("  # noqa: K999, K201", ["K904"], "K999 is not a kinks code"),  # the known code still applies
    ("  # noqa E501", [], None),  # another tool's code without the colon: a bare noqa, as flake8 reads it
    ("  # noqa: E501", ["K201"], None),  # another tool's code: not ours to judge
    ("  # noqa: K201", [], None),
]


@pytest.mark.parametrize(("comment", "codes", "problem"), MALFORMED_NOQA_CASES)
def test_a_malformed_noqa_in_a_python_file_is_k904(
    comment: str, codes: list[str], problem: str | None
) -> None:
    from analyzer.analysis.python_api import analyze_python_text

    (report,) = analyze_python_text(MAE_LOSS.format(noqa=comment), "m.py")
    assert sorted(finding.code for finding in report.findings) == codes
    malformed = [finding for finding in report.findings if finding.code == "K904"]
    if problem is None:
        assert not malformed
    else:
        (finding,) = malformed
        assert problem in finding.message and finding.span.line == 3
        assert finding.span.column == len("def mae_loss(y_true, y_pred):  ") + 1


def test_the_cache_covers_python_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = project(tmp_path)
    first = run(capsys, "check", "--isolated", "--output-format", "json", str(src))
    status, out, err = run(capsys, "check", "--isolated", "--verbose", "--output-format", "json", str(src))
    assert (status, out) == first[:2]
    assert "2 from the cache, 0 analysed" in err
    # the python-functions setting changes what is analysed: no stale hit
    status, out, err = run(
        capsys,
        "check",
        "--isolated",
        "--verbose",
        "--python-functions",
        "plain_*",
        "--output-format",
        "json",
        str(src),
    )
    assert "1 from the cache, 1 analysed" in err
    assert "plain_helper" in {r["name"] for r in json.loads(out)}


def test_python_functions_from_the_configuration(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = project(tmp_path)
    (tmp_path / "kinks.toml").write_text('python-functions = ["plain_helper"]\n')
    _, out, _ = run(capsys, "check", "--no-cache", "--output-format", "json", str(src / "train.py"))
    assert "plain_helper" in {r["name"] for r in json.loads(out)}


def test_standard_input_named_as_a_python_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(TRAIN.encode())))
    _, out, _ = run(
        capsys,
        "check",
        "--isolated",
        "--no-cache",
        "--stdin-filename",
        "train.py",
        "--output-format",
        "json",
        "-",
    )
    assert [r["name"] for r in json.loads(out)][:1] == ["l1_loss"]


def test_the_pre_commit_hook_runs_on_python_files() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    import re

    assert re.search(hook["files"], "train.py") and re.search(hook["files"], "a.loss")
    assert not re.search(hook["files"], "notes.md")


def test_explain_plot_and_tf_on_a_python_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = project(tmp_path)
    status, out, _ = run(capsys, "explain", f"{src / 'train.py'}:l1_loss")
    assert status == 0 and "l1_loss" in out and "kink" in out
    status, out, _ = run(capsys, "explain", f"{src / 'train.py'}:plain_helper")  # named: analysed anyway
    assert status == 0 and "plain_helper" in out
    status, _, err = run(capsys, "explain", f"{src / 'train.py'}:nothing_here")
    assert status == 2 and "no definition named" in err
    pytest.importorskip("matplotlib")
    status, out, _ = run(capsys, "plot", f"{src / 'train.py'}:smooth_loss", "-o", str(tmp_path / "s.svg"))
    assert status == 0 and (tmp_path / "s.svg").is_file()
    status, out, err = run(capsys, "tf", str(src / "train.py"), "-o", str(tmp_path / "train_tf.py"))
    generated = (tmp_path / "train_tf.py").read_text()
    assert "def l1_loss(" in generated and "def smooth_loss(" in generated
    assert status == 1 and "looped_loss" not in generated and "K903" in err
