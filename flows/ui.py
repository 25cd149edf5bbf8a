"""`newsetl ui`: a local Prefect server with its UI, on 127.0.0.1 only.

`start_ui` runs `prefect server start` in its own session, waits for /health, prints where
the UI is and what to export, then relays the server's warnings until Ctrl-C (SIGINT) or
SIGTERM; it stops with a one-line message and exit code 0.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading

from flows.procs import die, die_with_parent, stop_process, term_as_interrupt, wait_healthy

SERVER_START_TIMEOUT = 180.0


def server_command(port: int) -> list[str]:
    """`prefect server start` on loopback only, analytics off, never prompting."""
    return [sys.executable, "-m", "prefect", "--no-prompt", "server", "start",
            "--host", "127.0.0.1", "--port", str(port), "--analytics-off"]


def server_env(port: int, **extra: str) -> dict[str, str]:
    """Environment of the server process: analytics off, and the UI pointed at this port
    (by default the UI calls 127.0.0.1:4200 whatever --port says)."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port),
           "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api", **extra}
    env.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    env.pop("PREFECT_API_URL", None)            # the server does not talk to another API
    return env


def start_ui(port: int) -> None:
    """Run a Prefect server with its UI on http://127.0.0.1:<port> until Ctrl-C.

    The server keeps its database in PREFECT_HOME (default ~/.prefect), so runs stay visible
    across restarts. Runs show up only for processes that export PREFECT_API_URL."""
    if not 1 <= port <= 65535:
        die(f"--port {port} is not a TCP port")
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as uvicorn does: TIME_WAIT is fine
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            die(f"port {port} on 127.0.0.1 is in use (another `newsetl ui`?); pass --port N")
    base = f"http://127.0.0.1:{port}"
    term_as_interrupt()
    # Own session: a terminal Ctrl-C reaches only us, and we hand the server exactly one SIGINT.
    proc = subprocess.Popen(server_command(port), env=server_env(port), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                            errors="replace", start_new_session=True, preexec_fn=die_with_parent)
    relay = _Relay(proc.stdout)
    try:
        print(f"starting the Prefect server on {base} ...", flush=True)
        if not wait_healthy(base + "/api", proc, timeout=SERVER_START_TIMEOUT):
            stop_process(proc)
            relay.join()
            die(f"the Prefect server did not start (exit code {proc.returncode}):\n{relay.startup_text()}", 1)
        relay.forward()
        print(f"Prefect UI: {base}\n"
              "For runs to show up here, run this in the shell that starts them:\n"
              f"  export PREFECT_API_URL={base}/api\n"
              "Ctrl-C stops the server.", flush=True)
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        code = stop_process(proc)
        relay.join()
    if code not in (0, -signal.SIGINT):
        die(f"the Prefect server exited with code {code}", 1)
    print("Prefect server stopped", flush=True)


class _Relay(threading.Thread):
    """Reads the server's output. Until `forward()` it is kept (the start-up banner tells users
    to `prefect config set` their profile; we print our own hint instead); afterwards each line,
    warnings and errors at the default log level, goes to our stderr."""

    _QUIET = ("Server stopped!",)

    def __init__(self, stream):
        super().__init__(daemon=True, name="prefect-server-output")
        self.stream, self.kept, self.forwarding = stream, [], threading.Event()
        self.start()

    def run(self) -> None:
        for line in self.stream:
            if not self.forwarding.is_set():
                self.kept.append(line)
            elif line.strip() and line.strip() not in self._QUIET:
                sys.stderr.write(line)
                sys.stderr.flush()

    def forward(self) -> None:
        self.forwarding.set()

    def startup_text(self) -> str:
        return "".join(self.kept)[-2000:].strip()

    def join(self, timeout: float | None = 10.0) -> None:
        super().join(timeout)

