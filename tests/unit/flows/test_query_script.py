"""flows/query.py: every statement runs, DuckDB renders, errors come whole with a hint.
Real DuckDB over real Parquet files written in tmp_path."""
from __future__ import annotations

import io
import json

import duckdb
import pytest

from flows.query import QueryError, QueryUsageError, load_script, run_script


@pytest.fixture
def con(tmp_path):
    """Views over two Parquet files, as the warehouse has them: one NULL title, one NULL
    timestamp, a TIMESTAMPTZ column and a title with a `|` and a line break."""
    (tmp_path / "articles").mkdir()
    setup = duckdb.connect()
    setup.execute(f"""COPY (SELECT * FROM (VALUES
        (1, TIMESTAMPTZ '2017-01-02 03:04:05+07', NULL::VARCHAR),
        (2, NULL::TIMESTAMPTZ, 'a|b' || chr(10) || 'c')) t(article_id, published_at, title))
        TO '{tmp_path}/articles/part-0.parquet' (FORMAT parquet)""")
    setup.close()
    c = duckdb.connect()
    c.execute("SET TimeZone = 'Asia/Ho_Chi_Minh'")
    c.execute(f"CREATE VIEW articles AS SELECT * FROM read_parquet('{tmp_path}/articles/*.parquet')")
    c.execute("CREATE VIEW runs AS SELECT 'r1' AS run_id, TIMESTAMPTZ '2017-01-01 00:00:00+00' AS started_at")
    yield c
    c.close()


def run(con, sql, fmt="table", **kw) -> tuple[str, object]:
    out = io.StringIO()
    result = run_script(con, sql, fmt, out, **kw)
    return out.getvalue(), result


def test_every_statement_of_a_script_runs(con):
    text, result = run(con, "SELECT count(*) AS n_articles FROM articles;\n"
                            "CREATE TEMP TABLE t AS SELECT 41 AS x;  -- prints nothing\n"
                            "SELECT x + 1 AS answer FROM t")
    assert result.statements == 3 and result.results == 2
    assert "n_articles" in text and "answer" in text and "42" in text
    assert text.index("n_articles") < text.index("answer")


def test_table_prints_null_as_null_and_one_time_zone(con):
    text, _ = run(con, "SELECT a.*, r.started_at FROM articles a, runs r ORDER BY article_id")
    assert "NULL" in text and "NaN" not in text and "NaT" not in text
    assert "2017-01-02 03:04:05+07" in text          # the stored instant, in the session zone
    assert "2017-01-01 07:00:00+07" in text          # another column, same zone
    assert "+00" not in text


def test_csv_is_duckdbs_own(con):
    text, result = run(con, "SELECT * FROM articles ORDER BY article_id", "csv")
    assert text.splitlines()[0] == "article_id,published_at,title"
    assert text.splitlines()[1] == "1,2017-01-02 03:04:05+07,"        # NULL is an empty field
    assert '"a|b\nc"' in text
    assert result.rows_written == 2


def test_json_is_an_array_per_result_with_null(con):
    text, _ = run(con, "SELECT * FROM articles ORDER BY article_id; SELECT 1 AS one", "json")
    first, second = text.split("]\n[")
    rows = json.loads(first + "]")
    assert rows == [{"article_id": 1, "published_at": "2017-01-02 03:04:05+07", "title": None},
                    {"article_id": 2, "published_at": None, "title": "a|b\nc"}]
    assert json.loads("[" + second) == [{"one": 1}]


def test_markdown_escapes_pipes_and_keeps_rows_on_one_line(con):
    text, _ = run(con, "SELECT * FROM articles ORDER BY article_id", "markdown")
    assert text.splitlines() == [
        "| article_id | published_at | title |",
        "|---|---|---|",
        "| 1 | 2017-01-02 03:04:05+07 | NULL |",
        "| 2 | NULL | a\\|b c |",
    ]


def test_parquet_writes_the_file_and_needs_one(con, tmp_path):
    with pytest.raises(QueryUsageError, match="-o FILE"):
        run(con, "SELECT 1", "parquet")
    target = tmp_path / "out" / "canonical.parquet"
    text, result = run(con, "SET threads = 1; SELECT * FROM articles", "parquet", output_path=target)
    assert text == "" and result.rows_written == 2
    assert duckdb.sql(f"SELECT count(*), count(title) FROM '{target}'").fetchall() == [(2, 1)]
    with pytest.raises(QueryError, match="one result"):
        run(con, "SELECT 1; SELECT 2", "parquet", output_path=tmp_path / "two.parquet")
    assert not (tmp_path / "two.parquet").exists()
    assert [p.name for p in target.parent.iterdir()] == ["canonical.parquet"]   # no temp left


def test_text_format_to_a_file(con, tmp_path):
    target = tmp_path / "n.csv"
    text, _ = run(con, "SELECT count(*) AS n FROM articles", "csv", output_path=target)
    assert text == "" and target.read_text() == "n\n2\n"


def test_missing_column_lists_the_views_columns(con):
    with pytest.raises(QueryError) as e:
        run(con, "SELECT 1 AS ok;\nSELECT titel FROM articles")
    msg = str(e.value)
    assert msg.startswith("statement 2 of 2 failed:\n  SELECT titel FROM articles\n")
    assert 'Referenced column "titel" not found' in msg and "Candidate bindings" in msg
    assert msg.splitlines()[-1] == "hint: articles has article_id, published_at, title"


def test_unknown_table_lists_the_views(con):
    with pytest.raises(QueryError) as e:
        run(con, "SELECT * FROM artcles")
    assert 'Did you mean "articles"' in str(e.value)
    assert e.value.hint == "the views are: articles, runs"


def test_double_quoted_string_gets_the_quoting_hint(con):
    with pytest.raises(QueryError) as e:
        run(con, 'SELECT * FROM articles WHERE title = "abc"')
    assert e.value.hint.startswith('"abc" in double quotes is a column name')


def test_results_before_the_failing_statement_stay_printed(con):
    out = io.StringIO()
    with pytest.raises(QueryError) as e:
        run_script(con, "SELECT 'first' AS r; SELECT CAST('x' AS INTEGER); SELECT 'third' AS r", "csv", out)
    assert out.getvalue() == "r\nfirst\n"
    assert e.value.statement_no == 2 and "Conversion Error" in str(e.value)


def test_a_script_that_does_not_parse_runs_nothing(con):
    out = io.StringIO()
    with pytest.raises(QueryError, match="syntax error") as e:
        run_script(con, "CREATE TEMP TABLE made AS SELECT 1; selec 2", "table", out)
    assert "nothing ran" in e.value.hint and out.getvalue() == ""
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'made'").fetchone() == (0,)


def test_empty_script_and_unknown_format(con):
    with pytest.raises(QueryError, match="no SQL statement"):
        run(con, "  -- only a comment\n")
    with pytest.raises(QueryUsageError, match="unknown --format"):
        run(con, "SELECT 1", "xlsx")


def test_load_script_from_argument_file_or_stdin(tmp_path):
    script = tmp_path / "q.sql"
    script.write_text("SELECT 1;\nSELECT 2;\n", encoding="utf-8")
    assert load_script(None, script) == "SELECT 1;\nSELECT 2;\n"
    assert load_script("SELECT 3", None) == "SELECT 3"
    assert load_script(None, type(script)("-"), stdin=io.StringIO("SELECT 4")) == "SELECT 4"
    with pytest.raises(QueryUsageError, match="not both"):
        load_script("SELECT 1", script)
    with pytest.raises(QueryUsageError, match="cannot read"):
        load_script(None, tmp_path / "missing.sql")
