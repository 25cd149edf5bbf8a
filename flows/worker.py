"""The pull step of the news-etl deployment on a Prefect worker (prefect.yaml, `pull:`).

Before each flow run a Prefect process worker starts a fresh process in a temporary folder,
runs the deployment's pull steps there, then starts the flow in the folder the last step chose.
`enter_checkout` chooses the newsetl checkout of the worker machine, so `flows/etl.py` and
relative paths in the deployment's parameters (`source: seeds`) are found there:

- $NEWSETL_HOME when it is set (read on the worker at run time, not when `prefect deploy` runs);
- else the checkout the installed `flows` package lives in: `make install` installs the project
  into the checkout's .venv in editable mode, and a worker started from that .venv needs no
  setting at all.

A folder that does not exist or is not a checkout (no pyproject.toml or no flows/etl.py) is a
setting to fix, not a bug. The step then prints one line `newsetl: ...` on stderr saying what to
set, records the flow run as Failed with the same line as its message, and ends its process
(exit code 0; 1 if the state could not be recorded, and the worker then reports the run
Crashed). It does not raise: Prefect prints the traceback of any exception out of a pull step
(about 130 lines in the worker's output; prefect/runner/_workspace_supervisor.py) and reports
the run Crashed with only "Process exited with status code: 1".
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from flows.errors import ConfigError

HOME_VARIABLE = "NEWSETL_HOME"
_MARKERS = ("pyproject.toml", "flows/etl.py")
_WHAT_TO_SET = (f"set {HOME_VARIABLE} to the newsetl checkout on this worker (the folder with "
                "prefect.yaml, after `make install`) and restart the worker")


def find_checkout(environ: Mapping[str, str] | None = None) -> Path:
    """The newsetl checkout a flow run on this machine runs in: $NEWSETL_HOME, else the one the
    installed `flows` package lives in. Raises ConfigError (one line, what to set) if that folder
    is missing or is not a checkout."""
    environ = os.environ if environ is None else environ
    home = environ.get(HOME_VARIABLE, "").strip()
    if home:
        folder, told = Path(home).expanduser(), f"{HOME_VARIABLE}={home}"
    else:
        folder = Path(__file__).resolve().parent.parent
        told = f"{HOME_VARIABLE} is not set and the installed flows package is in {folder}, which"
    if not folder.is_dir():
        raise ConfigError(f"{told} is not a folder on this worker; {_WHAT_TO_SET}")
    missing = [m for m in _MARKERS if not (folder / m).is_file()]
    if missing:
        raise ConfigError(f"{told} is not a newsetl checkout (no {' or '.join(missing)}); {_WHAT_TO_SET}")
    return folder.resolve()


def enter_checkout() -> dict[str, str]:
    """Pull step: change into the checkout (as Prefect's set_working_directory does) and
    return {"directory": its absolute path}. When there is none, report it and end the run's
    process (see the module docstring)."""
    try:
        folder = find_checkout()
    except ConfigError as e:
        _fail_flow_run(f"newsetl: {e}")
    os.chdir(folder)
    return {"directory": str(folder)}


def _fail_flow_run(message: str) -> NoReturn:
    """One line on stderr, the flow run (PREFECT__FLOW_RUN_ID, set by the worker) Failed with
    `message`, then leave the process without unwinding through Prefect's handlers."""
    print(message, file=sys.stderr, flush=True)
    recorded = False
    run_id = os.environ.get("PREFECT__FLOW_RUN_ID")
    if run_id:
        try:
            from prefect.client.orchestration import get_client
            from prefect.states import Failed
            with get_client(sync_client=True) as client:
                client.set_flow_run_state(run_id, Failed(message=message), force=True)
            recorded = True
        except Exception as e:  # noqa: BLE001 - the API is gone; the worker reports a crash
            print(f"newsetl: could not record the run as Failed ({type(e).__name__}); the worker "
                  "reports it Crashed", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(0 if recorded else 1)
