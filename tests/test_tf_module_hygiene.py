"""The generated module's small promises (issue 14, item 7): docstrings of variants cite the input's
line, no absolute path in the header, clean under `ruff check` and `ruff format --check` with ruff's
defaults."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from analyzer import to_tensorflow
from analyzer.cli.main import main

FILES = [*sorted((ROOT / "examples").glob("*.loss")), ROOT / "tests" / "fixtures" / "tf_safety.loss"]


@pytest.mark.parametrize("mode", ["smooth", "ste"])
def test_docstrings_of_variants_cite_the_line_of_the_input(mode: str) -> None:
    path = ROOT / "examples" / "classification.loss"
    code = to_tensorflow(path.read_text(encoding="utf-8"), "classification.loss", mode=mode)
    assert '"""accuracy(y, p) wrt p: ' in code
    assert "line 32 of the source." in code.split('"""accuracy(y, p) wrt p: ')[1].split("\n")[0]


def test_failures_of_a_variant_are_reported_at_the_line_of_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.loss"
    path.write_text("f(x) = relu(x)\ng(x) = nope(x)\n", encoding="utf-8")
    assert main(["tf", "--smooth", str(path)]) == 1
    assert f"{path}:2:8: E002 undefined function `nope`" in capsys.readouterr().err


def test_no_absolute_path_in_the_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "losses"
    folder.mkdir()
    (folder / "mine.loss").write_text("f(x) = relu(x)\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["tf", str(folder / "mine.loss")]) == 0
    header = "\n".join(capsys.readouterr().out.splitlines()[:2])
    assert str(tmp_path) not in header and f"from losses{os.sep}mine.loss." in header
    monkeypatch.chdir(ROOT)  # outside the working directory: the file's name only
    assert main(["tf", str(folder / "mine.loss")]) == 0
    header = "\n".join(capsys.readouterr().out.splitlines()[:2])
    assert str(tmp_path) not in header and "from mine.loss." in header


def _ruff() -> list[str]:
    found = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed (it is in the test extra)")
    return [found]


def test_generated_modules_are_clean_under_ruff_defaults(tmp_path: Path) -> None:
    ruff = _ruff()
    odd = (
        "loss10(y, p) wrt p = mean((y - p)^2)\nloss2(y, p) wrt p = mean(abs(y - p))\n"
        "very_long_definition_name_for_the_wrapping_of_lines(y, p) wrt p = mean(log(cosh(p - y)) + "
        "sqrt(relu(p)) + sparse_plus(2 * p) + celu(p, 2) + huber(y - p, 0.5) + softplus(p * y - 3))\n"
    )
    sources = [(path.stem, path.read_text(encoding="utf-8")) for path in FILES] + [("odd", odd)]
    for stem, text in sources:
        for mode in ("plain", "smooth", "ste"):
            (tmp_path / f"{stem}_{mode}.py").write_text(
                to_tensorflow(text, f"{stem}.loss", mode=mode), encoding="utf-8"
            )
    for command in (
        ["check", "--isolated", "--no-cache", "."],
        ["format", "--isolated", "--no-cache", "--check", "."],
    ):
        done = subprocess.run([*ruff, *command], cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_named_constants_stay_names_at_module_level() -> None:
    code = to_tensorflow(
        (ROOT / "examples" / "classification.loss").read_text(encoding="utf-8"), "classification.loss"
    )
    assert "\nLABEL_SMOOTHING = 0.1\nNUM_CLASSES = 10\n" in code
    assert "    label_smoothing = _as_dtype(LABEL_SMOOTHING, z.dtype)\n" in code
    assert "label_smoothing / num_classes" in code and "0.01" not in code
    # a constant that must be a number where it is used falls back to its value
    fallback = to_tensorflow("k = 3\nf(y, z) wrt z = sum(one_hot(y, k) * z)\n", "f.loss")
    assert "def f(y, z):" in fallback
