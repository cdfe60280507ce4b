"""GitHub Classroom: the template repository, and the official grade taken from the repositories after the deadline.

A student can edit everything in their repository, its workflow included, so a push only gets
practice feedback: the template's .github/workflows/classroom.yml (deploy/classroom/) runs the
public checks of the unit's self-check (the release helper ``*_selfcheck.py``) on a GitHub-hosted
runner and reports them to Classroom as "practice, not the grade" (.github/classroom/practice.py,
told the notebook and the self-check by the template's .github/classroom/practice.json; its texts
are PRACTICE_TEXTS below). Nothing of the course (grader, answer key, GPU runner) is reachable
from a student's repository.

Each assignment is its own Classroom assignment with its own template (``template --assignment``);
what a template holds (notebooks, helpers) is its unit's (``autograder.units.get(assignment)``).

The grade is taken here, by the instructor:

    python -m autograder classroom template --out template/        # the template repository
    python -m autograder classroom collect --roster classroom_roster.csv \\
        --repo-url 'https://github.com/ORG/softmax-{github_username}.git' \\
        --deadline 2026-12-01T23:59+08:00 --out submitted
    python -m autograder grade submitted --out grades --due 2026-12-01T23:59+08:00
    python -m autograder classroom export grades --out classroom-grades.csv

``collect`` clones each repository (or reads the folders of ``gh classroom clone student-repos``,
``--clones``) and writes nbgrader's layout, ``submitted/<student>/<assignment>/`` (the assignment
told by the notebooks, as for a Gradescope upload: their names and edition): the notebooks of
the last commit at or before the deadline (``--late-until``: a later cut-off, lateness then counts
from the deadline), nbgrader's ``timestamp.txt`` with that commit's time (``grade --due`` reads it,
autograder/results/late.py) and ``repository.json`` (autograder/results/repository.py): the commit,
and what of ``.github/``, the release helpers and the read-only cells differs from the template,
which ``grade`` copies into each result and the class report flags. Commit times are written by the
student's git (GIT_COMMITTER_DATE can set any): collect at the deadline, and again later only with
``--late-until``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder import config, units
from autograder.i18n import N_
from autograder.results import late
from autograder.results.repository import REPOSITORY_FILE

PRACTICE_TEXTS = {
    "title": N_(
        "Practice feedback: the public checks of {selfcheck}. These points are not your grade."
    ),
    "grade": N_(
        "The instructor grades the last commit you push before the deadline, with hidden inputs "
        "and training; your grade can differ from these points."
    ),
    "no_notebook": N_("No {notebook} in this repository: commit and push your notebook."),
    "no_selfcheck": N_(
        "No {selfcheck} beside {notebook}: restore it from the assignment's template."
    ),
    "skipped": N_("Code cell {number} was skipped ({error})."),
    "failed": N_("The self-check could not run: {error}"),
    "test_name": N_("practice, not the grade: {check}"),
    "total": N_("Practice points (not the grade): {score}/{max_score}"),
}
"""What the practice feedback says (deploy/classroom/.github/classroom/practice.py holds each text
with its zh_CN translation, since the student's repository has no course; tests keep them equal)."""

DEPLOY_DIR = config.COURSE_ROOT / "deploy" / "classroom"
"""The template repository's own files (.github/) beside the release's."""

PRACTICE_CONFIG = ".github/classroom/practice.json"
"""What practice.py runs in this template: {"notebook": the unit's graded notebook, "selfcheck":
its self-check}; written by template_files (deploy/classroom/ holds no unit's names)."""

STAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"
"""nbgrader's timestamp.txt format (late.parse_time reads it)."""


# ---------------------------------------------------------------------------------------------
# The template repository
# ---------------------------------------------------------------------------------------------
def selfcheck_of(unit: units.Unit) -> str | None:
    """The unit's self-check: the release helper named ``*_selfcheck.py`` (scripts/make_selfcheck.py
    writes it), or None when the unit gives students none."""
    return next((name for name in unit.helpers if name.endswith("_selfcheck.py")), None)


def practice_config(unit: units.Unit) -> bytes:
    """The template's PRACTICE_CONFIG for `unit`: the notebook and self-check practice.py runs."""
    named = {"notebook": unit.main_notebook, "selfcheck": selfcheck_of(unit)}
    return (json.dumps(named, indent=1) + "\n").encode()


def template_files(assignment: str = config.ASSIGNMENT) -> dict[str, bytes]:
    """The template repository of an edition: path -> content (its unit's release notebooks and
    helpers at its top; deploy/classroom/.github/ as .github/ with PRACTICE_CONFIG, when the unit
    has a self-check to practise with)."""
    unit = units.get(assignment)
    files = {}
    release = config.release_dir(assignment)
    for name in (*unit.notebooks, *unit.helpers):
        files[name] = (release / name).read_bytes()
    if selfcheck_of(unit) is None:
        return files
    for path in sorted((DEPLOY_DIR / ".github").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[path.relative_to(DEPLOY_DIR).as_posix()] = path.read_bytes()
    files[PRACTICE_CONFIG] = practice_config(unit)
    return files


def read_folder(folder: Path) -> dict[str, bytes]:
    """A template repository's checkout as path -> content (its .git/ left out)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(folder).parts}  # fmt: skip


def write_template(out: Path, assignment: str) -> list[str]:
    """Write the template repository of `assignment` into `out` (refused when it holds files)."""
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: not empty; give a new folder")
    files = template_files(assignment)
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    return sorted(files)


# ---------------------------------------------------------------------------------------------
# What differs from the template
# ---------------------------------------------------------------------------------------------
def _readonly_cells(data: bytes | None) -> dict[str, str] | None:
    """grade_id -> source of a notebook's read-only cells (None when it cannot be read)."""
    from autograder.submissions.notebook import MalformedNotebook, nbgrader_meta, read_notebook

    if data is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".ipynb") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            nb = read_notebook(Path(tmp.name))
        except MalformedNotebook:
            return None
    cells = {}
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if (
            meta.get("locked")
            and not meta.get("solution")
            and isinstance(meta.get("grade_id"), str)
        ):
            cells[meta["grade_id"]] = "\n".join(ln.rstrip() for ln in cell["source"].strip().splitlines())  # fmt: skip
    return cells


def _notebook_path(files: dict[str, bytes], name: str) -> str | None:
    """Where the repository holds notebook `name`: at its top, else the shallowest copy."""
    found = [p for p in files if p.rsplit("/", 1)[-1] == name and not p.startswith(".")]
    return min(found, key=lambda p: (p.count("/"), p)) if found else None


def differences(files: dict[str, bytes], template: dict[str, bytes],
                assignment: str = config.ASSIGNMENT) -> list[str]:  # fmt: skip
    """What the repository `files` changed of `template` (path -> content each), the template of
    `assignment`: files of .github/ added, changed or removed, release helpers changed or removed,
    read-only cells edited or deleted."""
    unit = units.get(assignment)
    out = []
    github = sorted({p for p in (*files, *template) if p.startswith(".github/")})
    for path in github:
        if path not in files:
            out.append(f"{path} removed")
        elif path not in template:
            out.append(f"{path} added")
        elif files[path] != template[path]:
            out.append(f"{path} changed")
    main = _notebook_path(files, unit.main_notebook)
    folder = main.rsplit("/", 1)[0] + "/" if main and "/" in main else ""
    for name in unit.helpers:
        if name not in template:
            continue
        mine = files.get(folder + name)
        if mine is None:
            out.append(f"{folder}{name} removed")
        elif mine != template[name]:
            out.append(f"{folder}{name} changed")
    for name in unit.notebooks:
        path = _notebook_path(files, name)
        reference, mine = _readonly_cells(template.get(name)), None
        if path is not None:
            mine = _readonly_cells(files[path])
        if not reference or mine is None:
            continue  # no notebook (graded as missing) or not one (malformed): nothing to compare
        for gid, source in reference.items():
            if gid not in mine:
                out.append(f"{path}: read-only cell {gid} deleted")
            elif mine[gid] != source:
                out.append(f"{path}: read-only cell {gid} edited")
    return out


# ---------------------------------------------------------------------------------------------
# Git: the commit at the deadline and its files
# ---------------------------------------------------------------------------------------------
class GitError(RuntimeError):
    """A git command failed (its message says which and why)."""


def git(repo: Path, *args: str, binary: bool = False):
    """Run git in `repo` (no prompts, no hooks, no replacement objects); its stdout."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_NO_REPLACE_OBJECTS="1")
    proc = subprocess.run(["git", "-C", str(repo), "-c", "core.hooksPath=/dev/null", *args],
                          capture_output=True, env=env, timeout=600)  # fmt: skip
    if proc.returncode != 0:
        error = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]}: {error[-1] if error else f'exit {proc.returncode}'}")
    return proc.stdout if binary else proc.stdout.decode("utf-8", "replace")


def commits(repo: Path, ref: str = "HEAD") -> list[tuple[str, dt.datetime]]:
    """Every commit reachable from `ref`: (sha, committer time, aware UTC), newest first."""
    out = []
    for line in git(repo, "log", "--format=%H %ct", ref, "--").splitlines():
        sha, stamp = line.split()
        out.append((sha, dt.datetime.fromtimestamp(int(stamp), dt.UTC)))
    return out


def pick(history: list[tuple[str, dt.datetime]], cutoff: dt.datetime):
    """(the newest commit at or before `cutoff`, or None; how many commits are later)."""
    before = [c for c in history if c[1] <= cutoff]
    later = len(history) - len(before)
    return (max(before, key=lambda c: c[1]) if before else None), later


def wanted(path: str) -> bool:
    """Whether collect reads this file of a commit: notebooks and zips (graded), .github/ and the
    release helpers of any unit (which assignment it is, the notebooks tell)."""
    name = path.rsplit("/", 1)[-1]
    helpers = {helper for unit in units.every() for helper in unit.helpers}
    return path.startswith(".github/") or name in helpers or name.endswith((".ipynb", ".zip"))


def commit_files(repo: Path, sha: str) -> dict[str, bytes]:
    """The files `wanted` of commit `sha`: path -> content (git's objects, no attributes or filters
    of the student's, so a .gitattributes cannot hide a file), each at most MAX_NOTEBOOK_BYTES."""
    from autograder.submissions.notebook import MAX_NOTEBOOK_BYTES

    files = {}
    listing = git(repo, "ls-tree", "-r", "-l", "-z", sha).split("\0")
    for entry in filter(None, listing):
        meta, path = entry.split("\t", 1)
        mode, kind, obj, size = meta.split()
        parts = path.split("/")
        if kind != "blob" or mode == "120000" or ".." in parts or ".git" in parts:
            continue
        if wanted(path) and int(size) <= MAX_NOTEBOOK_BYTES:
            files[path] = git(repo, "cat-file", "blob", obj, binary=True)
    return files


# ---------------------------------------------------------------------------------------------
# The class: a roster, repositories, clones
# ---------------------------------------------------------------------------------------------
@dataclass
class Student:
    """One student to collect: their id in submitted/, their GitHub name, their repository."""

    student: str
    github_username: str
    source: str | None
    """A git URL or path to clone, or a repository folder (--clones); None: none found."""


def read_roster(path: Path) -> list[dict[str, str]]:
    """The rows of a Classroom roster CSV (identifier, github_username, ...), names lower-cased."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
                for row in csv.DictReader(fh)]  # fmt: skip
    if rows and "github_username" not in rows[0]:
        raise ValueError(f"{path}: no github_username column (GitHub Classroom's roster has one)")
    return rows


def student_id(row: dict[str, str]) -> str:
    """A roster row's student id: its identifier, else its GitHub name."""
    return row.get("identifier") or row.get("github_username", "")


def from_roster(rows, repo_url: str) -> list[Student]:
    """The roster's students, each with the repository URL `repo_url` names for them."""
    return [Student(student_id(r), r.get("github_username", ""),
                    repo_url.format(**r) if r.get("github_username") else None) for r in rows]  # fmt: skip


def from_clones(folder: Path, rows=None, prefix: str = "") -> list[Student]:
    """The repositories of `gh classroom clone student-repos` (folders <assignment>-<github name>):
    matched to the roster's GitHub names when given, else named after the folder less `prefix`."""
    repos = sorted(
        p for p in Path(folder).iterdir() if (p / ".git").exists() or (p / "HEAD").is_file()
    )
    if rows is None:
        return [Student(p.name.removeprefix(prefix), p.name.removeprefix(prefix), str(p)) for p in repos]  # fmt: skip
    out = []
    for row in rows:
        user = row.get("github_username", "")
        match = [p for p in repos if user and p.name.lower().endswith("-" + user.lower())]
        match = match or [p for p in repos if user and p.name.lower() == user.lower()]
        out.append(Student(student_id(row), user, str(match[0]) if len(match) == 1 else None))
    return out


def _bad_id(student: str) -> str | None:
    """Why `student` cannot name a folder of submitted/ (None when it can)."""
    if not student or student.startswith(".") or any(c in student for c in "/\\\0"):
        return f"{student!r} cannot name a folder of submitted/"
    return None


# ---------------------------------------------------------------------------------------------
# Collect
# ---------------------------------------------------------------------------------------------
@dataclass
class Collected:
    """What collect did for one student."""

    student: str
    folder: Path | None = None
    commit: str | None = None
    committed_at: dt.datetime | None = None
    later_commits: int = 0
    differs: tuple[str, ...] = ()
    problem: str | None = None


def _replaceable(folder: Path) -> bool:
    """Whether a student's folder in submitted/ is collect's own (each assignment folder has a record)."""
    subs = [p for p in folder.iterdir()] if folder.is_dir() else []
    return all((p / REPOSITORY_FILE).is_file() for p in subs)


def _repository(source: str, work: Path) -> Path:
    """A local repository of `source`: the folder itself, or a bare clone of it in `work`."""
    if Path(source).is_dir():
        return Path(source)
    target = work / "clone.git"
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    proc = subprocess.run(["git", "clone", "--bare", "--quiet", "--", source, str(target)],
                          capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise GitError(f"git clone: {lines[-1] if lines else proc.returncode}")
    return target


def collect_one(student: Student, out: Path, deadline: dt.datetime, cutoff: dt.datetime,
                template: dict[str, bytes] | None) -> Collected:  # fmt: skip
    """Write `student`'s assignment folder from the last commit at or before `cutoff`."""
    from autograder.platforms import gradescope

    done = Collected(student.student)
    if (problem := _bad_id(student.student)) or not student.source:
        done.problem = problem or "no repository (not accepted, or not in --clones)"
        return done
    target = out / student.student
    if target.exists() and not _replaceable(target):
        done.problem = f"{target} exists and was not written by collect; move it away first"
        return done
    with tempfile.TemporaryDirectory(prefix="classroom-collect-") as tmp:
        work = Path(tmp)
        try:
            repo = _repository(student.source, work)
            chosen, done.later_commits = pick(commits(repo), cutoff)
            if chosen is None:
                done.problem = f"no commit at or before {cutoff.isoformat()}"
                return done
            done.commit, done.committed_at = chosen
            files = commit_files(repo, done.commit)
        except (GitError, ValueError, subprocess.TimeoutExpired) as err:
            done.problem = str(err)
            return done
        tree = work / "tree"
        for path, data in files.items():
            (tree / path).parent.mkdir(parents=True, exist_ok=True)
            (tree / path).write_bytes(data)
        tree.mkdir(exist_ok=True)
        staged, notes = gradescope.stage(tree, work / "stage", student.student)
        if staged is None:
            done.problem = f"commit {done.commit[:10]} holds no notebook"
            return done
        reference = template or template_files(staged.name)
        done.differs = tuple(differences(files, reference, staged.name))
        record = {
            "source": student.source,
            "github_username": student.github_username,
            "commit": done.commit,
            "committed_at": done.committed_at.isoformat(timespec="seconds"),
            "later_commits": done.later_commits,
            "deadline": deadline.isoformat(timespec="seconds"),
            "late_until": cutoff.isoformat(timespec="seconds"),
            "collected_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "differs_from_template": list(done.differs),
            "notes": notes,
        }
        (staged / REPOSITORY_FILE).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")  # fmt: skip
        (staged / late.TIMESTAMP_FILE).write_text(done.committed_at.strftime(STAMP_FORMAT) + "\n", encoding="utf-8")  # fmt: skip
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.move(str(staged), target / staged.name)
        done.folder = target / staged.name
    return done


def collect(students: list[Student], out: Path, deadline: dt.datetime, cutoff: dt.datetime | None = None,
            template: dict[str, bytes] | None = None) -> list[Collected]:  # fmt: skip
    """Collect every student into `out` (nbgrader's submitted/ layout); what was done for each."""
    cutoff = cutoff or deadline
    if cutoff < deadline:
        raise ValueError("--late-until is before --deadline")
    seen, done = set(), []
    for student in students:
        if student.student in seen:
            done.append(Collected(student.student, problem="listed twice in the roster"))
            continue
        seen.add(student.student)
        done.append(collect_one(student, Path(out), deadline, cutoff, template))
    return done


def summary(done: list[Collected], deadline: dt.datetime) -> str:
    """The collect table for the terminal: student, commit, its time, lateness, what differs."""
    lines = []
    for d in sorted(done, key=lambda d: d.student):
        if d.problem:
            lines.append(f"{d.student:20} NOT COLLECTED: {d.problem}")
            continue
        seconds = max(0.0, (d.committed_at - deadline).total_seconds())
        when = "on time" if not seconds else f"{late.describe(seconds)} late"
        later = f", {d.later_commits} later commit(s) ignored" if d.later_commits else ""
        lines.append(f"{d.student:20} {d.commit[:10]} {d.committed_at:%Y-%m-%d %H:%M} UTC ({when}{later})")  # fmt: skip
        lines += [f"{'':20}   differs from the template: {x}" for x in d.differs]
    ok = sum(d.problem is None for d in done)
    flagged = sum(bool(d.differs) for d in done)
    lines.append(f"\n{ok} of {len(done)} collected; {flagged} differ from the template")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Export: Classroom's grade columns
# ---------------------------------------------------------------------------------------------
EXPORT_COLUMNS = ("assignment_name", "github_username", "roster_identifier",
                  "student_repository_url", "commit", "submission_timestamp", "points_awarded",
                  "points_available", "late_penalty", "differs_from_template")  # fmt: skip
"""The columns of ``classroom export``: those of GitHub Classroom's grade download (an LMS import
made for it reads this), plus the commit graded, the late penalty and the template flag."""


def export_csv(results, assignment_name: str | None = None) -> str:
    """The results (store.load of a grade folder) as Classroom's grade CSV; each row names
    `assignment_name`, by default the assignment its result was graded as."""
    from autograder.results import repository

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in sorted(results, key=lambda r: r.student):
        repo = (r.info or {}).get("repository") or {}
        stamp = ((r.info or {}).get("late") or {}).get("submitted_at") or repo.get("committed_at")
        penalty = ((r.info or {}).get("late") or {}).get("penalty") or 0
        assignment = assignment_name or (r.info or {}).get("assignment") or config.ASSIGNMENT
        writer.writerow([assignment, repo.get("github_username") or "", r.student,
                         repo.get("source") or "", repo.get("commit") or "", stamp or "",
                         f"{r.score:g}", f"{r.max_score:g}", f"{penalty:g}",
                         "; ".join(repository.differences(r))])  # fmt: skip
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def add_parser(sub) -> None:
    """The ``classroom`` subcommand: ``template``, ``collect``, ``export``."""
    c = sub.add_parser("classroom", help="GitHub Classroom: template repository, collect at the "
                       "deadline, export grades")  # fmt: skip
    csub = c.add_subparsers(dest="classroom_command", required=True)
    t = csub.add_parser("template", help="write the assignment's template repository")
    t.add_argument("--out", required=True, help="a new folder (push it as the template)")
    t.add_argument("--assignment", choices=tuple(config.EDITIONS), default=config.ASSIGNMENT,
                   help=f"the assignment (edition) to write (default {config.ASSIGNMENT})")  # fmt: skip
    k = csub.add_parser("collect", help="the class's repositories at the deadline -> submitted/")
    k.add_argument("--roster", help="GitHub Classroom's roster CSV (identifier, github_username)")
    k.add_argument("--repo-url", help="each repository's URL or path, with {github_username} "
                   "(e.g. https://github.com/ORG/softmax-{github_username}.git)")  # fmt: skip
    k.add_argument("--clones", help="instead: the folder of `gh classroom clone student-repos`")
    k.add_argument("--prefix", default="", help="--clones without --roster: the folder names' "
                   "prefix to drop (e.g. softmax-regression-)")  # fmt: skip
    k.add_argument("--deadline", required=True, help="ISO 8601 (no zone: UTC); the last commit "
                   "at or before it is taken")  # fmt: skip
    k.add_argument("--late-until", help="accept commits up to this time (lateness then counts "
                   "from --deadline: grade --due)")  # fmt: skip
    k.add_argument("--template", help="the template repository's checkout to compare with "
                   "(default: the course's release and deploy/classroom)")  # fmt: skip
    k.add_argument("--out", required=True, help="nbgrader's submitted/ folder to write")
    e = csub.add_parser("export", help="a results folder as Classroom's grade CSV")
    e.add_argument("results", help="results folder written by grade")
    e.add_argument("--out", required=True, help="CSV file to write")
    e.add_argument("--assignment-name", help="the assignment_name column (default: the "
                   "assignment each result was graded as)")  # fmt: skip


def cmd_classroom(args) -> int:
    """Entry point of ``python -m autograder classroom``."""
    return {"template": _cmd_template, "collect": _cmd_collect, "export": _cmd_export}[
        args.classroom_command
    ](args)


def _cmd_template(args) -> int:
    try:
        names = write_template(Path(args.out), args.assignment)
    except FileExistsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(names)} files ({', '.join(names)})")
    return 0


def _cmd_collect(args) -> int:
    try:
        deadline = late.parse_time(args.deadline)
        cutoff = late.parse_time(args.late_until) if args.late_until else None
        rows = read_roster(Path(args.roster)) if args.roster else None
        if args.clones:
            students = from_clones(Path(args.clones), rows, args.prefix)
        elif rows is not None and args.repo_url:
            students = from_roster(rows, args.repo_url)
        else:
            raise ValueError(
                "give --roster with --repo-url, or --clones (with or without --roster)"
            )
        template = read_folder(Path(args.template)) if args.template else None
        done = collect(students, Path(args.out), deadline, cutoff, template)
    except (OSError, ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(summary(done, deadline))
    print(f"\nnext: python -m autograder grade {args.out} --out grades --due {args.deadline}")
    return 0


def _cmd_export(args) -> int:
    from autograder.results import store

    results = store.load(args.results)
    if not results:
        print(f"error: no <student>/results.json under {args.results}", file=sys.stderr)
        return 2
    Path(args.out).write_text(export_csv(results, args.assignment_name), encoding="utf-8")
    from autograder.results.exports import students

    print(f"{args.out}: {students(len(results))}")
    return 0
