"""The import graph of `analyzer/`: its circles and its floors. `python benchmarks/import_graph.py`.

A node is a module of the package (a package counts as its `__init__`). There is an arrow from A to
B when A imports B anywhere in its text: at module level or lazily inside a function (a lazy import
is still an import: it only delays the circle), and `importlib.import_module("analyzer.x")` or a
string naming a module in a tuple of module names (as the CLI lists its subcommands) counts too.
Imports guarded by `if TYPE_CHECKING:` do not run and are left out. The implicit import of a parent
package (`import analyzer.a.b` runs `analyzer/a/__init__.py`) is left out as well, as import linters
do, since a package's `__init__` re-exporting its API would otherwise close a circle with everything.

Printed: the modules and arrows, the circles (strongly connected components of more than one
module), the floors (modules on the longest path of the graph with each circle taken as one node)
and the arrows that run back up (arrows inside a circle). `--json` prints the same as JSON;
`--edges` lists every arrow; `--floors` prints the modules floor by floor.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

PACKAGE = "analyzer"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE
_MODULE_STRING = re.compile(rf"^{PACKAGE}(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that `name` is or lies inside (`analyzer.analysis.report.Finding` ->
    report)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                targets.add(candidate if candidate in known else base)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _MODULE_STRING.match(node.value)
        ):
            targets.add(node.value)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    resolved = {_resolve(target, known) for target in targets if target.split(".")[0] == PACKAGE}
    resolved.discard(None)
    resolved.discard(module)
    return resolved  # type: ignore[return-value]


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    known = modules(root)
    return {module: imports_of(module, path, known) for module, path in known.items()}


def components(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
    return result


def measure(edges: dict[str, set[str]]) -> dict[str, object]:
    parts = components(edges)
    owner = {module: i for i, part in enumerate(parts) for module in part}
    condensed: dict[int, set[int]] = {i: set() for i in range(len(parts))}
    for module, targets in edges.items():
        for target in targets:
            if owner[module] != owner[target]:
                condensed[owner[module]].add(owner[target])
    # Floor 1 imports nothing of the package; a node's floor is one above the highest it imports.
    # Tarjan emits components in reverse topological order, so the imported come first.
    floor: dict[int, int] = {}
    for i in range(len(parts)):
        floor[i] = 1 + max((floor[j] for j in condensed[i]), default=0)
    circles = [part for part in parts if len(part) > 1]
    back = sorted(
        (a, b)
        for a, targets in edges.items()
        for b in targets
        if owner[a] == owner[b] and len(parts[owner[a]]) > 1
    )
    floors: dict[int, list[str]] = {}
    for i, part in enumerate(parts):
        floors.setdefault(floor[i], []).extend(part)
    return {
        "modules": len(edges),
        "arrows": sum(len(targets) for targets in edges.values()),
        "circles": circles,
        "arrows_in_circles": back,
        "floors": max(floor.values(), default=0),
        "by_floor": {level: sorted(names) for level, names in sorted(floors.items())},
    }


# The direction of the folders (docs/architecture.md): a module may import its own folder and the
# folders before it; lint, tensorflow and plotting are side by side and do not import each other.
FOLDER_ORDER = ("language", "atoms", "analysis", "lint|tensorflow|plotting", "cli")


def _rank(module: str) -> tuple[int, str] | None:
    parts = module.split(".")
    folder = (
        parts[1]
        if len(parts) > 2 or (len(parts) == 2 and not module.endswith(("_version", "__main__")))
        else None
    )
    for rank, names in enumerate(FOLDER_ORDER):
        if folder in names.split("|"):
            return rank, folder
    return None  # the package's __init__, __main__, _version: outside the layers


def against_folders(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    against = []
    for a, targets in edges.items():
        for b in targets:
            ra, rb = _rank(a), _rank(b)
            if ra is None or rb is None or ra[1] == rb[1]:
                continue
            if rb[0] > ra[0] or rb[0] == ra[0]:
                against.append((a, b))
    return sorted(against)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--edges", action="store_true")
    parser.add_argument("--floors", action="store_true")
    parser.add_argument("--folders", action="store_true", help="arrows that run against the folders' order")
    options = parser.parse_args(argv)
    edges = graph()
    result = measure(edges)
    if options.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"modules: {result['modules']}, arrows: {result['arrows']}")
    print(f"circles: {len(result['circles'])}")  # type: ignore[arg-type]
    for circle in result["circles"]:  # type: ignore[union-attr]
        print("  " + " <-> ".join(circle))
    print(f"arrows inside circles: {len(result['arrows_in_circles'])}")  # type: ignore[arg-type]
    for a, b in result["arrows_in_circles"]:  # type: ignore[union-attr]
        print(f"  {a} -> {b}")
    print(f"floors: {result['floors']}")
    if options.floors:
        for level, names in result["by_floor"].items():  # type: ignore[union-attr]
            print(f"  {level:2d}: {', '.join(names)}")
    if options.folders:
        against = against_folders(edges)
        print(f"arrows against the folders' order ({' -> '.join(FOLDER_ORDER)}): {len(against)}")
        for a, b in against:
            print(f"  {a} -> {b}")
    if options.edges:
        for module in sorted(edges):
            for target in sorted(edges[module]):
                print(f"{module} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
