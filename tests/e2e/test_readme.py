"""The README's examples return what it shows, on the data it shows them on (the seeds).

- The summary printed under `make run` is the one a seeds run prints, line for line, except the
  run id, the warehouse path and the progress timings.
- Every `newsetl query` command and every statement of every ```sql block runs with exit 0 on
  a warehouse built from seeds/, and each of them returns at least one row (or none, where a
  comment above the statement says it returns no rows on the seeds).

A change that alters what a seeds run prints or makes an example come back empty fails here:
update the README with it.
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess

import pytest

from tests.conftest import NEWSETL, ROOT, SEEDS, cli_env

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, flags=re.S | re.M)


def _sql_statements() -> list[str]:
    return [s.strip() for block in _blocks("sql") for s in block.split(";") if s.strip()]


def _query_commands() -> list[list[str]]:
    """The arguments after `newsetl query` of each README bash line that runs one."""
    out = []
    for block in _blocks("bash"):
        pending = ""
        for line in block.splitlines():
            if not pending and not line.startswith(".venv/bin/newsetl query "):
                continue
            pending = f"{pending}\n{line}" if pending else line
            try:
                args = shlex.split(pending, comments=True)
            except ValueError:          # a quoted query that goes on on the next line
                continue
            out.append(args[2:])
            pending = ""
        assert not pending, f"unclosed quote in the README: {pending}"
    return out


def _make_run_block() -> list[str]:
    (block,) = [b for b in _blocks("text") if b.startswith("$ make run\n")]
    return block.splitlines()[1:]


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory, cli_prefect_home):
    wh = tmp_path_factory.mktemp("readme") / "warehouse"
    r = subprocess.run([*NEWSETL, "run", "--source", str(SEEDS), "--warehouse", str(wh), "--progress", "plain"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, env=cli_env(cli_prefect_home),
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    return wh, (r.stderr + r.stdout).splitlines()


def test_the_readme_has_examples_to_check():
    assert len(_sql_statements()) >= 8 and len(_query_commands()) >= 4 and len(_make_run_block()) >= 8


def _shape(line: str, wh) -> str:
    line = re.sub(r"run \d{8}T\d{6}Z-[0-9a-f]{6}", "run <id>", line)
    line = line.replace(str(wh), "<warehouse>").replace("/home/you/newsetl/warehouse", "<warehouse>")
    return re.sub(r"in \d+s \([\d.]+ files/s\)", "in <t>", line)


def test_make_run_prints_the_summary_the_readme_shows(seeds_run):
    wh, printed = seeds_run
    shown = [_shape(line, wh) for line in _make_run_block()]
    got = [_shape(line, wh) for line in printed if line.strip()]
    assert shown == got[-len(shown):], "\n".join(got)


@pytest.mark.parametrize("statement", _sql_statements(), ids=lambda s: " ".join(s.split())[:60])
def test_every_readme_sql_statement_returns_rows_on_the_seeds(cli, seeds_run, statement):
    wh, _ = seeds_run
    r = cli("query", "--warehouse", str(wh), "--format", "json", "--", statement)   # "--": it may start with "--"
    assert r.returncode == 0, r.stderr
    if "no rows on the seeds" in statement:         # the README says so in a comment above it
        assert json.loads(r.stdout) == [], f"the README says no rows on the seeds: {statement}"
    else:
        assert json.loads(r.stdout), f"no rows on the seeds: {statement}"


@pytest.mark.parametrize("args", _query_commands(), ids=lambda a: " ".join(a)[:60])
def test_every_readme_query_command_runs_on_the_seeds(cli, seeds_run, tmp_path, args):
    wh, _ = seeds_run
    args = list(args)
    if "-f" in args:                 # the script is the README's own sql blocks, in order
        script = tmp_path / "report.sql"
        script.write_text(";\n".join(_sql_statements()) + ";\n", encoding="utf-8")
        args[args.index("-f") + 1] = str(script)
    if "-o" in args:
        args[args.index("-o") + 1] = str(tmp_path / args[args.index("-o") + 1])
    r = cli("query", "--warehouse", str(wh), *args)
    assert r.returncode == 0, r.stderr
    if "-o" in args:
        assert (tmp_path / "articles.parquet").stat().st_size > 0
    else:
        assert r.stdout.strip() and not re.search(r"(?<![\d,])0 rows", r.stdout), r.stdout
