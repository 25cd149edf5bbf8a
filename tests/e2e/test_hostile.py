"""`newsetl run` on a hostile, messy source folder (issue 9), checked through DuckDB.

One folder holds every case next to the five seeds: FIFO, socket, device file; link loops,
links leaving the tree, links inside it; a 40 MB one-line file and a 300,000-line file;
NUL bytes, mixed line endings, a BOM in the middle, very long lines, lines of punctuation
or emoji, text that is 90% digits, and the strings that make backtracking regexes blow up;
names with spaces, Vietnamese letters, newlines and non-UTF-8 bytes, deep nesting; files
that vanish, grow or are swapped for a FIFO between the scan and the read; an unreadable
file and directory. The run must exit 0 without a traceback, in bounded time and memory,
and every regular file must end in exactly one row of `articles` or `rejects`.

The CLI runs in a subprocess: the `cli` fixture's command (`python -m flows.cli`, own
PREFECT_HOME), behind `setpriv` when the tests run as root so that file permissions apply
(as in tests/unit/flows/test_sources.py), and behind a two-line bootstrap that disturbs a
few files right after the real scan (the only way to hit the scan-to-read window for real
in a subprocess). The rest of the flow is the real one.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.sources import source_path_from_bytes, source_path_to_bytes
from tests.conftest import ROOT, SEEDS, duck

MB = 1024 * 1024
ARTICLE = "article"     # expected outcome: a row in `articles`
ANY = "any"             # expected outcome: an article or a reject with any transform-stage reason

# -- a hostile source folder ------------------------------------------------------------------

_WORDS = ("người dân thành phố tỉnh huyện xã đường giao thông trường học bệnh viện cán bộ công an "
          "chính quyền doanh nghiệp nông dân ngư dân thời tiết mưa lũ sạt lở cầu cống kinh tế").split()


def article(i: int, extra: list[str] = ()) -> str:
    """A plausible Vietnamese news page, distinct for each i; `extra` lines go mid-body."""
    def words(k: int, n: int) -> str:
        return " ".join(_WORDS[(k * 7 + j * 3 + i) % len(_WORDS)] for j in range(n))
    body = [
        f"Chiều {i % 27 + 1}-5, tại Hà Nội, đại diện {words(1, 8)} cho biết tình hình {words(2, 10)} "
        "đã có nhiều chuyển biến tích cực so với cùng kỳ năm trước.",
        f"Theo báo cáo, trong tháng qua {words(3, 9)} đã được triển khai đồng bộ, góp phần nâng cao "
        f"hiệu quả quản lý và bảo đảm an toàn cho {words(4, 6)}.",
        *extra,
        f"Ông Nguyễn Văn {chr(65 + i % 26)} cho rằng cần tiếp tục theo dõi sát {words(5, 7)} để kịp thời "
        "xử lý các vấn đề phát sinh trong thời gian tới.",
        f"Lãnh đạo địa phương cũng đề nghị {words(6, 8)} phối hợp chặt chẽ, không để xảy ra tình trạng "
        f"chậm trễ trong việc hỗ trợ {words(7, 5)}.",
    ]
    return "\n".join([
        f"Tăng cường quản lý {words(0, 5)} tại địa phương số {i}",
        f"Thứ Hai, {i % 27 + 1:02d}/05/2024 08:{i % 60:02d} (GMT+7)",
        "",
        f"Nhiều giải pháp về {words(8, 6)} vừa được cơ quan chức năng công bố nhằm cải thiện đời sống "
        "của người dân trong năm nay.",
        "",
        *body,
        "",
        "Minh Anh",
    ]) + "\n"


def pathological(n: int) -> dict[str, str]:
    """Strings that make a backtracking regex or a quadratic scan blow up, about n chars each."""
    return {
        "a_bang": "a" * n + "!",
        "spaces_then_x": " " * n + "x",
        "dashes": "-" * n,
        "digits": "7" * n,
        "dots": "." * n,
        "alternating": "ab" * (n // 2),
        "digit_dot": "1." * (n // 2),
        "dash_lines": "-\n" * (n // 2),
        "tone_glued": "hoà" * (n // 3),
        "tone_spaced": "hoà " * (n // 4),
        "camel_glued": "trênGoogle" * (n // 10),
        "mojibake_glued": "Viá»‡t" * (n // 8),
        "date_like": "12/12/2020 " * (n // 11),
        "parens": "(" * n,
        "no_space_vi": "ViệtNam" * (n // 7),
    }


@dataclass
class Hostile:
    """The folder, and what must become of each entry (source_path -> expected outcome)."""

    root: Path
    outside: Path
    expect: dict[str, str] = field(default_factory=dict)
    regular: set[str] = field(default_factory=set)          # regular files at build time
    covered_by_dir: set[str] = field(default_factory=set)   # regular files inside unlistable dirs
    after_scan: dict[str, list[str]] = field(default_factory=dict)
    perms: bool = False


def _write(root: Path, rel: bytes, data: bytes, outcome: str, h: Hostile) -> None:
    path = os.fsencode(root) + b"/" + rel
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    h.expect[source_path_from_bytes(rel)] = outcome


def can_drop_dac() -> bool:
    return os.geteuid() != 0 or shutil.which("setpriv") is not None


def build_hostile(base: Path, *, n: int, lines: int, vanish: bool = True) -> Hostile:
    root = base / "source"
    outside = base / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_text(article(900), encoding="utf-8")
    (outside / "dir" / "x.txt").write_text(article(901), encoding="utf-8")
    root.mkdir()
    h = Hostile(root, outside)
    W = lambda rel, data, outcome: _write(root, rel, data, outcome, h)  # noqa: E731

    # the five seeds, as they are
    for p in sorted(SEEDS.iterdir()):
        W(b"seeds/" + os.fsencode(p.name), p.read_bytes(), ARTICLE)

    # content: must load (the hostile bytes are cleaned away)
    a = article(1).encode()
    W(b"content/nul_inside.txt", a.replace("tại Hà Nội".encode(), "tại H\x00à N\x00ội".encode()), ARTICLE)
    lines_1 = article(2).split("\n")
    eols = ["\r\n", "\r", "\n"]
    W(b"content/mixed_eol.txt", "".join(l + eols[k % 3] for k, l in enumerate(lines_1)).encode(), ARTICLE)
    lines_2 = article(3).split("\n")
    lines_2[6] = "\ufeff" + lines_2[6]
    lines_2[7] = lines_2[7].replace(" ", " \ufeff", 1)
    W(b"content/bom_middle.txt", ("\ufeff" + "\n".join(lines_2)).encode(), ARTICLE)
    W(b"content/utf16.txt", article(4).encode("utf-16"), ARTICLE)
    W(b"content/punct_emoji_lines.txt", article(5, [
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "—————————————", "* * * * * *", "• • •", "?!?!?!", "...",
        "😀😀😀😀", "🇻🇳🇻🇳🇻🇳", "👍", "(((((((((", "-\t-\t-",
    ]).encode(), ARTICLE)
    W(b"content/very_long_line.txt", article(6, ["Hà Nội " + "a" * n + "!"]).encode(), ANY)
    W(b"content/digits90.txt", "\n".join(
        f"Mã {k} " + "".join(str((k * 31 + j) % 10) for j in range(90)) for k in range(200)).encode(), ANY)
    W(b"content/digits90_in_article.txt", article(7, [
        "Bảng số liệu 2024: " + " ".join(f"{k * 7919 % 100000:05d}" for k in range(400)) + "."]).encode(), ANY)
    for k, (name, s) in enumerate(pathological(n).items()):
        W(b"content/patho/" + name.encode() + b"_alone.txt", s.encode(), ANY)
        W(b"content/patho/" + name.encode() + b"_in_article.txt", article(20 + k, [s]).encode(), ANY)
    W(b"content/empty.txt", b"", "extract.empty")
    W(b"content/whitespace_only.txt", b" \t\r\n" * 1000 + "\u3000\ufeff".encode(), "extract.whitespace_only")
    W(b"content/image.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "extract.binary")
    W(b"content/nul_heavy.bin", b"\x00\x01\x02abc" * 5000, "extract.binary")

    # size
    W(b"size/forty_mb_one_line.txt", b"x" * (40 * MB), "extract.too_large")
    W(b"size/five_mb_plus_one.txt", b"y" * (5 * MB + 1), "extract.too_large")
    W(b"size/many_short_lines.txt", b"".join(b"d\xc3\xb2ng %d\n" % k for k in range(lines)), ANY)

    # names
    for k, name in enumerate([
        b"with space .txt", "Hà Nội – tin mới.txt".encode(),
        unicodedata.normalize("NFD", "Hà Nội – tin mới.txt").encode(), b"new\nline.txt",
        b"not utf8 \xff\xfe.txt", b"cut \xe1\xbb.txt", b"back\\slash \\x41.txt", b"tab\there\r.txt",
        b"-rf", "báo 📰.txt".encode(),
    ]):
        W(b"names/" + name, article(100 + k).encode(), ARTICLE)
    W(b"/".join(b"d%02d" % k for k in range(80)) + b"/deep.txt", article(150).encode(), ARTICLE)

    # special files: never opened
    special = root / "special"
    special.mkdir()
    os.mkfifo(special / "fifo")
    h.expect["special/fifo"] = "extract.not_regular_file"
    cwd = os.getcwd()
    os.chdir(special)                           # AF_UNIX paths are limited to ~108 bytes
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind("socket")
        sock.close()                            # the socket file stays
    finally:
        os.chdir(cwd)
    h.expect["special/socket"] = "extract.not_regular_file"
    try:
        os.mknod(special / "null_device", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        h.expect["special/null_device"] = "extract.not_regular_file"
    except PermissionError:
        pass

    # symbolic links
    links = root / "links"
    links.mkdir()
    for name, target, outcome in [
        ("loop1", "loop2", "extract.symlink_broken"), ("loop2", "loop1", "extract.symlink_broken"),
        ("self", "self", "extract.symlink_broken"), ("broken", "nowhere.txt", "extract.symlink_broken"),
        ("outside_abs", str(outside / "secret.txt"), "extract.symlink_outside"),
        ("outside_rel", "../../outside/secret.txt", "extract.symlink_outside"),
        ("outside_dir", str(outside / "dir"), "extract.symlink_outside"),
        ("dup_file", "../content/mixed_eol.txt", "extract.duplicate_link"),
        ("dup_dir", "../names", "extract.duplicate_link"),
        ("up", "..", "extract.duplicate_link"),
        ("root_abs", str(root), "extract.duplicate_link"),
    ]:
        os.symlink(target, links / name)
        h.expect[f"links/{name}"] = outcome
    os.link(root / "content" / "mixed_eol.txt", links / "hard_link.txt")   # two real entries: both read
    h.expect["links/hard_link.txt"] = ARTICLE

    # between scan and read (the bootstrap acts right after the real scan)
    if vanish:
        for name, outcome in [("vanishes.txt", "extract.vanished"), ("grows.txt", "extract.changed_during_run"),
                              ("becomes_fifo.txt", "extract.not_regular_file")]:
            W(b"change/" + name.encode(), article(200 + len(name)).encode(), outcome)
        h.after_scan = {"delete": [str(root / "change" / "vanishes.txt")],
                        "append": [str(root / "change" / "grows.txt")],
                        "fifo": [str(root / "change" / "becomes_fifo.txt")]}

    # permissions (root bypasses them; the run drops CAP_DAC_* with setpriv)
    if can_drop_dac():
        h.perms = True
        W(b"perm/readable.txt", article(300).encode(), ARTICLE)
        W(b"perm/closed.txt", article(301).encode(), "extract.unreadable")
        W(b"perm/locked/inside.txt", article(302).encode(), "covered")
        (root / "perm" / "closed.txt").chmod(0o000)
        (root / "perm" / "locked").chmod(0o000)
        del h.expect["perm/locked/inside.txt"]
        h.expect["perm/locked/"] = "extract.unreadable"
        h.covered_by_dir.add("perm/locked/inside.txt")

    h.regular = _regular_files(root)
    return h


def _regular_files(root: Path) -> set[str]:
    """Independent walk (bytes, links not followed, as root): source_path of every regular file."""
    out: set[str] = set()
    top = os.fsencode(root)

    def walk(d: bytes, rel: bytes) -> None:
        for e in os.scandir(d):
            r = rel + e.name
            st_ = e.stat(follow_symlinks=False)
            if stat.S_ISDIR(st_.st_mode):
                walk(e.path, r + b"/")
            elif stat.S_ISREG(st_.st_mode):
                out.add(source_path_from_bytes(r))
    walk(top, b"")
    return out


def restore_perms(h: Hostile) -> None:
    for rel in ("perm/locked", "perm/closed.txt"):
        p = h.root / rel
        if p.exists():
            p.chmod(0o755)


# -- running newsetl ---------------------------------------------------------------------------

_BOOT = """
import json, os, sys
actions = json.loads(os.environ.pop("NEWSETL_TEST_AFTER_SCAN", "") or "{}")
if actions:
    import flows.etl
    real_scan = flows.etl.scan_source
    def scan_then_disturb(*args, **kwargs):
        entries = list(real_scan(*args, **kwargs))
        for p in actions.get("delete", []):
            os.unlink(p)
        for p in actions.get("append", []):
            with open(p, "ab") as f:
                f.write("Một đoạn được thêm vào sau khi quét.\\n".encode())
        for p in actions.get("fifo", []):
            os.unlink(p)
            os.mkfifo(p)
        return iter(entries)
    flows.etl.scan_source = scan_then_disturb
from flows.cli import main
sys.argv[0] = "newsetl"
main()
"""


def newsetl(prefect_home: Path, *args: str, drop_dac: bool = True, after_scan: dict | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess:
    """The `cli` fixture's subprocess (same environment), optionally behind setpriv and the
    after-scan bootstrap."""
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
           "NEWSETL_TEST_AFTER_SCAN": json.dumps(after_scan or {})}
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-c", _BOOT, *args]
    if drop_dac and os.geteuid() == 0:
        drop = "-dac_override,-dac_read_search"
        cmd = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", *cmd]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


def check_accounted(h: Hostile, wh: Path) -> tuple[dict[str, str | None], dict[str, str]]:
    """Every entry in exactly one row of articles or rejects, with the expected outcome."""
    art = [p for (p,) in duck(wh, "select source_path from articles")]
    rej_rows = duck(wh, "select source_path, reason, stage from rejects")
    rej = {p: r for p, r, _ in rej_rows}
    assert len(set(art)) == len(art), "a file became two articles"
    assert len(rej) == len(rej_rows), "a file was rejected twice"
    assert not set(art) & set(rej), f"both an article and a reject: {set(art) & set(rej)}"
    got = {**{p: None for p in art}, **rej}
    assert set(got) == set(h.expect), (
        f"missing: {sorted(set(h.expect) - set(got))}; unexpected: {sorted(set(got) - set(h.expect))}")
    wrong = {}
    for p, want in h.expect.items():
        have = got[p]
        if want == ARTICLE and have is not None:
            wrong[p] = (want, have)
        elif want == ANY and have is not None and have.startswith("extract."):
            wrong[p] = (want, have)
        elif want not in (ARTICLE, ANY) and have != want:
            wrong[p] = (want, have)
    assert not wrong, wrong
    # the count: regular files == articles + rejects rows for regular files; the
    # other rows are exactly the special files, links and unlistable directories
    regular = h.regular - h.covered_by_dir
    assert len(regular) == sum(1 for p in got if p in regular)
    # source_path round-trips to the bytes of a real entry of the tree
    top = os.fsencode(h.root)
    for p in got:
        if p.endswith("/"):
            assert os.path.isdir(top + b"/" + source_path_to_bytes(p[:-1]))
        elif got[p] != "extract.vanished":
            assert os.path.lexists(top + b"/" + source_path_to_bytes(p)), p
    return got, rej


def _max_child_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_hostile(tmp_path: Path, home: Path, h: Hostile, *extra: str, bound_s: float, flow_bound_s: float):
    wh = tmp_path / "warehouse"
    t0 = time.perf_counter()
    try:
        r = newsetl(home, "run", "--source", str(h.root), "--warehouse", str(wh), *extra,
                    drop_dac=h.perms, after_scan=h.after_scan)
    finally:
        restore_perms(h)
    seconds = time.perf_counter() - t0
    rss = _max_child_rss_mb()
    print(f"\nnewsetl run on the hostile folder: {seconds:.1f} s, max child RSS {rss:.0f} MB")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert seconds < bound_s
    assert rss < 1536, "the run used more than 1.5 GB"
    got, rej = check_accounted(h, wh)
    (status, files_read, flow_s, stages), = duck(
        wh, "select status, files_read, epoch(finished_at) - epoch(started_at), stage_seconds from runs")
    print(f"flow body {flow_s:.1f} s (without Prefect server start-up), stages {stages}")
    assert (status, files_read) == ("completed", len(h.expect))
    assert flow_s < flow_bound_s
    return wh, got, r


# -- the tests -----------------------------------------------------------------------------------

def _check_cleaned(wh: Path, got: dict, r) -> None:
    assert "extract.too_large: 2" in r.stdout
    # the hostile bytes are gone from the stored text
    assert duck(wh, r"""select count(*) from paragraphs where text like '%' || chr(0) || '%'
                        or text like '%' || chr(65279) || '%' or text like '%' || chr(13) || '%'""") == [(0,)]
    # names survive the warehouse byte for byte
    assert "names/new\\nline.txt" in got and "names/not utf8 \\xff\\xfe.txt" in got
    names = {source_path_to_bytes(p) for p in got if p.startswith("names/")}
    assert b"names/new\nline.txt" in names and b"names/not utf8 \xff\xfe.txt" in names


@pytest.mark.timeout(900)
def test_hostile_folder_loads_and_accounts_for_every_file(tmp_path, cli_prefect_home):
    """The all-in-one folder, scaled down for the default suite (20k-char pathological strings,
    30k-line file; the 40 MB file stays), --no-tokens. Most of the time is CLI start-up."""
    h = build_hostile(tmp_path, n=20_000, lines=30_000)
    wh, got, r = run_hostile(tmp_path, cli_prefect_home, h, "--no-tokens", bound_s=600, flow_bound_s=180)
    _check_cleaned(wh, got, r)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_hostile_folder_full_size(tmp_path, cli_prefect_home):
    """Full size: 100k-char pathological strings and the 300,000-line file, --no-tokens. The
    issue's target is < 60 s and < 1.5 GB for the flow; the bound here is doubled for noise."""
    h = build_hostile(tmp_path, n=100_000, lines=300_000)
    wh, got, r = run_hostile(tmp_path, cli_prefect_home, h, "--no-tokens", bound_s=900, flow_bound_s=120)
    _check_cleaned(wh, got, r)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_hostile_folder_full_size_with_tokens(tmp_path, cli_prefect_home):
    """The full-size folder through word segmentation too (underthesea). With 1M-char strings
    this took 885 s and 1.57 GB (measured 2026-11-24, loaded machine): underthesea's tokenizer
    regex is super-linear on runs without spaces (see test_regex_linear.py, segment xfail)."""
    h = build_hostile(tmp_path, n=100_000, lines=300_000)
    wh, got, r = run_hostile(tmp_path, cli_prefect_home, h, bound_s=1800, flow_bound_s=1200)
    _check_cleaned(wh, got, r)


# -- random names and bytes through the whole flow ------------------------------------------------

NAMES = st.binary(min_size=1, max_size=24).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))
CONTENTS = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=2000).map(lambda t: t.encode("utf-8")),
    st.builds(lambda i, junk: article(i, [junk]).encode("utf-8"), st.integers(0, 10_000), st.text(max_size=400)),
    st.builds(lambda name, k: pathological(k)[name].encode(), st.sampled_from(sorted(pathological(20))),
              st.integers(20, 3000)),
)


def _random_folder_through_the_flow(run_etl, top: dict[bytes, bytes], sub: dict[bytes, bytes],
                                    subdir: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = os.fsencode(tmp) + b"/source"
        os.mkdir(src)
        expected: dict[bytes, bytes] = {}
        for name, data in top.items():
            if name != subdir or not sub:
                expected[name] = data
        if sub:
            os.mkdir(src + b"/" + subdir)
            for name, data in sub.items():
                expected[subdir + b"/" + name] = data
        for rel, data in expected.items():
            with open(src + b"/" + rel, "wb") as f:
                f.write(data)
        wh = Path(tmp) / "warehouse"
        state = run_etl(Path(os.fsdecode(src)), wh, max_quarantine_share=1.0, max_bytes=MAX_BYTES)
        assert state.is_completed(), state.message
        art = [p for (p,) in duck(wh, "select source_path from articles")]
        rej = dict(duck(wh, "select source_path, reason from rejects"))
        got = sorted(source_path_to_bytes(p) for p in art + list(rej))
        assert got == sorted(expected), "each file must be exactly one article or one reject"
        for p, reason in rej.items():        # the size limit is the configured one
            assert (reason == "extract.too_large") == (len(expected[source_path_to_bytes(p)]) > MAX_BYTES)
        sha = dict(duck(wh, "select source_path, source_sha256 from articles"))
        import hashlib
        for p, digest in sha.items():
            assert digest == hashlib.sha256(expected[source_path_to_bytes(p)]).hexdigest()


MAX_BYTES = 2500      # --max-mb in bytes for these runs: some random files are larger
_FOLDERS = dict(top=st.dictionaries(NAMES, CONTENTS, min_size=1, max_size=8),
                sub=st.dictionaries(NAMES, CONTENTS, max_size=4), subdir=NAMES)


@settings(max_examples=2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(**_FOLDERS)
def test_random_names_and_bytes_through_the_flow(run_etl, top, sub, subdir):
    _random_folder_through_the_flow(run_etl, top, sub, subdir)


@pytest.mark.slow
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(**_FOLDERS)
def test_random_names_and_bytes_through_the_flow_more_examples(run_etl, top, sub, subdir):
    _random_folder_through_the_flow(run_etl, top, sub, subdir)
