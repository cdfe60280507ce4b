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


def _simulate(prog, nr, arg0=0, arch="x86_64"):
    """Run the classic-BPF program on one system call, as the kernel would; return its verdict."""
    data = struct.pack("=iIQ6Q", nr, seccomp.AUDIT_ARCH[arch], 0, arg0 & (2**64 - 1), 0, 0, 0, 0, 0)
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


def test_seccomp_filter_decides_as_designed():
    prog = seccomp.build_filter("x86_64", own_pid=4242)
    nr = {n: v[0] for n, v in seccomp.SYSCALL_NUMBERS.items()}
    eperm = seccomp.RET_ERRNO | errno.EPERM
    assert _simulate(prog, 0) == seccomp.RET_ALLOW  # read
    assert _simulate(prog, nr["execve"]) == eperm
    assert _simulate(prog, nr["clone3"]) == seccomp.RET_ERRNO | errno.ENOSYS
    assert _simulate(prog, nr["clone"], arg0=0x3D0F00) == seccomp.RET_ALLOW  # pthread_create
    assert _simulate(prog, nr["clone"], arg0=0x01200011) == eperm  # fork()
    assert _simulate(prog, nr["kill"], arg0=4242) == seccomp.RET_ALLOW
    assert _simulate(prog, nr["kill"], arg0=-4242) == seccomp.RET_ALLOW
    assert _simulate(prog, nr["kill"], arg0=1) == eperm
    assert _simulate(prog, nr["tgkill"], arg0=4243) == eperm
    assert _simulate(prog, 0x40000000 + 59) == eperm  # x32 ABI
    assert _simulate(prog, 0, arch="aarch64") == seccomp.RET_KILL_PROCESS  # another architecture


CONFINED = textwrap.dedent(
    """
    import json, os, socket, subprocess, sys
    from autograder import sandbox
    scratch, secret, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    info = sandbox.confine(scratch)
    out = {"info": info}
    def attempt(name, fn):
        try:
            fn()
            out[name] = "allowed"
        except OSError as err:
            out[name] = err.errno
    attempt("read_secret", lambda: open(secret).read())
    attempt("write_scratch", lambda: open(os.path.join(scratch, "f"), "w").write("x"))
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
    assert out["write_scratch"] == "allowed" and out["read_python"] == "allowed"
    assert out["spawn"] == errno.EPERM
    assert out["connect"] == errno.EPERM
    assert out["signal_parent"] == errno.EPERM and out["signal_self"] == "allowed"
    assert not (tmp_path / "secret.txt.new").exists()


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
