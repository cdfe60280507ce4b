"""Red-team corpus: submissions that attack the grader, built from the release notebook.

``build(root, repo, target)`` writes ``root/<case>/softmax_regression/softmax_regression.ipynb``
for every case and returns ``{case: Attack}``. ``target`` names what the attacks aim at: canary
files with secret contents outside any scratch folder, a folder to write into, a TCP listener on
127.0.0.1, the grader's secret environment variable. An attack puts its code in ``softmax`` (or
``train_ch3``) and raises whatever it obtained as an exception, so that anything it read would
reach its own feedback; honest solutions of the other functions sit beside it.
"""

from __future__ import annotations

import copy
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

ASSIGNMENT = "softmax_regression"
MAIN = "softmax_regression.ipynb"


@dataclass
class Target:
    """What the attacks aim at (paths as strings, so they can be pasted into code)."""

    canary: str
    """A file with secret contents, readable and writable by the grader's user."""
    canary_dir: str
    """The folder holding it, where no worker may create anything."""
    answer_key: str
    checks: str
    other_student: str
    data_root: str
    port: int
    secret_env: str
    """Name of an environment variable the grader has and no worker may see."""


@dataclass
class Attack:
    """One attack and what must come of it."""

    category: str
    what: str
    softmax: tuple[str, ...] = ("forbidden",)
    """Allowed statuses of every softmax check."""
    train: tuple[str, ...] = ()
    """train_ch3 checks that must not pass (training attacks)."""
    honest_kept: bool = True
    """Whether the honest cross_entropy and accuracy beside it must keep their points (False
    where the attack breaks torch for its own worker)."""
    max_points: int | None = None
    """The most points the whole submission may earn (forgeries: what its honest part is worth)."""
    min_points: int | None = None
    """The least points it must keep (honest-but-unusual code the grader must not punish)."""


def _src(cell):
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def _ids(nb):
    return {
        c["metadata"]["nbgrader"]["grade_id"]: c
        for c in nb["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }


def _softmax(header: str, body: str) -> str:
    """A softmax that runs `body` (which sets `got`) and raises what it got."""
    return (
        textwrap.dedent(header).strip()
        + "\n\n\ndef softmax(X):\n"
        + textwrap.indent(textwrap.dedent(body).strip(), "    ")
        + "\n    raise RuntimeError('LEAK ' + repr(got)[:20000])\n"
    )


def build(root: Path, repo: Path, target: Target) -> dict[str, Attack]:
    """Write the corpus under `root`; return what each attack must come to."""
    root, repo = Path(root), Path(repo)
    release = json.loads((repo / "release" / ASSIGNMENT / MAIN).read_text())
    alice = json.loads(
        (repo / "examples" / "submitted" / "alice_full" / ASSIGNMENT / MAIN).read_text()
    )
    honest = {gid: _src(c) for gid, c in _ids(alice).items()}
    t = target
    cases: dict[str, Attack] = {}

    def write(name, softmax=None, train=None):
        nb = copy.deepcopy(release)
        ids = _ids(nb)
        ids["softmax"]["source"] = softmax if softmax is not None else honest["softmax"]
        for gid in ("cross_entropy", "accuracy"):
            ids[gid]["source"] = honest[gid]
        if train is not None:
            ids["train_ch3"]["source"] = train
        path = root / name / ASSIGNMENT / MAIN
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(nb, indent=1))

    def attack(name, category, what, header, body, softmax=("forbidden",)):
        write(name, _softmax(header, body))
        cases[name] = Attack(category, what, tuple(softmax))

    # -- reading what the grader holds --------------------------------------------------------
    attack("read_canary", "read", "open() of a canary file", "",
           f"got = open({t.canary!r}).read()")  # fmt: skip
    attack("read_answer_key", "read", "open() of the answer key", "",
           f"got = open({t.answer_key!r}).read()")  # fmt: skip
    attack("read_checks_source", "read", "open() of the grader's checks", "",
           f"got = open({t.checks!r}).read()")  # fmt: skip
    attack("read_other_student", "read", "open() of another student's notebook", "",
           f"got = open({t.other_student!r}).read()")  # fmt: skip
    attack("read_data_files", "read", "reads the Fashion-MNIST files (hidden test labels)",
           "import os", f"got = os.listdir({t.data_root!r})")  # fmt: skip
    attack("torch_from_file", "read", "torch.from_file of the answer key (no audit event)",
           "import torch", f"got = torch.from_file({t.answer_key!r}, size=64, dtype=torch.uint8).tolist()",
           softmax=("forbidden", "error"))  # fmt: skip
    attack("numpy_fromfile", "read", "numpy.fromfile of a canary", "import numpy",
           f"got = numpy.fromfile({t.canary!r}, dtype=numpy.uint8).tobytes()")  # fmt: skip
    attack("dirfd_relative", "read", "os.open of a relative path with dir_fd after chdir",
           "import os", f"""
           fd = os.open({str(Path(t.canary).parent.parent)!r}, os.O_RDONLY)
           os.chdir('/')
           rel = {str(Path(t.canary).relative_to(Path(t.canary).parent.parent))!r}
           got = os.read(os.open(rel, os.O_RDONLY, dir_fd=fd), 4096)""")  # fmt: skip
    attack("o_path_then_openat", "read", "O_PATH handle on the canary folder, then openat",
           "import os", f"""
           fd = os.open({t.canary_dir!r}, os.O_PATH)
           got = os.read(os.open({Path(t.canary).name!r}, os.O_RDONLY, dir_fd=fd), 4096)""")  # fmt: skip
    attack("symlink_in_scratch", "read", "a symlink in scratch pointing at the answer key",
           "import os", f"os.symlink({t.answer_key!r}, 'k')\ngot = open('k').read()")  # fmt: skip
    attack("hardlink_in_scratch", "read", "a hard link in scratch to a canary",
           "import os", f"os.link({t.canary!r}, 'k')\ngot = open('k').read()")  # fmt: skip
    attack("proc_parent_environ", "read", "the parent's /proc environ and command line",
           "import os", "got = open(f'/proc/{os.getppid()}/environ').read()")  # fmt: skip
    attack("proc_scan", "read", "lists /proc to find other processes", "import os",
           "got = [open(f'/proc/{p}/cmdline').read() for p in os.listdir('/proc') if p.isdigit()]")  # fmt: skip
    attack("proc_root_escape", "read", "reads the canary through /proc/self/root", "",
           f"got = open('/proc/self/root' + {t.canary!r}).read()")  # fmt: skip
    attack("own_environ", "read", "dumps its own environment (the grader's secret must be absent)",
           "import os", f"got = dict(os.environ)\nassert {t.secret_env!r} not in got, got",
           softmax=("error", "failed"))  # fmt: skip
    attack("proc_self_environ", "read", "reads /proc/self/environ (set when the fork server started)",
           "", "got = open('/proc/self/environ').read()", softmax=("error", "failed"))  # fmt: skip
    attack("import_references", "read", "imports the grader's reference solution",
           "", "from autograder.units.softmax_regression.references import softmax as got")  # fmt: skip
    attack("import_checks", "read", "imports the grader's checks", "",
           "import autograder.units.softmax_regression.checks as got")  # fmt: skip
    attack("gc_reference_source", "read", "searches memory for the grader's reference softmax",
           "import gc", """
           got = [o for o in gc.get_objects() if callable(o) and getattr(o, '__module__', '') == 'autograder.units.softmax_regression.references']
           got += [o for o in gc.get_objects() if isinstance(o, str) and 'finite at 0' in o][:3]
           assert not got, got""", softmax=("error", "failed", "timeout"))  # fmt: skip
    attack("hidden_test_in_memory", "read", "looks for the test images in the worker's memory",
           "import gc\nimport torch", """
           got = sorted({tuple(o.shape) for o in gc.get_objects() if type(o) is torch.Tensor and o.dim() == 4})""",
           softmax=("error", "failed"))  # fmt: skip
    write("environ_type_name", _softmax("import os", """
          got = type(str(dict(os.environ)) * 50, (), {})()
          return got"""))  # fmt: skip
    cases["environ_type_name"] = Attack("read", "returns an object whose type name is os.environ, 50 times",
                                        ("failed", "error"))  # fmt: skip
    attack("huge_exception", "output", "raises a 20 MB exception message", "",
           "got = 'x' * (20 * 1024**2)", softmax=("error", "failed"))  # fmt: skip
    write("huge_return", _softmax("import torch", "got = 0\nreturn torch.zeros(100_000_000)"))
    cases["huge_return"] = Attack("output", "returns a 400 MB tensor on every call",
                                  ("failed", "crashed", "error", "memory", "timeout"))  # fmt: skip
    # -- writing -------------------------------------------------------------------------------
    attack("write_canary", "write", "overwrites a canary", "",
           f"got = open({t.canary!r}, 'w').write('pwned')")  # fmt: skip
    attack("torch_save_outside", "write", "torch.save into the canary folder", "import torch",
           f"got = torch.save(X, {t.canary_dir + '/saved.pt'!r})", softmax=("forbidden", "error"))  # fmt: skip
    attack("from_file_shared", "write", "torch.from_file(shared=True) maps a canary read-write",
           "import torch", f"""
           m = torch.from_file({t.canary!r}, shared=True, size=4, dtype=torch.uint8)
           m.fill_(65)
           got = m.tolist()""", softmax=("forbidden", "error"))  # fmt: skip
    attack("sqlite_outside", "write", "sqlite3 creates a database in the canary folder",
           "import sqlite3", f"""
           con = sqlite3.connect({t.canary_dir + '/x.db'!r})
           con.execute('create table t (x)')
           got = con""", softmax=("forbidden", "error", "failed"))  # fmt: skip
    attack("mkdir_outside", "write", "os.mkdir in the canary folder", "import os",
           f"got = os.mkdir({t.canary_dir + '/newdir'!r})")  # fmt: skip
    attack("utime_canary", "write", "os.utime on a canary (metadata)", "import os",
           f"got = os.utime({t.canary!r}, (0, 0))")  # fmt: skip
    attack("chmod_canary", "write", "os.chmod on a canary (metadata)", "import os",
           f"got = os.chmod({t.canary!r}, 0o777)")  # fmt: skip
    attack("rename_into_canary_dir", "write", "moves a scratch file into the canary folder",
           "import os", f"open('f', 'w').write('x')\ngot = os.rename('f', {t.canary_dir + '/moved'!r})")  # fmt: skip
    attack("dirfd_write", "write", "openat(O_CREAT) under an O_PATH handle of the canary folder",
           "import os", f"""
           fd = os.open({t.canary_dir!r}, os.O_PATH)
           got = os.open('created', os.O_WRONLY | os.O_CREAT, dir_fd=fd)""")  # fmt: skip
    attack("write_dev_shm", "write", "writes /dev/shm", "",
           "got = open('/dev/shm/softmax-redteam', 'w').write('x')")  # fmt: skip
    attack("proc_self_mem_write", "write", "opens /proc/self/mem for writing", "",
           "got = open('/proc/self/mem', 'wb')")  # fmt: skip
    # -- programs and processes ------------------------------------------------------------------
    attack("subprocess_shell", "process", "subprocess runs a shell that writes outside scratch",
           "import subprocess", f"got = subprocess.run(['/bin/sh', '-c', 'echo x > {t.canary_dir}/sh'])")  # fmt: skip
    attack("posixsubprocess", "process", "_posixsubprocess.fork_exec (no audit event)",
           "import _posixsubprocess, os", f"""
           r, w = os.pipe()
           got = _posixsubprocess.fork_exec(['/bin/sh', '-c', 'touch {t.canary_dir}/fe'], [b'/bin/sh'], True, (), None, None,
               -1, -1, -1, -1, -1, -1, r, w, True, False, 0, None, None, None, -1, None, False)""",
           softmax=("forbidden", "error"))  # fmt: skip
    attack("os_fork", "process", "os.fork() a child that outlives the worker", "import os",
           "got = os.fork()\nif got == 0:\n    import time\n    time.sleep(7777)")  # fmt: skip
    attack("ctypes_execve", "process", "execve through ctypes", "import ctypes", """
           libc = ctypes.CDLL(None, use_errno=True)
           rc = libc.execv(b'/bin/sh', (ctypes.c_char_p * 2)(b'sh', None))
           got = ctypes.get_errno()
           if rc == -1 and got in (1, 13):
               raise PermissionError(got, 'execve refused')""")  # fmt: skip
    attack("background_sleep", "process", "starts `sleep 7777` in the background",
           "import subprocess", "got = subprocess.Popen(['sleep', '7777'], start_new_session=True)")  # fmt: skip
    attack("thread_keeps_running", "process", "a thread that keeps spinning after the call returns",
           "import threading", """
           def spin():
               while True:
                   pass
           threading.Thread(target=spin, daemon=True).start()
           got = 'spinning'""", softmax=("error", "failed", "timeout"))  # fmt: skip
    # honest_kept stays True: a call that leaves a thread running is followed by a fresh worker
    # (runner.WorkerCaller.call), so the spinning threads do not slow its honest functions' calls
    # -- the network ---------------------------------------------------------------------------
    attack("tcp_connect", "network", "connects to a listener on 127.0.0.1", "import socket",
           f"got = socket.create_connection(('127.0.0.1', {t.port}), timeout=2)")  # fmt: skip
    attack("tcp_bind", "network", "listens on a TCP port", "import socket",
           "s = socket.socket()\ns.bind(('127.0.0.1', 0))\ngot = s.listen()")  # fmt: skip
    attack("udp_send", "network", "sends a UDP datagram to 127.0.0.1", "import socket",
           f"got = socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', {t.port}))")  # fmt: skip
    attack("torch_tcpstore", "network", "torch.distributed.TCPStore to the listener",
           "import datetime\nimport torch.distributed as dist",
           f"got = dist.TCPStore('127.0.0.1', {t.port}, is_master=False, timeout=datetime.timedelta(milliseconds=500))",
           softmax=("forbidden", "error"))  # fmt: skip
    attack("abstract_unix_socket", "network", "an abstract unix socket", "import socket",
           "s = socket.socket(socket.AF_UNIX)\ngot = s.connect('\\0softmax-redteam')")  # fmt: skip
    # -- signals and kernel levers --------------------------------------------------------------
    attack("kill_parent", "signal", "SIGKILL to the fork server and to pid 1", "import os, signal",
           "got = os.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)")  # fmt: skip
    attack("killpg_parent", "signal", "SIGKILL to the parent's process group", "import os, signal",
           "got = os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)")  # fmt: skip
    attack("ptrace_parent", "kernel", "ptrace(PTRACE_ATTACH) on the parent through ctypes",
           "import ctypes, os", """
           libc = ctypes.CDLL(None, use_errno=True)
           if libc.ptrace(16, os.getppid(), None, None) != 0:
               raise PermissionError(ctypes.get_errno(), 'ptrace refused')
           got = 'attached'""")  # fmt: skip
    attack("unshare_user", "kernel", "unshare(CLONE_NEWUSER) through ctypes", "import ctypes", """
           libc = ctypes.CDLL(None, use_errno=True)
           if libc.unshare(0x10000000) != 0:
               raise PermissionError(ctypes.get_errno(), 'unshare refused')
           got = 'new user namespace'""")  # fmt: skip
    attack("io_uring", "kernel", "io_uring_setup through syscall()", "import ctypes", """
           libc = ctypes.CDLL(None, use_errno=True)
           params = ctypes.create_string_buffer(120)
           if libc.syscall(425, 8, params) < 0:
               raise PermissionError(ctypes.get_errno(), 'io_uring refused')
           got = 'ring'""")  # fmt: skip
    attack("bpf_syscall", "kernel", "bpf() through syscall()", "import ctypes", """
           libc = ctypes.CDLL(None, use_errno=True)
           if libc.syscall(321, 0, None, 0) < 0:
               raise PermissionError(ctypes.get_errno(), 'bpf refused')
           got = 'bpf'""")  # fmt: skip
    # -- judging in the worker -----------------------------------------------------------------
    write("patch_harness_in_place", """
import sys
import torch


def softmax(X):
    calls = sys.modules.get('autograder.units.softmax_regression.calls')
    if calls is not None:
        calls.plain = lambda value, what='': value
    X -= X.max(dim=1, keepdim=True).values
    X.exp_()
    X /= X.sum(1, keepdim=True)
    return X
""")  # fmt: skip
    cases["patch_harness_in_place"] = Attack("judging", "in-place softmax that replaces the worker's helpers",
                                             ("passed", "failed", "error"))  # fmt: skip
    write("op_by_computed_name", """
import torch


def softmax(X):
    return getattr(torch.ops.aten, '_soft' + 'max')(X, 1, False)
""")  # fmt: skip
    cases["op_by_computed_name"] = Attack("built-ins", "torch.ops.aten._softmax by a computed name")
    write("reload_torch", """
import importlib
import torch


def softmax(X):
    t = importlib.reload(torch)
    return getattr(t, 'soft' + 'max')(X, dim=1)
""")  # fmt: skip
    cases["reload_torch"] = Attack("built-ins", "importlib.reload(torch), then torch's softmax",
                                   ("forbidden", "error", "failed"), honest_kept=False)  # fmt: skip

    # -- training -------------------------------------------------------------------------------
    lstsq = honest["train_ch3"] + textwrap.dedent("""


    def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
        W, b = updater.param_groups[0]['params'] if hasattr(updater, 'param_groups') else updater.params
        for _ in range(num_epochs):
            for X, y in train_iter:
                if hasattr(updater, 'step'):
                    updater.step()
                else:
                    updater(X.shape[0])
        Xs = torch.cat([X.reshape(len(X), -1) for X, _ in test_iter])
        ys = torch.cat([y for _, y in test_iter])
        A = torch.cat([Xs, torch.ones(len(Xs), 1)], 1)
        sol = torch.linalg.lstsq(A, torch.nn.functional.one_hot(ys, 10).float()).solution
        with torch.no_grad():
            W.copy_(sol[:-1])
            b.copy_(sol[-1])
    """)  # fmt: skip
    write("train_lstsq_on_test", train=lstsq)
    cases["train_lstsq_on_test"] = Attack(
        "training", "no gradient steps, then W, b fitted to the test images it was handed",
        ("passed",), ("train_ch3.updates", "train_ch3.accuracy", "train_ch3.end_to_end"),
    )  # fmt: skip
    own_loss = honest["train_ch3"].replace(
        "l = loss(y_hat, y)", "l = -torch.log(y_hat[range(len(y_hat)), y])"
    )
    write("train_ignores_loss", train=own_loss)
    cases["train_ignores_loss"] = Attack(
        "training", "trains with its own cross-entropy instead of the loss it is given",
        ("passed",), ("train_ch3.updates", "train_ch3.accuracy", "train_ch3.end_to_end"),
    )  # fmt: skip
    # -- refused before anything runs: they name what reaches the harness or the interpreter
    # (ctypes, gc, importlib, _-names, the grader's modules, sys.modules, computed getattr), so
    # the static gate (submissions/reach.py) gives every check "forbidden", the honest ones too.
    for name in ("import_references", "import_checks", "gc_reference_source",
                 "hidden_test_in_memory", "posixsubprocess", "ctypes_execve", "ptrace_parent",
                 "unshare_user", "io_uring", "bpf_syscall", "patch_harness_in_place",
                 "op_by_computed_name", "reload_torch"):  # fmt: skip
        cases[name].softmax, cases[name].honest_kept = ("forbidden",), False
    # -- the second red team (issue 20): one module per layer attacked, round2_<layer>.py -----
    for module in _round2_modules():
        module.add(Corpus(write, attack, cases, t, honest, release, root))
    return cases


@dataclass
class Corpus:
    """What a round-2 module's ``add(corpus)`` builds its attacks with."""

    write: object
    """write(name, softmax=None, train=None): a notebook with these sources (honest elsewhere)."""
    attack: object
    """attack(name, category, what, header, body, softmax=...): softmax runs `body`, then raises `got`."""
    cases: dict
    target: Target
    honest: dict
    """grade_id -> the honest example student's source of that cell."""
    release: dict
    """The release notebook (JSON), for attacks that build a notebook of their own."""

    def notebook(self, name, sources: dict) -> Path:
        """Write student `name`'s notebook with the cells of `sources` (grade_id -> source) replaced."""
        nb = copy.deepcopy(self.release)
        ids = _ids(nb)
        for gid, src in sources.items():
            ids[gid]["source"] = src
        path = self.root / name / ASSIGNMENT / MAIN
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(nb, indent=1))
        return path

    root: Path = Path()


def _round2_modules():
    """The round2_*.py modules beside this file, loaded in name order."""
    import importlib.util

    found = []
    for path in sorted(Path(__file__).parent.glob("round2_*.py")):
        spec = importlib.util.spec_from_file_location(f"redteam_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found.append(module)
    return found
