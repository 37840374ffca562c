"""Write a repository-like tree of `.loss` files for timing `kinks check` on many definitions.

    python benchmarks/make_tree.py /tmp/tree                      # 1,000 definitions, 100 files
    python benchmarks/make_tree.py /tmp/tree --definitions 5000 --per-file 25
    time kinks check --no-cache /tmp/tree > /dev/null             # a first run
    time kinks check /tmp/tree > /dev/null                        # then a cached one

The files are spread over nested directories (`team_3/losses_042.loss`, with a `.venv` that the
default exclusions must skip), each one a seeded corpus of `benchmarks/corpus.py`, so the mix of
definitions is that of `examples/`. The same arguments always write the same tree.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

# The sibling generator benchmarks/corpus.py, importable once this folder is on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import corpus


def make_tree(root: Path, definitions: int = 1000, per_file: int = 10, seed: int = 0) -> list[Path]:
    """Write the tree under `root` (emptied first) and return the files in the order written."""
    if definitions < 1 or per_file < 1:
        raise ValueError("definitions and per_file must be positive")
    if root.exists():
        shutil.rmtree(root)
    files: list[Path] = []
    remaining = definitions
    index = 0
    while remaining > 0:
        count = min(per_file, remaining)
        path = root / f"team_{index % 10}" / f"losses_{index:03d}.loss"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(corpus(count, seed=seed * 100_003 + index), encoding="utf-8")
        files.append(path)
        remaining -= count
        index += 1
    # Something a walk must not enter: a virtual environment with a .loss file inside.
    ignored = root / ".venv" / "lib" / "vendored.loss"
    ignored.parent.mkdir(parents=True)
    ignored.write_text("broken(x = \n", encoding="utf-8")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="the directory to write (it is emptied first)")
    parser.add_argument(
        "--definitions", type=int, default=1000, help="how many definitions in all (default 1000)"
    )
    parser.add_argument("--per-file", type=int, default=10, help="definitions per file (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    files = make_tree(arguments.root, arguments.definitions, arguments.per_file, arguments.seed)
    print(f"wrote {arguments.definitions} definitions in {len(files)} files under {arguments.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
