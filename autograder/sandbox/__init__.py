"""Kernel-enforced confinement of a worker: Landlock file and network rules, seccomp, no privileges.

``confine`` is called in each forked worker after its own set-up and before any student code
is defined; from then on the kernel refuses, whatever Python or C code asks: reading outside the
Python installation, the release folder and scratch; writing outside scratch; TCP; starting
programs or processes; signals, resource limits or priorities of other processes; creating
anything in scratch; memory no RSS shows; and the other calls listed in ``seccomp``.
``probe`` tells the grader before it starts whether this kernel can do all that.
"""

from __future__ import annotations

import ctypes
import os

from autograder.sandbox import landlock, policy, seccomp

MIN_LANDLOCK_ABI = 1
"""Files need ABI 1; TCP (4) and signal scoping (6) are also enforced by seccomp where missing."""
KERNEL_LANDLOCK_ABI = 4
"""The confined Jupyter kernel needs TCP rules: it binds its own ports and no other."""


class ConfinementUnavailable(RuntimeError):
    """This kernel cannot confine a worker; the message names what is missing."""


def probe() -> dict:
    """What this machine offers: {"landlock_abi", "seccomp", "missing": [...]} (no side effects)."""
    abi = landlock.abi_version()
    has_seccomp = seccomp.available()
    missing = []
    if abi < MIN_LANDLOCK_ABI:
        missing.append(
            "Landlock (Linux 5.13+ with CONFIG_SECURITY_LANDLOCK=y and 'landlock' in the lsm= "
            "boot parameter; /sys/kernel/security/lsm lists the active modules)"
        )
    if not has_seccomp:
        missing.append(f"seccomp filters for this architecture ({seccomp.machine()})")
    return {"landlock_abi": abi, "seccomp": has_seccomp, "missing": missing}


def require(found: dict | None = None) -> dict:
    """`found` (default: probe()), raising ConfinementUnavailable naming what is missing."""
    found = found or probe()
    if found["missing"]:
        raise ConfinementUnavailable(
            "this machine cannot confine student code: missing "
            + "; ".join(found["missing"])
            + ". Grade on a Linux machine that has them, or pass --unconfined to grade without "
            "kernel confinement (every result and the class report will say so)."
        )
    return found


UNCONFINED = False
"""Set by ``grade --unconfined`` (``allow_unconfined``): workers skip the kernel rules, and every
result and the class report say so."""


def allow_unconfined(flag: bool = True) -> None:
    """Let this process's workers run without kernel confinement (the instructor's explicit choice)."""
    global UNCONFINED
    UNCONFINED = bool(flag)


def check() -> dict:
    """probe(); raise ConfinementUnavailable when something is missing, unless allow_unconfined."""
    found = probe()
    return found if UNCONFINED else require(found)


_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_CAP_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_capabilities() -> None:
    """Give up every capability (a grader run as root keeps uid 0 but no privilege beyond it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for cap in range(64):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability: ignored
    header, data = _CapHeader(_CAP_VERSION_3, 0), (_CapData * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset: {os.strerror(err)}")


def confine(
    scratch, readable=(), excluded=(), device="cpu", allow_processes=False, kernel=None
) -> dict:
    """Confine this process for good; return what was applied (recorded in each result).

    Order matters: capabilities first (while prctl may still drop them), then Landlock (its
    rules open paths, which the filter does not hinder), then seccomp, which also sets
    no_new_privs and covers every thread already running. kernel: a policy.KernelProfile, for
    the confined Jupyter kernel (sandbox/kernel.py); it needs Landlock ABI 4+ (TCP rules).
    """
    rules = policy.worker_rules(scratch, readable, excluded, device, allow_processes, kernel)
    if kernel is not None and landlock.effective_abi() < KERNEL_LANDLOCK_ABI:
        raise ConfinementUnavailable(
            f"the confined Jupyter kernel needs Landlock ABI {KERNEL_LANDLOCK_ABI}+ (Linux 6.7+) "
            f"to limit its TCP sockets to its own ports; this kernel offers ABI "
            f"{landlock.effective_abi()}"
        )
    drop_capabilities()
    ruleset = landlock.Ruleset()
    for path, access in rules.allow:
        ruleset.allow(path, access)
    for port in rules.bind_ports:
        ruleset.allow_port(port, landlock.NET_BIND_TCP)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(seccomp.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    ruleset.restrict_self()
    arch = seccomp.machine()
    cuda = device.startswith("cuda")
    sockets = kernel.family if kernel is not None else None
    seccomp.install(seccomp.build_filter(arch, os.getpid(), allow_processes, cuda, sockets), arch)
    return {
        "confined": True,
        "landlock_abi": ruleset.abi,
        "landlock_rules": len(ruleset.rules),
        "seccomp": arch,
        "processes": bool(allow_processes),
    }
