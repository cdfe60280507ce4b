"""The hidden half of the test set never enters the fork server, not even in freed memory (issue 20).

A child of the fork server is forked, and its whole readable memory (/proc/<pid>/maps and
/proc/<pid>/mem) is searched for the hidden test rows in every form that reading the official
files passes through: the raw label bytes in file order, the same labels as int64, the hidden
images' bytes and the compressed .gz files themselves (from which a student could decompress
them). The visible labels, which the fork server must hold, are searched the same way: the search
has to find them, so that finding nothing else means something.
"""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest

from autograder.sandbox import forkserver
from autograder.units.softmax_regression import data

WINDOW = 32
"""Bytes per searched pattern: a chance match in gigabytes of memory is out of the question."""
CHUNK = 64 * 2**20
"""Bytes of memory read and hashed at a time."""
_HASH = np.uint64(0x9E3779B97F4A7C15)


def wait_for_parent(conn):
    """Run in a forked child: do nothing until the test has scanned this process."""
    conn.recv()


def _windows(blob: bytes, step: int, keep=lambda offset: True) -> list[bytes]:
    """WINDOW-byte windows of `blob` every `step` bytes, where keep(offset)."""
    return [blob[o : o + WINDOW] for o in range(0, len(blob) - WINDOW + 1, step) if keep(o)]


class Finder:
    """Finds many byte patterns (each at least 16 bytes) in gigabytes at once: every pattern is
    indexed by its eight 8-byte words at offsets 0-7, one of which lies aligned wherever the
    pattern occurs; aligned words of memory are hashed into a bitmap, and candidates verified."""

    def __init__(self, patterns: dict[str, list[bytes]]):
        self.patterns = patterns
        self.by_word: dict[int, list[tuple[str, int, int]]] = {}
        for name, found in patterns.items():
            for idx, p in enumerate(found):
                for o in range(8):
                    word = p[o : o + 8]
                    if len(set(word)) >= 3:  # distinctive words only (never zeros)
                        key = int.from_bytes(word, "little")
                        self.by_word.setdefault(key, []).append((name, idx, o))
        self.words = np.array(sorted(self.by_word), dtype=np.uint64)
        self.bitmap = np.zeros(1 << 24, dtype=bool)
        self.bitmap[(self.words * _HASH) >> np.uint64(40)] = True
        self.found: dict[str, set[int]] = {name: set() for name in patterns}

    def scan(self, buf: bytes) -> None:
        """Record every pattern that occurs in `buf` (whose start is 8-byte aligned)."""
        n = len(buf) // 8
        if n < 2:
            return
        words = np.frombuffer(buf, dtype=np.uint64, count=n)
        cand = np.flatnonzero(self.bitmap[(words * _HASH) >> np.uint64(40)])
        for j in cand[np.isin(words[cand], self.words)]:
            for name, idx, o in self.by_word[int(words[j])]:
                start = int(j) * 8 - o
                p = self.patterns[name][idx]
                if start >= 0 and buf[start : start + len(p)] == p:
                    self.found[name].add(idx)


LIBRARY = re.compile(r"\.so(\.[0-9]+)*$")
"""A shared library's file name (libtorch_cpu.so, libc.so.6)."""


def data_mappings(maps: str) -> list[tuple[int, int]]:
    """(start, end) of each readable mapping in a /proc/<pid>/maps text that can hold data read
    at run time: all but the kernel's own pages and a shared library's read-only mappings (its
    code and constants, as in the file: about 2.5 of the 3.4 GB a worker maps). A library's
    writable mappings, anonymous memory and every other file's mapping are kept."""
    kept = []
    for line in maps.splitlines():
        fields = line.split()
        if fields[1][0] != "r" or fields[-1] in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
            continue
        if "w" not in fields[1] and len(fields) > 5 and LIBRARY.search(fields[5]):
            continue
        kept.append(tuple(int(x, 16) for x in fields[0].split("-")))
    return kept


def readable_memory(pid: int):
    """Every data mapping of process `pid` (data_mappings), in chunks of at most CHUNK bytes (a
    chunk overlaps the next by a window, so nothing is missed at a seam)."""
    with open(f"/proc/{pid}/maps") as fh:
        maps = fh.read()
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for lo, hi in data_mappings(maps):
            for at in range(lo, hi, CHUNK):
                mem.seek(at)
                try:
                    yield mem.read(min(hi, at + CHUNK + 2 * WINDOW) - at)
                except OSError:
                    break


def as_int64_labels(buf: bytes) -> bytes:
    """`buf` read as int64 words, each a byte: its value where 0-9, else 0xFF (int64 label
    tensors become their labels' bytes)."""
    words = np.frombuffer(buf, dtype=np.int64, count=len(buf) // 8)
    return np.where((words >= 0) & (words <= 9), words, 255).astype(np.uint8).tobytes()


def hidden_patterns():
    """{form: patterns} of the hidden test rows, and the visible labels (the control), plus the
    test-label positions each raw-label window covers."""
    images_gz, labels_gz = data.official_files()[2:]
    labels = gzip.decompress(labels_gz.read_bytes())[8:]
    images = gzip.decompress(images_gz.read_bytes())[16:]
    visible, hidden = (t.tolist() for t in data.split_indices(len(labels)))
    hidden_set = set(hidden)
    starts = [o for o in range(0, len(labels) - WINDOW + 1, WINDOW // 2)]
    covering = [o for o in starts if hidden_set & set(range(o, o + WINDOW))]
    size = 28 * 28
    hidden_images = []
    for i in hidden:
        image = images[i * size : (i + 1) * size]
        o = max(range(0, size - WINDOW, 28), key=lambda k: len(set(image[k : k + WINDOW])))
        hidden_images.append(image[o : o + WINDOW])
    patterns = {
        "raw labels": [labels[o : o + WINDOW] for o in covering],
        "hidden images": hidden_images,
        "labels .gz": _windows(labels_gz.read_bytes(), WINDOW // 2),
        "images .gz": _windows(images_gz.read_bytes(), 4096),
        "visible labels (control)": _windows(bytes(labels[i] for i in visible), WINDOW // 2),
    }
    return patterns, covering, hidden_set


def test_the_finder_finds_a_planted_row_at_any_offset_and_nothing_else():
    """The quick part of this module: the search the slow test relies on finds each pattern
    wherever it lies in a buffer (any alignment, as int64 labels too) and reports nothing absent."""
    rng = np.random.default_rng(0)
    planted = rng.integers(0, 256, WINDOW, dtype=np.uint8).tobytes()
    absent = rng.integers(0, 256, WINDOW, dtype=np.uint8).tobytes()
    for offset in range(0, 9):
        buf = bytearray(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
        buf[1000 + offset : 1000 + offset + WINDOW] = planted
        finder = Finder({"planted": [planted], "absent": [absent]})
        finder.scan(bytes(buf))
        assert finder.found == {"planted": {0}, "absent": set()}, offset
    maps = (
        "7f00-7f10 r-xp 0 08:01 1 /venv/torch/lib/libtorch_cpu.so\n"
        "7f10-7f20 r--p 0 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
        "7f20-7f30 rw-p 0 08:01 1 /venv/torch/lib/libtorch_cpu.so\n"
        "7f30-7f40 r--p 0 08:01 2 /data/t10k-labels-idx1-ubyte\n"
        "7f40-7f50 rw-p 0 00:00 0 [heap]\n"
        "7f50-7f60 r--p 0 00:00 0\n"
        "7f60-7f70 ---p 0 00:00 0\n"
        "7f70-7f80 r--p 0 00:00 0 [vvar]\n"
    )
    assert data_mappings(maps) == [(0x7F20, 0x7F30), (0x7F30, 0x7F40), (0x7F40, 0x7F50),
                                   (0x7F50, 0x7F60)]  # fmt: skip
    labels = bytes(rng.integers(0, 10, WINDOW, dtype=np.uint8))
    as_tensor = np.frombuffer(labels, dtype=np.uint8).astype(np.int64).tobytes()
    assert as_int64_labels(as_tensor) == labels


@pytest.mark.slow
def test_a_child_of_the_fork_server_holds_no_hidden_test_row_in_any_memory():
    """Rejects reading the test files in the fork server (the old worker_arrays: gzip's freed
    buffers held hundreds of the hidden labels in file order, the red team found 4,988)."""
    if data.official_files() is None:
        pytest.skip("needs the official Fashion-MNIST files (FASHION_MNIST_ROOT)")
    ctx = forkserver.context()
    if ctx.get_start_method() != "forkserver":  # pragma: no cover - Linux always has one
        pytest.skip("no fork server on this platform")
    patterns, covering, hidden = hidden_patterns()
    raw = Finder(patterns)
    as_int64 = Finder({k: patterns[k] for k in ("raw labels", "visible labels (control)")})
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=wait_for_parent, args=(child,))
    proc.start()
    try:
        for buf in readable_memory(proc.pid):
            raw.scan(buf)
            as_int64.scan(as_int64_labels(buf))
    finally:
        parent.send(None)
        proc.join(30)
    assert as_int64.found["visible labels (control)"], (
        "the search cannot see the fork server's data"
    )
    leaked = {
        f"{finder} {name}": len(found)
        for finder, f in (("bytes", raw), ("int64", as_int64))
        for name, found in f.found.items()
        if found and name != "visible labels (control)"
    }
    labels = set()
    for f in (raw, as_int64):
        for idx in f.found["raw labels"]:
            labels |= hidden & set(range(covering[idx], covering[idx] + WINDOW))
    assert not leaked, f"{len(labels)} hidden labels readable; windows found: {leaked}"
