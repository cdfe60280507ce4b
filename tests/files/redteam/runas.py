"""Running the grader as the unprivileged user nobody, and a listener that counts what reaches it.

Shared by the red-team tests of ``grade`` (tests/sandbox/test_confinement.py) and of ``nbgrader
autograde`` (tests/course/test_nbgrader_confined.py).
"""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

NOBODY = 65534


class Listener:
    """A TCP and a UDP socket on one 127.0.0.1 port, counting what reaches them."""

    def __init__(self):
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.tcp.settimeout(0.2)
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.2)
        self.connections = self.datagrams = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            for sock in (self.tcp, self.udp):
                try:
                    if sock is self.tcp:
                        conn, _ = sock.accept()
                        conn.close()
                        self.connections += 1
                    else:
                        sock.recvfrom(64)
                        self.datagrams += 1
                except (TimeoutError, OSError):
                    pass

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.tcp.close()
        self.udp.close()


def _needs_path(path: Path) -> list[Path]:
    """The ancestors of `path` that uid 65534 cannot pass through (no o+x)."""
    return [p for p in reversed(Path(path).resolve().parents)
            if not os.stat(p).st_mode & stat.S_IXOTH]  # fmt: skip


def as_nobody(cmd: list[str], needed: list[Path], keep: Path) -> list[str]:
    """`cmd` run as uid/gid 65534 in a private mount namespace where `needed` paths are reachable.

    A folder that others cannot enter (/root holding the Python installation, say) is covered
    with a world-enterable tmpfs in that namespace alone, and the needed entries are bound back
    into it; nothing changes outside the namespace.
    """
    lines = ["set -e"]
    for i, hidden in enumerate(sorted({p for n in needed for p in _needs_path(n)})):
        orig = keep / f"orig{i}"
        orig.mkdir()
        lines.append(f"mount --bind '{hidden}' '{orig}'")
        lines.append(f"mount -t tmpfs -o mode=755 tmpfs '{hidden}'")
        children = sorted({Path(n).resolve().relative_to(hidden).parts[0]
                           for n in needed if Path(n).resolve().is_relative_to(hidden)})  # fmt: skip
        for child in children:
            lines.append(
                f"mkdir -p '{hidden}/{child}' && mount --bind '{orig}/{child}' '{hidden}/{child}'"
            )
    quoted = " ".join("'" + c.replace("'", "'\\''") + "'" for c in cmd)
    lines.append(
        f"exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups --inh-caps=-all {quoted}"
    )
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(lines)]
