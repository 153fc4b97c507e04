"""The layers of src/survsim, read from the source with ``ast`` (nothing is imported).

cli -> experiments / report / dashboard -> models -> apparatus -> society -> engine:
never upward. The people never import the apparatus (they write evidence events, the
apparatus reads them), the engine imports nothing above it, and no module imports
itself through a circle of other modules (imports inside functions included; those
under ``if TYPE_CHECKING:`` run only for type checkers and are left out).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "survsim"

#: What each layer may import from survsim (besides itself and survsim.errors).
ALLOWED = {
    "engine": {"engine"},
    "society": {"engine", "society"},
    "apparatus": {"engine", "society", "apparatus"},
    "models": {"engine", "society", "apparatus", "models"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str) -> set[str]:
    """The survsim modules ``name`` imports (at any depth, TYPE_CHECKING blocks aside)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("survsim"):
                    found.add(_resolve(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.startswith("survsim"):
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    found.add(sub if sub in MODULES else _resolve(base))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(name)
    return found


def _resolve(dotted: str) -> str:
    while dotted not in MODULES and "." in dotted:
        dotted = dotted.rpartition(".")[0]
    return dotted


GRAPH = {name: _imports(name) for name in MODULES}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer):
    wrong = []
    for module, imported in sorted(GRAPH.items()):
        if _layer(module) != layer:
            continue
        for target in sorted(imported):
            if target == "survsim.errors":
                continue
            if _layer(target) not in ALLOWED[layer]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_itself_through_others():
    # Tarjan's strongly connected components: any component of two or more is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            connect(v)
    assert not circles, circles


def test_the_checker_sees_a_circle_and_an_upward_import():
    """Negative control: the graph and the layer test catch what they are meant to."""
    assert "survsim.engine.sim" in GRAPH["survsim.engine.modular"]
    assert "survsim.society.speech" in GRAPH["survsim.society.statements"]
    assert "survsim.apparatus.punishment" in GRAPH["survsim.apparatus.agencies"]
    assert _layer("survsim.apparatus.cases") not in ALLOWED["society"]
