"""The project's shape, read from its source with `ast` (nothing is imported):

- no import cycle between modules (backend, and each room built on it), counting imports inside
  functions too (an import moved into a function hides a cycle from Python, not from the design);
- backend knows nothing of Flask, Rasa or the rooms built on it (webhook, console, adminapi, actions);
- no `_private` name of one module is used by another (make it public or move it).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["backend", "webhook", "console", "adminapi", "actions", "nlu", "scripts", "conversation_store"]
FORBIDDEN = {"flask", "flask_wtf", "werkzeug", "rasa", "rasa_sdk", "webhook", "console", "adminapi", "actions"}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in (p for top in PACKAGES for p in (ROOT / top).rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        if "versions" in rel.parts:  # migrations: never edited, not part of the graph
            continue
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The backend module a dotted name lives in (the longest prefix that is a module)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path):
    """(imported module or name's module, name or None, line, external top-level) for every import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                yield target, alias.name, node.lineno


def _graph():
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    private: list[str] = []
    forbidden: list[str] = []
    for module, path in MODULES.items():
        # names bound to other backend modules: `from backend.x import y` where y is a module
        module_aliases: dict[str, str] = {}
        for target, name, line in _imports(module, path):
            if module.startswith("backend") and target.split(".")[0] in FORBIDDEN:
                forbidden.append(f"{module}:{line} imports {target}")
                continue
            full = f"{target}.{name}" if name and f"{target}.{name}" in MODULES else target
            owner = _owner(full)
            if owner is None or owner == module:
                continue
            edges[module].add(owner)
            if full == owner and name:
                module_aliases[name] = owner
            if name and full == target and name.startswith("_"):
                private.append(f"{module}:{line} imports {name} from {owner}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.asname and alias.name in module_aliases:
                        module_aliases[alias.asname] = module_aliases[alias.name]
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                private.append(f"{module}:{node.lineno} uses {node.value.id}.{node.attr}")
    return edges, private, forbidden


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
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
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_the_backend():
    edges, _, _ = _graph()
    assert "backend.core.models" in edges and "backend.work.dispatch" in edges
    assert "backend.core.models" in edges["backend.work.tickets"]
    assert "console.context" in edges["console.tickets"] and "webhook.wechat.messages" in edges["webhook.wechat.crypto"]


def test_no_import_cycles_between_modules():
    edges, _, _ = _graph()
    assert _cycles(edges) == []


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]


def test_backend_knows_nothing_of_flask_rasa_or_the_rooms_on_it():
    _, _, forbidden = _graph()
    assert forbidden == []


def test_no_private_name_is_used_across_modules():
    _, private, _ = _graph()
    assert private == []


def test_a_tickets_status_is_written_only_by_ticket_status():
    """Every status change goes through backend.work.ticket_status (move, or hand_to for
    `dispatched`): a door or another service that sets the field itself skips the owner's message,
    the clocks and the trail. The console's demo data (a made-up history) is the one exception."""
    allowed = {ROOT / "backend/work/ticket_status.py", ROOT / "console/demo.py"}
    writers = []
    for path in MODULES.values():
        if path in allowed or path.parts[len(ROOT.parts)] in ("scripts", "nlu"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, (ast.AugAssign, ast.AnnAssign))
                else []
            )
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "status"
                    and isinstance(target.value, ast.Name)
                    and "ticket" in target.value.id.lower()
                ):
                    writers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert writers == []
