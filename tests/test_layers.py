"""The import boundaries of STYLE.md: transforms/ is pure, GX lives only in expectations/gate.py,
Parquet writing and DuckDB only in flows/warehouse.py (and the gate wiring that reads back)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def calls_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return names


def test_transforms_are_pure():
    for path in (ROOT / "transforms").rglob("*.py"):
        bad = imports_of(path) & {"prefect", "great_expectations", "duckdb", "flows", "expectations"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
        disk = calls_of(path) & {"open", "write_table", "write_text", "write_bytes", "read_bytes"}
        assert not disk, f"{path.relative_to(ROOT)} touches the disk via {disk}"


def test_great_expectations_only_in_gate():
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or path.parts[len(ROOT.parts)] == "tests":
            continue
        if "great_expectations" in imports_of(path):
            assert path == ROOT / "expectations" / "gate.py", path


def test_parquet_writes_only_in_warehouse():
    for path in list((ROOT / "flows").rglob("*.py")) + list((ROOT / "transforms").rglob("*.py")):
        if path.name == "warehouse.py":
            continue
        assert "write_table" not in calls_of(path), path
        assert "duckdb" not in imports_of(path), path
