"""Scratch removal (autograder/sandbox/scratch.py): whatever a student leaves, it goes, and nothing
outside it is touched (issue 20: 1,500 nested folders made shutil.rmtree raise RecursionError)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import pytest
from helpers.paths import ROOT

from autograder.sandbox import scratch


def nest(root, depth: int, name: str = "d") -> None:
    """`depth` folders each inside the last under `root` (paths far past PATH_MAX), a file last."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
    os.close(fd)


def test_a_tree_5000_folders_deep_is_removed(tmp_path):
    """Rejects shutil.rmtree (RecursionError, old runner.close) and any recursive removal."""
    root = tmp_path / "scratch"
    root.mkdir()
    nest(root, 5000)
    assert scratch.remove(root) == []
    assert not root.exists()


def test_links_out_of_scratch_are_removed_never_followed(tmp_path):
    """Symbolic links to a folder, a file and a deep tree outside: the links go, their targets
    stay (a removal that followed links, e.g. os.walk(followlinks=True), empties `outside`)."""
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "keep.txt").write_text("keep")
    (outside / "sub" / "keep2.txt").write_text("keep")
    root = tmp_path / "scratch"
    (root / "a" / "b").mkdir(parents=True)
    (root / "to_dir").symlink_to(outside)
    (root / "a" / "to_file").symlink_to(outside / "keep.txt")
    (root / "a" / "b" / "to_sub").symlink_to(outside / "sub")
    (root / "dangling").symlink_to(tmp_path / "nothing")
    assert scratch.remove(root) == []
    assert not root.exists()
    assert (outside / "keep.txt").read_text() == "keep"
    assert (outside / "sub" / "keep2.txt").read_text() == "keep"


def test_a_scratch_folder_that_is_itself_a_link_is_unlinked_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    link = tmp_path / "scratch"
    link.symlink_to(outside)
    assert scratch.remove(link) == []
    assert not os.path.lexists(link) and (outside / "keep.txt").read_text() == "keep"


def test_any_name_the_kernel_accepts(tmp_path):
    """Names that are not UTF-8, hold newlines or spaces, start with a dash, are 255 bytes long,
    and a FIFO and a unix socket's file."""
    root = tmp_path / "scratch"
    root.mkdir()
    broot = os.fsencode(root)
    for name in (b"\xff\xfe-not-utf8", b"new\nline", b"-rf *", b"x" * 255, b".softmax-remove-1-0"):
        os.mkdir(os.path.join(broot, name))
        with open(os.path.join(broot, name, name), "wb") as fh:
            fh.write(b"x")
    os.mkfifo(root / "fifo")
    assert scratch.remove(root) == []
    assert not root.exists()


UNREADABLE = """
import os, sys
from autograder import sandbox
from autograder.sandbox import scratch

if os.geteuid() == 0:  # root without capabilities: its rights are those of an ordinary owner
    sandbox.drop_capabilities()
root = sys.argv[1]
os.makedirs(os.path.join(root, "a", "b", "c"))
open(os.path.join(root, "a", "b", "c", "f"), "w").write("x")
os.makedirs(os.path.join(root, "w", "x"))
os.chmod(os.path.join(root, "a", "b"), 0)      # neither readable, writable nor enterable
os.chmod(os.path.join(root, "a"), 0o500)       # no writing: its entries cannot be unlinked
os.chmod(os.path.join(root, "w", "x"), 0o100)  # enterable only
os.mkdir(os.path.join(root, "m"), 0)           # made so (chmod is refused to a worker)
os.chmod(root, 0o500)                          # scratch itself, where a worker could do it
print(scratch.remove(root), os.path.lexists(root))
"""


def test_folders_made_unreadable_or_unwritable_are_removed(tmp_path):
    """Run without capabilities (as root, rights would not bind otherwise): rejects
    shutil.rmtree(ignore_errors=True), which leaves the folder, and a removal that does not give
    the owner's rights back before entering, unlinking or moving."""
    root = tmp_path / "scratch"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        proc = subprocess.run([sys.executable, "-c", UNREADABLE, str(root)], capture_output=True,
                              text=True, timeout=120, env=env)  # fmt: skip
    finally:
        for path in (root, root / "a", root / "a" / "b"):
            if path.exists():
                os.chmod(path, stat.S_IRWXU)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["[]", "False"], proc.stdout


def test_remove_all_removes_what_make_made_and_make_honours_tmpdir(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    made = [scratch.make() for _ in range(2)]
    assert all(os.path.dirname(p) == str(tmp_path) for p in made)
    nest(made[0], 50)
    scratch.remove(made[1])
    assert scratch.remove_all() == [] and os.listdir(tmp_path) == []


def test_removing_what_is_gone_is_quiet(tmp_path):
    assert scratch.remove(tmp_path / "never") == []


@pytest.mark.parametrize("depth", [1500])
def test_shutil_rmtree_fails_where_remove_does_not(tmp_path, depth):
    """The failure the red team found, kept as a witness of what the tests above reject."""
    root = tmp_path / "scratch"
    root.mkdir()
    nest(root, depth)
    with pytest.raises(RecursionError):
        shutil.rmtree(root, ignore_errors=True)
    assert root.exists() and scratch.remove(root) == [] and not root.exists()
