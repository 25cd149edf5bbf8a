"""The version `newsetl --version` prints.

Read from the installed distribution's metadata (importlib.metadata), so it costs no import
of prefect or duckdb; when the project runs from a source tree that was never installed, the
`[project] version` of the pyproject.toml beside `flows/` is used instead.
"""
from __future__ import annotations

import platform
import tomllib
from importlib import metadata
from pathlib import Path

DIST = "newsetl"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# The libraries whose versions decide what a run produces; printed after the project's own.
KEY_DEPENDENCIES = ("duckdb", "prefect", "great-expectations", "pyarrow", "underthesea")


def _pyproject_version(path: Path) -> str | None:
    try:
        project = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if project.get("name") != DIST:
        return None
    version = project.get("version")
    return version if isinstance(version, str) else None


def resolve_version(dist: str = DIST, pyproject: Path = PYPROJECT) -> str:
    """The installed version of `dist`, else the pyproject.toml version, else "unknown"."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return _pyproject_version(pyproject) or "unknown"


__version__ = resolve_version()


def version_string() -> str:
    """One line: `newsetl 0.1.0 (python 3.11.7; duckdb 2.0.1; prefect 3.9.0; ...)`.

    A dependency that is not installed is left out rather than failing."""
    parts = [f"python {platform.python_version()}"]
    for dep in KEY_DEPENDENCIES:
        try:
            parts.append(f"{dep} {metadata.version(dep)}")
        except metadata.PackageNotFoundError:
            continue
    return f"{DIST} {__version__} ({'; '.join(parts)})"
