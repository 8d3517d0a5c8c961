"""The import layers of JobMatch, and a check that no module imports a layer above its own.

Run as `python tests/layers.py` (make lint does) or through tests/test_layers.py. It reads the source with `ast`, so
an import inside a function counts as much as one at the top: the layers are about what a module depends on, not
when it loads it. README.md ("Architecture") shows the same table.
"""

import ast
import sys
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("jobmatch_site", "tenants", "matching", "rules", "shortlists")

# Lowest first. A module may import its own layer and those below. Edges parse, call services and render: they sit
# on top of everything, and nothing but another edge imports them (services queue tasks by name instead).
LAYERS = (
    ("site", ("jobmatch_site",)),
    ("tenants", ("tenants",)),
    ("ml", ("matching.ml", "matching.reference_data")),  # pure Python/NumPy/PyTorch, no Django
    ("matching", ("matching",)),
    ("rules", ("rules",)),
    ("shortlists", ("shortlists",)),  # a vacancy's pipeline of candidates: reads matching's records
)
EDGE_NAMES = {"api", "api_urls", "urls", "views", "admin", "forms", "tasks", "management", "apps", "feedback_api",
              "wsgi", "asgi", "commands", "context_processors"}  # fmt: skip
EDGE = "edges"
ORDER = [name for name, _ in LAYERS] + [EDGE]
PURE = ("matching.ml", "matching.reference_data")  # may not import django at all
MIGRATIONS = "migrations"


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}: {self.why}"


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    if any(part in EDGE_NAMES or part.endswith(("_api", "_urls")) for part in parts[1:]):
        return EDGE
    best, length = None, -1
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = name, len(prefix)
    return best


def module_name(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def imports_of(path: Path, module: str, modules: Collection[str]) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file; `from a import b` names a.b when that is a module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            names = {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names}
            found += [(node.lineno, name) for name in sorted(names)]
    return found


def violations(root: Path = ROOT) -> list[Violation]:
    found = []
    modules = _modules(root)
    for module, path in modules.items():
        own = layer_of(module)
        for line, imported in imports_of(path, module, modules):
            if module.startswith(PURE) and imported.split(".")[0] == "django":
                found.append(Violation(module, line, imported, "matching/ml is pure: no Django"))
            theirs = layer_of(imported)
            if own is None or theirs is None or ORDER.index(theirs) <= ORDER.index(own):
                continue
            found.append(Violation(module, line, imported, f"layer {own!r} may not import layer {theirs!r}"))
    return found


def _modules(root: Path) -> dict[str, Path]:
    return {
        module_name(path, root): path
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
        if MIGRATIONS not in path.parts
    }


def cycles(root: Path = ROOT) -> list[list[str]]:
    """Groups of modules that import each other round in a circle (strongly connected, more than one module)."""
    modules = _modules(root)

    def resolve(name: str) -> str | None:  # `from x.y import f` depends on the longest module prefix that exists
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {m: {r for _, i in imports_of(p, m, modules) if (r := resolve(i)) and r != m} for m, p in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def main() -> int:
    found, circles = violations(), cycles()
    for violation in found:
        print(violation)
    for circle in circles:
        print("import circle:", " -> ".join(circle))
    print(f"{len(found)} layer violations, {len(circles)} import circles")
    return 1 if found or circles else 0


if __name__ == "__main__":
    sys.exit(main())
