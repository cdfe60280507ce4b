"""Collecting a class: every submission named on the command line, once, with clashing ids refused;
which class folders they come from, and the rule that one results folder holds one class.

Used by ``grade`` (batch.py), ``shards list`` and ``merge`` (shards.py) and the pytest plugin.

One class per results folder: ``DIR/class.json`` records the class folders (nbgrader's
``submitted/``, or the folder holding the student folders named) whose students DIR holds.
Grading students of another class folder into DIR stops before anything is graded, naming both
folders and the ways on: a new ``--out``, or ``--replace`` (the old results move to
``DIR/.dropped/``). Students of a recorded folder may always be (re)graded, one or all at once.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from autograder import config
from autograder.results import exports, store
from autograder.submissions.notebook import nbgrader_meta
from autograder.submissions.submission import Submission, find_submissions, is_class_root

CLASS_RECORD = "class.json"
"""DIR/class.json: {"submissions": [the class folders DIR holds the students of]}."""


class StudentClash(ValueError):
    """Two submissions would share one student id or one results folder."""


def collect(paths, assignment=None) -> list[Submission]:
    """All submissions named by `paths`; one folder named twice counts once.

    Raises StudentClash, naming both, when two different folders give one student id, or ids
    whose results folders would clash on a case-insensitive filesystem (store.clash_key).
    """
    return collect_class(paths, assignment)[0]


def collect_class(paths, assignment=None) -> tuple[list[Submission], bool]:
    """(submissions, whether `paths` include a whole class root such as nbgrader's submitted/)."""
    subs, whole, _ = collect_with_roots(paths, assignment)
    return subs, whole


def collect_with_roots(paths, assignment=None) -> tuple[list[Submission], bool, list[Path]]:
    """collect_class, and the class folders the submissions come from (resolved, sorted).
    `assignment`: that assignment's unit's submissions where a student's folder holds several."""
    by_key: dict[str, Submission] = {}
    subs, whole, roots = [], False, set()
    for p in paths:
        found = find_submissions(Path(p), assignment)
        is_root = is_class_root(Path(p), found)
        whole = whole or is_root
        roots.update([Path(p).resolve()] if is_root else (class_folder(Path(p), s) for s in found))
        for sub in found:
            key = store.clash_key(sub.student)
            other = by_key.get(key)
            if other is None:
                by_key[key] = sub
                subs.append(sub)
            elif other.folder.resolve() != sub.folder.resolve() or other.main != sub.main:
                raise StudentClash(
                    f"two submissions for one student: {other.student!r} ({other.folder}) and "
                    f"{sub.student!r} ({sub.folder}); rename or remove one before grading"
                )
    return subs, whole, sorted(roots)


def class_folder(path: Path, sub: Submission) -> Path:
    """The class folder of `sub`, found from `path`: the folder that holds the student's folder
    (submitted/ for submitted/<student>/<assignment>/), or a loose notebook's own folder."""
    if path.is_file() and path.parent.name not in config.EDITIONS:
        return path.resolve().parent  # a loose notebook: its name is the student's id
    student_dir = sub.folder.parent if sub.folder.name in config.EDITIONS else sub.folder
    return student_dir.resolve().parent


class OtherClass(ValueError):
    """The results folder holds another class (its class.json names other class folders)."""


def recorded_class(out_dir) -> list[str] | None:
    """The class folders DIR/class.json records, or None (no record). Raises OtherClass when the
    file is unreadable (it names the file)."""
    path = Path(out_dir) / CLASS_RECORD
    if not path.is_file():
        return None
    try:
        folders = json.loads(path.read_text(encoding="utf-8"))["submissions"]
        if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
            raise TypeError("submissions must be a list of folder names")
    except (ValueError, KeyError, TypeError) as err:
        raise OtherClass(
            f"{path}: not a class record ({err}); it must be "
            '{"submissions": ["/path/to/submitted"]}: fix or delete it'
        ) from None
    return folders


def _record(out_dir) -> dict:
    """DIR/class.json as a dict ({} when there is none or it cannot be read)."""
    try:
        body = json.loads((Path(out_dir) / CLASS_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def record_class(out_dir, roots) -> None:
    """Write DIR/class.json naming the class folders `roots` (the grading policy it records kept)."""
    body = {**_record(out_dir), "submissions": sorted(str(r) for r in roots)}
    exports.atomic_write(Path(out_dir) / CLASS_RECORD, json.dumps(body, indent=1) + "\n")


POLICY_KEYS = ("due", "late_policy")


def recorded_policy(out_dir) -> dict | None:
    """The grading policy DIR/class.json records, {"due": ISO text or None, "late_policy":
    {per_day, max_fraction, grace_minutes}}, or None when no run has recorded one. Raises
    OtherClass naming the file when the record is malformed."""
    body = _record(out_dir)
    if "policy" not in body:
        return None
    policy = body["policy"]
    ok = (
        isinstance(policy, dict)
        and set(policy) == set(POLICY_KEYS)
        and (policy["due"] is None or isinstance(policy["due"], str))
        and isinstance(policy["late_policy"], dict)
        and set(policy["late_policy"]) == {f.name for f in dataclasses.fields(config.LatePolicy)}
        and all(type(v) in (int, float) for v in policy["late_policy"].values())
    )
    if not ok:
        raise OtherClass(
            f'{Path(out_dir) / CLASS_RECORD}: its "policy" must be {{"due": null or an ISO '
            'date, "late_policy": {"per_day": 0.1, "max_fraction": 1.0, "grace_minutes": 0}}: '
            "fix it, or grade with --due and --late-penalty to set it anew"
        )
    return policy


def record_policy(out_dir, policy: dict) -> None:
    """Keep the grading policy `policy` (recorded_policy's form) in DIR/class.json."""
    body = {**_record(out_dir), "policy": policy}
    exports.atomic_write(Path(out_dir) / CLASS_RECORD, json.dumps(body, indent=1) + "\n")


def claim(out_dir, roots, replace=False) -> tuple[bool, list[str]]:
    """Make DIR the results folder of the class folders `roots` (one class per results folder).

    Returns (whether `roots` are every folder DIR records, the students moved away by `replace`).
    A folder with results but no record (an older grader) is taken as this class's. Raises
    OtherClass, before anything is written, when DIR records other class folders and not `replace`.
    """
    out_dir = Path(out_dir)
    new = [str(r) for r in roots]
    old = recorded_class(out_dir) if out_dir.is_dir() else None
    if old is None or set(new) <= set(old):
        if old is None:
            out_dir.mkdir(parents=True, exist_ok=True)
            record_class(out_dir, new)
        return old is None or set(new) == set(old), []
    if not replace:
        raise OtherClass(
            f"{out_dir} holds the results of another class ({', '.join(old)}), and you are "
            f"grading {', '.join(new)}. One results folder holds one class, so that its grades.csv, "
            "report and gradebook export are that class alone. Grade into a new folder "
            "(--out NEW_DIR), or add --replace to move the old results to "
            f"{out_dir / '.dropped'}/ and make {out_dir} this class's folder."
        )
    moved = sorted(store.read(out_dir))
    for student in moved:
        store.drop(out_dir, student)
    for name in ("shard.json",):
        (out_dir / name).unlink(missing_ok=True)
    record_class(out_dir, new)
    return True, moved


IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_][\w]*)", re.M)
OPTIM = re.compile(r"\boptim\b(?!\.Optimizer\b)")
"""Code that may use torch.optim itself (``torch.optim.SGD``, ``from torch import optim``), not
merely d2l's ``isinstance(updater, torch.optim.Optimizer)``."""


def imported_modules(subs) -> set[str]:
    """What the submissions' main notebooks import (``notebook_imports``)."""
    return notebook_imports(sub.main for sub in subs)


def notebook_imports(notebooks) -> set[str]:
    """Top-level modules the code cells of the `notebooks` (paths) import, and ``torch.optim``
    where a cell the worker runs mentions ``optim`` (not nbgrader test cells, whose code the worker
    never runs). Best effort, for the fork server's preload: an unreadable notebook counts as
    importing nothing (the grader reports it when grading)."""
    found: set[str] = set()
    for notebook in notebooks:
        try:
            cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError, AttributeError, TypeError):
            continue
        for cell in cells if isinstance(cells, list) else []:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                source = "".join(source) if isinstance(source, list) else str(source)
                found.update(IMPORT.findall(source))
                meta = nbgrader_meta(cell)
                test_cell = meta.get("grade") and not meta.get("solution")
                if not test_cell and OPTIM.search(source):
                    found.add("torch.optim")
    return found
