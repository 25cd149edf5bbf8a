"""`newsetl serve` and prefect.yaml: the news-etl deployment is registered with its cron schedule
and parameters from config/newsetl.toml, served runs execute, Ctrl-C stops serving cleanly,
and `prefect deploy` registers the same deployment to a work pool."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from flows.serve import ConfigError, load_config, register_deployment
from tests.conftest import NEWSETL, ROOT, duck

CONFIG = ROOT / "config" / "newsetl.toml"


def _config(tmp_path: Path, name: str, source: Path, warehouse: Path, cron: str = "0 0 1 1 *") -> Path:
    p = tmp_path / "newsetl.toml"
    p.write_text(f"""
[deployment]
name = "{name}"
tags = ["news-etl", "test"]

[schedule]
cron = "{cron}"
timezone = "Asia/Ho_Chi_Minh"

[parameters]
source = "{source}"
warehouse = "{warehouse}"
with_tokens = false
""", encoding="utf-8")
    return p


# -- config (no server) ------------------------------------------------------------------------

def test_repo_config_is_hourly_with_absolute_paths(tmp_path):
    cfg = load_config(CONFIG, base=tmp_path)
    assert (cfg.full_name, cfg.cron, cfg.active) == ("news-etl/hourly", "0 * * * *", True)
    assert cfg.parameters["source"] == str(tmp_path / "seeds")
    assert cfg.parameters["warehouse"] == str(tmp_path / "warehouse")
    assert "news-etl" in cfg.tags


@pytest.mark.parametrize("body, names", [
    ('[schedule]\ncron = "0 * * *"', "cron"),
    ('[schedule]\ncron = "61 * * * *"', "cron"),
    ('[schedule]\ntimezone = "Mars/Olympus"', "timezone"),
    ('[parameters]\nbatchsize = 10', "batchsize"),
    ('[parameters]\nbatch_size = "big"', "batch_size"),
    ('[parameters]\nwith_tokens = 1', "with_tokens"),
    ('[parameters]\nprogress = true', "progress"),
    ('[deployment]\nname = "a/b"', "name"),
    ('[schedul]\ncron = "0 * * * *"', "schedul"),
    ('[schedule\ncron = ', "not valid TOML"),
])
def test_a_bad_config_names_the_key(tmp_path, body, names):
    p = tmp_path / "bad.toml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=names):
        load_config(p)


def test_float_parameters_accept_integers(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[parameters]\nmax_quarantine_share = 0\nlock_wait = 60\n", encoding="utf-8")
    assert load_config(p).parameters == {"max_quarantine_share": 0, "lock_wait": 60}


def test_prefect_yaml_matches_the_serve_config():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    (dep,) = spec["deployments"]
    cfg = load_config(CONFIG, base=Path("/base"))
    assert dep["entrypoint"] == "flows/etl.py:news_etl" and (ROOT / "flows" / "etl.py").exists()
    assert dep["name"] == cfg.name
    assert [(s["cron"], s["timezone"]) for s in dep["schedules"]] == [(cfg.cron, cfg.timezone)]
    params = {k: (str(Path("/base") / v) if k in ("source", "warehouse") else v)
              for k, v in dep["parameters"].items()}
    assert params == cfg.parameters
    assert spec["pull"] == [{"prefect.deployments.steps.set_working_directory":
                             {"directory": "{{ $NEWSETL_HOME }}"}}]


def test_serve_without_a_server_is_a_usage_error(cli):
    r = cli("serve", timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "PREFECT_API_URL" in r.stderr and "newsetl ui" in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_with_a_bad_config_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[schedule]\ncron = "every hour"\n', encoding="utf-8")
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "home"),
           "PREFECT_API_URL": "http://127.0.0.1:9/api"}        # the config is checked first
    r = subprocess.run([*NEWSETL, "serve", "--config", str(bad)], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "[schedule] cron" in r.stderr and "Traceback" not in r.stderr


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


@pytest.mark.server
@pytest.mark.slow
def test_prefect_yaml_deploys_to_a_work_pool_and_a_worker_runs_it(prefect_server, seeds_copy, tmp_path):
    env = prefect_server.env(tmp_path / "home")
    env.pop("NEWSETL_HOME", None)                           # set, `prefect deploy` would bake it in

    def prefect(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
        r = subprocess.run([*NEWSETL[:1], "-m", "prefect", "--no-prompt", *args], cwd=ROOT,
                           env={**env, **extra_env}, capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stdout + r.stderr
        return r

    prefect("work-pool", "create", "newsetl", "--type", "process")
    prefect("deploy", "--all")
    d = _deployment(prefect_server, "news-etl/hourly")
    assert d.work_pool_name == "newsetl"
    assert [(s.schedule.cron, s.schedule.timezone) for s in d.schedules] == [("0 * * * *", "Asia/Ho_Chi_Minh")]
    assert d.parameters["source"] == "seeds" and d.parameters["with_tokens"] is True
    # resolved on the worker at run time, not on the machine that deployed
    assert d.pull_steps == [{"prefect.deployments.steps.set_working_directory":
                             {"directory": "{{ $NEWSETL_HOME }}"}}]
    wh = tmp_path / "wh"
    with prefect_server.client() as c:
        run = c.create_flow_run_from_deployment(d.id, parameters={
            "source": str(seeds_copy), "warehouse": str(wh), "with_tokens": False})
    prefect("worker", "start", "--pool", "newsetl", "--run-once", NEWSETL_HOME=str(ROOT))
    with prefect_server.client() as c:
        run = c.read_flow_run(run.id)
    assert run.state.is_completed(), run.state
    assert duck(wh, "select flow_run_id from runs") == [(str(run.id),)]
