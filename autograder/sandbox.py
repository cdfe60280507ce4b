"""Confining a worker before student code runs: resource limits, a process group and an audit hook.

This is a course tool's sandbox, not a container: it stops the mistakes and tricks students
actually try (reading the answer key or other submissions, writing outside a scratch folder,
starting processes, opening sockets, killing the grader, patching torch's classes, loading C
code), and the grader never trusts the worker anyway (results are plain data, judged outside).
For exams, run the whole grader inside a container with no network (see the README).
"""

from __future__ import annotations

import os
import resource
import signal
import sys

DENIED_EVENTS = {
    "subprocess.Popen": "starting a process",
    "os.system": "starting a process",
    "os.exec": "starting a process",
    "os.posix_spawn": "starting a process",
    "os.spawn": "starting a process",
    "os.fork": "starting a process",
    "os.forkpty": "starting a process",
    "pty.spawn": "starting a process",
    "os.kill": "sending a signal",
    "os.killpg": "sending a signal",
    "signal.pthread_kill": "sending a signal",
    "ctypes.dlopen": "loading C code",
    "ctypes.dlsym": "loading C code",
    "ctypes.call_function": "calling C code",
    "ctypes.cdata": "reading raw memory",
    "ctypes.addressof": "reading raw memory",
    "sys.addaudithook": "adding an audit hook",
    "sys.setprofile": "profiling the grader",
    "sys.settrace": "tracing the grader",
    "os.remove": "deleting files",
    "os.rmdir": "deleting files",
    "os.rename": "moving files",
    "os.symlink": "creating links",
    "os.link": "creating links",
    "os.chmod": "changing permissions",
    "os.chown": "changing owners",
    "os.truncate": "truncating files",
    "shutil.rmtree": "deleting files",
    "webbrowser.open": "opening a browser",
}
GUARDED_MODULES = ("torch", "numpy", "builtins", "math", "autograder")
"""Classes from these modules may not be modified (e.g. torch.Tensor.__eq__) while grading."""
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _real(path):
    """Absolute, symlink-resolved form of a path argument (None for file descriptors)."""
    if isinstance(path, int):
        return None
    try:
        return os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return "?"


def _under(path, roots):
    """Whether `path` is one of `roots` or inside one."""
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def read_roots(extra=()):
    """Folders a worker may read: the Python installation, its packages, and `extra`."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(p for p in sys.path if p and "site-packages" in p)
    roots.update(
        [
            "/dev/null",
            "/dev/urandom",
            "/proc/self",
            f"/proc/{os.getpid()}",
            "/sys/devices/system/cpu",
            "/sys/fs/cgroup",
            "/etc/localtime",
            "/usr/share/zoneinfo",
        ]
    )
    roots.update(extra)
    return sorted(os.path.realpath(r) for r in roots)


def install_audit_hook(scratch, readable=(), denied=(), allow_processes=False):
    """Refuse, from now on in this process, what student code may not do (PermissionError).

    scratch: the only folder that may be written. readable: extra folders that may be read.
    denied: folders that may never be read, even inside a readable one (the grader's package).
    allow_processes: let student code start processes (they die with the worker's process group).
    """
    scratch = os.path.realpath(scratch)
    allowed = tuple(read_roots([scratch, *readable]))
    denied = tuple(os.path.realpath(d) for d in denied)
    me = os.getpid()

    def refuse(what):
        raise PermissionError(f"grading sandbox: {what} is not allowed while grading")

    def hook(event, args):
        if event == "open":
            path = _real(args[0])
            if path is None:
                return
            mode = args[1] or ""
            flags = args[2] or 0
            writing = any(c in mode for c in "wax+") or bool(flags & WRITE_FLAGS)
            if writing and not _under(path, (scratch, "/dev/null")):
                refuse(f"writing {path}")
            if _under(path, denied) or not _under(path, allowed):
                refuse(f"reading {path}")
        elif event in ("os.listdir", "os.scandir", "glob.glob", "os.walk"):
            path = _real(args[0] if args and args[0] is not None else ".")
            if path is not None and (_under(path, denied) or not _under(path, allowed)):
                refuse(f"listing {path}")
        elif event in ("os.kill", "os.killpg") and args and args[0] in (me, 0):
            return
        elif event in DENIED_EVENTS:
            if allow_processes and DENIED_EVENTS[event] == "starting a process":
                return
            if event in ("os.remove", "os.rmdir", "os.rename", "os.truncate", "os.chmod"):
                path = _real(args[0])
                if path and _under(path, (scratch,)):
                    return
            refuse(DENIED_EVENTS[event])
        elif event.startswith("socket."):
            refuse("network access")
        elif event in ("object.__setattr__", "object.__delattr__"):
            obj = args[0]
            if (
                isinstance(obj, type)
                and (getattr(obj, "__module__", "") or "").split(".")[0] in GUARDED_MODULES
            ):
                refuse(f"modifying {obj.__module__}.{obj.__qualname__}.{args[1]}")

    sys.addaudithook(hook)


def set_limits(limits, cuda):
    """Apply the configured resource limits to this process (and every child it could start)."""
    soft_hard = {
        resource.RLIMIT_FSIZE: limits.file_size_bytes,
        resource.RLIMIT_NOFILE: limits.open_files,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_CPU: int(limits.submission_seconds * max(os.cpu_count() or 1, 1)) + 60,
    }
    if not cuda:  # CUDA reserves far more address space than it uses: rely on RSS polling there.
        soft_hard[resource.RLIMIT_AS] = limits.address_space_bytes
    for which, value in soft_hard.items():
        try:
            _, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass
    # Writing past RLIMIT_FSIZE then fails with an error instead of killing the worker.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def detach_session():
    """Lead a new session and process group, so the grader can kill everything the worker starts."""
    try:
        os.setsid()
    except OSError:
        pass


def close_fds(keep):
    """Close every inherited file descriptor above stderr except those in `keep`."""
    for fd_name in os.listdir("/proc/self/fd"):
        fd = int(fd_name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def silence_output():
    """Send the worker's stdin/stdout/stderr to /dev/null (student prints are not graded)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
