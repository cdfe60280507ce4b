"""Scratch folders of workers: made under the grader's TMPDIR, removed whatever a student left in them.

``remove`` never recurses (a tree 5,000 folders deep is removed like a flat one: every folder is
first moved up into one holding folder, so the depth it works at is never more than two), never
follows a symbolic link (every folder is opened with ``O_NOFOLLOW`` relative to its parent's
descriptor, so a link inside scratch is unlinked, never entered), takes any name the kernel
accepts, and gives back the owner's rights to a folder made unreadable or unwritable before it
enters it. It raises nothing: what it could not remove is returned.
"""

from __future__ import annotations

import itertools
import os
import stat
import tempfile
import threading

PREFIX = "softmax-worker-"

_made: set[str] = set()
_made_lock = threading.Lock()
"""Scratch folders made by this process and not yet removed (remove_all removes them)."""

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OWNER_RWX = stat.S_IRWXU


def make(prefix: str = PREFIX) -> str:
    """A new private folder (0700) under the grader's temp folder (TMPDIR), to be removed by remove()."""
    path = tempfile.mkdtemp(prefix=prefix)
    with _made_lock:
        _made.add(path)
    return path


def remove_all() -> list[str]:
    """Remove every scratch folder this process made and has not removed; what was left behind."""
    with _made_lock:
        paths = sorted(_made)
    left = []
    for path in paths:
        left += remove(path)
    return left


def remove(path) -> list[str]:
    """Remove the folder `path` and everything in it without following any link; never raises.

    Returns what could not be removed (paths inside `path`, then `path` itself): empty on success.
    """
    path = os.fspath(path)
    with _made_lock:
        _made.discard(path)
    parent, name = os.path.split(os.path.abspath(path))
    try:
        parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return [path]
    try:
        left = _remove_in(parent_fd, name)
    finally:
        os.close(parent_fd)
    return [os.path.join(path, p) for p in left] + ([path] if os.path.lexists(path) else [])


def _remove_in(parent_fd: int, name: str) -> list[str]:
    """Remove the entry `name` of the folder `parent_fd` (a folder: with all it holds); what
    inside it was left behind."""
    info = _lstat(parent_fd, name)
    if info is None:
        return []
    if not stat.S_ISDIR(info.st_mode):
        _remove(parent_fd, name)
        return []
    root_fd = _open_dir(parent_fd, name, info)
    if root_fd is None:
        return []
    try:
        left = _empty(root_fd)
    finally:
        os.close(root_fd)
    if not left:
        _remove(parent_fd, name, folder=True)
    return left


def _empty(root_fd: int) -> list[str]:
    """Empty the folder `root_fd` (opened without following links) without recursion."""
    holding = _holding_folder(root_fd)
    if holding is None:
        return _flat_only(root_fd)
    hold_name, hold_fd = holding
    left: list[str] = []
    counter = itertools.count()
    try:
        queue = _clear(root_fd, hold_fd, counter, skip=hold_name, left=left, where="")
        while queue:
            moved = queue.pop()
            info = _lstat(hold_fd, moved)
            fd = None if info is None else _open_dir(hold_fd, moved, info)
            if fd is None:
                left.append(os.path.join(hold_name, moved))
                continue
            try:
                queue += _clear(fd, hold_fd, counter, skip=None, left=left, where=moved)
            finally:
                os.close(fd)
            if not _remove(hold_fd, moved, folder=True):
                left.append(os.path.join(hold_name, moved))
    finally:
        os.close(hold_fd)
    if not _remove(root_fd, hold_name, folder=True):
        left.append(hold_name)
    return left


def _clear(dir_fd, hold_fd, counter, skip, left, where) -> list[str]:
    """Unlink every non-folder in `dir_fd`; move every folder into the holding folder (returned:
    their new names there), so no folder is ever entered below its parent."""
    moved = []
    for entry in _entries(dir_fd):
        if entry == skip:
            continue
        info = _lstat(dir_fd, entry)
        if info is None:
            continue
        if not stat.S_ISDIR(info.st_mode):
            if not _remove(dir_fd, entry):
                left.append(os.path.join(where, entry))
            continue
        # Moving a folder to another parent rewrites its "..": it must be writable by its owner.
        if info.st_mode & _OWNER_RWX != _OWNER_RWX:
            _chmod_dir(dir_fd, entry, info)
        new = str(next(counter))
        try:
            os.rename(entry, new, src_dir_fd=dir_fd, dst_dir_fd=hold_fd)
        except OSError:
            left.append(os.path.join(where, entry))
            continue
        moved.append(new)
    return moved


def _flat_only(root_fd: int) -> list[str]:
    """Without a holding folder (none could be made): unlink what is not a folder, rmdir empty ones."""
    left = []
    for entry in _entries(root_fd):
        info = _lstat(root_fd, entry)
        if info is None:
            continue
        ok = _remove(root_fd, entry, folder=stat.S_ISDIR(info.st_mode))
        if not ok:
            left.append(entry)
    return left


def _holding_folder(root_fd: int):
    """(name, fd) of a new empty folder inside `root_fd` that only this function names, or None."""
    for attempt in range(100):
        name = f".softmax-remove-{os.getpid()}-{attempt}"
        try:
            os.mkdir(name, 0o700, dir_fd=root_fd)
        except FileExistsError:
            continue
        except OSError:
            return None
        info = _lstat(root_fd, name)
        fd = None if info is None else _open_dir(root_fd, name, info)
        return None if fd is None else (name, fd)
    return None


def _entries(dir_fd: int) -> list[str]:
    """The names in the folder `dir_fd` ([] if it cannot be listed)."""
    try:
        return os.listdir(dir_fd)
    except OSError:
        return []


def _lstat(dir_fd: int, name: str):
    """lstat of `name` in `dir_fd`, or None (gone, or unreadable)."""
    try:
        return os.lstat(name, dir_fd=dir_fd)
    except OSError:
        return None


def _open_dir(dir_fd: int, name: str, info) -> int | None:
    """Open the folder `name` of `dir_fd` (never a link), restoring its owner's rights if need be."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        if not _chmod_dir(dir_fd, name, info):
            return None
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except OSError:
            return None
    except OSError:
        return None
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):  # replaced meanwhile
        os.close(fd)
        return None
    if opened.st_mode & _OWNER_RWX != _OWNER_RWX:
        try:
            os.fchmod(fd, opened.st_mode | _OWNER_RWX)
        except OSError:
            pass
    return fd


def _chmod_dir(dir_fd: int, name: str, info) -> bool:
    """Give the owner all rights on the folder `name` of `dir_fd` (an O_PATH descriptor opened
    without following links, changed through /proc/self/fd: never a link's target)."""
    try:
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            return False
        os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(now.st_mode) | _OWNER_RWX)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _remove(dir_fd: int, name: str, folder: bool = False) -> bool:
    """Remove `name` of `dir_fd`: an empty folder (`folder`), else a non-folder (a link itself,
    never its target); whether it is gone."""
    try:
        (os.rmdir if folder else os.unlink)(name, dir_fd=dir_fd)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False
