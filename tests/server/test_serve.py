"""`newsetl serve` and prefect.yaml: the news-etl deployment is registered with its cron schedule
and parameters from prefect.yaml, served runs execute, Ctrl-C stops serving cleanly, `prefect
deploy` registers the same deployment to a work pool, and a worker runs it in its checkout or
says in one line what to set."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from filelock import FileLock

from flows.serve import ConfigError, load_config, register_deployment
from flows.worker import find_checkout
from tests.conftest import NEWSETL, ROOT, duck

CONFIG = ROOT / "prefect.yaml"


def _config(tmp_path: Path, name: str, source: Path, warehouse: Path, cron: str = "0 0 1 1 *") -> Path:
    p = tmp_path / "prefect.yaml"
    p.write_text(f"""
deployments:
  - name: {name}
    entrypoint: flows/etl.py:news_etl
    tags: [news-etl, test]
    schedules:
      - cron: "{cron}"
        timezone: Asia/Ho_Chi_Minh
    parameters:
      source: "{source}"
      warehouse: "{warehouse}"
      with_tokens: false
""", encoding="utf-8")
    return p


def _deployment_yaml(tmp_path: Path, entry: str, top: str = "") -> Path:
    """A prefect.yaml with one deployment `d`, hourly, plus `entry` lines in the deployment."""
    p = tmp_path / "prefect.yaml"
    p.write_text(f"""{top}
deployments:
  - name: d
    schedules:
      - cron: "0 * * * *"
{entry}
""", encoding="utf-8")
    return p


# -- config (no server) ------------------------------------------------------------------------

def test_repo_config_is_hourly_with_absolute_paths(tmp_path):
    cfg = load_config(CONFIG, base=tmp_path)
    assert (cfg.full_name, cfg.cron, cfg.timezone, cfg.active) == (
        "news-etl/hourly", "0 * * * *", "Asia/Ho_Chi_Minh", True)
    assert cfg.parameters["source"] == str(tmp_path / "seeds")
    assert cfg.parameters["warehouse"] == str(tmp_path / "warehouse")
    assert cfg.parameters["with_tokens"] is True and cfg.parameters["lock_wait"] == 300.0
    assert "news-etl" in cfg.tags and cfg.concurrency_limit == 1
    assert cfg.description.startswith("Load new and changed files")


def test_relative_paths_resolve_against_the_config_folder_not_the_cwd(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    monkeypatch.chdir(tmp_path)             # started elsewhere: `newsetl serve --config conf/prefect.yaml`
    cfg = load_config(_config(tmp_path / "conf", "rel", Path("src"), Path("wh")))
    assert cfg.parameters["source"] == str(tmp_path / "conf" / "src")
    assert cfg.parameters["warehouse"] == str(tmp_path / "conf" / "wh")


@pytest.mark.parametrize("entry, top, names", [
    ('', 'deployments:\n  - name: d\n    schedules:\n      - cron: "0 * * *"\n', "schedules\\[0\\].cron"),
    ('', 'deployments:\n  - name: d\n    schedules:\n      - cron: "61 * * * *"\n', "schedules\\[0\\].cron"),
    ('', 'deployments:\n  - name: d\n    schedules:\n      - {cron: "0 * * * *", timezone: Mars/Olympus}\n',
     "schedules\\[0\\].timezone"),
    ("    parameters: {batchsize: 10}", "", "batchsize"),
    ("    parameters: {batch_size: big}", "", "parameters.batch_size"),
    ("    parameters: {with_tokens: 1}", "", "parameters.with_tokens"),
    ("    parameters: {progress: plain}", "", "progress"),
    ("    parameters: {max_quarantine_share: '0.2'}", "", "parameters.max_quarantine_share"),
    ("    schedul: {cron: '0 * * * *'}", "", "schedul"),
    ("    concurrency_limit: 0", "", "concurrency_limit"),
    ("    entrypoint: flows/other.py:other", "", "entrypoint"),
    ("    tags: news-etl", "", "tags"),
    ("", "deployments:\n  - name: a/b\n", "name"),
    ("", "deployments: []\n", "deployments"),
    ("", "deploymentz: []\n", "deploymentz"),
    ("", 'deployments:\n  - name: d\n    schedules:\n      - {interval: 3600}\n', "interval"),
    ("", "deployments:\n  - name: d\n    schedules: []\n", "schedules"),
    ("", 'deployments:\n  - name: d\n    schedules:\n      - cron: * * * * *\n', "not valid YAML"),
    ("", "deployments: [\n", "not valid YAML"),
])
def test_a_bad_config_names_the_key(tmp_path, entry, top, names):
    p = tmp_path / "bad.yaml"
    if top:
        p.write_text(top, encoding="utf-8")
    else:
        p = _deployment_yaml(tmp_path, entry)
    with pytest.raises(ConfigError, match=names) as e:
        load_config(p)
    assert "\n" not in str(e.value) and str(p) in str(e.value)


def test_a_missing_config_says_so(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "prefect.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path)


def test_float_parameters_accept_integers(tmp_path):
    p = _deployment_yaml(tmp_path, "    parameters: {max_quarantine_share: 0, lock_wait: 60}")
    assert load_config(p).parameters == {"max_quarantine_share": 0, "lock_wait": 60}


def test_deployment_picks_one_of_several_by_name(tmp_path):
    p = tmp_path / "prefect.yaml"
    p.write_text("""
deployments:
  - name: hourly
    schedules: [{cron: "0 * * * *"}]
  - name: nightly
    schedules: [{cron: "0 2 * * *", timezone: UTC, active: false}]
    parameters: {full_refresh: true}
""", encoding="utf-8")
    assert load_config(p).name == "hourly"                          # default: the first
    cfg = load_config(p, "nightly")
    assert (cfg.full_name, cfg.cron, cfg.active, cfg.parameters) == (
        "news-etl/nightly", "0 2 * * *", False, {"full_refresh": True})
    with pytest.raises(ConfigError, match=r"no deployment named 'weekly'.*\['hourly', 'nightly'\]"):
        load_config(p, "weekly")


def test_prefect_yaml_pulls_into_the_checkout_with_our_step():
    spec = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    (dep,) = spec["deployments"]
    assert dep["entrypoint"] == "flows/etl.py:news_etl" and (ROOT / "flows" / "etl.py").exists()
    assert spec["pull"] == [{"flows.worker.enter_checkout": {}}]
    from prefect.utilities.importtools import import_object
    assert import_object("flows.worker.enter_checkout") is not None   # how Prefect finds the step


def test_find_checkout_prefers_newsetl_home_else_the_installed_checkout(tmp_path):
    assert find_checkout({}) == ROOT                                # the checkout flows/ lives in
    assert find_checkout({"NEWSETL_HOME": str(ROOT)}) == ROOT
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "etl.py").write_text("")
    (tmp_path / "pyproject.toml").write_text("")
    assert find_checkout({"NEWSETL_HOME": str(tmp_path)}) == tmp_path


@pytest.mark.parametrize("home, says", [
    ("missing", "is not a folder on this worker"),
    ("empty", "is not a newsetl checkout (no pyproject.toml or flows/etl.py)"),
])
def test_find_checkout_says_what_to_set(tmp_path, home, says):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"set NEWSETL_HOME to the newsetl checkout on this worker") as e:
        find_checkout({"NEWSETL_HOME": str(tmp_path / home)})
    assert says in str(e.value) and "\n" not in str(e.value)


def test_serve_without_a_server_is_a_usage_error(cli):
    r = cli("serve", timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "PREFECT_API_URL" in r.stderr and "newsetl ui" in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_with_a_bad_config_is_a_usage_error(tmp_path):
    bad = _deployment_yaml(tmp_path, "")
    bad.write_text(bad.read_text().replace('"0 * * * *"', '"every hour"'), encoding="utf-8")
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "home"),
           "PREFECT_API_URL": "http://127.0.0.1:9/api"}        # the config is checked first
    r = subprocess.run([*NEWSETL, "serve", "--config", str(bad)], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "deployment 'd': schedules[0].cron" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


# -- against the server ------------------------------------------------------------------------

def _deployment(server, full_name: str):
    with server.client() as c:
        return c.read_deployment_by_name(full_name)


@pytest.mark.server
def test_register_deployment_sets_the_cron_schedule_and_parameters(prefect_server, tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings
    cfg = load_config(_config(tmp_path, "registered", tmp_path / "src", tmp_path / "wh", cron="15 2 * * *"))
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
        _, deployment_id = register_deployment(cfg)
    d = _deployment(prefect_server, "news-etl/registered")
    assert d.id == deployment_id
    [s] = d.schedules
    assert (s.schedule.cron, s.schedule.timezone, s.active) == ("15 2 * * *", "Asia/Ho_Chi_Minh", True)
    assert d.parameters == {"source": str(tmp_path / "src"), "warehouse": str(tmp_path / "wh"),
                            "with_tokens": False}
    assert set(d.tags) == {"news-etl", "test"}
    assert d.entrypoint == "flows.etl.news_etl"
    assert d.global_concurrency_limit is not None and d.global_concurrency_limit.limit == 1


class _Serving:
    """`newsetl serve --config <config>` in a subprocess, reporting to the test server."""

    def __init__(self, server, config: Path, tmp: Path, name: str):
        self.server, self.name = server, name
        self.out, self.err = tmp / "serve.out", tmp / "serve.err"
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.proc = subprocess.Popen([*NEWSETL, "serve", "--config", str(config)], cwd=ROOT, stdout=o,
                                         stderr=e, stdin=subprocess.DEVNULL, env=server.env(tmp / "home"))
        deadline = time.monotonic() + 120
        while f"serving news-etl/{name}" not in self.out.read_text() and time.monotonic() < deadline:
            self.check_alive()
            time.sleep(0.3)

    def output(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def check_alive(self) -> None:
        assert self.proc.poll() is None, self.output()

    def ctrl_c(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.mark.server
def test_serve_registers_the_schedule_and_stops_cleanly_on_ctrl_c(prefect_server, tmp_path):
    config = _config(tmp_path, "served", tmp_path / "src", tmp_path / "wh")
    serving = _Serving(prefect_server, config, tmp_path, "served")
    try:
        assert "serving news-etl/served: cron '0 0 1 1 *' (Asia/Ho_Chi_Minh)" in serving.output()
        d = _deployment(prefect_server, "news-etl/served")
        assert f"/deployments/deployment/{d.id}" in serving.output()          # the UI link
        assert [(s.schedule.cron, s.active) for s in d.schedules] == [("0 0 1 1 *", True)]
        assert not d.paused
        deadline = time.monotonic() + 60                    # READY once the runner polls for runs
        while d.status.value != "READY" and time.monotonic() < deadline:
            serving.check_alive()
            time.sleep(0.5)
            d = _deployment(prefect_server, "news-etl/served")
        assert d.status.value == "READY"
    finally:
        code = serving.ctrl_c()
    assert code == 0, serving.output()
    assert "stopped serving news-etl/served" in serving.out.read_text()
    assert "Traceback" not in serving.err.read_text(), serving.output()
    d = _deployment(prefect_server, "news-etl/served")
    assert d.paused                                         # no late runs pile up while nobody serves
    assert [s.schedule.cron for s in d.schedules] == ["0 0 1 1 *"]


@pytest.mark.server
@pytest.mark.slow
def test_a_served_deployment_runs_the_flow(prefect_server, seeds_copy, tmp_path):
    wh = tmp_path / "wh"
    serving = _Serving(prefect_server, _config(tmp_path, "executes", seeds_copy, wh), tmp_path, "executes")
    try:
        d = _deployment(prefect_server, "news-etl/executes")
        with prefect_server.client() as c:                  # what "Quick run" in the UI does
            run = c.create_flow_run_from_deployment(d.id)
            deadline = time.monotonic() + 300
            while not (run := c.read_flow_run(run.id)).state.is_final() and time.monotonic() < deadline:
                serving.check_alive()
                time.sleep(1)
        assert run.state.is_completed(), (run.state, serving.output())
        assert duck(wh, "select count(*) from articles") == [(5,)]
        assert duck(wh, "select flow_run_id from runs") == [(str(run.id),)]
    finally:
        code = serving.ctrl_c()
    assert code == 0 and "Traceback" not in serving.err.read_text(), serving.output()


@contextlib.contextmanager
def _work_pool_deployment(server, tmp_path: Path):
    """`prefect work-pool create` + `prefect deploy --all` from the repository root, as the README
    says; yields (the deployment as deployed, a function running `prefect <args>`).

    The worker tests share the server and the pool, and `--run-once` takes every due run of the
    pool, so they take turns (a lock in the server's home); the hourly schedule is switched off
    after the deploy, so no run due on the hour lands in a test's worker."""
    env = server.env(tmp_path / "home")
    env.pop("NEWSETL_HOME", None)

    def prefect(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
        r = subprocess.run([*NEWSETL[:1], "-m", "prefect", "--no-prompt", *args], cwd=ROOT,
                           env={**env, **extra_env}, capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stdout + r.stderr
        return r

    with FileLock(str(server.home / "work-pool-tests.lock")):
        prefect("work-pool", "create", "newsetl", "--type", "process", "--overwrite")
        prefect("deploy", "--all")
        d = _deployment(server, "news-etl/hourly")
        with server.client() as c:
            for s in d.schedules:
                c.update_deployment_schedule(d.id, s.id, active=False)
        yield d, prefect


@pytest.mark.server
@pytest.mark.slow
def test_prefect_yaml_deploys_to_a_work_pool_and_a_worker_runs_it(prefect_server, seeds_copy, tmp_path):
    with _work_pool_deployment(prefect_server, tmp_path) as (d, prefect):
        assert d.work_pool_name == "newsetl"
        assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in d.schedules] == [
            ("0 * * * *", "Asia/Ho_Chi_Minh", True)]
        assert d.parameters["source"] == "seeds" and d.parameters["with_tokens"] is True
        assert d.pull_steps == [{"flows.worker.enter_checkout": {}}]    # resolved on the worker at run time
        wh = tmp_path / "wh"
        with prefect_server.client() as c:
            run = c.create_flow_run_from_deployment(d.id, parameters={
                "source": str(seeds_copy), "warehouse": str(wh), "with_tokens": False})
        # no NEWSETL_HOME: a worker started from the checkout's .venv needs no setting
        w = prefect("worker", "start", "--pool", "newsetl", "--run-once")
    with prefect_server.client() as c:
        run = c.read_flow_run(run.id)
    assert run.state.is_completed(), (run.state, w.stdout + w.stderr)
    assert duck(wh, "select flow_run_id from runs") == [(str(run.id),)]
    assert "Traceback" not in w.stdout + w.stderr, w.stdout + w.stderr


@pytest.mark.server
@pytest.mark.slow
def test_a_worker_without_a_checkout_fails_the_run_in_one_line(prefect_server, seeds_copy, tmp_path):
    not_a_checkout = tmp_path / "srv-newsetl"
    not_a_checkout.mkdir()
    wh = tmp_path / "wh"
    with _work_pool_deployment(prefect_server, tmp_path) as (d, prefect):
        with prefect_server.client() as c:
            run = c.create_flow_run_from_deployment(d.id, parameters={
                "source": str(seeds_copy), "warehouse": str(wh), "with_tokens": False})
        w = prefect("worker", "start", "--pool", "newsetl", "--run-once", NEWSETL_HOME=str(not_a_checkout))
    out = w.stdout + w.stderr
    ours = [line for line in out.splitlines() if "newsetl:" in line]
    assert len(ours) == 1, out
    assert ours[0].startswith(f"newsetl: NEWSETL_HOME={not_a_checkout} is not a newsetl checkout"), out
    assert "set NEWSETL_HOME to the newsetl checkout on this worker" in ours[0]
    assert "Traceback" not in out, out
    with prefect_server.client() as c:
        run = c.read_flow_run(run.id)
    assert run.state.is_failed(), run.state
    assert run.state.message == ours[0]
    assert not wh.exists()
