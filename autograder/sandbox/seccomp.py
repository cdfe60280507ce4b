"""seccomp-bpf through ctypes: no programs, no new processes, no sockets, no kernel-wide levers.

The filter is a classic-BPF program built here (no libseccomp needed): it checks the
architecture and refuses the listed system calls with EPERM (ENOSYS for those whose callers fall
back to another call: clone3 to clone, whose flags a filter can read; openat2 to openat, whose
flags it can read). Calls that name another process (signals, resource limits, priorities, CPU
affinity, I/O priority, memory placement) reach only the worker itself; ``fcntl`` and ``ioctl``
may not point a file's signals at anyone (F_SETOWN, F_SETSIG, FIOSETOWN, ...); no file is opened
with O_TMPFILE. Memory that no RSS shows (memfd, System V and POSIX IPC, pipe buffers grown or
filled with spliced pages, byte-range locks) is refused. Landlock does not cover a file's
metadata (mode, owner, times, extended attributes), so those calls are refused here too.
It is installed with no_new_privs and TSYNC, so it covers every thread the worker already has.
docs/sandbox.md lists every decision and why.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
SYSCALL_NUMBERS = {
    # name: (x86_64, aarch64); None where the architecture has no such call. Checked against
    # the kernel headers (asm/unistd_64.h, asm-generic/unistd.h) by tests/sandbox/test_sandbox.py.
    "execve": (59, 221), "execveat": (322, 281), "fork": (57, None), "vfork": (58, None),
    "clone": (56, 220), "clone3": (435, 435),
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "process_madvise": (440, 440), "pidfd_getfd": (438, 438), "pidfd_send_signal": (424, 424),
    "pidfd_open": (434, 434), "process_mrelease": (448, 448),
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
    # memory no RSS shows
    "memfd_create": (319, 279), "memfd_secret": (447, 447),
    "shmget": (29, 194), "shmat": (30, 196), "shmctl": (31, 195), "shmdt": (67, 197),
    "semget": (64, 190), "semop": (65, 193), "semctl": (66, 191), "semtimedop": (220, 192),
    "msgget": (68, 186), "msgsnd": (69, 189), "msgrcv": (70, 188), "msgctl": (71, 187),
    "mq_open": (240, 180), "mq_unlink": (241, 181), "mq_timedsend": (242, 182),
    "mq_timedreceive": (243, 183), "mq_notify": (244, 184), "mq_getsetattr": (245, 185),
    "vmsplice": (278, 75), "splice": (275, 76), "tee": (276, 77),
    "inotify_init": (253, None), "inotify_init1": (294, 26), "inotify_add_watch": (254, 27),
    "fanotify_init": (300, 262), "fanotify_mark": (301, 263),
    # decided by their arguments
    "prlimit64": (302, 261), "setpriority": (141, 140), "sched_setaffinity": (203, 122),
    "sched_setscheduler": (144, 119), "sched_setparam": (142, 118), "sched_setattr": (314, 274),
    "ioprio_set": (251, 30), "migrate_pages": (256, 238), "move_pages": (279, 239),
    "fcntl": (72, 25), "ioctl": (16, 29), "open": (2, None), "openat": (257, 56),
    "openat2": (437, 437),
    # judged only in the confined Jupyter kernel's profile (allowed, unjudged, in workers)
    "sendto": (44, 206), "sendmsg": (46, 211), "sendmmsg": (307, 269),
}  # fmt: skip
PROCESS_CALLS = ("execve", "execveat", "fork", "vfork")
"""Refused unless the instructor's limits allow processes (clone is handled by its flags)."""
FALLBACK_CALLS = ("clone3", "openat2", "vmsplice", "splice", "tee")
"""Answered ENOSYS: their callers fall back to a call the filter can judge (clone, openat) or to
plain read/write (splice, tee and vmsplice pin pages in pipes, memory no RSS shows)."""
CUDA_NEEDS = ("memfd_create",)
"""Left allowed on CUDA workers: NVIDIA's driver creates memfd files while it initialises (the
context is made before confinement; later use is not ruled out and no GPU has run this filter)."""
OWN_PID_CALLS = (
    "prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr",
    "migrate_pages", "move_pages",
)  # fmt: skip
"""Calls whose first argument names a process: only 0 (the caller) or the worker's own pid."""
WHICH_WHO_CALLS = {"setpriority": (0, 1), "ioprio_set": (1, 2)}
"""Calls (which, who): only `which` = process or process group (never a whole user, PRIO_USER /
IOPRIO_WHO_USER), and `who` = 0 (the caller) or the worker's own pid (its own group)."""
SIGNAL_CALLS = ("kill", "tgkill")
"""Allowed towards the worker itself only (pid, 0 or its own group); tkill never."""
KERNEL_SEND_CALLS = {"sendto": 3, "sendmsg": 2, "sendmmsg": 3}
"""Calls (and the index of their flags argument) that the kernel profile refuses with
MSG_FASTOPEN, which connects a TCP socket without connect(); workers have no socket at all."""
KERNEL_SOCKET_CALLS = ("socket", "socketpair", "bind", "listen", "accept", "accept4")
"""Left to the confined Jupyter kernel (``kernel_sockets``): socket and socketpair only as judged
below; bind and listen are Landlock's (ABI 4+: only the connection file's TCP ports); connect
stays refused."""
_ARGUMENT_CALLS = ("clone", *SIGNAL_CALLS, *OWN_PID_CALLS, *WHICH_WHO_CALLS, "fcntl", "ioctl",
                   "open", "openat", *KERNEL_SEND_CALLS)  # fmt: skip
DENIED = tuple(
    n for n in SYSCALL_NUMBERS if n not in PROCESS_CALLS + FALLBACK_CALLS + _ARGUMENT_CALLS
)
"""Refused outright with EPERM (setsid and setpgid too, so that a child the instructor's limits
allow stays in the worker's process group, which the grader kills with it)."""
CLONE_THREAD = 0x00010000
F_SETLK, F_SETLKW, F_SETOWN, F_SETSIG, F_SETOWN_EX = 6, 7, 8, 10, 15
F_OFD_SETLK, F_OFD_SETLKW, F_SETPIPE_SZ = 37, 38, 1031
FCNTL_SIGNALS = (F_SETOWN, F_SETOWN_EX, F_SETSIG)
"""fcntl commands that would send a file's SIGIO (or any signal) to another process or group."""
FCNTL_MEMORY = (F_SETPIPE_SZ, F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW)
"""fcntl commands that hold kernel memory no RSS shows: pipes grown past 64 KiB, and byte-range
locks (one kernel object per range, no limit; left allowed on CUDA workers)."""
FIOSETOWN, SIOCSPGRP, TIOCSPGRP, TIOCSTI = 0x8901, 0x8902, 0x5410, 0x5412
IOCTL_REFUSED = (FIOSETOWN, SIOCSPGRP, TIOCSPGRP, TIOCSTI)
"""ioctl requests that set a file's signal owner or a terminal's process group, or type into a
terminal (the same numbers on x86_64 and aarch64)."""
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16
SOCK_STREAM, SOCK_NONBLOCK, SOCK_CLOEXEC = 1, 0o4000, 0o2000000
IPPROTO_TCP = 6
SCHED_OTHER = 0
MSG_FASTOPEN = 0x20000000
KERNEL_SOCKETS = {"inet": (AF_INET,), "inet6": (AF_INET6,)}
"""The families a kernel's TCP sockets may use, by the connection file's address (IPv4 or IPv6)."""
O_TMPFILE_BIT = 0o20000000
"""__O_TMPFILE: an unnamed file in a folder (Landlock's MAKE_REG does not cover it), refused."""

# classic BPF opcodes and seccomp return values
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
RET_KILL_PROCESS, RET_ALLOW, RET_ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
OFF_NR, OFF_ARCH, OFF_ARG0 = 0, 4, 16
X32_SYSCALL_BIT = 0x40000000
PR_SET_NO_NEW_PRIVS, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC = 38, 1, 1
SECCOMP_SYSCALL = {"x86_64": 317, "aarch64": 277}
EPERM, ENOSYS = RET_ERRNO | errno.EPERM, RET_ERRNO | errno.ENOSYS
EINVAL = RET_ERRNO | errno.EINVAL


class SeccompError(OSError):
    """seccomp is missing or refused the filter."""


def machine() -> str:
    """This machine's architecture name as the tables above spell it."""
    m = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m, m)


def _number(name, arch):
    return SYSCALL_NUMBERS[name][0 if arch == "x86_64" else 1]


def _arg(i):
    """Load the low 32 bits of argument `i` (little-endian: the kernel reads ints from there)."""
    return (LD_W_ABS, 0, 0, OFF_ARG0 + 8 * i)


def _one_of(values, then, otherwise):
    """Jump to `then` if the accumulator is one of `values`, else to `otherwise`."""
    out = [(JEQ_K, then, 0, v & 0xFFFFFFFF) for v in values]
    return out + [(JEQ_K, otherwise, otherwise, 0)]  # an unconditional forward jump


def _stream_type(then):
    """Continue at `then` if the accumulator is SOCK_STREAM (with NONBLOCK/CLOEXEC), else eperm."""
    flags = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC
    return [(JSET_K, "eperm", 0, ~flags & 0xFFFFFFFF), (JSET_K, then, "eperm", SOCK_STREAM)]


def _kernel_blocks(families, own_pid):
    """The kernel profile's checks: TCP sockets of `families`, unix stream socketpairs, and
    sched_setscheduler(tid, SCHED_OTHER) from libzmq's threads."""
    blocks = {
        # libzmq's I/O threads call pthread_setschedparam(self, SCHED_OTHER, 0) with their tid,
        # which no filter can tell from another process's pid: SCHED_OTHER (priority 0, nice
        # untouched) is allowed on any process, every other policy only on 0 or the kernel.
        "sched_other": [
            _arg(0),
            *_one_of((0, own_pid), "allow", "sched_other.policy"),
            ("sched_other.policy",),
            _arg(1),
            *_one_of((SCHED_OTHER,), "allow", "eperm"),
        ],
        # socket(domain, type, protocol): TCP only (UDP, raw, netlink, packet, unix: refused).
        "socket": [
            _arg(0),
            *_one_of(families, "socket.type", "socket.netlink"),
            # EINVAL, not EPERM: libzmq's bind looks the address up as an interface name first
            # (getifaddrs, a netlink socket) and aborts on any error but EINVAL (its WSL path),
            # which sends it on to the numeric address.
            ("socket.netlink",),
            *_one_of((AF_NETLINK,), "einval", "eperm"),
            ("socket.type",),
            _arg(1),
            *_stream_type("socket.protocol"),
            ("socket.protocol",),
            _arg(2),
            *_one_of((0, IPPROTO_TCP), "allow", "eperm"),
        ],
        # socketpair(AF_UNIX, SOCK_STREAM, 0): asyncio's self-pipe; a connected stream pair
        # can never be connected elsewhere (a datagram pair could).
        "socketpair": [
            _arg(0),
            *_one_of((AF_UNIX,), "socketpair.type", "eperm"),
            ("socketpair.type",),
            _arg(1),
            *_stream_type("socketpair.protocol"),
            ("socketpair.protocol",),
            _arg(2),
            *_one_of((0,), "allow", "eperm"),
        ],
    }
    for name, index in KERNEL_SEND_CALLS.items():
        blocks[name] = [_arg(index), (JSET_K, "eperm", "allow", MSG_FASTOPEN)]
    return blocks


def _blocks(own_pid, cuda):
    """The argument checks, as {label: instructions}; each ends by jumping to allow or eperm."""
    self_ids = (0, own_pid)
    blocks = {
        # clone(flags, ...): threads only.
        "clone": [_arg(0), (JSET_K, "allow", "eperm", CLONE_THREAD)],
        # kill(pid) / tgkill(tgid, ...): only this worker (pid, 0 = own group, -pid = own group).
        "signal": [_arg(0), *_one_of((own_pid, 0, -own_pid), "allow", "eperm")],
        "own_pid": [_arg(0), *_one_of(self_ids, "allow", "eperm")],
        "fcntl": [
            _arg(1),
            *_one_of(
                FCNTL_SIGNALS + (FCNTL_MEMORY[:1] if cuda else FCNTL_MEMORY), "eperm", "allow"
            ),
        ],
        "ioctl": [_arg(1), *_one_of(IOCTL_REFUSED, "eperm", "allow")],
        "open": [_arg(1), (JSET_K, "eperm", "allow", O_TMPFILE_BIT)],
        "openat": [_arg(2), (JSET_K, "eperm", "allow", O_TMPFILE_BIT)],
    }
    for name, whiches in WHICH_WHO_CALLS.items():
        blocks[name] = [
            _arg(0),
            *_one_of(whiches, name + ".who", "eperm"),
            (name + ".who",),
            _arg(1),
            *_one_of(self_ids, "allow", "eperm"),
        ]
    return blocks


def _dispatch(arch, allow_processes, kernel_sockets=None):
    """(syscall name, label) for every call decided by its arguments."""
    pairs = [] if allow_processes else [("clone", "clone")]
    if kernel_sockets:
        pairs += [("socket", "socket"), ("socketpair", "socketpair")]
        pairs += [(n, n) for n in KERNEL_SEND_CALLS]
    pairs += [(n, "signal") for n in SIGNAL_CALLS]
    pairs += [
        (n, "sched_other" if kernel_sockets and n == "sched_setscheduler" else "own_pid")
        for n in OWN_PID_CALLS
    ]
    pairs += [(n, n) for n in WHICH_WHO_CALLS]
    pairs += [("fcntl", "fcntl"), ("ioctl", "ioctl"), ("openat", "openat")]
    if arch == "x86_64":
        pairs.append(("open", "open"))
    return pairs


def _assemble(prog):
    """Resolve label names into forward jump offsets; a 1-tuple (name,) marks a label."""
    labels, out = {}, []
    for item in prog:
        if len(item) == 1:
            labels[item[0]] = len(out)
        else:
            out.append(item)
    resolved = []
    for i, (code, jt, jf, k) in enumerate(out):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        if not (0 <= jt < 256 and 0 <= jf < 256):
            raise SeccompError(0, "seccomp filter jump out of range")
        resolved.append((code, jt, jf, k))
    return resolved


def build_filter(
    arch: str,
    own_pid: int,
    allow_processes: bool = False,
    cuda: bool = False,
    kernel_sockets: str | None = None,
) -> list[tuple]:
    """The filter as (code, jt, jf, k) instructions for `arch`, for the worker whose pid is `own_pid`.

    allow_processes: the instructor's limits allow programs (execve, fork, clone of a process).
    cuda: a GPU worker, where CUDA_NEEDS and byte-range locks stay allowed for NVIDIA's driver.
    kernel_sockets: the confined Jupyter kernel's profile ("inet" or "inet6", a KERNEL_SOCKETS
    key): TCP sockets of that family, bind, listen and accept (Landlock limits bind to the
    kernel's ports), unix stream socketpairs, no MSG_FASTOPEN, sched_setscheduler(any,
    SCHED_OTHER) for libzmq's threads; None (workers): no socket call.
    """
    if arch not in AUDIT_ARCH:
        raise SeccompError(0, f"no seccomp filter for the {arch} architecture")
    # Instructions are (code, jt, jf, k); jt and jf may name a label, marked by a 1-tuple (name,).
    prog: list = [
        (LD_W_ABS, 0, 0, OFF_ARCH),
        (JEQ_K, 1, 0, AUDIT_ARCH[arch]),
        (RET_K, 0, 0, RET_KILL_PROCESS),
        (LD_W_ABS, 0, 0, OFF_NR),
    ]
    if arch == "x86_64":
        prog.append((JGE_K, "eperm", 0, X32_SYSCALL_BIT))
    denied = [n for n in DENIED if not (cuda and n in CUDA_NEEDS)]
    denied += [] if allow_processes else list(PROCESS_CALLS)
    if kernel_sockets:
        denied = [n for n in denied if n not in KERNEL_SOCKET_CALLS]
    for name in denied:
        nr = _number(name, arch)
        if nr is not None:
            prog.append((JEQ_K, "eperm", 0, nr))
    for name in FALLBACK_CALLS:
        prog.append((JEQ_K, "enosys", 0, _number(name, arch)))
    dispatch = _dispatch(arch, allow_processes, kernel_sockets)
    for name, label in dispatch:
        prog.append((JEQ_K, label, 0, _number(name, arch)))
    prog += [("allow",), (RET_K, 0, 0, RET_ALLOW), ("eperm",), (RET_K, 0, 0, EPERM)]
    prog += [("enosys",), (RET_K, 0, 0, ENOSYS)]
    # BPF jumps forward only: the argument checks come after the returns they may not reach, so
    # they end at a second pair of returns at the very end.
    labels_used = {label for _, label in dispatch}
    blocks = _blocks(own_pid, cuda)
    if kernel_sockets:
        blocks.update(_kernel_blocks(KERNEL_SOCKETS[kernel_sockets], own_pid))
    for label, block in blocks.items():
        if label in labels_used:
            prog += [(label,), *_rename(block)]
    prog += [("allow2",), (RET_K, 0, 0, RET_ALLOW), ("eperm2",), (RET_K, 0, 0, EPERM)]
    if kernel_sockets:
        prog += [("einval2",), (RET_K, 0, 0, EINVAL)]
    return _assemble(prog)


def _rename(block):
    """A block's jumps to allow/eperm go to the returns at the end of the program."""
    names = {"allow": "allow2", "eperm": "eperm2", "einval": "einval2"}
    return [
        item
        if len(item) == 1
        else (item[0], names.get(item[1], item[1]), names.get(item[2], item[2]), item[3])
        for item in block
    ]


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
