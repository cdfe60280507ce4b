"""Landlock through ctypes: which files a worker may read or write, no TCP, no signals out.

Landlock (Linux 5.13+) lets an unprivileged process restrict itself, and every process and
thread it creates afterwards, to an allow-list of file hierarchies. The rights handled but not
granted are refused by the kernel with EACCES, whatever Python-level code or C library asks.
ABI versions add rights: 2 REFER, 3 TRUNCATE, 4 TCP bind/connect, 5 IOCTL on devices, 6 scoping
(signals and abstract unix sockets only within the domain). The best ABI present is used
(``SOFTMAX_LANDLOCK_ABI`` may lower it, for tests of older kernels).
"""

from __future__ import annotations

import ctypes
import os
import platform
import stat

MAX_ABI_VARIABLE = "SOFTMAX_LANDLOCK_ABI"
"""An environment variable that caps the ABI used (never raises it), so that the tests can show
the rules that must hold on older kernels, e.g. 4 or 5 (no signal scoping before 6)."""

SYSCALLS = {
    # Landlock's syscalls have the same numbers on every architecture.
    "create_ruleset": 444,
    "add_rule": 445,
    "restrict_self": 446,
}
CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1
RULE_NET_PORT = 2

FS = {
    "execute": 1 << 0,
    "write_file": 1 << 1,
    "read_file": 1 << 2,
    "read_dir": 1 << 3,
    "remove_dir": 1 << 4,
    "remove_file": 1 << 5,
    "make_char": 1 << 6,
    "make_dir": 1 << 7,
    "make_reg": 1 << 8,
    "make_sock": 1 << 9,
    "make_fifo": 1 << 10,
    "make_block": 1 << 11,
    "make_sym": 1 << 12,
    "refer": 1 << 13,
    "truncate": 1 << 14,
    "ioctl_dev": 1 << 15,
}
FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
"""Every filesystem right an ABI version knows (4 adds network rights only, 6 scoping)."""
FILE_ONLY = FS["execute"] | FS["write_file"] | FS["read_file"] | FS["truncate"] | FS["ioctl_dev"]
"""The rights that may be granted on a single (non-directory) file."""
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

READ = FS["read_file"] | FS["read_dir"]
READ_EXEC = READ | FS["execute"]
WRITE = READ | FS["write_file"] | FS["remove_dir"] | FS["remove_file"] | FS["truncate"]
"""A worker's scratch folder: read, write and remove what is there, create nothing (no MAKE_*
right: no file, folder, link, fifo, socket or device; REFER neither). The disk a worker can
fill is what exists in scratch when it confines (nothing) times RLIMIT_FSIZE: zero. seccomp
refuses O_TMPFILE, which Landlock's MAKE_REG does not cover."""
KERNEL_SCRATCH = WRITE | FS["make_reg"] | FS["make_dir"]
"""The confined Jupyter kernel's scratch folder: a student's notebook may also create files and
folders there (each at most RLIMIT_FSIZE); still no link, fifo, socket or device."""
DEVICE = FS["read_file"] | FS["write_file"] | FS["ioctl_dev"]
"""A device file the worker must drive (/dev/null, NVIDIA's devices)."""


class LandlockError(OSError):
    """Landlock is missing or refused a step; the message says which."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(name, *args):
    result = _libc.syscall(ctypes.c_long(SYSCALLS[name]), *args)
    if result < 0:
        err = ctypes.get_errno()
        raise LandlockError(err, f"landlock_{name}: {os.strerror(err)}")
    return result


def abi_version() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is absent or disabled."""
    if platform.system() != "Linux":
        return 0
    try:
        return int(_syscall("create_ruleset", None, ctypes.c_size_t(0), CREATE_RULESET_VERSION))
    except LandlockError:
        return 0


def max_abi() -> int | None:
    """The cap MAX_ABI_VARIABLE sets (None: the kernel's own ABI)."""
    value = os.environ.get(MAX_ABI_VARIABLE, "").strip()
    return int(value) if value.isdigit() and int(value) >= 1 else None


def effective_abi() -> int:
    """The ABI a worker's ruleset uses: the kernel's, lowered to max_abi() when that is set."""
    abi, cap = abi_version(), max_abi()
    return abi if cap is None else min(abi, cap)


def handled_fs(abi: int) -> int:
    """Every filesystem right `abi` can restrict."""
    return FS_BY_ABI[max(v for v in FS_BY_ABI if v <= abi)]


class Ruleset:
    """A Landlock ruleset being built: `allow` paths, then `restrict_self` once."""

    def __init__(self, abi: int | None = None):
        self.abi = effective_abi() if abi is None else abi
        if self.abi < 1:
            raise LandlockError(0, "Landlock is not available in this kernel")
        self.fs = handled_fs(self.abi)
        attr = _RulesetAttr(
            self.fs,
            (NET_BIND_TCP | NET_CONNECT_TCP) if self.abi >= 4 else 0,
            (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if self.abi >= 6 else 0,
        )
        # The struct grew over the ABI versions: pass the size this kernel knows.
        size = 8 if self.abi < 4 else (16 if self.abi < 6 else ctypes.sizeof(attr))
        self.fd = _syscall("create_ruleset", ctypes.byref(attr), ctypes.c_size_t(size), 0)
        self.rules: list[tuple[str, int]] = []
        self.ports: list[tuple[int, int]] = []

    def allow(self, path: str, access: int) -> bool:
        """Grant `access` beneath `path` (a file gets only file rights); False if it does not exist."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            access &= self.fs
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                access &= FILE_ONLY
            if not access:
                return False
            attr = _PathBeneathAttr(access, fd)
            _syscall("add_rule", self.fd, RULE_PATH_BENEATH, ctypes.byref(attr), 0)
            self.rules.append((path, access))
            return True
        finally:
            os.close(fd)

    def allow_port(self, port: int, access: int = NET_BIND_TCP) -> None:
        """Grant `access` (NET_BIND_TCP and/or NET_CONNECT_TCP) on one TCP port (ABI 4+)."""
        if self.abi < 4:
            raise LandlockError(0, f"Landlock ABI {self.abi} has no TCP rules (4+ needed)")
        attr = _NetPortAttr(access, port)
        _syscall("add_rule", self.fd, RULE_NET_PORT, ctypes.byref(attr), 0)
        self.ports.append((port, access))

    def restrict_self(self) -> None:
        """Enforce the ruleset on this thread and everything it starts (needs no_new_privs)."""
        try:
            _syscall("restrict_self", self.fd, 0)
        finally:
            os.close(self.fd)
