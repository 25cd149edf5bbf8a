"""benchmarks.rss: the peak RSS of a process tree, children included, read from /proc."""
from __future__ import annotations

import sys

from benchmarks.rss import run_measured, tree_pids

# The child holds 60 MB and starts a grandchild that holds 150 MB; both sleep so that the
# 0.05 s sampler sees them alive together.
CHILD = r"""
import subprocess, sys, time
hold = b"x" * (60 * 1024 * 1024)
g = subprocess.Popen([sys.executable, "-c",
                      "import time; hold = b'y' * (150 * 1024 * 1024); print('ready', flush=True); time.sleep(1.5)"],
                     stdout=subprocess.PIPE, text=True)
g.stdout.readline()
time.sleep(1.0)
g.wait()
print(len(hold))
"""


def test_peak_rss_counts_grandchildren():
    m = run_measured([sys.executable, "-c", CHILD], interval=0.05, timeout=120)
    assert m.returncode == 0, m.stderr
    assert m.stdout.strip() == str(60 * 1024 * 1024)
    assert m.max_processes >= 2
    assert m.peak_rss_mb >= 60 + 150            # both held at once, plus two interpreters
    assert m.peak_rss_mb < 2000
    assert m.max_process_hwm_mb >= 150          # the grandchild alone
    assert m.wall_s >= 1.0


def test_exit_code_and_stderr_are_kept():
    m = run_measured([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"], timeout=60)
    assert (m.returncode, m.stderr) == (3, "boom")


def test_tree_holds_a_child_and_a_leaf_only_itself():
    import os
    import subprocess
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in tree_pids(os.getpid())
        assert tree_pids(child.pid) == [child.pid]
    finally:
        child.kill()
        child.wait()
