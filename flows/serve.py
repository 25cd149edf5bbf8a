"""Scheduled runs: `newsetl serve`.

`serve` registers one deployment of prefect.yaml (`news-etl/<name>`: its cron schedule,
parameters, tags, description and concurrency limit) with the Prefect API in PREFECT_API_URL
and then polls it for scheduled runs with Prefect's own runner (`prefect.serve`); each run
executes in a subprocess of the serving process. prefect.yaml is the one configuration source:
`prefect deploy` reads the same file to register the deployment for a work pool instead. It
stops on Ctrl-C (SIGINT) or SIGTERM with a one-line message and exit code 0. The local UI is
flows/ui.py.

Bad config is a usage error: one line on stderr naming the file and the key, exit code 2.
"""
from __future__ import annotations

import inspect
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from flows.errors import ConfigError
from flows.procs import api_healthy, die, exit_without_finalizing, term_as_interrupt

FLOW_NAME = "news-etl"
ENTRYPOINT = "flows/etl.py:news_etl"
# Flow parameters that make no sense in a scheduled run (nobody watches a progress bar).
_NOT_CONFIGURABLE = {"progress"}
_PATH_PARAMETERS = ("source", "warehouse")
# The keys Prefect 3.9 reads in prefect.yaml (prefect/cli/deploy/_models.py), at the top level
# and in one entry of `deployments:`. Prefect ignores any other key; serve names it, since a
# misspelt `schedules:` would otherwise leave the deployment without a schedule.
_TOP_KEYS = {"name", "prefect-version", "build", "push", "pull", "deployments", "definitions"}
_DEPLOYMENT_KEYS = {"name", "version", "version_type", "tags", "description", "schedule", "schedules",
                    "paused", "concurrency_limit", "flow_name", "entrypoint", "parameters",
                    "enforce_parameter_schema", "build", "push", "pull", "work_pool", "triggers", "sla"}
# What serve takes from a schedule entry (prefect.yaml also allows interval and rrule schedules).
_SCHEDULE_KEYS = {"cron", "timezone", "active"}

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
    concurrency_limit: int = 1

    @property
    def full_name(self) -> str:
        return f"{FLOW_NAME}/{self.name}"


def load_config(path: Path, deployment: str | None = None, base: Path | None = None) -> DeploymentConfig:
    """Read the deployment named `deployment` (default: the first) from `path`, a prefect.yaml.

    Taken from the entry: name, description, tags, parameters, concurrency_limit (default 1)
    and its one cron schedule (cron, timezone, active); entrypoint must be the news-etl flow;
    pull steps and work_pool are for `prefect deploy` and workers, and are not used here.
    Relative `source`/`warehouse` parameters become absolute against `base` (default: the
    folder of `path`, as a worker resolves them against the checkout that holds prefect.yaml),
    so a scheduled run depends neither on its cwd nor on where `newsetl serve` started.
    Anything else wrong raises ConfigError naming the key.
    """
    import yaml
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' does not exist (pass --config FILE, a prefect.yaml)") from None
    except (yaml.YAMLError, UnicodeDecodeError, IsADirectoryError) as e:
        raise ConfigError(f"config file '{path}' is not valid YAML: {_one_line(e)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with a `deployments:` list, as prefect.yaml has")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {sorted(map(str, unknown))}; prefect.yaml takes "
                          f"{sorted(_TOP_KEYS)}")
    dep = _select(path, raw.get("deployments"), deployment)
    where = f"{path}: deployment '{dep['name']}'"
    unknown = set(dep) - _DEPLOYMENT_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(map(str, unknown))}")
    if dep.get("entrypoint", ENTRYPOINT) != ENTRYPOINT:
        raise ConfigError(f"{where}: entrypoint is {dep['entrypoint']!r}; newsetl serve serves {ENTRYPOINT}")
    cron, tz, active = _schedule(where, dep)
    params = dep.get("parameters") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: parameters must be a mapping of flow parameter to value")
    params = dict(params)
    _check_parameters(where, params)
    base = Path(base) if base is not None else Path(path).resolve().parent
    for key in _PATH_PARAMETERS:
        if key in params:
            params[key] = str((base / Path(params[key]).expanduser()).resolve())
    tags = dep.get("tags", [FLOW_NAME])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(f"{where}: tags must be a list of strings")
    description = dep.get("description") or ""
    if not isinstance(description, str):
        raise ConfigError(f"{where}: description must be a string")
    limit = dep.get("concurrency_limit", 1)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"{where}: concurrency_limit must be a whole number >= 1 (1: one run at a time, "
                          "the warehouse takes one writer)")
    return DeploymentConfig(name=dep["name"], cron=cron, timezone=tz, active=active, parameters=params,
                            tags=tuple(tags), description=description, concurrency_limit=limit)


def _one_line(e: Exception) -> str:
    """A YAML error is several lines (context, problem, a caret under the line); keep the
    problem and where it is."""
    problem, mark = getattr(e, "problem", None), getattr(e, "problem_mark", None)
    if problem and mark is not None:
        context = getattr(e, "context", None)
        return f"{context + ': ' if context else ''}{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(e).split())


def _select(path: Path, deployments: object, name: str | None) -> dict:
    if not isinstance(deployments, list) or not deployments:
        raise ConfigError(f"{path}: deployments must be a list with at least one deployment")
    for i, dep in enumerate(deployments):
        if not isinstance(dep, dict):
            raise ConfigError(f"{path}: deployments[{i}] must be a mapping (name, schedules, parameters, ...)")
        dep_name = dep.get("name")
        if not isinstance(dep_name, str) or not dep_name or "/" in dep_name:
            raise ConfigError(f"{path}: deployments[{i}] name must be a non-empty string without '/'")
    if name is None:
        return deployments[0]
    for dep in deployments:
        if dep["name"] == name:
            return dep
    raise ConfigError(f"{path}: no deployment named '{name}' (--deployment); it has "
                      f"{[d['name'] for d in deployments]}")


def _schedule(where: str, dep: dict) -> tuple[str, str, bool]:
    """The deployment's one cron schedule, validated with the model the Prefect server uses,
    so a bad schedule fails here."""
    if "schedule" in dep:
        raise ConfigError(f"{where}: use `schedules:` (a list with one cron schedule), not `schedule:`")
    schedules = dep.get("schedules")
    if not isinstance(schedules, list) or len(schedules) != 1 or not isinstance(schedules[0], dict):
        raise ConfigError(f"{where}: schedules must be a list with one cron schedule "
                          "(- cron: \"0 * * * *\", timezone: UTC)")
    sched = schedules[0]
    unknown = set(sched) - _SCHEDULE_KEYS
    if unknown:
        raise ConfigError(f"{where}: schedules[0] has unknown key(s) {sorted(map(str, unknown))}; "
                          f"newsetl serve takes {sorted(_SCHEDULE_KEYS)}")
    cron, tz, active = sched.get("cron"), sched.get("timezone", "UTC"), sched.get("active", True)
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError
    if not isinstance(cron, str) or not isinstance(tz, str):
        raise ConfigError(f"{where}: schedules[0].cron and schedules[0].timezone must be strings "
                          "(quote the cron line: cron: \"0 * * * *\")")
    if not isinstance(active, bool):
        raise ConfigError(f"{where}: schedules[0].active must be true or false")
    try:
        CronSchedule(cron=cron, timezone=tz)
    except ValidationError as e:
        what = e.errors()[0]
        raise ConfigError(f"{where}: schedules[0].{what['loc'][0]}: {what['msg'].removeprefix('Value error, ')} "
                          "(cron: five fields, e.g. \"0 * * * *\" for hourly; timezone: an IANA name "
                          "such as \"UTC\" or \"Asia/Ho_Chi_Minh\")") from None
    return cron, tz, active


def _check_parameters(where: str, params: dict) -> None:
    from flows.etl import news_etl
    known = set(inspect.signature(news_etl.fn).parameters) - _NOT_CONFIGURABLE
    unknown = set(params) - known
    if unknown:
        raise ConfigError(f"{where}: unknown parameters {sorted(map(str, unknown))}; the news-etl flow takes "
                          f"{sorted(known)}")
    import typing

    from pydantic import TypeAdapter, ValidationError
    hints = typing.get_type_hints(news_etl.fn)
    for name, value in params.items():
        try:
            TypeAdapter(hints.get(name, typing.Any)).validate_python(value, strict=True)
        except ValidationError as e:
            raise ConfigError(f"{where}: parameters.{name} = {value!r}: {e.errors()[0]['msg']} "
                              f"(the flow declares {name}: {getattr(hints.get(name), '__name__', hints.get(name))})"
                              ) from None


def build_deployment(cfg: DeploymentConfig):
    """The RunnerDeployment for `cfg` (not yet registered): the news-etl flow loaded by module
    path, one cron schedule in the configured time zone, the configured parameters and
    concurrency limit."""
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
        concurrency_limit=cfg.concurrency_limit,    # 1: a run due while one runs waits for it
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


def serve_deployment(config: Path, deployment: str | None = None) -> None:
    """Register news-etl/<name> (the deployment `deployment` of prefect.yaml `config`) with its
    cron schedule, then poll for and execute its runs until Ctrl-C. On shutdown Prefect pauses the deployment, so no late runs pile up while
    nothing serves it; the next `newsetl serve` resumes it."""
    url = api_url()
    if not url:
        die("PREFECT_API_URL is not set: a schedule needs a running Prefect server. Start one with "
             "`newsetl ui` and run `export PREFECT_API_URL=http://127.0.0.1:4200/api` first")
    try:
        cfg = load_config(config, deployment)
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

