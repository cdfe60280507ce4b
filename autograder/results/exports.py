"""Writing results: Gradescope results.json per student, grades.csv, atomically; reading them back."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path

from autograder import config, units
from autograder.checks.outcome import CheckResult, SubmissionResult
from autograder.results import repository


# -- whose results: the unit of an assignment (autograder.units), never a unit named here --------
def unit_of_result(result: SubmissionResult) -> units.Unit:
    """The unit a result was graded by: its info["assignment"]'s (the edition handed in), else
    config.ASSIGNMENT's (results written before results recorded it, or of an assignment the
    course no longer registers)."""
    info = result.info if isinstance(result.info, dict) else {}
    assignment = info.get("assignment")
    try:
        return units.get(assignment if isinstance(assignment, str) else None)
    except KeyError:
        return units.get()


def class_units(results, assignment: str | None = None) -> list[units.Unit]:
    """The units of a class's results: `assignment`'s when given, else each unit the results
    were graded by (unit_of_result), in order of first appearance; config.ASSIGNMENT's for none."""
    if assignment is not None:
        return [units.get(assignment)]
    found = list(dict.fromkeys(unit_of_result(r) for r in results))
    return found or [units.get()]


def columns(results, assignment: str | None = None) -> tuple[str, ...]:
    """The per-function score columns of a class (grades.csv, tables, the report): its unit's
    ``columns`` (graded functions, then "quiz"); the units' one after another for results of
    several (both editions of a unit share theirs)."""
    return tuple(
        dict.fromkeys(c for unit in class_units(results, assignment) for c in unit.columns)
    )


def class_assignment(results, assignment: str | None = None) -> str:
    """The assignment a class's pages name: `assignment`, else the first edition registered for
    the unit of its results (config.UNITS: the English one), whichever edition each student had."""
    if assignment is not None:
        return assignment
    unit = class_units(results)[0]
    return next(iter(units.assignments_of(unit)), unit.name)


def _umask() -> int:
    """The process umask (read without changing it for longer than one call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Temporaries are named ".<name>.<writer pid>.<random>.partial", so that a later run can tell a
# leftover of a writer killed between creating and renaming it (kill -9, power loss) from a file
# another live process (a concurrent shard writing into the same folder) is still writing.
_TMP_SUFFIX = ".partial"


def sweep_partial_writes(folder: Path) -> list[Path]:
    """Delete temporaries left in `folder` (recursively) by writers that are no longer alive."""
    removed = []
    for tmp in Path(folder).rglob(f".*{_TMP_SUFFIX}"):
        parts = tmp.name[: -len(_TMP_SUFFIX)].split(".")  # "", name..., pid, random
        if len(parts) < 4 or not parts[-2].isdigit() or not tmp.is_file() or _alive(int(parts[-2])):
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    """Whether process `pid` exists (a process we may not signal still counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=_TMP_SUFFIX, dir=path.parent
    )
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are for TAs and web servers
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def gradescope(result: SubmissionResult) -> dict:
    """The submission in Gradescope's results schema (plus extra_data for reports and resuming)."""
    tests = []
    for c in result.checks:
        out = c.message if not c.passed else ""
        if c.status not in ("passed", "failed"):
            out = f"[{c.status}] {out}"
        tests.append({
            "name": c.check_id,
            "score": c.score,
            "max_score": c.max_score,
            "status": "passed" if c.passed else "failed",
            "output": out,
        })  # fmt: skip
    return {
        "score": result.score,
        "max_score": result.max_score,
        "output": f"Status: {result.status}" + (f" ({result.message})" if result.message else ""),
        "tests": tests,
        "extra_data": {
            "student": result.student,
            "status": result.status,
            "seconds": result.seconds,
            "device": result.device,
            "info": result.info,
            "checks": [c.to_dict() for c in result.checks],
        },
    }


# -- what a result may hold: anything a check or the quiz put there, made writable once, here ----
NON_FINITE = {"nan": "nan", "inf": "inf", "-inf": "-inf"}
"""A float that JSON cannot hold is written as the string Python's float() reads back."""


def writable_text(text: str, limit: int = config.RESULT_TEXT_CHARS) -> str:
    """`text` as a results file holds it: a lone surrogate (text no UTF-8 file can hold) written as
    its escape (``\\ud800``), and at most `limit` characters (the cut said)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > limit:
        text = text[:limit] + f" ... [{len(text) - limit} more characters]"
    return text


def writable(value, limit: int = config.RESULT_TEXT_CHARS, depth: int = 0):
    """`value` as plain JSON data a results file can hold, whatever a check put there.

    Non-finite floats become "nan", "inf" or "-inf" (float() reads them back); text goes through
    writable_text; an int over 64 bits, a list over RESULT_LIST_ITEMS items, nesting deeper than
    RESULT_DEPTH and any other object become a short text saying what they were."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value) if value.bit_length() <= 64 else f"<an int of {value.bit_length()} bits>"
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else NON_FINITE[repr(float(value))]
    if isinstance(value, str):
        return writable_text(str(value), limit)
    if depth >= config.RESULT_DEPTH:
        return f"<{type(value).__name__} nested too deep>"
    if isinstance(value, (list, tuple)):
        items = [writable(v, limit, depth + 1) for v in list(value)[: config.RESULT_LIST_ITEMS]]
        if len(value) > config.RESULT_LIST_ITEMS:
            items.append(f"... [{len(value) - config.RESULT_LIST_ITEMS} more items]")
        return items
    if isinstance(value, dict):
        pairs = list(value.items())[: config.RESULT_LIST_ITEMS]
        return {writable_text(str(k), 200): writable(v, limit, depth + 1) for k, v in pairs}
    try:
        shown = repr(value)
    except Exception:  # noqa: BLE001 - whatever it is, it is shown by its type
        shown = f"<{type(value).__name__}>"
    return writable_text(shown, 200)


def make_writable(result: SubmissionResult) -> SubmissionResult:
    """Make `result` writable in place (``writable`` on every field a check or the grader filled,
    scores as finite floats), so that what is written, shown and rendered is the same; return it.

    A result whose results.json would still exceed RESULT_MAX_BYTES loses its checks' details and
    has its texts cut to RESULT_SHORT_CHARS: results.json is never larger than that."""
    result.status, result.device = (
        writable_text(str(result.status)),
        writable_text(str(result.device)),
    )
    result.message = writable_text(str(result.message))
    result.seconds = _finite(result.seconds)
    result.info = writable(result.info if isinstance(result.info, dict) else {})
    for c in result.checks:
        c.check_id, c.status = (
            writable_text(str(c.check_id), 200),
            writable_text(str(c.status), 200),
        )
        c.score, c.max_score = _finite(c.score), _finite(c.max_score)
        c.message = writable_text(str(c.message))
        c.details = writable(c.details if isinstance(c.details, dict) else {})
    if len(_text(result)) > config.RESULT_MAX_BYTES:
        short = config.RESULT_SHORT_CHARS
        result.message = writable_text(result.message, short)
        result.info = writable(result.info, short)
        for c in result.checks:
            c.message = writable_text(c.message, short)
            c.details = {"dropped": "details left out: results.json would exceed its size limit"}
    return result


def _finite(number) -> float:
    """A score or time as a finite float (0.0 for anything else)."""
    try:
        number = float(number)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _text(result: SubmissionResult) -> str:
    """The results.json text of a writable result (UTF-8: its length in bytes, or fewer)."""
    return json.dumps(gradescope(result), indent=1, allow_nan=False)


def write_result(out_dir: Path, result: SubmissionResult) -> Path:
    """Write DIR/<folder of the student>/results.json atomically (store.folder_name); return it.

    The result is first made writable in place (make_writable): whatever a check or the quiz
    put into it, it is written, at most RESULT_MAX_BYTES (about: escapes aside)."""
    from autograder.results.store import result_dir

    make_writable(result)
    path = result_dir(out_dir, result.student) / "results.json"
    atomic_write(path, _text(result))
    return path


def read_result(path: Path) -> SubmissionResult | None:
    """A results.json written by write_result (None if absent or unreadable)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        extra = data["extra_data"]
        checks = [CheckResult.from_dict(c) for c in extra["checks"]]
        result = SubmissionResult(
            extra["student"],
            checks,
            extra["status"],
            data.get("output", ""),
            extra.get("seconds", 0.0),
            extra.get("device", "cpu"),
            extra.get("info", {}),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    # one written by an earlier version may hold what no UTF-8 page can (a lone surrogate)
    return _readable(result)


def _readable(result: SubmissionResult) -> SubmissionResult:
    """A result read back, with any text no UTF-8 file can hold escaped (files of earlier versions)."""
    try:
        json.dumps(gradescope(result), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError):
        make_writable(result)
    return result


def function_scores(result: SubmissionResult, names=None) -> dict[str, float]:
    """Points per graded function (and the quiz): every column of `names` (default: the columns
    of the result's unit), then any other function the result has checks of."""
    out = dict.fromkeys(unit_of_result(result).columns if names is None else names, 0.0)
    for c in result.checks:
        out[c.function] = round(out.get(c.function, 0.0) + c.score, 6)
    return out


LATE_COLUMNS = ("submitted_at", "late_hours", "late_penalty")
"""When nbgrader's timestamp.txt says the work was handed in, hours after the due date (0: on
time; empty: unknown), and the points deducted by the late policy (late.py)."""


def late_cells(result: SubmissionResult) -> list[str]:
    """The LATE_COLUMNS of one result."""
    late = result.info.get("late") or {}
    hours = late.get("late_seconds")
    penalty = late.get("penalty", 0.0) or 0.0
    return [
        late.get("submitted_at") or "",
        "" if hours is None else f"{hours / 3600:.2f}".rstrip("0").rstrip("."),
        f"{penalty:g}",
    ]


def grades_csv(results: list[SubmissionResult], assignment: str | None = None) -> str:
    """One row per student: total, status, per-function and lateness columns (for an LMS import).

    The per-function columns are the unit's (``columns``: of `assignment`, default the unit the
    results were graded by).

    The student column is the id itself (any Unicode name); the text is UTF-8, and
    ``write_grades(..., bom=True)`` adds the byte-order mark Excel needs to read it as UTF-8.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = columns(results, assignment)
    writer.writerow(["student", "score", "max_score", "status", *names, *LATE_COLUMNS])
    for r in sorted(results, key=lambda r: r.student):
        per = function_scores(r, names)
        writer.writerow(
            [
                r.student,
                f"{r.score:g}",
                f"{r.max_score:g}",
                r.status,
                *(f"{per[f]:g}" for f in names),
                *late_cells(r),
            ]
        )
    return buf.getvalue()


BOM = "\ufeff"


def write_grades(
    out_dir: Path,
    results: list[SubmissionResult],
    bom: bool | None = None,
    assignment: str | None = None,
) -> Path:
    """Write DIR/grades.csv atomically; `bom`: with a UTF-8 byte-order mark (None: as it was);
    `assignment`: whose unit's columns (default: the results' unit, see grades_csv)."""
    path = Path(out_dir) / "grades.csv"
    if bom is None:
        try:
            with open(path, encoding="utf-8") as fh:
                bom = fh.read(1) == BOM
        except (OSError, UnicodeDecodeError):
            bom = False
    atomic_write(path, (BOM if bom else "") + grades_csv(results, assignment))
    return path


def students(n: int) -> str:
    """'1 student', '2 students': a count of students for the terminal."""
    return f"{n} student" if n == 1 else f"{n} students"


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal (East Asian wide and full-width characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(results: list[SubmissionResult], assignment: str | None = None) -> str:
    """A plain-text table of students, scores and statuses for the terminal (the per-function
    columns of `assignment`'s unit, default the results', as in grades_csv)."""
    names = columns(results, assignment)
    rows = [("student", "score", "status", *(f[:13] for f in names), "seconds")]
    for r in sorted(results, key=lambda r: r.student):
        per = function_scores(r, names)
        rows.append(
            (
                r.student,
                f"{r.score:g}/{r.max_score:g}",
                r.status,
                *(f"{per[f]:g}" for f in names),
                f"{r.seconds:.1f}",
            )
        )
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell + " " * (w - display_width(cell)) for cell, w in zip(row, widths)).rstrip()
             for row in rows]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + repository.table_notes(results))
