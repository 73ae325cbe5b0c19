"""The code's shape, read from the source with ``ast`` (nothing is imported): no import circle
among the modules of src/logger_app (imports under ``if TYPE_CHECKING:`` and inside functions
count too; a package's ``__init__`` is the package's module), each module in one room of
docs/architecture.md and importing only from the rooms it may, no module over 300 lines, and
neither bench/ nor harness/ importing tests/ (the two share harness/ instead)."""

import ast
import re
from collections.abc import Collection, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "src"
PACKAGE = "logger_app"
MAX_LINES = 300
ARCHITECTURE = REPO / "docs" / "architecture.md"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of `package` under `root`, by dotted name."""
    return {module_name(path, root): path for path in sorted((root / package).rglob("*.py"))}


def imported(
    tree: ast.Module, name: str, is_package: bool, known: Collection[str] = ()
) -> Iterator[tuple[str, int]]:
    """The module each import in `tree` depends on, with its line. ``from a import b`` depends
    on ``a.b`` when that is one of the `known` modules, else on ``a`` (b is a name in it)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative to this module's package (a package's __init__ is its own package).
                parts = name.split(".")
                base = parts if is_package else parts[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield (submodule if submodule in known else source), node.lineno


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports."""
    found = modules(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets = {
            target
            for target, _ in imported(tree, name, path.name == "__init__.py", found)
            if target in found and target != name
        }
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as its
    modules, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(sorted(component) for component in components)


def circle_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest circle from the component's first module back to itself (breadth first)."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph[node] & members):
                if successor == start:
                    return [*paths[node], start]
                if successor not in paths:
                    paths[successor] = [*paths[node], successor]
                    following.append(successor)
        frontier = following
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def test_no_import_circle_in_the_package() -> None:
    graph = import_graph(SOURCE, PACKAGE)
    found = circles(graph)
    assert not found, "import circles in src/logger_app:\n" + "\n".join(
        f"{', '.join(component)}: e.g. {' -> '.join(circle_through(graph, component))}"
        for component in found
    )


def rooms(markdown: str) -> tuple[dict[str, str], dict[str, set[str]]]:
    """From the table of docs/architecture.md: each module's room (dotted names without the
    package's, e.g. `auth.tokens`; the package itself is `logger_app`), and the rooms each room
    may import from (its own included)."""
    room_of: dict[str, str] = {}
    may_import: dict[str, set[str]] = {}
    for row in re.findall(r"^\|(.+)\|\s*$", markdown, re.MULTILINE):
        room, listed, allowed = (cell.strip() for cell in row.split("|"))
        if room in ("Room", "") or set(room) <= {"-"}:
            continue
        for module in re.findall(r"`([^`]+)`", listed):
            assert module not in room_of, f"{module} is in two rooms"
            room_of[module] = room
        may_import[room] = {room} | ({name.strip() for name in allowed.split(",")} - {"—"})
    return room_of, may_import


def short_name(module: str) -> str:
    """A module as docs/architecture.md names it: `auth.tokens`; the package is `logger_app`."""
    return module if module == PACKAGE else module.removeprefix(f"{PACKAGE}.")


def test_every_module_imports_only_from_the_rooms_its_room_may() -> None:
    room_of, may_import = rooms(ARCHITECTURE.read_text())
    graph = {
        short_name(module): {short_name(target) for target in targets}
        for module, targets in import_graph(SOURCE, PACKAGE).items()
    }
    assert set(graph) == set(room_of), (
        f"not in docs/architecture.md: {sorted(set(graph) - set(room_of))}; "
        f"named there but not a module: {sorted(set(room_of) - set(graph))}"
    )
    assert set().union(*may_import.values()) <= set(may_import), "a room allows no such room"
    upwards = sorted(
        f"{module} ({room_of[module]}) imports {target} ({room_of[target]})"
        for module, targets in graph.items()
        for target in targets
        if room_of[target] not in may_import[room_of[module]]
    )
    assert not upwards, "imports docs/architecture.md does not allow:\n" + "\n".join(upwards)


def test_no_module_over_the_line_limit() -> None:
    too_long = {
        str(path.relative_to(REPO)): lines
        for path in modules(SOURCE, PACKAGE).values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not too_long, f"modules over {MAX_LINES} lines: " + ", ".join(
        f"{path} ({lines})" for path, lines in sorted(too_long.items())
    )


def test_bench_and_harness_do_not_import_tests() -> None:
    offending = {
        f"{path.relative_to(REPO)}:{line} imports {target}"
        for package in ("bench", "harness")
        for name, path in modules(REPO, package).items()
        for target, line in imported(
            ast.parse(path.read_text(), filename=str(path)), name, path.name == "__init__.py"
        )
        if target == "tests" or target.startswith("tests.")
    }
    assert not offending, "\n".join(sorted(offending))


# The checks' own parsing, on a package made for the purpose.


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_circle_through_type_checking_and_relative_imports_is_found(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import thing\n",
            "pkg/b.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .sub import thing\n"
            ),
            "pkg/sub/__init__.py": "from .. import a\n",
            "pkg/sub/c.py": "",
            "pkg/d.py": "import pkg.a\n",
        },
    )
    graph = import_graph(tmp_path, "pkg")
    assert circles(graph) == [["pkg.a", "pkg.b", "pkg.sub"]]
    assert circle_through(graph, ["pkg.a", "pkg.b", "pkg.sub"]) == [
        "pkg.a",
        "pkg.b",
        "pkg.sub",
        "pkg.a",
    ]


def test_a_package_importing_its_own_modules_is_no_circle(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg import a\n",
            "pkg/a.py": "from pkg.b import thing\n",
            "pkg/b.py": "import os\n",
        },
    )
    assert circles(import_graph(tmp_path, "pkg")) == []


def test_the_rooms_table_is_read_as_written() -> None:
    table = """
| Room | Modules | May import |
|------|---------|------------|
| base | `logger_app`, `a` | — |
| top | `b.c` | base |
"""
    assert rooms(table) == (
        {"logger_app": "base", "a": "base", "b.c": "top"},
        {"base": {"base"}, "top": {"top", "base"}},
    )
