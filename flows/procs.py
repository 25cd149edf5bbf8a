"""Helpers for the local server processes newsetl starts (the embedded API of a run, the
`newsetl ui` server, the benchmark's and the tests' servers). Standard library only: the CLI
imports this before anything heavy."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

__all__ = ["free_port", "probe", "api_healthy", "wait_healthy", "stop_process", "die_with_parent",
           "term_as_interrupt", "exit_without_finalizing", "die"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(url: str, timeout: float = 2.0) -> str:
    """<url>/health (url: a Prefect API, '.../api') now: 'ok' (200), 'refused' (nothing
    listens, or an error answer) or 'silent' (no answer in time)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout) as r:
            return "ok" if r.status == 200 else "refused"
    except urllib.error.HTTPError:
        return "refused"
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            return "silent"
        return "refused"


def api_healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether <url>/health answers 200 now."""
    return probe(url, timeout) == "ok"


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout: float = 180.0,
                 interval: float = 0.25) -> bool:
    """Poll <url>/health until it answers 200; False if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if api_healthy(url):
            return True
        time.sleep(interval)
    return False


def stop_process(proc: subprocess.Popen, timeout: float = 30.0) -> int:
    """SIGINT (a server shuts down like on Ctrl-C), then SIGTERM, then SIGKILL."""
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        if proc.poll() is not None:
            break
        proc.send_signal(sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the parent dies, even by SIGKILL, so no server
    is left behind on its port (Linux; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)          # 1 = PR_SET_PDEATHSIG


def term_as_interrupt() -> None:
    """SIGTERM (kill, systemd stop) takes the same clean path as Ctrl-C. SIGINT is reset to
    Python's default too: a shell starts background jobs with SIGINT ignored."""
    def _raise(signum, frame):
        raise KeyboardInterrupt
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _raise)
    except ValueError:      # not the main thread (e.g. called from a test harness)
        pass


def exit_without_finalizing(code: int):
    """Run the atexit handlers (Prefect drains its log and event workers and stops its loop
    threads there), flush, and leave without interpreter finalization. Seen once under load:
    after a clean shutdown, finalization aborted with "FATAL: exception not rethrown" (SIGABRT,
    a daemon thread unwinding through native code); nothing is left to do by then."""
    import atexit
    import os
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def die(msg: str, code: int = 2):
    """One line on stderr, then exit `code` (the long-running commands: serve, ui)."""
    print(f"newsetl: {msg}", file=sys.stderr, flush=True)
    raise SystemExit(code)
