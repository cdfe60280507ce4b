"""The sandbox package: Landlock and seccomp rules built as data, and a forked process confined."""

from __future__ import annotations

import errno
import os
import socket
import struct
import subprocess
import sys
import textwrap

import pytest
from helpers.loading import load_module
from helpers.paths import FILES, ROOT

from autograder import sandbox
from autograder.sandbox import landlock, policy, seccomp


def test_probe_reports_this_kernel():
    found = sandbox.probe()
    assert found["landlock_abi"] >= 1 and found["seccomp"], found
    assert found["missing"] == []


def test_missing_kernel_features_refuse_with_a_message(monkeypatch):
    monkeypatch.setattr(landlock, "abi_version", lambda: 0)
    with pytest.raises(sandbox.ConfinementUnavailable, match="Landlock .*--unconfined"):
        sandbox.check()
    monkeypatch.setattr(sandbox, "UNCONFINED", True)
    assert sandbox.check()["missing"]


def test_grade_refuses_without_landlock_unless_unconfined(tmp_path, monkeypatch, capsys):
    from autograder import __main__ as cli

    monkeypatch.setattr(landlock, "abi_version", lambda: 0)
    code = cli.main(["grade", str(tmp_path), "--out", str(tmp_path / "out")])
    assert code == 3
    err = capsys.readouterr().err
    assert "cannot confine" in err and "Landlock" in err and "--unconfined" in err
    assert not (tmp_path / "out").exists()


def test_unconfined_grading_is_recorded_in_every_result(tmp_path, monkeypatch, examples):
    import json

    from autograder import __main__ as cli

    monkeypatch.setattr(landlock, "abi_version", lambda: 0)
    monkeypatch.setattr(sandbox, "UNCONFINED", False)
    out = tmp_path / "out"
    code = cli.main(
        ["grade", str(examples / "carol_blank"), "--out", str(out), "--unconfined", "--no-report"]
    )
    assert code == 0
    info = json.loads((out / "carol_blank" / "results.json").read_text())["extra_data"]["info"]
    assert info["confinement"] == {"confined": False}
    from autograder.results import report, store

    results = store.load(out)
    html = report.build_report(results)
    assert "id='unconfined'" in html and "carol_blank" in html.split("id='unconfined'")[1][:400]
    info["confinement"] = {"confined": True, "landlock_abi": 7}
    assert "id='unconfined'" not in report.build_report([_with_info(results[0], info)])


def _with_info(result, info):
    import copy

    other = copy.copy(result)
    other.info = info
    return other


def test_handled_rights_grow_with_the_abi():
    assert landlock.handled_fs(1) == (1 << 13) - 1
    assert landlock.handled_fs(3) & landlock.FS["truncate"]
    assert landlock.handled_fs(7) & landlock.FS["ioctl_dev"]
    assert not landlock.handled_fs(4) & landlock.FS["ioctl_dev"]


def test_carve_leaves_out_excluded_folders(tmp_path):
    (tmp_path / "lib" / "site" / "autograder").mkdir(parents=True)
    (tmp_path / "lib" / "site" / "numpy").mkdir()
    (tmp_path / "lib" / "other").mkdir()
    got = policy.carve(str(tmp_path / "lib"), [str(tmp_path / "lib" / "site" / "autograder")])
    assert sorted(got) == sorted(
        [str(tmp_path / "lib" / "other"), str(tmp_path / "lib" / "site" / "numpy")]
    )
    assert policy.carve(str(tmp_path / "lib"), [str(tmp_path / "elsewhere")]) == [
        str(tmp_path / "lib")
    ]


def test_worker_rules_never_include_the_grader_package(tmp_path):
    rules = policy.worker_rules(str(tmp_path), excluded=[str(tmp_path.parent)])
    paths = [p for p, _ in rules.allow]
    assert not any(p == policy.PACKAGE_DIR or p.startswith(policy.PACKAGE_DIR + "/") for p in paths)
    assert (os.path.realpath(tmp_path), landlock.WRITE) in rules.allow
    writable = [p for p, a in rules.allow if a & landlock.FS["write_file"]]
    assert sorted(writable) == sorted([os.path.realpath(tmp_path), "/dev/null"])


def test_cuda_rules_add_nvidia_devices(tmp_path, monkeypatch):
    dev = tmp_path / "dev"
    dev.mkdir()
    for name in ("nvidiactl", "nvidia0", "nvidia-uvm"):
        (dev / name).write_text("")
    monkeypatch.setattr(policy, "CUDA_DEVICES", (str(dev / "nvidiactl"), str(dev / "nvidia-uvm")))
    monkeypatch.setattr(
        policy.glob, "glob", lambda pattern: [str(dev / "nvidia0")] if "[0-9]" in pattern else []
    )
    cpu = dict(policy.worker_rules(str(tmp_path), device="cpu").allow)
    cuda = dict(policy.worker_rules(str(tmp_path), device="cuda").allow)
    for name in ("nvidiactl", "nvidia0", "nvidia-uvm"):
        assert str(dev / name) not in cpu
        assert cuda[str(dev / name)] == landlock.DEVICE
    assert set(cpu) <= set(cuda)


@pytest.mark.parametrize("arch", sorted(seccomp.AUDIT_ARCH))
def test_seccomp_filter_builds_for_each_architecture(arch):
    prog = seccomp.build_filter(arch, own_pid=4242)
    assert prog[0] == (seccomp.LD_W_ABS, 0, 0, seccomp.OFF_ARCH)
    assert prog[1][3] == seccomp.AUDIT_ARCH[arch]
    assert all(0 <= jt < 256 and 0 <= jf < 256 for _, jt, jf, _ in prog)
    denied = {k for code, _, _, k in prog if code == seccomp.JEQ_K}
    for name in ("execve", "ptrace", "socket", "bpf", "io_uring_setup", "unshare", "utimensat"):
        assert seccomp.SYSCALL_NUMBERS[name][0 if arch == "x86_64" else 1] in denied, name
    allowed = seccomp.build_filter(arch, own_pid=4242, allow_processes=True)
    assert len(allowed) < len(prog)


def _simulate(prog, nr, *args, arch="x86_64"):
    """Run the classic-BPF program on one system call, as the kernel would; return its verdict."""
    argv = [a & (2**64 - 1) for a in args] + [0] * (6 - len(args))
    data = struct.pack("=iIQ6Q", nr, seccomp.AUDIT_ARCH[arch], 0, *argv)
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == seccomp.LD_W_ABS:
            acc = struct.unpack_from("=I", data, k)[0]
        elif code == seccomp.RET_K:
            return k
        else:
            taken = {
                seccomp.JEQ_K: acc == k,
                seccomp.JGE_K: acc >= k,
                seccomp.JSET_K: bool(acc & k),
            }[code]
            pc += jt if taken else jf
        pc += 1


EPERM, ENOSYS = seccomp.RET_ERRNO | errno.EPERM, seccomp.RET_ERRNO | errno.ENOSYS
ALLOW = seccomp.RET_ALLOW


def _nr(arch):
    return {n: v[0 if arch == "x86_64" else 1] for n, v in seccomp.SYSCALL_NUMBERS.items()}


def test_seccomp_filter_decides_as_designed():
    prog = seccomp.build_filter("x86_64", own_pid=4242)
    nr = _nr("x86_64")
    assert _simulate(prog, 0) == ALLOW  # read
    assert _simulate(prog, nr["execve"]) == EPERM
    assert _simulate(prog, nr["clone3"]) == ENOSYS
    assert _simulate(prog, nr["clone"], 0x3D0F00) == ALLOW  # pthread_create
    assert _simulate(prog, nr["clone"], 0x01200011) == EPERM  # fork()
    assert _simulate(prog, nr["kill"], 4242) == ALLOW
    assert _simulate(prog, nr["kill"], -4242) == ALLOW
    assert _simulate(prog, nr["kill"], 1) == EPERM
    assert _simulate(prog, nr["kill"], -1) == EPERM  # every process the user may signal
    assert _simulate(prog, nr["tgkill"], 4243) == EPERM
    assert _simulate(prog, 0x40000000 + 59) == EPERM  # x32 ABI
    assert _simulate(prog, 0, arch="aarch64") == seccomp.RET_KILL_PROCESS  # another architecture


RLIMIT_CPU, PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 0, 1, 2
IOPRIO_WHO_PROCESS, IOPRIO_WHO_USER = 1, 3


@pytest.mark.parametrize("arch", sorted(seccomp.AUDIT_ARCH))
def test_calls_that_name_a_process_reach_only_the_worker(arch):
    """prlimit64, setpriority, sched_*, ioprio_set: the worker itself (0 or its pid), nobody else.

    The filter before issue 20 let a worker set RLIMIT_CPU of the grader to 1 s (it was killed).
    """
    prog, nr = seccomp.build_filter(arch, own_pid=4242), _nr(arch)
    for own in (0, 4242):
        assert _simulate(prog, nr["prlimit64"], own, RLIMIT_CPU, 1, 0, arch=arch) == ALLOW
        assert _simulate(prog, nr["setpriority"], PRIO_PROCESS, own, 19, arch=arch) == ALLOW
        assert _simulate(prog, nr["setpriority"], PRIO_PGRP, own, 19, arch=arch) == ALLOW
        assert _simulate(prog, nr["ioprio_set"], IOPRIO_WHO_PROCESS, own, 0, arch=arch) == ALLOW
        for name in ("sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr",
                     "migrate_pages", "move_pages"):  # fmt: skip
            assert _simulate(prog, nr[name], own, arch=arch) == ALLOW, name
    for other in (1, 4241, 4243, -4242, 4242 + 2**32 * 0):
        if other == 4242:
            continue
        assert _simulate(prog, nr["prlimit64"], other, RLIMIT_CPU, 1, 0, arch=arch) == EPERM
        assert _simulate(prog, nr["setpriority"], PRIO_PROCESS, other, 19, arch=arch) == EPERM
        assert _simulate(prog, nr["ioprio_set"], IOPRIO_WHO_PROCESS, other, 0, arch=arch) == EPERM
        for name in ("sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr",
                     "migrate_pages", "move_pages"):  # fmt: skip
            assert _simulate(prog, nr[name], other, arch=arch) == EPERM, name
    # A whole user (the grader's uid, or 0 = the caller's uid) is never a target.
    assert _simulate(prog, nr["setpriority"], PRIO_USER, 0, 19, arch=arch) == EPERM
    assert _simulate(prog, nr["ioprio_set"], IOPRIO_WHO_USER, 0, 0, arch=arch) == EPERM
    for name in ("pidfd_open", "process_mrelease", "tkill", "rt_sigqueueinfo"):
        assert _simulate(prog, nr[name], 4242, arch=arch) == EPERM, name


@pytest.mark.parametrize("arch", sorted(seccomp.AUDIT_ARCH))
def test_no_file_sends_its_signals_elsewhere(arch):
    """fcntl F_SETOWN / F_SETOWN_EX / F_SETSIG and ioctl FIOSETOWN / SIOCSPGRP / TIOCSPGRP /
    TIOCSTI are refused; the fcntl and ioctl calls libraries make are not."""
    prog, nr = seccomp.build_filter(arch, own_pid=4242), _nr(arch)
    F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETOWN, F_DUPFD_CLOEXEC = 1, 2, 3, 4, 9, 1030
    for cmd in (F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETOWN, F_DUPFD_CLOEXEC):
        assert _simulate(prog, nr["fcntl"], 3, cmd, 0, arch=arch) == ALLOW, cmd
    for cmd in (seccomp.F_SETOWN, seccomp.F_SETOWN_EX, seccomp.F_SETSIG, seccomp.F_SETPIPE_SZ):
        assert _simulate(prog, nr["fcntl"], 3, cmd, -1, arch=arch) == EPERM, cmd
    TCGETS, FIONBIO, FIONREAD, NVIDIA_RM_ALLOC = 0x5401, 0x5421, 0x541B, 0xC020462B
    for req in (TCGETS, FIONBIO, FIONREAD, NVIDIA_RM_ALLOC):
        assert _simulate(prog, nr["ioctl"], 3, req, 0, arch=arch) == ALLOW, hex(req)
    for req in seccomp.IOCTL_REFUSED:
        assert _simulate(prog, nr["ioctl"], 3, req, 0, arch=arch) == EPERM, hex(req)
        assert _simulate(prog, nr["ioctl"], 3, req | (1 << 32), 0, arch=arch) == EPERM


@pytest.mark.parametrize("arch", sorted(seccomp.AUDIT_ARCH))
def test_memory_no_rss_shows_is_refused(arch):
    """memfd, System V and POSIX IPC, pinned pipe pages, grown pipes and byte-range locks; on a
    CUDA worker memfd_create and locks stay allowed for NVIDIA's driver."""
    prog, nr = seccomp.build_filter(arch, own_pid=4242), _nr(arch)
    cuda = seccomp.build_filter(arch, own_pid=4242, cuda=True)
    for name in ("memfd_create", "memfd_secret", "shmget", "shmat", "msgget", "msgsnd", "semget",
                 "mq_open", "mq_timedsend", "inotify_init1", "fanotify_init"):  # fmt: skip
        assert _simulate(prog, nr[name], arch=arch) == EPERM, name
    for name in ("vmsplice", "splice", "tee", "openat2"):
        assert _simulate(prog, nr[name], arch=arch) == ENOSYS, name
    for cmd in (seccomp.F_SETLK, seccomp.F_SETLKW, seccomp.F_OFD_SETLK, seccomp.F_OFD_SETLKW):
        assert _simulate(prog, nr["fcntl"], 3, cmd, 0, arch=arch) == EPERM, cmd
        assert _simulate(cuda, nr["fcntl"], 3, cmd, 0, arch=arch) == ALLOW, cmd
    assert _simulate(cuda, nr["memfd_create"], arch=arch) == ALLOW
    assert _simulate(cuda, nr["memfd_secret"], arch=arch) == EPERM
    assert _simulate(cuda, nr["fcntl"], 3, seccomp.F_SETPIPE_SZ, 0, arch=arch) == EPERM


@pytest.mark.parametrize("arch", sorted(seccomp.AUDIT_ARCH))
def test_no_unnamed_file_in_scratch(arch):
    """open/openat with O_TMPFILE (Landlock's MAKE_REG does not cover it) are refused."""
    prog, nr = seccomp.build_filter(arch, own_pid=4242), _nr(arch)
    O_RDWR, O_CREAT, O_CLOEXEC, AT_FDCWD = 2, 0o100, 0o2000000, -100
    o_tmpfile = seccomp.O_TMPFILE_BIT | (0o200000 if arch == "x86_64" else 0o40000)
    assert (
        _simulate(prog, nr["openat"], AT_FDCWD, 0, O_RDWR | O_CREAT | O_CLOEXEC, arch=arch) == ALLOW
    )
    assert _simulate(prog, nr["openat"], AT_FDCWD, 0, o_tmpfile | O_RDWR, arch=arch) == EPERM
    if arch == "x86_64":
        assert _simulate(prog, nr["open"], 0, O_RDWR | O_CREAT, arch=arch) == ALLOW
        assert _simulate(prog, nr["open"], 0, o_tmpfile | O_RDWR, arch=arch) == EPERM


HEADERS = {
    "x86_64": "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
    "aarch64": "/usr/include/asm-generic/unistd.h",
}


@pytest.mark.parametrize("arch", sorted(HEADERS))
def test_syscall_numbers_match_the_kernel_headers(arch):
    """Every number in seccomp.SYSCALL_NUMBERS is the one the kernel's table gives (calls newer
    than the installed headers, e.g. fchmodat2, are skipped)."""
    import re

    path = HEADERS[arch]
    if not os.path.exists(path):
        pytest.skip(f"{path} is not installed")
    text = open(path).read()
    table = {m[0]: int(m[1]) for m in re.findall(r"#define __NR(?:3264)?_(\w+)\s+(\d+)", text)}
    checked = 0
    for name, numbers in seccomp.SYSCALL_NUMBERS.items():
        expected = numbers[0 if arch == "x86_64" else 1]
        if name in table or expected is None:
            assert table.get(name) == expected, (name, table.get(name), expected)
            checked += 1
    assert checked >= len(seccomp.SYSCALL_NUMBERS) - 3


CONFINED = textwrap.dedent(
    """
    import json, os, socket, subprocess, sys
    from autograder import sandbox
    scratch, secret, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    open(os.path.join(scratch, "before"), "w").close()
    info = sandbox.confine(scratch)
    out = {"info": info}
    def attempt(name, fn):
        try:
            fn()
            out[name] = "allowed"
        except OSError as err:
            out[name] = err.errno
    attempt("read_secret", lambda: open(secret).read())
    attempt("create_in_scratch", lambda: open(os.path.join(scratch, "f"), "w").write("x"))
    attempt("write_in_scratch", lambda: open(os.path.join(scratch, "before"), "w").write("x"))
    attempt("write_outside", lambda: open(secret + ".new", "w").write("x"))
    attempt("spawn", lambda: subprocess.run(["/bin/true"]))
    attempt("connect", lambda: socket.create_connection(("127.0.0.1", port), timeout=2))
    attempt("signal_parent", lambda: os.kill(os.getppid(), 0))
    attempt("signal_self", lambda: os.kill(os.getpid(), 0))
    attempt("read_python", lambda: open(os.__file__).read())
    print(json.dumps(out))
    """
)


def test_a_confined_process_is_refused_by_the_kernel(tmp_path):
    import json

    scratch, secret = tmp_path / "scratch", tmp_path / "secret.txt"
    scratch.mkdir()
    secret.write_text("s3cret")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", CONFINED, str(scratch), str(secret), str(listener.getsockname()[1])],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        listener.close()
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["info"]["confined"] and out["info"]["landlock_abi"] >= 1
    assert out["read_secret"] == errno.EACCES
    assert out["write_outside"] == errno.EACCES
    assert out["write_in_scratch"] == "allowed" and out["read_python"] == "allowed"
    assert out["create_in_scratch"] == errno.EACCES  # a bounded scratch: nothing new in it
    assert out["spawn"] == errno.EPERM
    assert out["connect"] == errno.EPERM
    assert out["signal_parent"] == errno.EPERM and out["signal_self"] == "allowed"
    assert not (tmp_path / "secret.txt.new").exists()


KERNEL_ATTACKS = textwrap.dedent(
    """
    import ctypes, fcntl, json, os, resource, signal, struct, sys
    from autograder import sandbox
    scratch, victim = sys.argv[1], int(sys.argv[2])
    info = sandbox.confine(scratch)
    out = {"info": info}
    libc = ctypes.CDLL(None, use_errno=True)
    def attempt(name, fn):
        try:
            fn()
            out[name] = "allowed"
        except OSError as err:
            out[name] = err.errno
    def shmget():
        shm = libc.shmget(0, 1 << 20, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
        if shm < 0:
            raise OSError(ctypes.get_errno(), "shmget")
        libc.shmctl(shm, 0, None)  # IPC_RMID: leave nothing behind if the filter let it through
    one_cpu = {min(os.sched_getaffinity(0))}
    attempt("prlimit_other", lambda: resource.prlimit(victim, resource.RLIMIT_CPU, (1, 1)))
    attempt("prlimit_self", lambda: resource.prlimit(os.getpid(), resource.RLIMIT_CORE, (0, 0)))
    attempt("prlimit_zero", lambda: resource.prlimit(0, resource.RLIMIT_CORE, (0, 0)))
    attempt("setpriority_other", lambda: os.setpriority(os.PRIO_PROCESS, victim, 19))
    attempt("setpriority_self", lambda: os.setpriority(os.PRIO_PROCESS, 0, 1))
    attempt("affinity_other", lambda: os.sched_setaffinity(victim, one_cpu))
    attempt("affinity_self", lambda: os.sched_setaffinity(0, os.sched_getaffinity(0)))
    r, w = os.pipe()
    attempt("f_setown", lambda: fcntl.fcntl(r, fcntl.F_SETOWN, -victim))
    attempt("f_setsig", lambda: fcntl.fcntl(r, 10, signal.SIGKILL))
    attempt("fiosetown", lambda: fcntl.ioctl(r, 0x8901, struct.pack("i", -victim)))
    fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
    os.write(w, b"x")
    attempt("pipe_grow", lambda: fcntl.fcntl(r, 1031, 1 << 20))
    attempt("posix_lock", lambda: fcntl.lockf(open(os.__file__), fcntl.LOCK_SH | fcntl.LOCK_NB))
    attempt("create_file", lambda: open(os.path.join(scratch, "f"), "wb"))
    attempt("mkdir", lambda: os.mkdir(os.path.join(scratch, "d")))
    attempt("o_tmpfile", lambda: os.close(os.open(scratch, os.O_TMPFILE | os.O_RDWR, 0o600)))
    attempt("memfd", lambda: os.close(os.memfd_create("held")))
    attempt("shmget", shmget)
    print(json.dumps(out))
    """
)


VICTIM = (
    "from autograder import sandbox\n"
    "sandbox.drop_capabilities()\n"
    "print('ready', flush=True)\n"
    "import time\n"
    "time.sleep(600)\n"
)
"""The grader as an ordinary user would run it: with no capability (as root, the kernel alone
refuses a capability-less worker's setpriority and sched_setaffinity on it, not prlimit)."""


@pytest.mark.parametrize("abi", [4, 5, None])
def test_a_confined_process_reaches_no_other_process_and_holds_nothing_unbounded(tmp_path, abi):
    """Issue 20, items 1, 2, 7 and 8, with a real process and whatever the Landlock ABI.

    A victim in its own process group stands for the grader: the confined child may not change
    its resource limits, priority or CPUs, nor point a pipe's signals at its group (Landlock
    before ABI 6 does not scope those; the filter before issue 20 let all of it through); it may
    do the same to itself. It creates nothing in scratch (no file, folder, O_TMPFILE) and holds
    no memory that RSS does not show (memfd, System V shared memory, grown pipes, locks).
    """
    import json

    victim = subprocess.Popen(
        [sys.executable, "-c", VICTIM], start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    assert victim.stdout.readline().strip() == "ready"
    env = {k: v for k, v in os.environ.items() if k != landlock.MAX_ABI_VARIABLE}
    if abi:
        env[landlock.MAX_ABI_VARIABLE] = str(abi)
    try:
        limits_before = open(f"/proc/{victim.pid}/limits").read()
        proc = subprocess.run(
            [sys.executable, "-c", KERNEL_ATTACKS, str(tmp_path), str(victim.pid)],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        alive = victim.poll() is None
        limits_after = open(f"/proc/{victim.pid}/limits").read() if alive else ""
        nice = os.getpriority(os.PRIO_PROCESS, victim.pid) if alive else None
    finally:
        victim.kill()
        victim.wait()
    assert out["info"]["landlock_abi"] == (
        min(abi, landlock.abi_version()) if abi else landlock.abi_version()
    )
    for own in ("prlimit_self", "prlimit_zero", "setpriority_self", "affinity_self"):
        assert out[own] == "allowed", own
    for other in ("prlimit_other", "setpriority_other", "affinity_other", "f_setown", "f_setsig",
                  "fiosetown", "pipe_grow", "posix_lock", "o_tmpfile", "memfd", "shmget"):  # fmt: skip
        assert out[other] == errno.EPERM, (other, out[other])
    assert out["create_file"] == errno.EACCES and out["mkdir"] == errno.EACCES
    assert alive and limits_after == limits_before and nice == 0
    assert os.listdir(tmp_path) == []


def test_processes_limit_allows_programs(tmp_path):
    script = (
        "import subprocess, sys\nfrom autograder import sandbox\n"
        "sandbox.confine(sys.argv[1], allow_processes=True)\n"
        "print(subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True).stdout)\n"
        "import os\ntry:\n    os.setsid()\nexcept PermissionError:\n    print('own group kept')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.split() == ["42", "own", "group", "kept"], proc.stderr


def test_fork_server_environment_holds_no_secret():
    env = policy.minimal_environment({"PATH": "/bin", "GITHUB_TOKEN": "t", "AWS_SECRET_ACCESS_KEY": "k",
                                      "FASHION_MNIST_ROOT": "/data", "SOFTMAX_TEST_SECRET": "s"})  # fmt: skip
    assert env["FASHION_MNIST_ROOT"] == "/data" and env["PATH"] == "/bin"
    assert not {"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "SOFTMAX_TEST_SECRET"} & set(env)


KERNEL_ROUND = ("prlimit_grader", "fsetown_grader_group", "fiosetown_grader_socket",
                "fill_scratch", "memfd_hoard")  # fmt: skip


def test_the_kernel_round_is_refused_with_landlock_abi_4(tmp_path, examples):
    """tests/files/redteam/round2_kernel.py graded by the CLI with SOFTMAX_LANDLOCK_ABI=4 (no
    signal scoping): the grader completes (the filter before issue 20 let fiosetown_grader_socket
    kill it with SIGIO after two students), every attack ends forbidden, the honest student is
    unchanged. The grader runs in a session of its own, so a signal that got through could not
    reach pytest."""
    import json
    import shutil

    build = load_module(FILES / "redteam" / "build.py", "redteam_build_kernel")
    target = build.Target(*(str(tmp_path / "none") for _ in range(6)), port=1, secret_env="NONE")
    cases = build.build(tmp_path / "corpus", ROOT, target)
    subs, out = tmp_path / "submitted", tmp_path / "out"
    subs.mkdir()
    for name in KERNEL_ROUND:
        shutil.copytree(tmp_path / "corpus" / name, subs / name)
    shutil.copytree(examples / "carol_blank", subs / "carol_blank")
    env = dict(os.environ, **{landlock.MAX_ABI_VARIABLE: "4"})
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
         "--workers", "2", "--device", "cpu", "--no-report"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, start_new_session=True,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    for name in KERNEL_ROUND:
        result = json.loads((out / name / "results.json").read_text())
        assert result["extra_data"]["info"]["confinement"]["landlock_abi"] == 4
        softmax = [t for t in result["tests"] if t["name"].startswith("softmax.")]
        assert softmax and all(t["output"].startswith("[forbidden]") for t in softmax), name
        assert sum(t["score"] for t in softmax) == 0 and cases[name].softmax == ("forbidden",)
    assert json.loads((out / "carol_blank" / "results.json").read_text())["score"] == 0
