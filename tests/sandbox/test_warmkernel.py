"""The warm kernel server: kernels forked with their imports done, reached by no kernel, gone with its grader.

The confinement of a kernel it forks is tested in test_kernel.py, where every claim about a
running kernel holds for a kernel forked by its launcher and for one forked by this server.
"""

from __future__ import annotations

import os
import signal
import socket

import pytest
from helpers.confinement import needs_confinement
from helpers.processes import dead, wait_dead
from nbformat.v4 import new_code_cell, new_notebook

from autograder.sandbox import kernel, warmkernel


def _values(out) -> list:
    """The Python values each cell of an executed notebook printed (one repr per cell)."""
    texts = ["".join(o.get("text", "") for o in cell.outputs) for cell in out.cells]
    return [eval(t) if t.strip() else None for t in texts]  # noqa: S307 - reprs the test asked for


@pytest.fixture
def server(monkeypatch) -> str:
    """This process's server (started once, kept for the next test); its socket."""
    monkeypatch.delenv(warmkernel.WARM_VARIABLE, raising=False)
    return warmkernel.ensure_running()


@pytest.fixture
def fresh_server(monkeypatch):
    """A server of this test's own, stopped afterwards (what execute started before is stopped)."""
    warmkernel.stop()
    monkeypatch.delenv(warmkernel.WARM_VARIABLE, raising=False)
    yield
    warmkernel.stop()


@needs_confinement
def test_a_kernel_is_forked_from_the_server_with_its_imports_done(tmp_path, server, monkeypatch):
    """Broken variant rejected: a launcher that ignores the server (its kernel is its own child
    and imports torch itself)."""
    cells = [
        new_code_cell("import os, sys\nprint(repr((os.getppid(), 'torch' in sys.modules)))"),
        new_code_cell("import os\nprint(repr(os.environ.get('SOFTMAX_KERNEL_WARM')))"),
    ]
    out, notes = kernel.execute(new_notebook(cells=cells), tmp_path, timeout=60)
    assert notes == []
    (parent, preloaded), warm = _values(out)
    assert parent == warmkernel.server_pid() and preloaded  # forked by the server, torch in
    assert warm is None  # the kernel is not told where the server is
    monkeypatch.setenv(warmkernel.WARM_VARIABLE, "0")  # off: the launcher forks, the kernel imports
    out, notes = kernel.execute(new_notebook(cells=cells[:1]), tmp_path, timeout=60)
    (parent, preloaded), = _values(out)  # fmt: skip
    assert parent != warmkernel.server_pid() and not preloaded


@needs_confinement
def test_a_server_that_is_gone_costs_nothing_but_time(tmp_path, monkeypatch):
    """A socket that answers no one (a server that died): the launcher forks the kernel itself."""
    monkeypatch.setenv(warmkernel.WARM_VARIABLE, str(tmp_path / "no-server"))
    monkeypatch.setattr(warmkernel, "ensure_running", lambda: None)
    cells = [new_code_cell("import os\nprint(repr(os.getppid() > 1))")]
    out, notes = kernel.execute(new_notebook(cells=cells), tmp_path, timeout=60)
    assert notes == [] and _values(out) == [True]


@needs_confinement
def test_the_server_refuses_its_own_kernels(tmp_path, server, monkeypatch):
    """An unconfined kernel (SOFTMAX_UNCONFINED, where seccomp would refuse its AF_UNIX socket)
    that finds the server's socket and asks for a kernel of its choosing (unconfined, reading /)
    is refused: the server checks its peer's pid (SO_PEERCRED). Broken variant rejected: a
    server without that check, which answers {"pid": ...}."""
    monkeypatch.setattr(kernel, "_confinement_or_raise", lambda: "unconfined for this test")
    path = server
    request = {"env": {"PATH": "/usr/bin"}, "cwd": "/", "folder": str(tmp_path), "connection":
               str(tmp_path / "c.json"), "ports": [1], "family": "inet", "unconfined": True}  # fmt: skip
    code = (
        "import json, os, socket\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        f"s.connect({path!r})\n"
        "try:\n"
        f"    socket.send_fds(s, [json.dumps({request!r}).encode() + b'\\n'], [0, 1, 2])\n"
        "    s.settimeout(10)\n"
        "    print(repr(s.recv(4096)))\n"
        "except OSError as err:\n"
        "    print(repr(type(err).__name__))\n"
    )
    out, notes = kernel.execute(new_notebook(cells=[new_code_cell(code)]), tmp_path, timeout=60)
    assert any("unconfined" in n for n in notes), notes
    assert _values(out)[0] in (b"", "BrokenPipeError", "ConnectionResetError"), out.cells[0]


@needs_confinement
def test_a_confined_kernel_cannot_open_the_servers_socket(tmp_path, server):
    path = server
    code = (
        "import socket\n"
        "try:\n"
        "    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "    print(repr('opened'))\n"
        "except OSError as err:\n"
        "    print(repr(type(err).__name__))\n"
    )
    out, _notes = kernel.execute(new_notebook(cells=[new_code_cell(code)]), tmp_path, timeout=60)
    assert _values(out) == ["PermissionError"]
    assert os.path.exists(path)


@needs_confinement
def test_the_server_goes_with_its_grader_and_takes_its_kernels(tmp_path, fresh_server):
    """stop() (the grader's exit) closes the lifeline: the server kills the kernels it forked,
    removes its folder and exits; the launcher of a kernel so killed exits too."""
    from jupyter_client import KernelManager

    path = warmkernel.ensure_running()
    server = warmkernel.server_pid()
    km = KernelManager(kernel_name=kernel.ensure_kernelspec())
    km.start_kernel(cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        msg_id = kc.execute("import os; print(os.getpid())")
        pid = None
        while pid is None:
            msg = kc.get_iopub_msg(timeout=30)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                pid = int(msg["content"]["text"])
        assert not dead(pid)
        warmkernel.stop()
        assert wait_dead(pid, 10) and dead(server), "the kernel or the server outlived the grader"
        assert not os.path.exists(os.path.dirname(path))
        assert km.provisioner.process.wait(timeout=10) == 128 + signal.SIGKILL
    finally:
        kc.stop_channels()
        km.cleanup_resources()


def test_a_request_must_carry_its_descriptors(tmp_path, server):
    """A client that sends a request without the three descriptors gets no kernel."""
    path = server
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(60)
    sock.connect(path)
    sock.sendall(b'{"env": {}, "cwd": "/", "folder": "/", "connection": "/", "ports": [1], '
                 b'"family": "inet"}\n')  # fmt: skip
    assert sock.recv(4096) == b""
    sock.close()
