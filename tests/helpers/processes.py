"""Whether a process has ended (a zombie counts: its parent has not reaped it yet)."""

from __future__ import annotations

import os
import time


def dead(pid: int) -> bool:
    """Whether process `pid` is gone or a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_dead(pid: int, seconds: float) -> bool:
    """Whether process `pid` has ended within `seconds`."""
    deadline = time.monotonic() + seconds
    while not dead(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return dead(pid)
