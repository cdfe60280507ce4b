"""seccomp-bpf through ctypes: no programs, no new processes, no sockets, no kernel-wide levers.

The filter is a classic-BPF program built here (no libseccomp needed): it checks the
architecture, refuses the listed system calls with EPERM (clone3 with ENOSYS, so that the C
library falls back to clone, whose flags a filter can read), lets ``clone`` create threads only
(CLONE_THREAD set), and lets signals reach only the worker itself. Landlock does not cover a
file's metadata (mode, owner, times, extended attributes), so those calls are refused here.
It is installed with no_new_privs and TSYNC, so it covers every thread the worker already has.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
SYSCALL_NUMBERS = {
    # name: (x86_64, aarch64); None where the architecture has no such call.
    "execve": (59, 221), "execveat": (322, 281), "fork": (57, None), "vfork": (58, None),
    "clone": (56, 220), "clone3": (435, 435),
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "process_madvise": (440, 440), "pidfd_getfd": (438, 438), "pidfd_send_signal": (424, 424),
    "kcmp": (312, 272),
    "kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131),
    "setsid": (112, 157), "setpgid": (109, 154),
    "rt_sigqueueinfo": (129, 138), "rt_tgsigqueueinfo": (297, 240),
    "socket": (41, 198), "socketpair": (53, 199), "bind": (49, 200), "listen": (50, 201),
    "connect": (42, 203), "accept": (43, 202), "accept4": (288, 242),
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51),
    "move_mount": (429, 429), "open_tree": (428, 428), "fsopen": (430, 430),
    "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433),
    "mount_setattr": (442, 442), "unshare": (272, 97), "setns": (308, 268),
    "bpf": (321, 280), "perf_event_open": (298, 241), "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),
    "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "init_module": (175, 105),
    "finit_module": (313, 273), "delete_module": (176, 106), "reboot": (169, 142),
    "swapon": (167, 224), "swapoff": (168, 225), "acct": (163, 89), "syslog": (103, 116),
    "settimeofday": (164, 170), "clock_settime": (227, 112), "adjtimex": (159, 171),
    "chmod": (90, None), "fchmod": (91, 52), "fchmodat": (268, 53), "fchmodat2": (452, 452),
    "chown": (92, None), "fchown": (93, 55), "lchown": (94, None), "fchownat": (260, 54),
    "utime": (132, None), "utimes": (235, None), "futimesat": (261, None),
    "utimensat": (280, 88), "setxattr": (188, 5), "lsetxattr": (189, 6), "fsetxattr": (190, 7),
    "removexattr": (197, 14), "lremovexattr": (198, 15), "fremovexattr": (199, 16),
    "iopl": (172, None), "ioperm": (173, None), "quotactl": (179, 60), "personality": (135, 92),
}  # fmt: skip
PROCESS_CALLS = ("execve", "execveat", "fork", "vfork")
"""Refused unless the instructor's limits allow processes (clone is handled by its flags)."""
DENIED = tuple(
    n for n in SYSCALL_NUMBERS if n not in PROCESS_CALLS + ("clone", "clone3", "kill", "tgkill")
)
"""Refused outright (kill and tgkill are allowed towards the worker itself, tkill never; setsid
and setpgid too, so that a child the instructor's limits allow stays in the worker's process
group, which the grader kills with it)."""
CLONE_THREAD = 0x00010000

# classic BPF opcodes and seccomp return values
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
RET_KILL_PROCESS, RET_ALLOW, RET_ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
OFF_NR, OFF_ARCH, OFF_ARG0 = 0, 4, 16
X32_SYSCALL_BIT = 0x40000000
PR_SET_NO_NEW_PRIVS, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC = 38, 1, 1
SECCOMP_SYSCALL = {"x86_64": 317, "aarch64": 277}


class SeccompError(OSError):
    """seccomp is missing or refused the filter."""


def machine() -> str:
    """This machine's architecture name as the tables above spell it."""
    m = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m, m)


def _number(name, arch):
    return SYSCALL_NUMBERS[name][0 if arch == "x86_64" else 1]


def build_filter(arch: str, own_pid: int, allow_processes: bool = False) -> list[tuple]:
    """The filter as (code, jt, jf, k) instructions for `arch`, for the worker whose pid is `own_pid`."""
    if arch not in AUDIT_ARCH:
        raise SeccompError(0, f"no seccomp filter for the {arch} architecture")
    # Each block is (label, [instructions]); jumps name labels and are resolved at the end.
    prog: list = [
        (LD_W_ABS, 0, 0, OFF_ARCH),
        (JEQ_K, 1, 0, AUDIT_ARCH[arch]),
        (RET_K, 0, 0, RET_KILL_PROCESS),
        (LD_W_ABS, 0, 0, OFF_NR),
    ]
    if arch == "x86_64":
        prog.append((JGE_K, "eperm", 0, X32_SYSCALL_BIT))
    denied = list(DENIED) + ([] if allow_processes else list(PROCESS_CALLS))
    for name in denied:
        nr = _number(name, arch)
        if nr is not None:
            prog.append((JEQ_K, "eperm", 0, nr))
    prog.append((JEQ_K, "enosys", 0, _number("clone3", arch)))
    if not allow_processes:
        prog.append((JEQ_K, "clone", 0, _number("clone", arch)))
    prog.append((JEQ_K, "signal", 0, _number("kill", arch)))
    prog.append((JEQ_K, "signal", 0, _number("tgkill", arch)))
    prog.append((RET_K, 0, 0, RET_ALLOW))
    labels = {}
    labels["eperm"] = len(prog)
    prog.append((RET_K, 0, 0, RET_ERRNO | errno.EPERM))
    labels["enosys"] = len(prog)
    prog.append((RET_K, 0, 0, RET_ERRNO | errno.ENOSYS))
    # clone(flags, ...): threads only. BPF jumps forward only, so each block has its own returns.
    labels["clone"] = len(prog)
    prog += [
        (LD_W_ABS, 0, 0, OFF_ARG0),
        (JSET_K, 0, 1, CLONE_THREAD),
        (RET_K, 0, 0, RET_ALLOW),
        (RET_K, 0, 0, RET_ERRNO | errno.EPERM),
    ]
    # kill(pid) / tgkill(tgid, ...): only this worker (pid, 0 = own group, -pid = own group).
    labels["signal"] = len(prog)
    targets = (own_pid, 0, (-own_pid) & 0xFFFFFFFF)
    prog.append((LD_W_ABS, 0, 0, OFF_ARG0))
    for i, target in enumerate(targets):
        prog.append((JEQ_K, len(targets) - i, 0, target))
    prog += [(RET_K, 0, 0, RET_ERRNO | errno.EPERM), (RET_K, 0, 0, RET_ALLOW)]
    out = []
    for i, (code, jt, jf, k) in enumerate(prog):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        if not (0 <= jt < 256 and 0 <= jf < 256):
            raise SeccompError(0, "seccomp filter jump out of range")
        out.append((code, jt, jf, k))
    return out


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(program: list[tuple], arch: str | None = None) -> None:
    """Set no_new_privs and install `program` on every thread of this process."""
    arch = arch or machine()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise SeccompError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(err)}")
    raw = b"".join(struct.pack("=HBBI", *ins) for ins in program)
    buf = ctypes.create_string_buffer(raw, len(raw))
    prog = _SockFprog(len(program), ctypes.cast(buf, ctypes.c_void_p))
    libc.syscall.restype = ctypes.c_long
    rc = libc.syscall(
        ctypes.c_long(SECCOMP_SYSCALL[arch]),
        ctypes.c_long(SECCOMP_SET_MODE_FILTER),
        ctypes.c_long(SECCOMP_FILTER_FLAG_TSYNC),
        ctypes.byref(prog),
    )
    if rc != 0:
        err = ctypes.get_errno()
        raise SeccompError(err, f"seccomp(SET_MODE_FILTER): {os.strerror(err) if err else rc}")


def available() -> bool:
    """Whether this kernel offers seccomp filters (Linux with CONFIG_SECCOMP_FILTER)."""
    if platform.system() != "Linux" or machine() not in AUDIT_ARCH:
        return False
    try:
        with open("/proc/self/status") as fh:
            return any(line.startswith("Seccomp:") for line in fh)
    except OSError:
        return False
