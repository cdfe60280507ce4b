"""The warm kernel server: ipykernel, torch, torchvision and matplotlib imported once, every confined kernel forked from it.

A confined kernel (sandbox/kernel.py) that imports all of this itself spends about 3 s of a
notebook's display run on imports before the student's first line runs. ``execute`` therefore
starts this server once per grading process (``ensure_running``); its kernel launchers ask it for
their kernel instead of forking one themselves:

1. the server is executed with the launcher's clean environment (``kernel.clean_environment``), its
   own session and a private folder (0700, under TMPDIR) that holds its Unix socket (bound by the
   grading process, so launchers can connect at once) and its TMPDIR; it imports ``PRELOAD`` and
   only then accepts connections; it exits, killing its kernels and
   removing its folder, when the grading process closes its lifeline (its stdin) or dies;
2. a launcher (stage two, clean environment, scratch and reaper made) connects to the socket
   named by ``WARM_VARIABLE`` and sends one request: its environment (already clean), its folder,
   the scratch folder, the connection copy's path and the kernel's ports, with three descriptors
   (the reaper pipe's write end, stdout and stderr). The server forks; the child takes those
   descriptors, the launcher's folder and environment, and becomes the kernel exactly as the
   launcher's own child would (``kernel._child``: limits, environment, confinement, ipykernel);
3. the server replies with the kernel's pid, kills it when asked (the launcher forwards its
   signals and its memory limit this way), reports its wait status when it ends, and kills it if
   the launcher goes away first. A launcher that finds no server, or one that fails before
   replying, forks its kernel itself: the server only ever saves time.

The server never reads a connection file (the kernel reads its own copy after the fork) and
holds nothing of the grader's but its code. Only processes of its own user may connect (the
folder is 0700, and ``SO_PEERCRED`` is checked), and never one of its kernels: their seccomp
filter refuses AF_UNIX sockets, and the server refuses a peer whose pid is one of its children.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading

WARM_VARIABLE = "SOFTMAX_KERNEL_WARM"
"""The server's socket, set by ``ensure_running`` for the launchers; ``0`` (set by the caller):
no server, each kernel imports for itself."""
PRELOAD = ("ipykernel.kernelapp", "matplotlib_inline.backend_inline", "torch", "torchvision",
           "matplotlib.pyplot")  # fmt: skip
"""What the server imports before it forks a kernel: ipykernel, and what the course's notebooks
import in their first cells (torch; torchvision through the data helper, which alone costs 1 s
since it pulls in torch._dynamo; pyplot for the plots). One that fails to import is skipped."""
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
"""matplotlib's backend in a kernel (ipykernel sets it before matplotlib loads; the server too)."""
SOCKET_NAME = "socket"
SOCKET_PATH_MAX = 107
REQUEST_BYTES = 1 << 20
"""The largest request a launcher may send (its environment, paths and ports)."""
_POLL_SECONDS = 0.2
_FDS = 3
"""Descriptors a request carries: the reaper pipe's write end, stdout, stderr."""

_lock = threading.Lock()
_server: dict = {}
"""This process's server: {"proc": Popen, "folder": str, "lifeline": int}."""


# ----------------------------------------------------------------------------------------------
# In the grading process
# ----------------------------------------------------------------------------------------------
def disabled(environ=os.environ) -> bool:
    """Whether the caller turned the server off (SOFTMAX_KERNEL_WARM=0)."""
    return environ.get(WARM_VARIABLE, "").strip() in ("0", "off", "no", "false")


def ensure_running() -> str | None:
    """Start this process's server once (in the background) and point WARM_VARIABLE at its socket;
    the socket, or None where the caller turned it off or it could not start."""
    if disabled():
        return None
    with _lock:
        proc = _server.get("proc")
        if proc is not None:
            if proc.poll() is None:
                os.environ[WARM_VARIABLE] = os.path.join(_server["folder"], SOCKET_NAME)
                return os.environ[WARM_VARIABLE]
            _stop_locked()  # it died: its kernels are gone too; start a new one
        from autograder.sandbox import kernel

        folder = tempfile.mkdtemp(prefix="softmax-warm-")
        if len(os.path.join(folder, SOCKET_NAME)) > SOCKET_PATH_MAX:
            os.rmdir(folder)
            folder = tempfile.mkdtemp(prefix="softmax-warm-", dir="/tmp")
        os.mkdir(os.path.join(folder, "tmp"), 0o700)
        env = kernel.clean_environment(os.environ)
        env.pop(WARM_VARIABLE, None)
        env.update(TMPDIR=os.path.join(folder, "tmp"), HOME=folder, MPLBACKEND=INLINE_BACKEND,
                   MPLCONFIGDIR=os.path.join(folder, "mpl"), PYTHONNOUSERSITE="1")  # fmt: skip
        # Bound here, so that a launcher can connect at once: it waits in the backlog until the
        # server has loaded its imports (an import it would otherwise do itself).
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        read_end, write_end = os.pipe()
        try:
            listener.bind(os.path.join(folder, SOCKET_NAME))
            listener.listen(64)
            proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "autograder.sandbox.warmkernel", folder,
                 str(listener.fileno())],
                stdin=read_end, stdout=subprocess.DEVNULL, env=env, cwd=folder,
                start_new_session=True, close_fds=True, pass_fds=[listener.fileno()],
            )  # fmt: skip
        except OSError:
            os.close(write_end)
            shutil.rmtree(folder, ignore_errors=True)
            return None
        finally:
            os.close(read_end)
            listener.close()
        os.set_inheritable(write_end, False)
        _server.update(proc=proc, folder=folder, lifeline=write_end)
        os.environ[WARM_VARIABLE] = os.path.join(folder, SOCKET_NAME)
        if not _registered:
            _registered.append(atexit.register(stop))
        return os.environ[WARM_VARIABLE]


_registered: list = []
STOP_SECONDS = 5


def stop() -> None:
    """Close the server's lifeline (it kills its kernels and exits), reap it, remove its folder."""
    with _lock:
        _stop_locked()


def _stop_locked() -> None:
    proc, folder, lifeline = (_server.pop(k, None) for k in ("proc", "folder", "lifeline"))
    if lifeline is not None:
        with contextlib.suppress(OSError):
            os.close(lifeline)
    if proc is not None:
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
    if os.environ.get(WARM_VARIABLE, "").startswith(folder or "\0"):
        os.environ.pop(WARM_VARIABLE, None)


def server_pid() -> int | None:
    """The pid of this process's server, if one runs."""
    proc = _server.get("proc")
    return proc.pid if proc is not None and proc.poll() is None else None


# ----------------------------------------------------------------------------------------------
# In a kernel launcher
# ----------------------------------------------------------------------------------------------
class Kernel:
    """A kernel the server forked for this launcher: its pid, signals, and its end."""

    def __init__(self, sock: socket.socket, pid: int):
        self.sock, self.pid, self._buffer = sock, pid, b""

    def kill(self, signum: int) -> None:
        """Have the server send `signum` to the kernel (it is the server's child, not ours)."""
        with contextlib.suppress(OSError):
            self.sock.sendall(json.dumps({"signal": int(signum)}).encode() + b"\n")

    def wait(self, seconds: float) -> int | None:
        """The kernel's wait status once it ended (within `seconds`), else None. A server gone
        away counts as a kernel killed (the server's kernels die with it)."""
        ready, _, _ = select.select([self.sock], [], [], seconds)
        if not ready:
            return None
        try:
            data = self.sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            return signal.SIGKILL  # a raw wait status: killed by SIGKILL
        self._buffer += data
        for line in self._buffer.split(b"\n")[:-1]:
            message = json.loads(line)
            if "exit" in message:
                return int(message["exit"])
        self._buffer = self._buffer.rsplit(b"\n", 1)[-1]
        return None


def fork_kernel(request: dict, fds: list[int]) -> Kernel | None:
    """Ask the server named by WARM_VARIABLE to fork this launcher's kernel; None where there is
    no server or it did not fork one (the launcher then forks its kernel itself)."""
    path = os.environ.get(WARM_VARIABLE, "")
    if not path or disabled() or not os.path.isabs(path):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        socket.send_fds(sock, [json.dumps(request).encode() + b"\n"], fds)
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("the warm kernel server closed the connection")
            reply += chunk
        first, _, rest = reply.partition(b"\n")
        pid = int(json.loads(first)["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        sock.close()
        return None
    kernel = Kernel(sock, pid)
    kernel._buffer = rest
    return kernel


# ----------------------------------------------------------------------------------------------
# The server
# ----------------------------------------------------------------------------------------------
def _preload() -> None:
    import importlib
    import warnings

    with warnings.catch_warnings():  # a kernel's warning filters stay Python's defaults
        warnings.simplefilter("ignore")
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the kernel imports it itself, or reports why not
                pass


def _peer(conn: socket.socket) -> tuple[int, int]:
    """(pid, uid) of the process at the other end of `conn`."""
    pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                         struct.calcsize("3i")))  # fmt: skip
    return pid, uid


class _Client:
    """One launcher's connection: its request, then its kernel."""

    def __init__(self, conn: socket.socket):
        self.conn, self.buffer, self.fds, self.pid = conn, b"", [], None

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = []
        with contextlib.suppress(OSError):
            self.conn.close()


def _fork(client: _Client, request: dict) -> int:
    """Fork the kernel `request` describes; its pid (the child never returns)."""
    from autograder.sandbox import kernel, policy

    profile = policy.KernelProfile(
        ports=tuple(int(p) for p in request["ports"]), family=str(request["family"])
    )
    env = {str(k): str(v) for k, v in dict(request["env"]).items()}
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        keep, out, err = client.fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update(env)
        _forget_matplotlib_folders()
        kernel._child(parent, str(request["folder"]), str(request["connection"]), profile,
                      bool(request.get("unconfined")), keep)  # fmt: skip
    finally:
        os._exit(1)


def _forget_matplotlib_folders() -> None:
    """matplotlib remembers its config and cache folders (the server's) from its import: make it
    look them up again, in the kernel's scratch (MPLCONFIGDIR)."""
    mpl = sys.modules.get("matplotlib")
    if mpl is None:
        return
    for name in ("get_configdir", "get_cachedir"):
        func = getattr(mpl, name, None)
        inner = getattr(func, "__wrapped__", None)
        if inner is not None and hasattr(mpl, "_logged_cached"):
            setattr(mpl, name, mpl._logged_cached(f"{name}=%s")(inner))


def serve(folder: str, listener: socket.socket) -> None:
    """The server's main loop, single-threaded (it forks): until its lifeline (stdin) closes."""
    lifeline = 0
    _preload()
    clients: dict[socket.socket, _Client] = {}
    kernels: dict[int, _Client] = {}
    woken, wake = os.pipe()  # a kernel's end wakes the loop at once (SIGCHLD)
    os.set_blocking(wake, False)
    signal.set_wakeup_fd(wake)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    try:
        while True:
            watched = [lifeline, listener, woken, *clients]
            ready, _, _ = select.select(watched, [], [], _POLL_SECONDS)
            if lifeline in ready and not os.read(lifeline, 4096):
                break
            if woken in ready:
                os.read(woken, 4096)
            if listener in ready:
                conn, _ = listener.accept()
                pid, uid = _peer(conn)
                if uid != os.getuid() or pid in kernels or pid == os.getpid():
                    conn.close()  # another user, or one of this server's own kernels
                else:
                    clients[conn] = _Client(conn)
            for conn in [c for c in ready if c in clients]:
                _read(clients[conn], clients, kernels)
            _reap(clients, kernels)
    finally:
        for pid in kernels:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        listener.close()
        shutil.rmtree(folder, ignore_errors=True)


def _read(client: _Client, clients: dict, kernels: dict) -> None:
    """Take what `client` sent: its request (then fork its kernel), or a signal for its kernel."""
    try:
        if client.pid is None:
            data, fds, _flags, _addr = socket.recv_fds(client.conn, 65536, _FDS)
            client.fds += fds
        else:
            data = client.conn.recv(4096)
    except OSError:
        data = b""
    if not data or len(client.buffer) + len(data) > REQUEST_BYTES:
        _drop(client, clients, kernels)
        return
    client.buffer += data
    while b"\n" in client.buffer:
        line, client.buffer = client.buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
            if client.pid is None:
                if len(client.fds) != _FDS:
                    raise ValueError("a request carries three descriptors")
                client.pid = _fork(client, message)
                kernels[client.pid] = client
                for fd in client.fds:  # the kernel holds its copies now
                    os.close(fd)
                client.fds = []
                client.conn.sendall(json.dumps({"pid": client.pid}).encode() + b"\n")
            elif "signal" in message:
                with contextlib.suppress(OSError):
                    os.kill(client.pid, int(message["signal"]))
        except (OSError, ValueError, KeyError, TypeError):
            _drop(client, clients, kernels)
            return


def _drop(client: _Client, clients: dict, kernels: dict) -> None:
    """Forget `client`; its kernel, if still running, is killed (its launcher is gone)."""
    clients.pop(client.conn, None)
    if client.pid is not None and kernels.get(client.pid) is client:
        with contextlib.suppress(OSError):
            os.kill(client.pid, signal.SIGKILL)
    client.close()


def _reap(clients: dict, kernels: dict) -> None:
    """Report each kernel that ended to its launcher."""
    while kernels:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        client = kernels.pop(pid, None)
        if client is None:
            continue
        with contextlib.suppress(OSError):
            client.conn.sendall(json.dumps({"exit": status}).encode() + b"\n")
        clients.pop(client.conn, None)
        client.close()


def main(argv=None) -> int:
    """``python -P -m autograder.sandbox.warmkernel FOLDER FD`` (started by ensure_running, FD its
    listening socket)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2 or not os.path.isdir(argv[0]) or not argv[1].isdigit():
        print("usage: python -P -m autograder.sandbox.warmkernel FOLDER LISTENING_FD",
              file=sys.stderr)  # fmt: skip
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the lifeline ends it, not the terminal
    serve(argv[0], socket.socket(fileno=int(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
