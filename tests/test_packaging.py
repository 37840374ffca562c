"""The grammar lives at the top-level grammar/; an installed wheel must carry it and find it.

Builds the wheel, installs it (without dependencies: they come from the running environment) into
a fresh virtual environment, and analyzes an expression from a directory outside the checkout.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(ROOT)],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("kinks-*.whl")
    return built


def test_the_wheel_carries_the_grammar(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "analyzer/_grammar/loss.lark" in names
        packaged = archive.read("analyzer/_grammar/loss.lark")
    assert packaged == (ROOT / "grammar" / "loss.lark").read_bytes()
    assert "analyzer/py.typed" in names


def test_an_installed_wheel_finds_its_grammar(wheel: Path, tmp_path: Path):
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    # The fresh environment sees the running one's packages (sympy, lark, numpy) but not the
    # checkout: kinks itself comes only from the wheel. A .pth line puts a directory on the path
    # without reading the .pth files in it, so an editable install of kinks there stays unseen.
    # (`system_site_packages` would give the base interpreter's packages, not this virtualenv's.)
    fresh = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    running = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (Path(fresh) / "running_environment.pth").write_text("".join(f"{path}\n" for path in sorted(running)))
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--force-reinstall", "--quiet", str(wheel)],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    probe = (
        "import analyzer, analyzer.language.grammar as g; "
        "print(analyzer.__file__); print(g.grammar_text()[:1] != ''); "
        "print(analyzer.analyze('abs(x)').classification)"
    )
    run = subprocess.run(
        [str(python), "-c", probe], check=False, capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert run.returncode == 0, run.stderr
    location, found, verdict = run.stdout.split()
    assert str(environment) in location, f"imported {location}, not the installed wheel"
    assert found == "True" and verdict == "piecewise-differentiable"
