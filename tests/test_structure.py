"""The package's shape: dependencies point one way, and every file fits in a reader's head.

The import graph is read from the source with ``ast``, function-level imports included
(imports under ``if TYPE_CHECKING:`` are for type checkers only and do not count).
"""

from __future__ import annotations

import ast
from pathlib import Path

import barenet

ROOT = Path(barenet.__file__).resolve().parent
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = ("barenet", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The barenet modules ``path`` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    blocks = [node for node in ast.walk(tree) if is_type_checking_block(node)]
    skipped = {id(child) for block in blocks for child in ast.walk(block)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target in modules:
                found.add(target)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(ROOT.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, modules) for path in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def package_of(module: str, packages: set[str]) -> str:
    """The package a module belongs to: itself for a package (its ``__init__``) and for a
    module at the top of ``barenet`` (``barenet.optim`` is a part of its own), else the package
    that holds it (``barenet.runs.config`` -> ``barenet.runs``)."""
    parent = module.rpartition(".")[0]
    if module in packages or parent == "barenet":
        return module
    return parent


def package_graph(graph: dict[str, set[str]], packages: set[str]) -> dict[str, set[str]]:
    """The import graph between packages: an edge wherever a module of one imports a module
    of another (a package importing its own modules is no edge)."""
    edges: dict[str, set[str]] = {}
    for source, targets in graph.items():
        owner = package_of(source, packages)
        imported = {package_of(target, packages) for target in targets}
        edges.setdefault(owner, set()).update(imported - {owner})
    return edges


def packages_of_barenet() -> set[str]:
    return {module_name(path) for path in ROOT.rglob("__init__.py")}


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert "barenet.model.sequential" in graph["barenet.model.files"]  # the graph is really read
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_two_packages_import_each_other():
    """Every package and subpackage (cli, runs, serve, sweep, model, layers, ...) as one node,
    runtime and function-level imports alike, no exemptions."""
    packages = packages_of_barenet()
    assert {"barenet.cli", "barenet.runs", "barenet.serve", "barenet.sweep", "barenet.layers"} <= packages
    edges = package_graph(import_graph(), packages)
    assert "barenet.runs" in edges["barenet.cli"]  # the graph is really read
    cycle = find_cycle(edges)
    assert cycle is None, "packages importing each other: " + " -> ".join(cycle)


def test_the_package_graph_catches_a_loop_that_no_module_cycle_shows():
    """``a.x`` imports ``b.y`` and ``b.z`` imports ``a.w``: no module cycle, a package loop."""
    graph = {"barenet.a.x": {"barenet.b.y"}, "barenet.b.z": {"barenet.a.w"}, "barenet.a.w": set(),
             "barenet.b.y": set(), "barenet.a": {"barenet.a.x"}, "barenet.b": set()}
    packages = {"barenet.a", "barenet.b"}
    assert find_cycle(graph) is None
    edges = package_graph(graph, packages)
    assert edges == {"barenet.a": {"barenet.b"}, "barenet.b": {"barenet.a"}}
    assert find_cycle(edges) == ["barenet.a", "barenet.b", "barenet.a"]
    assert package_of("barenet.optim", packages) == "barenet.optim"


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_library_never_imports_the_command_line_or_the_optional_parts():
    graph = import_graph()
    on_top = ("barenet.cli", "barenet.serve", "barenet.sweep", "barenet.sklearn")
    for name, targets in graph.items():
        if name.startswith(on_top) or name == "barenet.__main__":
            continue
        wrong = sorted(target for target in targets if target.startswith(on_top))
        assert not wrong, f"{name} imports {wrong}"


def test_serve_and_sweep_never_import_the_command_line():
    """The command line registers serve and sweep; they declare their own options."""
    graph = import_graph()
    for name, targets in graph.items():
        if not name.startswith(("barenet.serve", "barenet.sweep")):
            continue
        wrong = sorted(target for target in targets if target.startswith("barenet.cli"))
        assert not wrong, f"{name} imports {wrong}"


def test_no_source_file_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): count
        for path in ROOT.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"files over {MAX_LINES} lines: {long}"
