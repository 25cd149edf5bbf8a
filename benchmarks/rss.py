"""Run a command and measure it: wall seconds and the resident memory of its whole process tree.

psutil is not installed, so the tree is read from /proc: every `interval` seconds the sampler
walks the descendants of the child (through /proc/<pid>/task/<tid>/children, or the ppid
field of every /proc/<pid>/stat when that file does not exist), sums their VmRSS and keeps
the largest sum. Shared pages (forked workers, the Prefect server subprocess) count once per
process, as `ps` would show them, so the figure is an upper bound of the real footprint.
A process that lives less than one interval can be missed; `max_process_hwm_mb` (the largest
VmHWM of any one process seen) catches peaks between samples of a single process.

Linux only. Nothing here is imported by the pipeline.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Measured", "run_measured", "tree_pids", "tree_rss_kb"]

_PROC = Path("/proc")


@dataclass
class Measured:
    """One measured subprocess run."""
    args: list[str]
    returncode: int
    wall_s: float
    peak_rss_mb: float              # max over samples of the summed VmRSS of the tree
    max_process_hwm_mb: float       # largest VmHWM of a single process of the tree
    max_processes: int              # most processes seen at once in the tree
    samples: int
    stdout: str = ""
    stderr: str = ""
    extra: dict = field(default_factory=dict)


def _children_of(pid: int) -> list[int] | None:
    """Direct children via /proc/<pid>/task/*/children; None when the kernel lacks that file."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                out.extend(int(x) for x in fh.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}"):
                return out
            return None                      # no CONFIG_PROC_CHILDREN
        except OSError:
            continue
    return out


def _ppid_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir(_PROC):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def tree_pids(root: int) -> list[int]:
    """root and all its living descendants (breadth first)."""
    seen, queue, kids = [root], [root], None
    while queue:
        pid = queue.pop()
        children = _children_of(pid) if kids is None else kids.get(pid, [])
        if children is None:                 # fall back to one scan of every process
            kids = _ppid_map()
            children = kids.get(pid, [])
        for c in children:
            if c not in seen:
                seen.append(c)
                queue.append(c)
    return seen


def _status_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB; (0, 0) for a process that is gone or a zombie."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return rss, hwm


def tree_rss_kb(root: int) -> tuple[int, int, int]:
    """(sum of VmRSS, max VmHWM, number of processes) over the tree of `root`."""
    total = top = n = 0
    for pid in tree_pids(root):
        rss, hwm = _status_kb(pid)
        if rss or hwm:
            total += rss
            top = max(top, hwm)
            n += 1
    return total, top, n


def run_measured(args: list[str], *, env: dict | None = None, cwd: str | os.PathLike | None = None,
                 interval: float = 0.1, timeout: float | None = None) -> Measured:
    """Run `args` to completion; stdout/stderr are captured, stdin is /dev/null.

    The wall clock starts just before the fork and stops when the child has been reaped.
    On timeout the child's process group is killed and returncode is -9; on Ctrl-C it is
    killed too and KeyboardInterrupt propagates.
    """
    peak = [0, 0, 0, 0]                          # sum rss kB, max hwm kB, max procs, samples
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            total, top, n = tree_rss_kb(proc.pid)
            peak[0] = max(peak[0], total)
            peak[1] = max(peak[1], top)
            peak[2] = max(peak[2], n)
            peak[3] += 1
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
    except BaseException:                        # Ctrl-C: the child is in its own session
        os.killpg(proc.pid, 9)
        proc.wait()
        done.set()
        raise
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    return Measured(args=list(args), returncode=proc.returncode, wall_s=wall,
                    peak_rss_mb=peak[0] / 1024, max_process_hwm_mb=peak[1] / 1024,
                    max_processes=peak[2], samples=peak[3], stdout=out, stderr=err)
