"""`newsetl ui`: a local Prefect server with its UI, on 127.0.0.1 only, and the Data Docs
of the warehouses over http beside it.

`start_ui` runs `prefect server start` in its own session, waits for /health, prints where
the UI is and what to export, then relays the server's warnings until Ctrl-C (SIGINT) or
SIGTERM; it stops with a one-line message and exit code 0.

Browsers block `file://` links from an http page, so the GX Data Docs are served over http
too (`DocsServer`, port = UI port + 1 by default). A URL path is an absolute folder path on
this machine, served only inside a folder marked as a newsetl Data Docs site
(expectations/data_docs.py writes `.newsetl-docs`); nothing else on the disk is served. The
server's address is stored as the Prefect variable `newsetl_docs_url`, from which a run
builds the Data Docs link of its artifacts.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
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


DOCS_VARIABLE = "newsetl_docs_url"
DOCS_MARKER = ".newsetl-docs"


class _DocsHandler(http.server.SimpleHTTPRequestHandler):
    """GET/HEAD of files inside folders that hold `.newsetl-docs`; 404 for anything else."""

    def translate_path(self, path: str) -> str:
        rel = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        target = Path(os.path.normpath("/" + rel.lstrip("/")))
        if target.is_dir():
            target = target / "index.html"
        for folder in target.parents:
            if (folder / DOCS_MARKER).is_file():
                return str(target)
        return "/nonexistent/newsetl-docs"        # -> 404, whatever exists there

    def log_message(self, format, *args) -> None:      # noqa: A002 - quiet: no line per request
        pass


class DocsServer:
    """The Data Docs over http on 127.0.0.1:<port>, in a daemon thread."""

    def __init__(self, port: int):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_DocsHandler))
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, name="newsetl-docs", daemon=True).start()

    def url_for(self, path: Path) -> str:
        return self.base + urllib.parse.quote(str(Path(path).absolute()))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def docs_url(index: Path, base: str) -> str:
    """The http URL of a Data Docs page under the docs server at `base`."""
    return base.rstrip("/") + urllib.parse.quote(str(Path(index).absolute()))


def advertise_docs(api_url: str, docs_base: str) -> bool:
    """Store the docs server's address as the Prefect variable `newsetl_docs_url` (create or
    update); False when the API refused."""
    body = json.dumps({"name": DOCS_VARIABLE, "value": docs_base}).encode()
    for method, url in (("POST", f"{api_url}/variables/"), ("PATCH", f"{api_url}/variables/name/{DOCS_VARIABLE}")):
        req = urllib.request.Request(url, data=body if method == "POST" else json.dumps(
            {"value": docs_base}).encode(), method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10):
                return True
        except urllib.error.HTTPError as e:
            if e.code != 409:
                return False
        except (urllib.error.URLError, OSError):
            return False
    return False


def serve_docs(index: Path, port: int) -> None:
    """`newsetl docs --serve`: the Data Docs over http until Ctrl-C."""
    term_as_interrupt()
    try:
        server = DocsServer(port)
    except OSError:
        die(f"port {port} on 127.0.0.1 is in use; pass --port N")
    print(f"Data Docs: {server.url_for(index)}\nCtrl-C stops serving.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    server.close()
    print("stopped serving the Data Docs", flush=True)


def start_ui(port: int, docs_port: int | None = None) -> None:
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
    docs_port = port + 1 if docs_port is None else docs_port
    try:
        docs = DocsServer(docs_port)
    except OSError:
        die(f"port {docs_port} on 127.0.0.1 (the Data Docs) is in use; pass --docs-port N")
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
        linked = advertise_docs(base + "/api", docs.base)
        print(f"Prefect UI: {base}\n"
              f"Data Docs: {docs.base}/<warehouse>/docs/index.html"
              + ("  (linked from each run's artifacts)\n" if linked else "\n") +
              "For runs to show up here, run this in the shell that starts them:\n"
              f"  export PREFECT_API_URL={base}/api\n"
              "Ctrl-C stops the server.", flush=True)
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        code = stop_process(proc)
        relay.join()
        docs.close()
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

