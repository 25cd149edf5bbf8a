"""Golden cases: `pytest tests/golden --update-golden` rewrites expected.json files (review the diff)."""
from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/<case>/expected.json from the current output")
