"""Time per function of `kinks check` on Python files (issue 13): the fixture modules of
tests/fixtures/python_losses, translated and analysed as `kinks check` does (SymPy's cache emptied
per file), best of a few runs. `python benchmarks/python_files.py [--runs N]`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures" / "python_losses"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    from sympy.core.cache import clear_cache

    from analyzer.analysis.python_api import analyze_python_text
    from analyzer.atoms import table as atoms
    from analyzer.language.python_source import translate_module

    globs = tomllib.loads((FIXTURES / "kinks.toml").read_text())["python-functions"]
    files = sorted(FIXTURES.glob("*.py"))
    texts = {path: path.read_text(encoding="utf-8") for path in files}
    best_total = best_translate = float("inf")
    functions = translated = 0
    for _ in range(arguments.runs):
        total = translate = 0.0
        functions = translated = 0
        for path, text in texts.items():
            clear_cache()
            started = time.perf_counter()
            module = translate_module(
                text,
                str(path),
                is_function=lambda name: atoms.lookup(name) is not None,
                python_functions=globs,
            )
            translate += time.perf_counter() - started
            clear_cache()
            started = time.perf_counter()
            reports = analyze_python_text(text, str(path), python_functions=globs)
            total += time.perf_counter() - started
            functions += len(reports)
            translated += sum(1 for function in module.functions if function.definition is not None)
        best_total, best_translate = min(best_total, total), min(best_translate, translate)
    print(f"{functions} functions in {len(files)} files, {translated} translated")
    print(f"translation alone: {1000 * best_translate / functions:.2f} ms per function")
    print(
        f"translation and analysis: {1000 * best_total / functions:.1f} ms per function "
        f"({best_total:.2f} s in all, best of {arguments.runs})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
