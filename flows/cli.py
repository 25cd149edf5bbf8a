"""`newsetl`: the command line. Typer only: parse the options, call the flow or a helper,
print, exit. Exit codes (flows/errors.py): 0 ok, 1 a quality gate failed, 2 usage error,
3 the Prefect API cannot be reached or a bug, 75 warehouse busy (another run holds the lock)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

# Quiet by default: no telemetry, no GX progress bars, Prefect logs at WARNING on the console.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# the terminal stays quiet; INFO logs (progress per batch) still reach the Prefect API and UI
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")
# The embedded API migrates a fresh database on first use: on a busy 2-core machine that can
# take longer than Prefect's default 20 s.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

import typer  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="newsetl: raw Vietnamese news pages -> clean, deduplicated, validated Parquet.")


def _version(value: bool) -> None:
    if value:
        from flows.version import version_string
        typer.echo(version_string())
        raise typer.Exit(0)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version of newsetl and its key libraries")) -> None:
    """newsetl: raw Vietnamese news pages -> clean, deduplicated, validated Parquet."""

from flows.errors import EXIT_CRASH, EXIT_GATE, EXIT_USAGE, ApiUnreachable, NewsetlError  # noqa: E402


def _die(msg: str, code: int = EXIT_USAGE) -> None:
    typer.echo(f"newsetl: {msg}", err=True)
    raise typer.Exit(code)


@app.command()
def run(
    source: str = typer.Option("seeds", "--source",
                               help="folder of raw article files (recursive), or a URL such as "
                                    "s3://bucket/prefix (read through fsspec; needs the backend package)"),
    warehouse: str = typer.Option("warehouse", "--warehouse", help="warehouse folder (local or mounted)"),
    full_refresh: bool = typer.Option(False, "--full-refresh", help="rebuild the data tables from scratch"),
    no_tokens: bool = typer.Option(False, "--no-tokens", help="skip word segmentation (much faster)"),
    batch_size: int = typer.Option(2000, "--batch-size", min=1, help="documents per batch"),
    workers: int = typer.Option(0, "--workers", min=0, help="processes for CPU-heavy steps (0 = all cores)"),
    max_mb: float = typer.Option(5.0, "--max-mb", min=0.001, help="larger files are rejected as too_large"),
    max_quarantine: float = typer.Option(0.2, "--max-quarantine", min=0.0, max=1.0,
                                         help="share of documents a gate may quarantine before the run fails"),
    wait: float = typer.Option(0.0, "--wait", min=0.0, help="seconds to wait for another run's lock"),
    task_runner: str = typer.Option("process", "--task-runner",
                                    help="where CPU-heavy batches run: process (a local process pool) or dask"),
    dask_address: Optional[str] = typer.Option(None, "--dask-address",
                                               help="Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                                                    "(default with --task-runner dask: a LocalCluster)"),
    progress: str = typer.Option("auto", "--progress",
                                 help="auto (a bar per stage on a terminal, else a line every 5 s), "
                                      "bar, plain or off"),
) -> None:
    """Extract, transform and load every file under --source into --warehouse."""
    from flows.stops import Stops, lock_holder
    stops = Stops(warehouse).install()      # SIGINT / SIGTERM: one line, exit 130 / 143 (flows/stops.py)
    if wait == 0 and (holder := lock_holder(warehouse)):        # busy: say so before Prefect starts
        from flows.errors import WarehouseBusy
        _die(str(WarehouseBusy.at(Path(warehouse).absolute(), holder)), WarehouseBusy.exit_code)
    from flows import startup
    boot = startup.begin()          # the embedded Prefect API and the GX import start now
    stops.processes.append(boot.process)
    from flows.etl import check_inputs, news_etl
    try:
        check_inputs(source, warehouse, task_runner, progress, for_flow=True)     # the flow skips them then
    except NewsetlError as e:
        _die(str(e), e.exit_code)

    try:
        boot.wait_for_api()
        stops.watch_api(boot.api_url_in_use(), boot.process)   # a lost API: flows/stops.py
        if boot.process is None:            # a server the user configured: link the run in its UI
            news_etl = news_etl.with_options(on_running=[_print_run_link])
        # no tags on the run or its tasks: Prefect checks tag concurrency limits through the API
        # for every tagged task run (a client per tag set, ~2 s each here); runs are found by
        # the flow name, stages by the task run names
        state = news_etl(source=source, warehouse=warehouse, full_refresh=full_refresh,
                         with_tokens=not no_tokens, batch_size=batch_size, workers=workers,
                         max_bytes=int(max_mb * 1024 * 1024), max_quarantine_share=max_quarantine,
                         lock_wait=wait, progress=progress, task_runner=task_runner,
                         dask_address=dask_address, return_state=True)
    except KeyboardInterrupt:
        _die("interrupted; nothing was published by this run", 130)
    except RuntimeError as e:
        if not any(k in str(e) for k in ("Prefect API", "ephemeral", "reach API")):
            raise
        err = ApiUnreachable(f"could not reach the Prefect API: {e} Start one with `newsetl ui` and export "
                             "PREFECT_API_URL=http://127.0.0.1:4200/api, or retry.")
        _die(str(err), err.exit_code)
    if stops.api_lost.is_set():
        stops.settle_api_loss()             # one line by what was published; does not return
    stops.drain()                           # task states reach the UI; bounded, before the summary
    if state.is_completed():
        from flows.run_report import summary_text
        typer.echo(summary_text(state.result()))
        return
    exc = _state_exception(state)
    if isinstance(exc, NewsetlError):
        _die(str(exc), exc.exit_code)
    if exc is not None:
        _die(f"the run crashed: {type(exc).__name__}: {exc}. This is a bug; please report it "
             "with the Prefect flow run logs.", EXIT_CRASH)
    typer.echo(f"newsetl: FAILED: {state.message}", err=True)
    raise typer.Exit(EXIT_GATE)


def _print_run_link(flow, flow_run, state) -> None:
    """On a configured Prefect server: where the run is in the UI (stderr, before any progress)."""
    from prefect.utilities.urls import url_for
    url = url_for(flow_run)
    if url:
        typer.echo(f"run {flow_run.name}: {url}", err=True)


def _state_exception(state) -> BaseException | None:
    """The exception that ended a failed run; None when the flow returned Failed (a gate)."""
    try:
        state.result(raise_on_failure=True)
    except BaseException as e:  # noqa: BLE001
        from prefect.exceptions import FailedRun
        return None if isinstance(e, FailedRun) else e
    return None


def _print_summary(s: dict) -> None:
    from flows.run_report import summary_text
    typer.echo(summary_text(s))


@app.command()
def query(
    sql: Optional[str] = typer.Argument(None, help="SQL over the views: articles, paragraphs, removed, rejects, "
                                                   "duplicate_clusters, dq_results, runs, canonical_articles, ...; "
                                                   "several statements separated by ';' all run"),
    file: Optional[Path] = typer.Option(None, "-f", "--file", help="read the SQL script from FILE (- for stdin)"),
    warehouse: Path = typer.Option(Path("warehouse"), "--warehouse"),
    fmt: str = typer.Option("table", "--format", help="table | csv | json | markdown | parquet"),
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="write the results to FILE (needed for --format parquet)"),
    max_rows: int = typer.Option(40, "--max-rows", min=0, help="rows shown by --format table (0: all)"),
) -> None:
    """Run SQL with DuckDB over the warehouse; each table is a view of the same name.

    Every statement of the script runs in order; each that returns rows is printed as DuckDB
    renders it (NULL as NULL; times in Asia/Ho_Chi_Minh). Bad SQL exits 2 with DuckDB's whole
    message and a hint."""
    from flows.query import QueryError, QueryUsageError, load_script, run_script
    from flows.warehouse import Warehouse

    try:
        script = load_script(sql, file)
        con = Warehouse(warehouse).connect()
    except QueryUsageError as e:
        _die(str(e))
    except NewsetlError as e:
        _die(str(e), e.exit_code)
    try:
        run_script(con, script, fmt, output_path=output, max_rows=max_rows)
    except QueryUsageError as e:
        _die(str(e))
    except QueryError as e:
        _die(str(e), EXIT_USAGE)
    finally:
        con.close()


@app.command()
def docs(
    warehouse: Path = typer.Option(Path("warehouse"), "--warehouse"),
    serve: bool = typer.Option(False, "--serve", help="serve the Data Docs over http until Ctrl-C"),
    port: int = typer.Option(4201, "--port", help="port for --serve (127.0.0.1 only)"),
) -> None:
    """Print where the Data Docs site of the warehouse is (or serve it with --serve).

    `newsetl ui` serves them too, and each run's artifacts link its pages there."""
    index = warehouse.absolute() / "docs" / "index.html"
    if not index.exists():
        _die(f"no Data Docs at {index} yet; run `newsetl run --warehouse {warehouse}` first")
    if not serve:
        typer.echo(str(index))
        return
    from flows.ui import serve_docs
    serve_docs(index, port)


@app.command()
def serve(
    config: Path = typer.Option(Path("prefect.yaml"), "--config",
                                help="the prefect.yaml to read the deployment from (schedule, parameters)"),
    deployment: Optional[str] = typer.Option(None, "--deployment",
                                             help="which of its deployments, by name (default: the first)"),
) -> None:
    """Serve a deployment of prefect.yaml on its cron schedule (Ctrl-C stops it)."""
    from flows.serve import serve_deployment
    try:
        serve_deployment(config, deployment)
    except NewsetlError as e:
        _die(str(e), e.exit_code)


@app.command()
def ui(
    port: int = typer.Option(4200, "--port"),
    docs_port: Optional[int] = typer.Option(None, "--docs-port", help="port of the Data Docs (default: --port + 1)"),
) -> None:
    """Start a local Prefect server with its UI on 127.0.0.1 (loopback only), and the Data Docs
    of every warehouse over http beside it."""
    from flows.ui import start_ui
    start_ui(port, docs_port)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(ctx: typer.Context) -> None:
    """Benchmark the whole flow on the real corpus (`python -m benchmarks.run --help`).

    The benchmark drives `newsetl run` in subprocesses; this command only starts it, so the
    CLI never imports benchmarks/."""
    os.execv(sys.executable, [sys.executable, "-m", "benchmarks.run", *ctx.args])


def sql_is_not_an_option(argv: list[str]) -> list[str]:
    """`newsetl query "-- a comment\nselect ..."`: Click reads any word that starts with '-' as
    an option. A query word that starts with '-' and holds whitespace is SQL (no option name
    does); a leading newline, which SQL ignores, keeps it out of the option parser."""
    if not argv or argv[0] != "query":
        return argv
    return [argv[0]] + [("\n" + a) if a.startswith("-") and any(c.isspace() for c in a) else a
                        for a in argv[1:]]


def main() -> None:
    sys.argv[1:] = sql_is_not_an_option(sys.argv[1:])
    try:
        app()
    except SystemExit as e:
        if "prefect" not in sys.modules:
            raise
        from flows.startup import fast_exit
        fast_exit(e.code if isinstance(e.code, int) else (0 if e.code is None else 1))


if __name__ == "__main__":
    main()
