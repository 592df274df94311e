"""The package's structure stays true: the command line on top, and no import circles.

Every module of the installed package is parsed (never imported) and every
import statement in it is read, those inside functions too, since an import
placed in a function is how a circle hides.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

PACKAGES = ("tinygrad_edu", "tinygrad_edu.cli", "tinygrad_edu.viz", "tinygrad_edu.demos")
COMMAND_LINE = "tinygrad_edu.cli"
# On top of the library, like the command line: they may import it, never the other way.
APPLICATIONS = ("tinygrad_edu.cli", "tinygrad_edu.demos", "tinygrad_edu.__main__")


def package_modules() -> dict[str, Path]:
    """Every module of the package (viz and demos too, wherever setup.cfg maps them), by name."""
    modules = {}
    for package in PACKAGES:
        folder = Path(importlib.util.find_spec(package).submodule_search_locations[0])
        for path in folder.glob("*.py"):
            modules[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's own modules that `name` imports, anywhere in its code."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            # `from tinygrad_edu import engine` imports a module; `import Value` a name.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in known and target != name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def is_application(name: str) -> bool:
    return any(name == top or name.startswith(top + ".") for top in APPLICATIONS)


def test_the_package_has_every_layer():
    graph = import_graph()
    for name in ("tinygrad_edu.engine", "tinygrad_edu.nn", "tinygrad_edu.viz.dot",
                 "tinygrad_edu.viz.walkthrough", "tinygrad_edu.cli.render",
                 "tinygrad_edu.cli.train", "tinygrad_edu.demos.two_paths"):
        assert name in graph


def test_no_library_module_imports_the_command_line():
    offenders = {name: sorted(target for target in targets if target.startswith(COMMAND_LINE))
                 for name, targets in import_graph().items() if not is_application(name)}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_demo_imports_the_command_line():
    # The demos sit beside the command line: they share tinygrad_edu.demos.arguments.
    offenders = {name: sorted(target for target in targets if target.startswith(COMMAND_LINE))
                 for name, targets in import_graph().items()
                 if name.startswith("tinygrad_edu.demos")}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_drawing_core_imports_only_the_engine_and_the_shared_checks():
    graph = import_graph()
    for name in ("tinygrad_edu.viz.dot", "tinygrad_edu.viz.labels", "tinygrad_edu.viz.clusters",
                 "tinygrad_edu.viz.walkthrough"):
        outside = {target for target in graph[name]
                   if not target.startswith("tinygrad_edu.viz")}
        assert outside <= {"tinygrad_edu.engine", "tinygrad_edu.checks"}, (name, outside)


def test_the_engine_imports_nothing_above_it():
    assert import_graph()["tinygrad_edu.engine"] <= {"tinygrad_edu.checks"}


def test_there_are_no_import_circles():
    graph = import_graph()
    circles = []
    # Depth-first search from every module, with an explicit stack of paths.
    for start in sorted(graph):
        stack = [[start]]
        while stack:
            path = stack.pop()
            for target in sorted(graph[path[-1]]):
                if target == start:
                    circles.append(" -> ".join(path + [start]))
                elif target not in path and target > start:  # each circle once, from its least
                    stack.append(path + [target])
    assert circles == []


def test_the_finder_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from tinygrad_edu.cli import main\n", encoding="utf-8")
    assert imports_of("tinygrad_edu.m", module, {"tinygrad_edu.cli"}) == {"tinygrad_edu.cli"}
