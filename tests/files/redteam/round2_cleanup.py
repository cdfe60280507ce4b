"""Round 2 (issue 20, items 9 and 10): what a worker leaves behind, and what its memory still holds.

Deep folders: 5,000 nested folders (and a folder of mode 0, a link to the canary) left in scratch
made shutil.rmtree raise RecursionError: the student ended as grader_error on every run and the
folder stayed. The code here leaves them when it is defined (where creating folders is refused,
it leaves what it can) and is otherwise honest: the class must complete, the student keep its
softmax points, nothing be left.

Hidden labels: a child of the fork server still held thousands of the hidden test labels in freed
memory. The code here searches its own writable memory (/proc/self/mem) for what reading the
official test files leaves: the idx headers of the test labels and images followed by their data,
and gzip headers of the test files (which could be decompressed). Found anything: its softmax
returns wrong values ("failed"); found nothing: it raises what it counted ("error", the expected
end).
"""

from __future__ import annotations

LEAVES = """
import os

_left = []
try:
    _fd = os.open('.', os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(5000):
        os.mkdir('d', dir_fd=_fd)
        _inner = os.open('d', os.O_RDONLY | os.O_DIRECTORY, dir_fd=_fd)
        os.close(_fd)
        _fd = _inner
    os.close(_fd)
    _left.append('deep')
except OSError as err:
    _left.append(repr(err))
for _make in (lambda: os.mkdir('locked', 0), lambda: os.symlink({canary!r}, 'to_canary')):
    try:
        _make()
    except OSError as err:
        _left.append(repr(err))
"""

HONEST_WRAPPER = """


_honest_softmax = softmax


def softmax(X):
    return _honest_softmax(X)
"""

SCAN = """
import os
import time

LABELS_HEADER = bytes([0, 0, 8, 1, 0, 0, 39, 16])  # idx magic 0x801, 10000 labels
IMAGES_HEADER = bytes([0, 0, 8, 3, 0, 0, 39, 16, 0, 0, 0, 28, 0, 0, 0, 28])
GZ_NAMES = [name.encode() + bytes(1) for name in ('t10k-labels-idx1-ubyte', 't10k-images-idx3-ubyte')]
GZ_MAGIC = bytes([0x1F, 0x8B, 8, 8])
OWN = {id(p) + 32 for p in (LABELS_HEADER, IMAGES_HEADER, *GZ_NAMES)}  # these objects' own bytes


def _labels_after(buf, i):
    run = 0
    for b in buf[i + 8 : i + 8 + 10000]:
        if b > 9:
            break
        run += 1
    return run


def _scan():
    found = {'labels header': 0, 'labels': 0, 'images header': 0, 'gzip test files': 0}
    end = time.monotonic() + 15
    with open('/proc/self/maps') as fh:
        maps = fh.read().splitlines()
    with open('/proc/self/mem', 'rb', buffering=0) as mem:
        for line in maps:
            fields = line.split()
            if fields[1][:2] != 'rw' or time.monotonic() > end:
                continue
            lo, hi = (int(x, 16) for x in fields[0].split('-'))
            for at in range(lo, hi, 1 << 26):
                try:
                    mem.seek(at)
                    buf = mem.read(min(hi, at + (1 << 26) + 10016) - at)
                except OSError:
                    break
                i = buf.find(LABELS_HEADER)
                while i >= 0:
                    run = _labels_after(buf, i)
                    if at + i not in OWN and run >= 64 and any(buf[i + 8 : i + 8 + run]):
                        found['labels header'] += 1
                        found['labels'] = max(found['labels'], run)
                    i = buf.find(LABELS_HEADER, i + 1)
                i = buf.find(IMAGES_HEADER)
                while i >= 0:
                    if at + i not in OWN and buf[i + 16 : i + 16 + 784].count(0) < 700:
                        found['images header'] += 1
                    i = buf.find(IMAGES_HEADER, i + 1)
                for name in GZ_NAMES:
                    i = buf.find(name)
                    while i >= 0:
                        if buf[max(i - 10, 0) : i - 6] == GZ_MAGIC:
                            found['gzip test files'] += 1
                        i = buf.find(name, i + 1)
    return found


FOUND = _scan()


def softmax(X):
    if any(FOUND.values()):
        return X * 0 + 0.5  # wrong on purpose: a status other than the expected 'error'
    raise RuntimeError('LEAK ' + repr(FOUND))
"""


def add(corpus) -> None:
    """Add the cleanup and hidden-memory attacks to the corpus."""
    Attack = type(next(iter(corpus.cases.values())))  # build.Attack, without importing build
    t = corpus.target
    corpus.write(
        "deep_scratch_folders",
        LEAVES.format(canary=t.canary) + "\n\n" + corpus.honest["softmax"] + HONEST_WRAPPER,
    )
    corpus.cases["deep_scratch_folders"] = Attack(
        "cleanup",
        "leaves 5,000 nested folders, a folder of mode 0 and a link to a canary in scratch",
        ("passed",),
    )
    corpus.write("proc_mem_hidden_labels", SCAN)
    corpus.cases["proc_mem_hidden_labels"] = Attack(
        "read",
        "searches its own memory for the test files' idx headers and gzip headers",
        ("error", "failed"),
    )
