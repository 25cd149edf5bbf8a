"""Every error newsetl reports to a user, under one root, each carrying its exit code.

    NewsetlError                  exit 2   bad arguments or environment, one line
    ├── UsageError                exit 2   a bad option value, a missing source folder
    │   ├── SourceError           exit 2   a source URL without backend, not found, not a folder
    │   └── ConfigError           exit 2   prefect.yaml, or a worker's NEWSETL_HOME, cannot be used
    ├── WarehouseError            exit 2   the warehouse cannot be used as asked
    │   ├── WarehouseUnwritable   exit 2   disk full, permission denied, read-only
    │   ├── CorruptFile           exit 2   a Parquet file cannot be read or has a foreign schema
    │   ├── QueryError            exit 2   the SQL of `newsetl query` did not run
    │   └── WarehouseBusy         exit 75  another run holds the writer lock (EX_TEMPFAIL)
    └── ApiUnreachable            exit 3   the Prefect API did not start or cannot be reached

A failed quality gate is not an exception: the flow returns Failed(message=...) and the CLI
exits 1 (EXIT_GATE). Anything else that escapes a run is a bug: exit 3 with its type.
Stops are not exceptions either (flows/stops.py): SIGINT exits 130, SIGTERM 143; a run whose
Prefect API went away exits 0, 1 or 3 by what it published.

Prefect's engines log every exception a flow or task raises with its traceback, at ERROR.
A filter on their loggers drops those records for NewsetlError (the CLI prints the one line;
the run's state message in the Prefect UI still carries the text). It is installed when this
module is imported, i.e. in every process that can raise one of these errors (standard
library logging only; Prefect need not be imported yet).
"""
from __future__ import annotations

import logging

EXIT_OK, EXIT_GATE, EXIT_USAGE, EXIT_CRASH, EXIT_BUSY = 0, 1, 2, 3, 75
EXIT_SIGINT, EXIT_SIGTERM = 130, 143          # 128 + the signal number, as shells report them


class NewsetlError(Exception):
    """An error a user can act on; `str(e)` is the one line the CLI prints."""
    exit_code = EXIT_USAGE


class UsageError(NewsetlError):
    """Bad arguments or environment."""


class SourceError(UsageError):
    """The source cannot be listed: missing folder, URL without backend, not a folder."""


class ConfigError(UsageError):
    """The deployment config cannot be used; the message names the file and the key."""


class WarehouseError(NewsetlError):
    """The warehouse cannot be used as asked (unwritable, corrupt). Nothing was published."""


class WarehouseUnwritable(WarehouseError):
    """The file system refused a write: disk full, permission denied, read-only."""


class CorruptFile(WarehouseError):
    """A Parquet file of the published warehouse cannot be read or has a foreign schema."""


class QueryError(WarehouseError):
    """The SQL of `newsetl query` did not run."""


class WarehouseBusy(WarehouseError):
    """Another run holds the writer lock."""
    exit_code = EXIT_BUSY

    @classmethod
    def at(cls, root, holder: str | None) -> "WarehouseBusy":
        return cls(f"another newsetl run is writing to {root} ({holder or 'pid unknown'}); "
                   "wait for it to finish or pass --wait SECONDS")


class ApiUnreachable(NewsetlError):
    """The Prefect API did not start, or the configured one does not answer."""
    exit_code = EXIT_CRASH


def exit_code(exc: BaseException | None) -> int:
    """The exit code for what ended a run: 0 for nothing, the error's own code for a
    NewsetlError, EXIT_CRASH for anything else (a bug)."""
    if exc is None:
        return EXIT_OK
    return exc.exit_code if isinstance(exc, NewsetlError) else EXIT_CRASH


class _OneLineErrors(logging.Filter):
    """Drops the engines' traceback records of a NewsetlError, and their "Finished in state
    Failed(... <Error>: ...)" line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, NewsetlError):
            return False
        if record.levelno >= logging.ERROR and isinstance(record.msg, str) and "Finished in state" in record.msg:
            return not any(f" {name}: " in record.msg for name in _names(NewsetlError))
        return True


def _names(cls: type) -> list[str]:
    out, todo = [], [cls]
    while todo:
        c = todo.pop()
        out.append(c.__name__)
        todo += c.__subclasses__()
    return out


_FILTER = _OneLineErrors()


for _name in ("prefect.flow_runs", "prefect.task_runs"):
    logging.getLogger(_name).addFilter(_FILTER)
