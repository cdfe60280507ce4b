"""The confined Jupyter kernel ``softmax-confined``: ipykernel behind the workers' Landlock and seccomp rules.

nbgrader's autograde path executes a student's notebook only so that the feedback shows the
student's own outputs; this kernel runs it. ``python -P -m autograder.sandbox.kernel -f FILE``
(the kernelspec's argv) is a launcher:

1. it executes itself again with an environment stripped to ``KERNEL_ENVIRONMENT`` (a process's
   first environment stays in its memory and in ``/proc/self/environ``, so a secret of the
   caller's shell would otherwise be readable after confinement);
2. it reads the connection file, makes a fresh scratch folder (``sandbox.scratch``) and starts a
   *reaper* (its own session, so the kernel manager's signals miss it) that removes scratch once
   every copy of a pipe is closed, i.e. once the launcher and the kernel are both gone, even if
   they were SIGKILLed;
3. it forks the kernel process, which dies with it (``PR_SET_PDEATHSIG``), leads its own process
   group, points HOME, TMPDIR, caches and Jupyter/IPython folders into scratch, applies the
   workers' resource limits (``sandbox.limits``, ``config.LIMITS``), confines itself
   (``sandbox.confine`` with a ``policy.KernelProfile``: read the Python installation, the
   notebook's folder, FASHION_MNIST_ROOT and ``READ_VARIABLE``'s folders; write and create only
   in scratch; bind only the connection file's TCP ports, connect to none; no process, no
   signal to another) and only then imports and starts ipykernel;
4. the launcher stays unconfined: it forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT to the kernel (how
   jupyter_client interrupts and stops it), kills the kernel when its resident memory passes
   ``config.LIMITS.memory_bytes``, and removes scratch when the kernel ends.

``execute`` runs a notebook in this kernel with nbclient, cell by cell, never raising for what
the notebook does, and returns notes for the feedback. docs/sandbox.md, "The confined Jupyter
kernel", says what is allowed and why.
"""

from __future__ import annotations

import copy
import ctypes
import json
import math
import os
import shutil
import signal
import sys
import time

from autograder import sandbox
from autograder.sandbox import landlock, limits, policy, scratch, warmkernel

KERNEL_NAME = "softmax-confined"
DISPLAY_NAME = "Python 3 (confined)"
READ_VARIABLE = "SOFTMAX_KERNEL_READ"
"""Extra read-only folders for the kernel, separated by os.pathsep."""
UNCONFINED_VARIABLE = "SOFTMAX_KERNEL_UNCONFINED"
"""Set to 1 (by ``execute`` when ``sandbox.UNCONFINED``) to run the kernel without confinement."""
SCRATCH_VARIABLE = "SOFTMAX_KERNEL_SCRATCH"
"""Set in the kernel: its scratch folder, the only place it may write."""
SCRATCH_PREFIX = "softmax-kernel-"
CELL_SECONDS = 300
"""Default wall time of one cell in ``execute``."""
INTERRUPT_GRACE_SECONDS = 10
"""How long ``execute`` waits for an interrupted cell to stop before it stops the kernel."""
START_SECONDS = 60
"""How long ``execute`` waits for the kernel to answer its first request."""
PORT_KEYS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
KERNEL_ENVIRONMENT = (
    "PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LC_NUMERIC", "LC_TIME",
    "LC_COLLATE", "LC_MONETARY", "TZ", "TMPDIR", "FASHION_MNIST_ROOT", "FASHION_MNIST_CACHE",
    "SOFTMAX_LANG",
    "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
    "SOFTMAX_LANDLOCK_ABI", "PYDEVD_DISABLE_FILE_VALIDATION", READ_VARIABLE, UNCONFINED_VARIABLE,
    warmkernel.WARM_VARIABLE,
)  # fmt: skip
"""The only variables the launcher keeps from its caller (none holds a secret). MPLBACKEND is
not kept: ipykernel sets its inline backend, which is what puts figures into the notebook.
TMPDIR only decides where scratch is made; the kernel's own TMPDIR is in scratch."""
_STAGE_FLAG = "--clean-environment"
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 0.2
OUTPUT_BYTES = 16 * 2**20
"""Output a notebook's run may leave in all (prints, images): past it, outputs are dropped and
one line says so; a cell printing without end cannot fill the caller's memory."""
OUTPUT_CUT = "\n[output cut: this notebook's outputs exceeded {mb} MB]\n"
MESSAGE_BYTES = 64 * 2**20
"""The largest single message the kernel may send (ZeroMQ drops the connection past it)."""


# ----------------------------------------------------------------------------------------------
# The kernelspec
# ----------------------------------------------------------------------------------------------
def kernelspec(executable: str | None = None) -> dict:
    """The content of kernel.json. ``-P``: the notebook's folder (the kernel's cwd) is never put
    on the unconfined launcher's sys.path, so a student's ``json.py`` there cannot run in it."""
    return {
        "argv": [
            executable or sys.executable,
            "-P",
            "-m",
            "autograder.sandbox.kernel",
            "-f",
            "{connection_file}",
        ],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": False, "confined": True},
    }


def _spec_dir(prefix: str | None) -> str:
    return os.path.join(prefix or sys.prefix, "share", "jupyter", "kernels", KERNEL_NAME)


def _install(prefix: str | None = None) -> str:
    """Write (or refresh when outdated) the kernelspec under `prefix`; its folder."""
    folder = _spec_dir(prefix)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "kernel.json")
    text = json.dumps(kernelspec(), indent=1, sort_keys=True) + "\n"
    try:
        with open(path, encoding="utf-8") as fh:
            current = fh.read()
    except OSError:
        current = None
    if current != text:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    try:
        import ipykernel

        resources = os.path.join(os.path.dirname(ipykernel.__file__), "resources")
        for name in ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
            src, dst = os.path.join(resources, name), os.path.join(folder, name)
            if os.path.exists(src) and not os.path.exists(dst):
                shutil.copyfile(src, dst)
    except (ImportError, OSError):
        pass  # logos are cosmetic
    return folder


def ensure_kernelspec(prefix: str | None = None) -> str:
    """Install (or refresh) the kernelspec into <prefix or sys.prefix>/share/jupyter/kernels; its name."""
    _install(prefix)
    return KERNEL_NAME


# ----------------------------------------------------------------------------------------------
# The launcher (unconfined) and the kernel process (confined)
# ----------------------------------------------------------------------------------------------
def _fail(message: str, code: int = 3):
    print(f"{KERNEL_NAME}: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def clean_environment(environ) -> dict:
    """The launcher's environment: KERNEL_ENVIRONMENT's entries of `environ`, nothing else."""
    env = {k: v for k, v in environ.items() if k in KERNEL_ENVIRONMENT}
    env.setdefault("PATH", "/usr/bin:/bin")
    return env


def _reexec(connection_file: str):
    """Execute this launcher again with a clean environment (same pid, same process group)."""
    argv = [sys.executable, "-P", "-m", "autograder.sandbox.kernel", _STAGE_FLAG]
    os.execve(sys.executable, argv + ["-f", connection_file], clean_environment(os.environ))


def _readable(cwd: str) -> list[str]:
    extra = [p for p in os.environ.get(READ_VARIABLE, "").split(os.pathsep) if p.strip()]
    data = os.environ.get("FASHION_MNIST_ROOT")
    paths = [cwd, *([data] if data else []), *extra]
    return [os.path.realpath(p) for p in paths if os.path.exists(p)]


def _layout(folder: str) -> dict:
    """Make the kernel's private folders in scratch; the environment that points at them."""
    env = {
        "HOME": folder,
        "TMPDIR": os.path.join(folder, "tmp"),
        "MPLCONFIGDIR": os.path.join(folder, ".config", "matplotlib"),
        "IPYTHONDIR": os.path.join(folder, ".ipython"),
        "XDG_CACHE_HOME": os.path.join(folder, ".cache"),
        "XDG_CONFIG_HOME": os.path.join(folder, ".config"),
        "XDG_DATA_HOME": os.path.join(folder, ".local", "share"),
        "XDG_STATE_HOME": os.path.join(folder, ".local", "state"),
        "XDG_RUNTIME_DIR": os.path.join(folder, "runtime"),
        "JUPYTER_RUNTIME_DIR": os.path.join(folder, "runtime"),
        "JUPYTER_CONFIG_DIR": os.path.join(folder, ".jupyter"),
        "JUPYTER_DATA_DIR": os.path.join(folder, ".local", "share", "jupyter"),
        "TORCH_HOME": os.path.join(folder, ".cache", "torch"),
    }
    for path in env.values():
        os.makedirs(path, mode=0o700, exist_ok=True)
    # IPython's profile, made here: making it in the kernel would chmod and copy (refused there).
    profile = os.path.join(env["IPYTHONDIR"], "profile_default")
    for name in ("startup", "log", "security", "pid", "db"):
        os.makedirs(os.path.join(profile, name), mode=0o700, exist_ok=True)
        os.chmod(os.path.join(profile, name), 0o700)
    open(os.path.join(profile, "startup", "README"), "w").close()
    env[SCRATCH_VARIABLE] = folder
    env["CUDA_VISIBLE_DEVICES"] = ""  # CPU only: no NVIDIA device is readable in the kernel
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _start_reaper(read_end: int, write_end: int, folder: str) -> int:
    """A process in its own session that removes `folder` once no copy of the pipe's write end
    is open (the launcher and the kernel have ended, however they ended)."""
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setsid()
        for sig in (*_FORWARDED, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_IGN)
        limits.close_fds({read_end})
        limits.silence_output()
        while os.read(read_end, 4096):
            pass
        scratch.remove(folder)
    finally:
        os._exit(0)


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _kernel_limits():
    from autograder import config

    return config.LIMITS


def _child(parent: int, folder: str, connection_copy: str, profile, unconfined: bool, keep: int):
    """The kernel process: limits, environment, confinement, then ipykernel. Never returns."""
    code = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
        os.setpgid(0, 0)  # the launcher forwards signals: a group signal must not arrive twice
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in _FORWARDED[1:]:
            signal.signal(sig, signal.SIG_DFL)
        readable = _readable(os.getcwd())
        env = clean_environment(os.environ)
        env.pop(READ_VARIABLE, None)
        env.pop(UNCONFINED_VARIABLE, None)
        env.pop(warmkernel.WARM_VARIABLE, None)
        env.update(_layout(folder))
        env["JPY_PARENT_PID"] = str(parent)  # ipykernel also polls for the launcher's death
        os.environ.clear()
        os.environ.update(env)
        import tempfile

        tempfile.tempdir = None
        limits.set_limits(_kernel_limits(), cuda=False)
        limits.first_to_go()
        limits.close_fds({keep})
        if not unconfined:
            sandbox.confine(folder, readable=readable, kernel=profile)
        for name in [n for n in sys.modules if n == "autograder" or n.startswith("autograder.")]:
            del sys.modules[name]  # nothing of the grader stays reachable through sys.modules
        # The notebook's folder on sys.path as in any kernel (its helper modules live there),
        # now that the kernel is confined; -P kept it off the unconfined launcher's path.
        sys.path.insert(0, "")
        import warnings

        # jupyter_client lists network interfaces with a program or a netlink socket: refused.
        warnings.filterwarnings("ignore", message="Unexpected error discovering local network")
        # ipykernel's pipe for forked children's output binds a random port: refused, and moot.
        warnings.filterwarnings("ignore", message="Couldn't bind IOPub Pipe")
        from ipykernel.kernelapp import IPKernelApp
        from ipykernel.kernelbase import Kernel

        # At shutdown ipykernel lists /proc to stop its children; there are none (no fork).
        Kernel._process_children = lambda self: []
        IPKernelApp.launch_instance(
            argv=[
                "-f",
                connection_copy,
                "--HistoryManager.enabled=False",
                "--Application.log_level=ERROR",
                # the trait's default reads JPY_PARENT_PID at import: before the fork, where a
                # warm kernel server imported ipykernel
                f"--IPKernelApp.parent_handle={parent}",
            ]
        )
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported on the kernel's stderr, then exit
        import traceback

        traceback.print_exc()
    finally:
        _exit(code)


CLOSE_SECONDS = 0.05
"""How long a kernel that was asked to shut down lets its threads send their last messages."""


def _exit(code: int) -> None:
    """End the kernel process with `code`, CLOSE_SECONDS after its loop stopped, without running
    ipykernel's exit handlers (the launcher removes scratch as before).

    Those handlers stop the IOPub thread and close its sockets (IOPubThread.stop, then
    IPKernelApp.close) while the control thread may still publish the status of the shutdown
    request: on the stopped IOPub thread's queue, and the join in close() then blocked for good,
    until jupyter_client's SIGTERM 2.5 s later (about every other notebook); or on a socket that
    stop() is closing, from another thread, and libzmq aborted (status 134, about one shutdown in
    30 on a loaded machine). Nothing is left to send once the loop has stopped but those last
    messages, so nothing is closed: the process ends."""
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    time.sleep(CLOSE_SECONDS)
    os._exit(code)


def _launch(connection_file: str):
    """Stage two of the launcher (clean environment): scratch, reaper, kernel, wait, clean up."""
    unconfined = os.environ.get(UNCONFINED_VARIABLE) == "1"
    try:
        with open(connection_file, encoding="utf-8") as fh:
            info = json.load(fh)
    except (OSError, ValueError) as err:
        _fail(f"cannot read the connection file {connection_file}: {err}")
    if info.get("transport", "tcp") != "tcp":
        _fail("only the tcp transport is supported (Landlock limits the kernel to its TCP ports)")
    if not unconfined:
        try:
            sandbox.require()
        except sandbox.ConfinementUnavailable as err:
            _fail(str(err))
        if landlock.effective_abi() < sandbox.KERNEL_LANDLOCK_ABI:
            _fail(
                f"Landlock ABI {landlock.effective_abi()} has no TCP rules; the confined kernel "
                f"needs ABI {sandbox.KERNEL_LANDLOCK_ABI}+ (Linux 6.7+), or run it unconfined "
                f"({UNCONFINED_VARIABLE}=1)"
            )
    ip = str(info.get("ip", "127.0.0.1"))
    profile = policy.KernelProfile(
        ports=tuple(int(info[k]) for k in PORT_KEYS), family="inet6" if ":" in ip else "inet"
    )
    folder = scratch.make(SCRATCH_PREFIX)
    runtime = os.path.join(folder, "runtime")
    os.makedirs(runtime, mode=0o700)
    connection_copy = os.path.join(runtime, "kernel-connection.json")
    fd = os.open(connection_copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(info, fh)
    read_end, write_end = os.pipe()
    _start_reaper(read_end, write_end, folder)
    os.close(read_end)
    request = {"env": dict(os.environ), "cwd": os.getcwd(), "folder": folder,
               "connection": connection_copy, "ports": list(profile.ports),
               "family": profile.family, "unconfined": unconfined}  # fmt: skip
    warm = warmkernel.fork_kernel(request, [write_end, 1, 2])
    if warm is not None:
        child, kill = warm.pid, warm.kill
    else:  # no warm kernel server: this launcher forks the kernel itself
        parent = os.getpid()
        child = os.fork()
        if child == 0:
            _child(parent, folder, connection_copy, profile, unconfined, write_end)

        def kill(signum):
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    for sig in _FORWARDED:
        signal.signal(sig, lambda signum, _frame: kill(signum))
    memory = _kernel_limits().memory_bytes
    while True:
        if warm is not None:
            status = warm.wait(_POLL_SECONDS)
            if status is not None:
                break
        else:
            pid, status = os.waitpid(child, os.WNOHANG)
            if pid:
                break
            time.sleep(_POLL_SECONDS)
        if _rss_bytes(child) > memory:
            print(
                f"{KERNEL_NAME}: the kernel's resident memory passed {memory / 2**30:.1f} GiB; "
                "it was stopped",
                file=sys.stderr,
                flush=True,
            )
            kill(signal.SIGKILL)
    scratch.remove(folder)
    os.close(write_end)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def main(argv=None) -> int:
    """``python -m autograder.sandbox.kernel -f FILE`` (the kernel) or ``... install``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["install"]:
        prefix = argv[1] if len(argv) > 1 else None
        print(_install(prefix))
        return 0
    stage2 = _STAGE_FLAG in argv
    argv = [a for a in argv if a != _STAGE_FLAG]
    if len(argv) != 2 or argv[0] != "-f":
        print(
            "usage: python -m autograder.sandbox.kernel -f CONNECTION_FILE\n"
            "       python -m autograder.sandbox.kernel install [PREFIX]",
            file=sys.stderr,
        )
        return 2
    connection_file = os.path.abspath(argv[1])
    if not stage2:
        _reexec(connection_file)
    _launch(connection_file)
    return 0


# ----------------------------------------------------------------------------------------------
# Executing a notebook (the nbgrader preprocessor calls this)
# ----------------------------------------------------------------------------------------------
def _label(index: int, cell) -> str:
    grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
    return f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")


def _timeout_output(seconds) -> dict:
    from nbformat.v4 import new_output

    text = f"this cell was stopped after {seconds} s (the time limit of one cell)"
    return new_output(
        "error", ename="TimeoutError", evalue=text, traceback=[f"TimeoutError: {text}"]
    )


def _mark_timeout(cell, seconds):
    """Replace the KeyboardInterrupt the interrupt raised with a plain 'stopped after N s'."""
    outputs = [
        o
        for o in cell.get("outputs", [])
        if not (o.get("output_type") == "error" and o.get("ename") == "KeyboardInterrupt")
    ]
    cell["outputs"] = [*outputs, _timeout_output(seconds)]


def _died_output(text: str) -> dict:
    from nbformat.v4 import new_output

    return new_output("error", ename="KernelDied", evalue=text, traceback=[text])


def _confinement_or_raise() -> str | None:
    """None when the kernel can confine itself here; else a note (unconfined) or raise."""
    found = sandbox.probe()
    missing = list(found["missing"])
    if not missing and landlock.effective_abi() < sandbox.KERNEL_LANDLOCK_ABI:
        missing.append(
            f"Landlock ABI {sandbox.KERNEL_LANDLOCK_ABI}+ for TCP rules (Linux 6.7+; this kernel "
            f"offers {landlock.effective_abi()})"
        )
    if not missing:
        return None
    if not sandbox.UNCONFINED:
        raise sandbox.ConfinementUnavailable(
            "this machine cannot confine the notebook's kernel: missing "
            + "; ".join(missing)
            + ". Run on a Linux machine that has them, or allow unconfined execution "
            "(sandbox.allow_unconfined, grade --unconfined)."
        )
    return (
        "the notebook ran in an unconfined kernel (this machine lacks " + "; ".join(missing) + ")"
    )


def execute(nb, cwd, timeout=CELL_SECONDS, allow_errors=True, total=None):
    """Run notebook `nb` in the confined kernel with `cwd` as its folder; (executed copy, notes).

    Each cell may run `timeout` seconds; then it is interrupted and gets an error output saying
    so, and the next cells run. A kernel that dies, or a cell that ignores the interrupt, ends
    the run: the remaining cells are left unexecuted. `total` (seconds, None: no limit) bounds the
    whole run: a cell gets at most what is left of it, and once it is spent the later cells are
    not run (a notebook of many slow cells cannot hold the caller for cells x timeout). With
    allow_errors False the run stops
    after the first cell that raises. Nothing the notebook does raises here; the notes (plain
    text) say what happened. Raises sandbox.ConfinementUnavailable where the machine cannot
    confine, unless sandbox.UNCONFINED is set (then the kernel runs unconfined, noted).
    """
    import asyncio

    import nbformat
    import nbformat.v4
    import zmq
    from jupyter_core.utils import run_sync

    notes: list[str] = []
    unconfined_note = _confinement_or_raise()
    warmkernel.ensure_running()  # once per process: the kernels are forked from it, imports done
    env = dict(os.environ)
    if unconfined_note:
        env[UNCONFINED_VARIABLE] = "1"
        notes.append(unconfined_note)
    else:
        env.pop(UNCONFINED_VARIABLE, None)
    nb = nbformat.from_dict(copy.deepcopy(nb))
    for cell in nb.cells:  # a cell this run does not reach shows nothing (no saved output)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    per_cell = max(1, int(math.ceil(timeout))) if timeout else None
    cwd = os.path.abspath(os.fspath(cwd))

    async def run():
        from queue import Empty

        from jupyter_client import AsyncKernelClient, AsyncKernelManager
        from jupyter_client.kernelspec import KernelSpecManager
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, DeadKernelError

        class ReadyClient(AsyncKernelClient):
            async def wait_for_ready(self, timeout=None):
                """jupyter_client's wait for the kernel (a kernel_info reply, then a message on
                IOPub: it is connected), without its last step, 0.2 s of IOPub silence before
                returning: nbclient reads each cell's messages by their parent's id, so the
                kernel's start-up messages need no flushing."""
                deadline = time.monotonic() + (math.inf if timeout is None else timeout)
                while True:
                    self.kernel_info()
                    try:
                        reply = await self.shell_channel.get_msg(timeout=1)
                    except Empty:
                        reply = None
                    if reply is not None and reply["msg_type"] == "kernel_info_reply":
                        try:
                            await self.iopub_channel.get_msg(timeout=0.2)
                        except Empty:
                            pass
                        else:
                            self._handle_kernel_info_reply(reply)
                            return
                    if not await self._async_is_alive():
                        raise RuntimeError("Kernel died before replying to kernel_info")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

        try:
            folder = _install()
        except OSError:  # sys.prefix not writable: a private prefix under TMPDIR
            import tempfile

            folder = _install(os.path.join(tempfile.gettempdir(), "softmax-kernelspec"))
        ksm = KernelSpecManager(kernel_dirs=[os.path.dirname(folder)])
        km = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=ksm)
        km.client_factory = ReadyClient
        timed_out: list[int] = []

        kept = [0]  # bytes of output kept so far (the whole notebook)

        class Client(NotebookClient):
            async def _async_handle_timeout(self, timeout, cell=None):
                timed_out.append(1)
                return await super()._async_handle_timeout(timeout, cell)

            def output(self, outs, msg, display_id, cell_index):
                """Keep outputs up to OUTPUT_BYTES in all, then one line saying the rest was cut."""
                size = len(json.dumps(msg.get("content", {}), default=str))
                if kept[0] + size > OUTPUT_BYTES:
                    if kept[0] <= OUTPUT_BYTES:
                        kept[0] = OUTPUT_BYTES + 1
                        cut = OUTPUT_CUT.format(mb=OUTPUT_BYTES // 2**20)
                        outs.append(nbformat.v4.new_output("stream", name="stdout", text=cut))
                        notes.append(f"{_label(cell_index, nb.cells[cell_index])}: {cut.strip()}")
                    return None
                kept[0] += size
                return super().output(outs, msg, display_id, cell_index)

            def handle_comm_msg(self, outs, msg, cell_index):
                """Widgets' comm messages are not kept (no widget is shown in feedback)."""

        client = Client(
            nb,
            km=km,
            timeout=per_cell,
            interrupt_on_timeout=True,
            allow_errors=allow_errors,
            startup_timeout=START_SECONDS,
            resources={"metadata": {"path": cwd}},
        )
        km.context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_BYTES)  # the client's sockets, made next
        try:
            await client.async_start_new_kernel(cwd=cwd, env=env)
            await client.async_start_new_kernel_client()
        except Exception as err:  # noqa: BLE001 - reported as a note
            notes.append(
                f"the confined kernel did not start ({type(err).__name__}: {err}); no cell was run"
            )
            await _stop(km, now=True)
            return
        stop_now = False
        deadline = None if total is None else time.monotonic() + total
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                seconds = per_cell
                if deadline is not None:
                    left = int(deadline - time.monotonic())
                    if left < 1:
                        notes.append(
                            f"the notebook's time limit ({int(total)} s) was spent before "
                            f"{_label(index, cell)}; later cells not run"
                        )
                        stop_now = True
                        break
                    seconds = left if seconds is None else min(seconds, left)
                client.timeout = seconds
                timed_out.clear()
                limit = None if seconds is None else seconds + INTERRUPT_GRACE_SECONDS
                try:
                    await asyncio.wait_for(client.async_execute_cell(cell, index), limit)
                except TimeoutError:
                    _mark_timeout(cell, seconds)
                    notes.append(
                        f"{_label(index, cell)} was stopped after {seconds} s and did not respond "
                        "to the interrupt; the kernel was stopped and later cells not run"
                    )
                    stop_now = True
                    break
                except DeadKernelError:
                    text = (
                        f"the kernel died (memory limit?) at {_label(index, cell)}; "
                        "later cells not run"
                    )
                    cell.setdefault("outputs", []).append(_died_output(text))
                    notes.append(text)
                    stop_now = True
                    break
                except CellExecutionError as err:
                    if timed_out:
                        _mark_timeout(cell, seconds)
                        text = f"{_label(index, cell)} stopped after {seconds} s"
                    else:
                        text = f"{_label(index, cell)} raised {err.ename}"
                    notes.append(text + "; later cells not run")
                    break
                except Exception as err:  # noqa: BLE001 - nbclient's own failures, as a note
                    notes.append(
                        f"{_label(index, cell)} could not be run ({type(err).__name__}: {err}); "
                        "later cells not run"
                    )
                    stop_now = True
                    break
                if timed_out:
                    _mark_timeout(cell, seconds)
                    notes.append(f"{_label(index, cell)} stopped after {seconds} s")
        finally:
            try:
                if client.kc is not None:
                    client.kc.stop_channels()
            finally:
                await _stop(km, now=stop_now)

    run_sync(run)()
    return nb, notes


async def _stop(km, now: bool):
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=now)
    except Exception:  # noqa: BLE001 - a kernel already gone
        pass


if __name__ == "__main__":
    sys.exit(main())
