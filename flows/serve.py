"""Scheduled runs: `newsetl serve`.

`serve` registers the `news-etl/<name>` deployment (cron schedule + parameters from
config/newsetl.toml) with the Prefect API in PREFECT_API_URL and then polls it for scheduled
runs with Prefect's own runner (`prefect.serve`); each run executes in a subprocess of the
serving process. It stops on Ctrl-C (SIGINT) or SIGTERM with a one-line message and exit
code 0. The local UI is flows/ui.py.

Bad config is a usage error: one line on stderr, exit code 2.
"""
from __future__ import annotations

import inspect
import logging
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from flows.errors import ConfigError
from flows.procs import api_healthy, die, exit_without_finalizing, term_as_interrupt

FLOW_NAME = "news-etl"
# Flow parameters that make no sense in a scheduled run (nobody watches a progress bar).
_NOT_CONFIGURABLE = {"progress"}
_PATH_PARAMETERS = ("source", "warehouse")

__all__ = ["ConfigError", "DeploymentConfig", "load_config", "build_deployment", "register_deployment",
           "serve_deployment"]


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
        concurrency_limit=1,        # a run due while one is running waits for it (one writer at a time)
    )


def register_deployment(cfg: DeploymentConfig):
    """Create or update the deployment on the Prefect API; returns (deployment, its UUID)."""
    deployment = build_deployment(cfg)
    return deployment, deployment.apply()


def prefect_command() -> str:
    """How the user types Prefect's CLI: it is installed in this virtualenv, not on PATH."""
    exe = Path(sys.executable).parent / "prefect"
    try:
        return str(exe.relative_to(Path.cwd())) if exe.exists() else f"{sys.executable} -m prefect"
    except ValueError:
        return str(exe)


def api_url() -> str | None:
    from prefect.settings import get_current_settings
    return get_current_settings().api.url


def serve_deployment(config: Path) -> None:
    """Register news-etl/<name> with its cron schedule, then poll for and execute its runs
    until Ctrl-C. On shutdown Prefect pauses the deployment, so no late runs pile up while
    nothing serves it; the next `newsetl serve` resumes it."""
    url = api_url()
    if not url:
        die("PREFECT_API_URL is not set: a schedule needs a running Prefect server. Start one with "
             "`newsetl ui` and run `export PREFECT_API_URL=http://127.0.0.1:4200/api` first")
    try:
        cfg = load_config(config)
    except ConfigError as e:
        die(str(e))
    term_as_interrupt()
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
              f"  run now: {prefect_command()} deployment run '{cfg.full_name}'\n"
              "  Ctrl-C stops serving (the deployment is paused until the next `newsetl serve`)",
              flush=True)
        serve(deployment, print_starting_message=False)
    except KeyboardInterrupt:
        pass
    except httpx.TransportError as e:   # the server went away; Prefect's retries are exhausted
        die(f"lost the Prefect API at {url} ({e}); the deployment may still be scheduled - "
             f"pause it in the UI or restart `newsetl serve`", 1)
    if deployment_id is not None:
        _pause(deployment_id)
    print(f"stopped serving {cfg.full_name}", flush=True)
    exit_without_finalizing(0)


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
    die(f"no Prefect API answers at {url} (PREFECT_API_URL); start it with `newsetl ui` or fix the URL")

