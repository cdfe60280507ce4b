"""Grading a class on several machines: a deterministic ``--shard i/n`` split, and ``merge``.

Shard ``i/n`` (1 <= i <= n) holds the students whose id hashes, with a stable hash (SHA-256 of
the student id, independent of Python's hash seed, the machine and the order submissions are
found in), to ``i - 1`` modulo ``n``. Every student is in exactly one shard, and a student stays in
the same shard when others join or leave the class.

``grade_all(..., shard=...)`` grades one shard into its own folder and writes ``shard.json`` there
(which shard, which students). ``merge`` combines shard folders into one results folder: every
``<student>/`` folder (results.json, feedback) is copied, ``grades.csv`` is rewritten for the whole
class, and two results for one student are accepted only when they agree (same submission files,
same grading policy, same checks and scores); otherwise merge stops with an error naming both.
When the folders hold ``shard.json`` manifests, merge also checks that every shard of the split is
present and that every student a shard was given has a result.

    python -m autograder.grading.shards list submitted --shard 2/4        # the students of shard 2 of 4
    python -m autograder.grading.shards merge --out grades shard-1 shard-2 ...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.checks.outcome import SubmissionResult
from autograder.results import exports, store

MANIFEST = "shard.json"
"""Written by a sharded grading run into its results folder."""


class ShardError(ValueError):
    """A malformed shard, or shard folders that cannot be merged."""


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __post_init__(self):
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise ShardError(f"shard {self.index}/{self.count}: need 1 <= i <= n")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, student: str) -> bool:
        """Whether `student` belongs to this shard."""
        return bucket(student, self.count) == self.index - 1


def parse_shard(text: str) -> Shard:
    """'2/4' -> Shard(2, 4). Raises ShardError (an argparse type error) when malformed."""
    try:
        i, n = (int(part) for part in str(text).strip().split("/"))
    except ValueError:
        raise ShardError(f"{text!r}: a shard is written i/n, e.g. 2/4 (1 <= i <= n)") from None
    return Shard(i, n)


def bucket(student: str, count: int) -> int:
    """0-based shard of `student` among `count` (stable across machines, runs and Python versions)."""
    digest = hashlib.sha256(student.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def select(subs, shard: Shard | str | None):
    """The submissions (anything with a `.student`) of `shard`, in their order; all when None."""
    if shard is None:
        return list(subs)
    shard = parse_shard(shard) if isinstance(shard, str) else shard
    return [s for s in subs if shard.holds(s.student)]


def write_manifest(out_dir: Path, shard: Shard, students) -> Path:
    """DIR/shard.json: the shard and the students it was given (merge checks them)."""
    path = Path(out_dir) / MANIFEST
    body = {"shard": str(shard), "index": shard.index, "count": shard.count,
            "students": sorted(students)}  # fmt: skip
    exports.atomic_write(path, json.dumps(body, indent=1))
    return path


def read_manifest(folder: Path) -> dict | None:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        Shard(int(data["index"]), int(data["count"]))
        return data
    except (ValueError, KeyError, TypeError) as err:
        raise ShardError(f"{path}: not a shard manifest ({err})") from None


def _signature(result: SubmissionResult):
    """What two results of one student must share to be the same grading."""
    checks = tuple((c.check_id, round(c.score, 6), c.status) for c in result.checks)
    return result.info.get("fingerprint"), checks


def _describe(result: SubmissionResult) -> str:
    fp = result.info.get("fingerprint") or "?"
    return f"{result.score:g}/{result.max_score:g} {result.status}, fingerprint {fp}"


def read_folder(folder: Path) -> dict[str, SubmissionResult]:
    """student -> result of every DIR/<student>/results.json (an unreadable one is an error)."""
    try:
        return store.read(folder, strict=True)
    except store.StoreError as err:
        raise ShardError(str(err)) from None


def check_coverage(folders) -> list[str]:
    """Problems with the shard manifests of `folders`: missing shards, students without results."""
    problems, seen = [], {}
    manifests = [(Path(f), read_manifest(f)) for f in folders]
    present = [(f, m) for f, m in manifests if m is not None]
    if not present:
        return problems
    counts = {m["count"] for _, m in present}
    if len(counts) > 1:
        return [f"shard folders come from different splits (n = {sorted(counts)})"]
    (count,) = counts
    for folder, m in present:
        if m["index"] in seen:
            problems.append(f"shard {m['shard']} appears twice: {seen[m['index']]} and {folder}")
        seen[m["index"]] = folder
        have = {store.student_of(p.parent.name) for p in folder.glob("*/results.json")}
        lost = sorted(set(m["students"]) - have)
        if lost:
            problems.append(f"{folder} (shard {m['shard']}) has no results for {', '.join(lost[:10])}"
                            + (f" and {len(lost) - 10} more" if len(lost) > 10 else ""))  # fmt: skip
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
    if missing:
        problems.append(f"shard(s) {', '.join(missing)} missing from the merge")
    if len(present) < len(manifests):
        unmarked = [str(f) for f, m in manifests if m is None]
        problems.append(
            f"folders without {MANIFEST} mixed with shard folders: {', '.join(unmarked)}"
        )
    return problems


def merge(folders, out_dir, allow_incomplete=False) -> list[SubmissionResult]:
    """Merge results folders into `out_dir` (which may be new or hold earlier results); return all.

    Raises ShardError, before writing anything, when one student has two different results or,
    unless `allow_incomplete`, when the shard manifests show a missing shard or result.
    """
    folders = [Path(f) for f in folders]
    out_dir = Path(out_dir)
    if not folders:
        raise ShardError("merge: no shard folders given")
    problems = [] if allow_incomplete else check_coverage(folders)
    if problems:
        raise ShardError("merge refused: " + "; ".join(problems))
    chosen: dict[str, tuple[SubmissionResult, Path]] = {}
    sources = ([out_dir] if out_dir.is_dir() else []) + folders
    conflicts = []
    for folder in sources:
        for student, result in read_folder(folder).items():
            if student not in chosen:
                chosen[student] = (result, folder)
                continue
            first, where = chosen[student]
            if where.resolve() != folder.resolve() and _signature(first) != _signature(result):
                conflicts.append(f"{student}: {where} has {_describe(first)}, "
                                 f"{folder} has {_describe(result)}")  # fmt: skip
    if conflicts:
        raise ShardError(
            "merge refused: conflicting results for the same student (regrade one of them or "
            "remove the stale folder):\n  " + "\n  ".join(conflicts)
        )
    from autograder.grading import collect

    records = [collect.recorded_class(f) for f in sources]  # an unreadable one stops the merge
    out_dir.mkdir(parents=True, exist_ok=True)
    with store.locked(out_dir):
        for student, (_, folder) in sorted(chosen.items()):
            target = store.result_dir(out_dir, student)
            if folder.resolve() != out_dir.resolve():
                shutil.copytree(store.result_dir(folder, student), target, dirs_exist_ok=True)
        if any(r is not None for r in records):  # the class folders of every shard (collect.py)
            collect.record_class(out_dir, sorted({f for r in records if r for f in r}))
    return store.rebuild(out_dir, report=False)


# -- command line -------------------------------------------------------------------------------
def add_shard_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--shard i/n`` to a ``grade`` parser (pass ``args.shard`` to batch.grade_all)."""
    parser.add_argument(
        "--shard",
        type=_shard_type,
        default=None,
        metavar="I/N",
        help="grade only shard I of N (1 <= I <= N), split by a stable hash of the student id; "
        "combine the shard folders with: merge --out DIR SHARD_DIR...",
    )


def _shard_type(text: str) -> Shard:
    try:
        return parse_shard(text)
    except ShardError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_merge_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``merge`` subcommand to `subparsers`; run it with ``cmd_merge(args)``."""
    m = subparsers.add_parser(
        "merge",
        help="merge the results folders of sharded grading runs into one (grades.csv, results.json)",
    )
    m.add_argument("folders", nargs="+", help="results folders written by grade --shard I/N")
    m.add_argument("--out", required=True, help="merged results folder")
    m.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="merge even when a shard or a student's result is missing",
    )
    return m


def cmd_merge(args) -> int:
    """``merge``: 0 when merged, 2 when refused (the reason on stderr)."""
    from autograder.grading.collect import OtherClass

    try:
        results = merge(args.folders, args.out, allow_incomplete=args.allow_incomplete)
    except (ShardError, OtherClass) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"merged {exports.students(len(results))} from {len(args.folders)} folders into {args.out}"
    )
    print(f"Results: {args.out}/<student>/results.json, {args.out}/grades.csv")
    print("Feedback and the class report are not written by merge; write them with:")
    print(f"  python -m autograder report {shlex.quote(str(args.out))}")
    return 0


def cmd_list(args) -> int:
    """``list``: the student ids of a shard, one per line."""
    from autograder.grading.collect import collect

    try:
        subs = collect(args.paths)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for sub in select(subs, args.shard):
        print(sub.student)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.grading.shards", description=__doc__
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_merge_parser(sub)
    ls = sub.add_parser("list", help="print the students of a shard")
    ls.add_argument("paths", nargs="+", help="nbgrader's submitted/ root (or any grade path)")
    add_shard_argument(ls)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return {"merge": cmd_merge, "list": cmd_list}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
