"""Scheduled runs and the local Prefect UI: `newsetl serve` and `newsetl ui`.

`serve` registers the `news-etl/<name>` deployment (cron schedule + parameters from
config/newsetl.toml) with the Prefect API in PREFECT_API_URL and then polls it for scheduled
runs with Prefect's own runner (`prefect.serve`); each run executes in a subprocess of the
serving process. `ui` starts `prefect server start` on 127.0.0.1 only. Both stop on Ctrl-C
(SIGINT) or SIGTERM with a one-line message and exit code 0.

Bad config is a usage error: one line on stderr, exit code 2.
"""
from __future__ import annotations

import inspect
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from flows.procs import api_healthy, die_with_parent, stop_process, wait_healthy

EXIT_USAGE = 2
FLOW_NAME = "news-etl"
# Flow parameters that make no sense in a scheduled run (nobody watches a progress bar).
_NOT_CONFIGURABLE = {"progress"}
_PATH_PARAMETERS = ("source", "warehouse")
SERVER_START_TIMEOUT = 180.0


class ConfigError(Exception):
    """The deployment config cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class DeploymentConfig:
    """What `newsetl serve` registers: one deployment of the news-etl flow."""
    name: str
    cron: str
    timezone: str = "UTC"
    active: bool = True
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = (FLOW_NAME,)
    description: str = ""

    @property
    def full_name(self) -> str:
        return f"{FLOW_NAME}/{self.name}"


def load_config(path: Path, base: Path | None = None) -> DeploymentConfig:
    """Read config/newsetl.toml; relative `source`/`warehouse` become absolute against `base`
    (default: the current directory), so a scheduled run does not depend on its cwd."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' does not exist (pass --config FILE)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, IsADirectoryError) as e:
        raise ConfigError(f"config file '{path}' is not valid TOML: {e}") from None
    dep, sched = raw.get("deployment", {}), raw.get("schedule", {})
    params = dict(raw.get("parameters", {}))
    unknown_sections = set(raw) - {"deployment", "schedule", "parameters"}
    if unknown_sections:
        raise ConfigError(f"{path}: unknown section(s) {sorted(unknown_sections)}; "
                          "expected [deployment], [schedule], [parameters]")
    cron, tz = sched.get("cron", "0 * * * *"), sched.get("timezone", "UTC")
    _check_schedule(path, cron, tz)
    _check_parameters(path, params)
    base = Path(base) if base is not None else Path.cwd()
    for key in _PATH_PARAMETERS:
        if key in params:
            params[key] = str((base / Path(params[key]).expanduser()).resolve())
    tags = dep.get("tags", [FLOW_NAME])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(f"{path}: [deployment] tags must be a list of strings")
    name = dep.get("name", "hourly")
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"{path}: [deployment] name must be a non-empty string without '/'")
    return DeploymentConfig(name=name, cron=cron, timezone=tz, active=bool(sched.get("active", True)),
                            parameters=params, tags=tuple(tags),
                            description=dep.get("description", ""))


def _check_schedule(path: Path, cron: object, tz: object) -> None:
    """Validate with the same model the Prefect server uses, so a bad schedule fails here."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError
    if not isinstance(cron, str) or not isinstance(tz, str):
        raise ConfigError(f"{path}: [schedule] cron and timezone must be strings")
    try:
        CronSchedule(cron=cron, timezone=tz)
    except ValidationError as e:
        what = e.errors()[0]
        raise ConfigError(f"{path}: [schedule] {what['loc'][0]}: {what['msg'].removeprefix('Value error, ')} "
                          "(cron: five fields, e.g. \"0 * * * *\" for hourly; timezone: an IANA name "
                          "such as \"UTC\" or \"Asia/Ho_Chi_Minh\")") from None


def _check_parameters(path: Path, params: dict) -> None:
    from flows.etl import news_etl
    known = set(inspect.signature(news_etl.fn).parameters) - _NOT_CONFIGURABLE
    unknown = set(params) - known
    if unknown:
        raise ConfigError(f"{path}: unknown [parameters] {sorted(unknown)}; the news-etl flow takes "
                          f"{sorted(known)}")
    import typing

    from pydantic import TypeAdapter, ValidationError
    hints = typing.get_type_hints(news_etl.fn)
    for name, value in params.items():
        try:
            TypeAdapter(hints.get(name, typing.Any)).validate_python(value, strict=True)
        except ValidationError as e:
            raise ConfigError(f"{path}: [parameters] {name} = {value!r}: {e.errors()[0]['msg']} "
                              f"(the flow declares {name}: {getattr(hints.get(name), '__name__', hints.get(name))})"
                              ) from None


def build_deployment(cfg: DeploymentConfig):
    """The RunnerDeployment for `cfg` (not yet registered): the news-etl flow loaded by module
    path, one cron schedule in the configured time zone, the configured parameters."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from flows.etl import news_etl
    return news_etl.to_deployment(
        name=cfg.name,
        schedule=Cron(cfg.cron, timezone=cfg.timezone, active=cfg.active),
        parameters=cfg.parameters,
        tags=list(cfg.tags),
        description=cfg.description or None,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def register_deployment(cfg: DeploymentConfig):
    """Create or update the deployment on the Prefect API; returns (deployment, its UUID)."""
    deployment = build_deployment(cfg)
    return deployment, deployment.apply()


def api_url() -> str | None:
    from prefect.settings import get_current_settings
    return get_current_settings().api.url


def serve_deployment(config: Path) -> None:
    """Register news-etl/<name> with its cron schedule, then poll for and execute its runs
    until Ctrl-C. On shutdown Prefect pauses the deployment, so no late runs pile up while
    nothing serves it; the next `newsetl serve` resumes it."""
    url = api_url()
    if not url:
        _die("PREFECT_API_URL is not set: a schedule needs a running Prefect server. Start one with "
             "`newsetl ui` and run `export PREFECT_API_URL=http://127.0.0.1:4200/api` first")
    try:
        cfg = load_config(config)
    except ConfigError as e:
        _die(str(e))
    _term_as_interrupt()
    # Served runs survive a server restart by polling; the websocket's traceback is noise.
    logging.getLogger("prefect.FlowRunCancellingObserver").setLevel(logging.ERROR)
    deployment_id = None
    try:
        _check_api(url)
        from prefect import serve
        deployment, deployment_id = register_deployment(cfg)
        ui = url[:-4] if url.endswith("/api") else url
        p = cfg.parameters
        print(f"serving {cfg.full_name}: cron '{cfg.cron}' ({cfg.timezone})"
              f"{'' if cfg.active else ' [schedule inactive]'}\n"
              f"  source {p.get('source', 'seeds')} -> warehouse {p.get('warehouse', 'warehouse')}\n"
              f"  UI: {ui}/deployments/deployment/{deployment_id}\n"
              f"  run now: prefect deployment run '{cfg.full_name}'\n"
              "  Ctrl-C stops serving (the deployment is paused until the next `newsetl serve`)",
              flush=True)
        serve(deployment, print_starting_message=False)
    except KeyboardInterrupt:
        pass
    except httpx.TransportError as e:   # the server went away; Prefect's retries are exhausted
        _die(f"lost the Prefect API at {url} ({e}); the deployment may still be scheduled - "
             f"pause it in the UI or restart `newsetl serve`", 1)
    if deployment_id is not None:
        _pause(deployment_id)
    print(f"stopped serving {cfg.full_name}", flush=True)
    _exit_without_finalizing(0)


def _pause(deployment_id) -> None:
    """Prefect's runner pauses the deployment on a clean shutdown; a Ctrl-C during its start-up
    skips that, so pause it here too (idempotent)."""
    from prefect.client.orchestration import get_client
    try:
        with get_client(sync_client=True) as client:
            client.pause_deployment(deployment_id)
    except (httpx.HTTPError, KeyboardInterrupt):
        print(f"newsetl: could not pause the deployment {deployment_id}; pause it in the UI",
              file=sys.stderr, flush=True)


def _check_api(url: str) -> None:
    if api_healthy(url, timeout=10):
        return
    _die(f"no Prefect API answers at {url} (PREFECT_API_URL); start it with `newsetl ui` or fix the URL")


# -- the UI ------------------------------------------------------------------------------------

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
        _die(f"--port {port} is not a TCP port")
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as uvicorn does: TIME_WAIT is fine
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            _die(f"port {port} on 127.0.0.1 is in use (another `newsetl ui`?); pass --port N")
    base = f"http://127.0.0.1:{port}"
    _term_as_interrupt()
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
            _die(f"the Prefect server did not start (exit code {proc.returncode}):\n{relay.startup_text()}", 1)
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
        _die(f"the Prefect server exited with code {code}", 1)
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


def _term_as_interrupt() -> None:
    """SIGTERM (kill, systemd stop) takes the same clean path as Ctrl-C. SIGINT is reset to
    Python's default too: a shell starts background jobs with SIGINT ignored."""
    def _raise(signum, frame):
        raise KeyboardInterrupt
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _raise)
    except ValueError:      # not the main thread (e.g. called from a test harness)
        pass


def _exit_without_finalizing(code: int):
    """Run the atexit handlers (Prefect drains its log and event workers and stops its loop
    threads there), flush, and leave without interpreter finalization. Seen once under load:
    after a clean shutdown, finalization aborted with "FATAL: exception not rethrown" (SIGABRT,
    a daemon thread unwinding through native code); nothing is left to do by then."""
    import atexit
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _die(msg: str, code: int = EXIT_USAGE):
    print(f"newsetl: {msg}", file=sys.stderr, flush=True)
    raise SystemExit(code)
