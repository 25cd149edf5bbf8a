"""flows/version.py: installed metadata first, pyproject.toml when not installed."""
from __future__ import annotations

import tomllib
from pathlib import Path

from flows import version

ROOT = Path(__file__).resolve().parents[3]


def test_version_is_the_projects():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version.__version__ == declared           # installed (editable) metadata agrees


def test_falls_back_to_pyproject_when_not_installed(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "newsetl"\nversion = "9.8.7"\n')
    assert version.resolve_version("newsetl-not-installed", pyproject) == "9.8.7"
    pyproject.write_text('[project]\nname = "other"\nversion = "1.0"\n')
    assert version.resolve_version("newsetl-not-installed", pyproject) == "unknown"
    assert version.resolve_version("newsetl-not-installed", tmp_path / "missing.toml") == "unknown"


def test_version_string_names_the_key_libraries():
    line = version.version_string()
    assert line.startswith(f"newsetl {version.__version__} (python 3.")
    assert "duckdb " in line and "prefect " in line and "\n" not in line
