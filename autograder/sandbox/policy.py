"""What a confined worker may touch: the file rules for CPU and CUDA workers, as plain data.

Nothing here calls the kernel: ``worker_rules`` returns (path, rights) pairs that
``sandbox.confine`` hands to Landlock, so the rules of a CUDA worker can be built and tested on
a machine without a GPU. Reading is allowed under the Python installation and its packages,
never under the grader's package, the course folder, submissions, results or the data files.
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass, field

from autograder.sandbox import landlock

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The grader's package (checks, references, answer key): never readable by a worker."""

SYSTEM_READ = (
    "/usr/lib",
    "/usr/lib64",
    "/lib",
    "/lib64",
    "/usr/local/lib",
    "/usr/share/zoneinfo",
    "/usr/share/fonts",
    "/usr/share/matplotlib",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/fonts",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/sys/devices/system/cpu",
    "/sys/fs/cgroup",
    "/dev/urandom",
    "/dev/random",
    "/dev/zero",
)
"""System files the C libraries under torch and numpy read after start-up (shared libraries
loaded lazily, CPU topology, time zone)."""
DEVICES = ("/dev/null",)
"""Devices a worker writes (student prints go to /dev/null)."""
CUDA_DEVICES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset")
"""NVIDIA's control and unified-memory devices; /dev/nvidia<N> and /dev/nvidia-caps are added
by glob (see ``cuda_paths``)."""
CUDA_READ = (
    "/proc/driver/nvidia",
    "/sys/bus/pci",
    "/sys/devices",
    "/sys/module/nvidia",
    "/etc/nvidia",
    "/usr/share/nvidia",
    "/run/nvidia-persistenced",
)
"""What the CUDA driver and runtime read after initialisation (PCI topology, driver state)."""


SAFE_ENVIRONMENT = (
    "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "MPLBACKEND", "FASHION_MNIST_ROOT",
    "FASHION_MNIST_CACHE", "XDG_CACHE_HOME",
    "SOFTMAX_COURSE_ROOT", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUDA_MODULE_LOADING",
    "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "LD_LIBRARY_PATH",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE", "PYTORCH_CUDA_ALLOC_CONF", "SOFTMAX_LANDLOCK_ABI", "SOFTMAX_UNITS_PATH",
)  # fmt: skip
"""The only environment variables the fork server starts with: none holds a secret (tokens,
credentials and the grader's own settings stay in the grader). SOFTMAX_LANDLOCK_ABI can only
lower the Landlock ABI workers use (landlock.max_abi), for tests of older kernels;
SOFTMAX_UNITS_PATH lets the fork server import the units registered outside the repository (a
worker imports its unit's harness before it confines itself, and may not read those folders)."""


def minimal_environment(environ) -> dict:
    """The fork server's environment: SAFE_ENVIRONMENT's entries of `environ`, nothing else."""
    env = {k: v for k, v in environ.items() if k in SAFE_ENVIRONMENT}
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PATH", "/usr/bin:/bin")
    return env


@dataclass(frozen=True)
class KernelProfile:
    """What the confined Jupyter kernel needs beyond a worker (sandbox/kernel.py).

    ports: the TCP ports of its connection file, the only ones it may bind (Landlock ABI 4+;
    it may connect to none); family: "inet" or "inet6", the only socket family it may open
    (seccomp, TCP only). Its scratch folder is also where it may create files (KERNEL_SCRATCH).
    """

    ports: tuple[int, ...]
    family: str = "inet"


@dataclass
class Rules:
    """A worker's Landlock rules: (path, rights) pairs, and the paths kept out of reading."""

    allow: list[tuple[str, int]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    bind_ports: list[int] = field(default_factory=list)
    """TCP ports that may be bound (the kernel profile's; none for workers)."""

    def add(self, path, access):
        if path:
            self.allow.append((os.path.realpath(path), access))


def python_roots() -> list[str]:
    """The Python installation and every site-packages folder on sys.path."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p))
    roots.update(os.path.dirname(p) for p in sys.path if p.endswith(".zip"))
    return sorted(os.path.realpath(r) for r in roots if r and os.path.isdir(r))


def cuda_paths() -> list[str]:
    """NVIDIA device files present on this machine (none on a CPU-only one)."""
    found = [p for p in CUDA_DEVICES if os.path.exists(p)]
    found += sorted(glob.glob("/dev/nvidia[0-9]*")) + sorted(glob.glob("/dev/nvidia-caps*"))
    return found


def _beneath(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def carve(root: str, excluded: list[str]) -> list[str]:
    """Paths covering everything under `root` except the `excluded` folders inside it.

    Landlock can only allow, so a folder holding an excluded one is replaced by its entries,
    level by level down to the excluded folder, which is left out.
    """
    inside = [e for e in excluded if _beneath(e, root)]
    if not inside:
        return [root]
    if any(e == root for e in inside):
        return []
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return []
    out = []
    for name in entries:
        out += carve(os.path.join(root, name), inside)
    return out


def worker_rules(
    scratch: str,
    readable=(),
    excluded=(),
    device: str = "cpu",
    allow_processes: bool = False,
    kernel: KernelProfile | None = None,
) -> Rules:
    """The rules of one worker: read the Python installation and `readable`, write `scratch`.

    excluded: folders never readable even where a readable one holds them (the grader's package
    is always excluded). device: a "cuda" device adds NVIDIA's device files and driver state.
    allow_processes: also let programs under the Python installation be executed.
    kernel: the confined Jupyter kernel's profile (create in scratch, bind its TCP ports).
    """
    rules = Rules(excluded=sorted({os.path.realpath(p) for p in (PACKAGE_DIR, *excluded)}))
    read = landlock.READ_EXEC if allow_processes else landlock.READ
    for root in [*python_roots(), *SYSTEM_READ, *readable]:
        if os.path.exists(root):
            for path in carve(os.path.realpath(root), rules.excluded):
                rules.add(path, read)
    rules.add(f"/proc/{os.getpid()}", landlock.READ)
    for dev in DEVICES:
        rules.add(dev, landlock.DEVICE)
    if device.startswith("cuda"):
        for dev in cuda_paths():
            rules.add(dev, landlock.DEVICE)
        for path in CUDA_READ:
            if os.path.exists(path):
                rules.add(path, landlock.READ)
    rules.add(scratch, landlock.KERNEL_SCRATCH if kernel else landlock.WRITE)
    if kernel:
        rules.bind_ports = sorted(set(kernel.ports))
    return rules
