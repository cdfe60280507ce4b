"""A worker's hygiene before the kernel rules: resource limits, own session, no inherited files."""

from __future__ import annotations

import os
import resource
import signal


def available_cores() -> int:
    """Cores this process may run on (the CPU affinity mask, e.g. a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


NO_CORE_DUMP = 1
"""RLIMIT_CORE of a worker. 1, not 0: where core_pattern pipes dumps to a helper (systemd-coredump,
apport), the kernel ignores RLIMIT_CORE except the value 1, which turns the dump off; a file dump
of at most one byte is never written either. A worker that crashes itself again and again
writes nothing to any disk."""


def set_limits(limits, cuda):
    """Apply the configured resource limits to this process (and every child it could start)."""
    soft_hard = {
        resource.RLIMIT_FSIZE: limits.file_size_bytes,
        resource.RLIMIT_NOFILE: limits.open_files,
        resource.RLIMIT_CORE: NO_CORE_DUMP,
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


OOM_SCORE_ADJ = 1000
"""A worker's /proc/self/oom_score_adj: when the machine (a Gradescope container, say) runs out of
memory before the RSS polling catches a worker, the kernel's OOM killer takes a worker, never the
grader or the fork server (raising one's own score needs no privilege)."""


def first_to_go():
    """Make this process the OOM killer's first choice (OOM_SCORE_ADJ); best effort."""
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write(str(OOM_SCORE_ADJ))
    except OSError:
        pass


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
