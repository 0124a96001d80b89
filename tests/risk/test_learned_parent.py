"""The learned score's second process ends with the scoring process that started it: a killed
`guanlian score` leaves nothing computing for minutes behind it (one such orphan ran for 12
minutes on the large set)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# the scoring process: starts a spawned worker that watches it (as `PendingLearned` does),
# prints the worker's PID, then waits to be killed
PARENT = """
import multiprocessing as mp, os, sys, time
from risk.learned_run import end_with_parent

def work(parent):
    end_with_parent(parent)
    time.sleep(120)  # a long learned score

if __name__ == "__main__":
    child = mp.get_context("spawn").Process(target=work, args=(os.getpid(),))
    child.start()
    print(child.pid, flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # an exited child nobody has reaped yet counts as gone


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_second_process_ends_with_a_killed_scoring_process(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT, encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                              text=True, cwd=root,
                              env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        time.sleep(3)  # the worker has imported its module and is watching
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the worker outlived the killed scoring process"
    finally:
        parent.kill()
