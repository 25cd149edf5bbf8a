"""The import boundaries of STYLE.md and the README's Architecture section, read from the source
(AST, nothing imported):

- transforms/ is pure: no prefect, great_expectations, duckdb, flows, expectations; no disk;
- great_expectations only in expectations/;
- Parquet writing and DuckDB only in flows/warehouse/;
- nothing of the product imports benchmarks/ (the benchmarks drive the CLI);
- no import cycle among the project's modules, function-level imports included.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "transforms", "expectations", "benchmarks")
# issue 19 building blocks that open DuckDB to render query results / write the catalog; they
# belong under flows/warehouse/ once wired in
DUCKDB_ELSEWHERE = {"flows/query.py", "flows/catalog_compat.py"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of the nodes inside `if TYPE_CHECKING:` blocks (never executed)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path) -> set[str]:
    """Full dotted names this file imports (`from a.b import c` gives a.b.c, which is module
    a.b.c or name c of module a.b), relative imports resolved, `if TYPE_CHECKING:` blocks left
    out."""
    tree = _tree(path)
    skip = _type_checking_nodes(tree)
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[:len(up) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


def imports_of(path: Path) -> set[str]:
    return {n.split(".")[0] for n in imported_names(path)}


def calls_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return names


def project_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "__pycache__" not in p.parts)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_transforms_are_pure():
    for path in (ROOT / "transforms").rglob("*.py"):
        bad = imports_of(path) & {"prefect", "great_expectations", "duckdb", "flows", "expectations", "benchmarks"}
        assert not bad, f"{rel(path)} imports {bad}"
        disk = calls_of(path) & {"open", "write_table", "write_text", "write_bytes", "read_bytes"}
        assert not disk, f"{rel(path)} touches the disk via {disk}"


def test_great_expectations_only_in_expectations():
    for path in project_files():
        if "great_expectations" in imports_of(path):
            assert path.parent == ROOT / "expectations", rel(path)


def test_parquet_writes_and_duckdb_only_in_the_warehouse_package():
    for path in list((ROOT / "flows").rglob("*.py")) + list((ROOT / "transforms").rglob("*.py")):
        if (ROOT / "flows" / "warehouse") in path.parents or rel(path) in DUCKDB_ELSEWHERE:
            continue
        assert "write_table" not in calls_of(path), rel(path)
        assert "duckdb" not in imports_of(path), rel(path)


def test_the_product_never_imports_the_benchmarks():
    for path in project_files():
        if path.parts[len(ROOT.parts)] != "benchmarks":
            assert "benchmarks" not in imports_of(path), rel(path)


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (a name that is not a module of its own, e.g.
    `from flows.warehouse import Warehouse`, is an import of the package)."""
    files = {module_name(p): p for p in project_files()}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        deps = set()
        for name in imported_names(path):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != mod:
                deps.add(name)
        graph[mod] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}            # 1 on the current path, 2 done
    path: list[str] = []

    def visit(mod: str) -> list[str] | None:
        state[mod] = 1
        path.append(mod)
        for dep in sorted(graph.get(mod, ())):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        path.pop()
        state[mod] = 2
        return None

    for mod in sorted(graph):
        if mod not in state and (found := visit(mod)):
            return found
    return None


def test_no_import_cycle_among_the_project_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    graph = import_graph()
    assert "flows.warehouse.store" in graph["flows.warehouse"]          # the graph sees packages
    assert "flows.warehouse" in graph["flows.stream"]                    # ... and names imported from them
