"""flows/errors.py: one root, each error carries its exit code, one mapping."""
from __future__ import annotations

import pytest

from flows import errors as E


@pytest.mark.parametrize("cls, code", [
    (E.UsageError, 2), (E.SourceError, 2), (E.ConfigError, 2), (E.WarehouseError, 2),
    (E.WarehouseUnwritable, 2), (E.CorruptFile, 2), (E.QueryError, 2), (E.WarehouseBusy, 75),
    (E.ApiUnreachable, 3),
])
def test_every_user_facing_error_derives_from_the_root_and_carries_its_code(cls, code):
    assert issubclass(cls, E.NewsetlError)
    assert E.exit_code(cls("x")) == code


def test_anything_else_is_a_crash_and_nothing_is_success():
    assert E.exit_code(None) == E.EXIT_OK
    assert E.exit_code(KeyError("x")) == E.EXIT_CRASH


def test_the_modules_raise_the_one_tree():
    """The classes other modules expose are these, not look-alikes of their own."""
    from flows import etl, serve, sources, warehouse
    assert etl.UsageError is E.UsageError and serve.ConfigError is E.ConfigError
    assert sources.SourceError is E.SourceError
    assert warehouse.WarehouseBusy is E.WarehouseBusy and warehouse.CorruptFile is E.CorruptFile
