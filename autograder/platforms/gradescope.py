"""Gradescope: build autograder.zip, and grade /autograder/submission into results/results.json.

Gradescope unzips ``autograder.zip`` into ``/autograder/source``, runs ``setup.sh`` there once
when the image is built, then for every submission copies ``run_autograder`` to
``/autograder/run_autograder`` and runs it with the student's upload in
``/autograder/submission``; it reads ``/autograder/results/results.json``. Our ``run_autograder``
calls ``python -m autograder gradescope run``, which

1. stages the upload as one student's nbgrader folder: the notebooks (anywhere in the upload,
   also inside .zip files), in the folder of the assignment they are (``assignment_of``: the unit
   whose notebooks they are named as, then the edition their metadata says, e.g.
   ``softmax_regression_zh/`` for the Chinese one); a bundle built with ``--assignment`` grades
   only that assignment's unit (one bundle per Gradescope assignment);
2. grades it with ``python -m autograder grade`` (confined; ``--unconfined`` only when
   ``sandbox.probe`` says the kernel lacks Landlock or seccomp, and the output says so);
3. writes Gradescope's results: ``score``, ``execution_time``, ``output``, ``visibility``,
   ``stdout_visibility``, ``tests[]`` (``name``, ``number``, ``score``, ``max_score``,
   ``status``, ``output``, ``tags``, ``visibility``) and a ``leaderboard`` with the test accuracy
   the grader measured (the unit's first ``accuracy_checks``; none for a unit without one).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder import config, units

ASSETS = Path(__file__).resolve().parents[2] / "deploy" / "gradescope"
"""setup.sh and run_autograder, copied into the bundle (Gradescope needs both at its top level)."""

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
"""The values Gradescope accepts for ``visibility`` and ``stdout_visibility``."""


@dataclass(frozen=True)
class Settings:
    """What students see on Gradescope, and how run_autograder grades (course choices, not grades)."""

    visibility: str = "visible"
    """The whole result: students see their score and the tests below as soon as it is graded."""
    stdout_visibility: str = "hidden"
    """run_autograder's own log (grader output, memory) is for staff."""
    public_tests: str = "visible"
    """Checks whose inputs the notebook states (selfcheck.PUBLIC): message shown at once."""
    hidden_tests: str = "visible"
    """Checks on hidden inputs: name, status, score and hint shown at once; their output is
    redacted by selfcheck.redact (the self-check's one rule: no input, expected or got values)."""
    hidden_details: str = "after_due_date"
    """The full message of a failed hidden-input check (it names the input and expected value), in
    a test of its own worth nothing ("<check> (details)"): only after the due date, since a student
    could otherwise tune code to the hidden inputs upload by upload."""
    quiz_tests: str = "after_due_date"
    """Quiz questions: a per-question result before the due date would reveal the answer key."""
    leaderboard_name: str = "Test accuracy"
    """The leaderboard column: end-to-end test accuracy on the grader's hidden test images."""
    unconfined_fallback: bool = True
    """Grade --unconfined when the kernel cannot confine (probe). Gradescope runs each submission
    in its own throw-away container, so what student code could then read is the autograder's
    own files (answer key, checks) in that container; results.json is written after grading."""
    timeout_seconds: float = config.LIMITS.submission_seconds
    """The grader's budget for one submission (Gradescope's own limit must be larger: README)."""
    student: str = "submission"
    """The student id used inside the container (Gradescope knows who it is)."""


SETTINGS = Settings()

MAX_UNZIPPED_BYTES = 64 * 1024**2
"""Uploads are notebooks; a zip that expands beyond this is refused (zip bombs)."""


# ---------------------------------------------------------------------------------------------
# Building autograder.zip
# ---------------------------------------------------------------------------------------------
COURSE_FILES = ("pyproject.toml", "requirements.lock", "README.md", "scripts/bootstrap.sh")
ASSIGNMENT_FILE = "assignment"
"""A bundle's top-level file naming the assignment it grades (build --assignment); run_autograder
passes it to ``gradescope run --assignment``."""
COURSE_TREES = ("autograder", "release")
DATA_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def cpu_requirements(lock_text: str) -> str:
    """requirements.lock for a machine without a GPU: torch's CPU-only build, no CUDA packages.

    The default Linux torch wheel pulls ~3 GB of nvidia-* wheels; PyTorch's CPU index has the same
    versions tagged ``+cpu`` without them (setup.sh installs from it with PyPI as the extra index).
    """
    lines = ["# Generated by `python -m autograder gradescope build` from requirements.lock:",
             "# torch/torchvision pinned to PyTorch's CPU-only build, CUDA packages dropped."]  # fmt: skip
    skip = False
    for line in lock_text.splitlines():
        name = line.split("==", 1)[0].strip().lower()
        if line and not line[0].isspace() and not line.startswith("#"):
            skip = name.startswith(("nvidia-", "cuda-", "triton"))
            if not skip and name in ("torch", "torchvision") and "+" not in line:
                line = line.rstrip() + "+cpu"
        if not skip:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _course_files(root: Path):
    for name in COURSE_FILES:
        yield root / name, f"course/{name}"
    for tree in COURSE_TREES:
        for path in sorted((root / tree).rglob("*")):
            rel = path.relative_to(root)
            if path.is_file() and not any(
                p in ("__pycache__", ".ipynb_checkpoints", ".pytest_cache") for p in rel.parts
            ):
                yield path, f"course/{rel.as_posix()}"


def build_zip(out: Path, data: Path | None = None, root: Path = config.COURSE_ROOT,
              assignment: str | None = None) -> Path:  # fmt: skip
    """Write autograder.zip: setup.sh, run_autograder, course/ (grader, release), data/ if given,
    and ASSIGNMENT_FILE when it grades only `assignment`'s unit."""
    if assignment is not None:
        units.get(assignment)  # KeyError for an assignment no unit grades
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def add(zf, name, src=None, text=None, mode=0o644):
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # byte-stable bundles
        info.external_attr = (stat.S_IFREG | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, Path(src).read_bytes() if src is not None else text.encode())

    with zipfile.ZipFile(out, "w") as zf:
        add(zf, "setup.sh", ASSETS / "setup.sh", mode=0o755)
        add(zf, "run_autograder", ASSETS / "run_autograder", mode=0o755)
        for src, name in _course_files(Path(root)):
            add(zf, name, src)
        lock = (Path(root) / "requirements.lock").read_text()
        add(zf, "course/requirements-cpu.lock", text=cpu_requirements(lock))
        if assignment is not None:
            add(zf, ASSIGNMENT_FILE, text=assignment + "\n")
        if data is not None:
            for name in DATA_FILES:
                src = Path(data) / name
                if not src.is_file():
                    src = Path(data) / "FashionMNIST" / "raw" / name
                if not src.is_file():
                    raise FileNotFoundError(f"{data}: {name} missing (need the four .gz files)")
                add(zf, f"data/{name}", src)
    return out


# ---------------------------------------------------------------------------------------------
# Staging an upload
# ---------------------------------------------------------------------------------------------
def _notebooks_in(folder: Path, unzip_to: Path, notes: list[str]) -> list[Path]:
    """Every .ipynb under `folder`, also those inside .zip files (extracted into `unzip_to`)."""
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(p.startswith(".") or p == "__MACOSX" for p in rel.parts) or not path.is_file():
            continue
        if path.suffix == ".ipynb":
            found.append(path)
        elif path.suffix.lower() == ".zip":
            target = unzip_to / f"zip{len(list(unzip_to.glob('zip*')))}"
            try:
                with zipfile.ZipFile(path) as zf:
                    members = [m for m in zf.infolist() if m.filename.endswith(".ipynb")]
                    if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                        notes.append(f"{rel}: too large once unzipped; ignored")
                        continue
                    for i, m in enumerate(members):
                        parts = Path(m.filename).parts
                        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
                            continue
                        dest = target / str(i) / Path(m.filename).name  # no path from the zip
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        dest.write_bytes(zf.read(m))
                        found.append(dest)
            except zipfile.BadZipFile:
                notes.append(f"{rel}: not a readable zip file; ignored")
    return found


def _language(path: Path) -> str:
    """The language of a notebook's edition, from its softmax_course metadata (else English)."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, UnicodeDecodeError, AttributeError):
        return "en"
    edition = (meta.get("softmax_course") or {}).get("edition") if isinstance(meta, dict) else None
    return edition if edition in config.EDITIONS.values() else "en"


def assignment_of(books: list[Path], among: list[str] | None = None) -> tuple[str, list[str]]:
    """(the assignment `books` were handed in for, notes): among the registered assignments (or
    `among`), those of the unit whose notebooks the most of them are named as (its graded notebook
    first; ties and unknown names: the first registered), then its first edition in the language
    of one of them (English first among both)."""
    among = list(among or config.EDITIONS)
    names = {p.name for p in books}

    def named(assignment: str) -> tuple[bool, int]:
        unit = units.get(assignment)
        return unit.main_notebook in names, len(names & set(unit.notebooks))

    unit = units.get(max(among, key=named))  # max keeps the first of equals
    editions = [a for a in among if units.get(a) is unit]
    languages = {_language(p) for p in books}
    spoken = [a for a in editions if config.EDITIONS[a] in languages]
    assignment = next((a for a in spoken if config.EDITIONS[a] == "en"), None)
    assignment = assignment or (spoken or editions)[0]
    notes = []
    if len(languages) > 1:
        notes.append(f"notebooks of more than one edition uploaded; graded as {assignment}")
    return assignment, notes


def stage(submission: Path, work: Path, student: str = SETTINGS.student,
          among: list[str] | None = None):  # fmt: skip
    """Copy the upload's notebooks into work/class/<student>/<assignment>/ (the assignment
    `assignment_of` says, among `among`); (folder or None, notes)."""
    notes: list[str] = []
    unzip = work / "unzipped"
    unzip.mkdir(parents=True, exist_ok=True)
    books = _notebooks_in(Path(submission), unzip, notes) if Path(submission).is_dir() else []
    if not books:
        return None, notes
    assignment, told = assignment_of(books, among)
    notes += told
    folder = work / "class" / student / assignment
    folder.mkdir(parents=True)
    for path in books:
        dest = folder / path.name
        if dest.exists():
            notes.append(f"two notebooks named {path.name}; the first one found is graded")
            continue
        shutil.copyfile(path, dest)
    return folder, notes


# ---------------------------------------------------------------------------------------------
# Grading and results.json
# ---------------------------------------------------------------------------------------------
def _peak_memory(pid: int, stop: threading.Event, peak: list[int]) -> None:
    """Poll the resident memory of process `pid` and all its descendants; keep the peak sum."""
    import psutil

    try:
        top = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.is_set():
        total = 0
        try:
            for proc in [top, *top.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            break
        peak[0] = max(peak[0], total)
        stop.wait(0.2)


def grade_folder(folder: Path, out: Path, settings: Settings, unconfined: bool, device="cpu"):
    """Run ``python -m autograder grade`` on one staged student; (returncode, log, peak bytes)."""
    cmd = [sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(out),
           "--device", device, "--no-report", "--timeout", str(settings.timeout_seconds)]  # fmt: skip
    if unconfined:
        cmd.append("--unconfined")
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        cwd=config.COURSE_ROOT,
    )  # fmt: skip
    stop, peak = threading.Event(), [0]
    poller = threading.Thread(target=_peak_memory, args=(proc.pid, stop, peak), daemon=True)
    poller.start()
    log, _ = proc.communicate()
    stop.set()
    poller.join()
    return proc.returncode, log, peak[0]


def test_visibility(check_id: str, settings: Settings = SETTINGS,
                    public: frozenset[str] | None = None) -> str:  # fmt: skip
    """The Gradescope visibility of one check's test (`public`: the unit's public checks, by
    default those of config.ASSIGNMENT's unit)."""
    if check_id.startswith("quiz."):
        return settings.quiz_tests
    public = units.get().registry.public if public is None else public
    return settings.public_tests if check_id in public else settings.hidden_tests


def _redacted_output(check: dict, lang: str | None, unit: units.Unit | None = None) -> str:
    """A check's output as a student may see it before the due date (selfcheck.redact's rule, for
    the public checks of `unit`)."""
    from autograder import i18n
    from autograder.checks.outcome import CheckResult
    from autograder.selfcheck import redact

    with i18n.use(lang):
        res = redact(CheckResult.from_dict(check), unit)
    if res.passed:
        return ""
    return res.message if res.status in ("passed", "failed") else f"[{res.status}] {res.message}"


def to_gradescope(graded: dict, settings: Settings = SETTINGS) -> dict:
    """Our results.json (exports.gradescope) -> Gradescope's, with visibility and leaderboard.

    Every check is a test shown with its name, status, score and hint; a hidden-input check's
    output is redacted, its full message kept in a "(details)" test worth nothing, shown per
    settings.hidden_details. Quiz questions are shown per settings.quiz_tests (their results
    reveal the key). Tests are numbered and tagged by the unit's columns (its graded functions,
    then the quiz); the leaderboard shows the test accuracy of its first accuracy check."""
    info = graded.get("extra_data", {}).get("info") or {}
    unit = units.get(info.get("assignment"))  # the edition graded; older results: the default
    public = unit.registry.public
    tests, numbers = [], {}
    functions = list(unit.columns)
    headline = unit.accuracy_checks[:1]
    accuracy = 0.0
    lang = info.get("lang")
    for test, check in zip(graded["tests"], graded["extra_data"]["checks"], strict=True):
        cid = check["check_id"]
        function = cid.split(".", 1)[0]
        group = functions.index(function) + 1 if function in functions else len(functions) + 1
        numbers[group] = numbers.get(group, 0) + 1
        hidden = function != "quiz" and cid not in public
        entry = {
            **test,
            "number": f"{group}.{numbers[group]}",
            "tags": [function],
            "visibility": test_visibility(cid, settings, public),
        }  # fmt: skip
        if hidden:
            entry["output"] = _redacted_output(check, lang, unit)
        tests.append(entry)
        if hidden and test.get("output") and test["output"] != entry["output"]:
            tests.append({
                "name": f"{cid} (details)",
                "number": f"{group}.{numbers[group]}.1",
                "score": 0.0,
                "max_score": 0.0,
                "status": test["status"],
                "output": test["output"],
                "tags": [function],
                "visibility": settings.hidden_details,
            })  # fmt: skip
        if cid in headline:
            accuracy = float(check.get("details", {}).get("test_accuracy") or 0.0)
    lines = [graded.get("output", "")]
    for function in functions:
        got = sum(t["score"] for t in tests if t["tags"] == [function])
        most = sum(t["max_score"] for t in tests if t["tags"] == [function])
        lines.append(f"{function}: {got:g}/{most:g}")
    if headline:
        lines.append(f"Test accuracy measured by the grader (hidden test images): {accuracy:.4f}")
    board = {"name": settings.leaderboard_name, "value": round(accuracy, 4), "order": "desc"}
    return {
        "score": graded["score"],
        "output": "\n".join(line for line in lines if line),
        "visibility": settings.visibility,
        "stdout_visibility": settings.stdout_visibility,
        "tests": tests,
        "leaderboard": [board] if headline else [],
        "extra_data": graded.get("extra_data", {}),
    }


def _failure(output: str, settings: Settings) -> dict:
    return {"score": 0.0, "output": output, "visibility": settings.visibility,
            "stdout_visibility": settings.stdout_visibility, "tests": [],
            "leaderboard": [{"name": settings.leaderboard_name, "value": 0.0, "order": "desc"}]}  # fmt: skip


def upload_hint(among: list[str] | None = None) -> str:
    """What to upload: the notebooks of the units of `among` (default: every registered unit)."""
    chosen = dict.fromkeys(units.get(a) for a in among or config.UNITS)
    books = [" and ".join(unit.notebooks) for unit in chosen]
    return f"Upload {', or '.join(books)} (or a .zip holding them)."


def run(root: Path = Path("/autograder"), settings: Settings = SETTINGS, stream=None,
        assignment: str | None = None) -> int:  # fmt: skip
    """Grade root/submission into root/results/results.json; 0 when graded, 1 when the grader failed.

    `root` is Gradescope's /autograder (injectable for tests). stdout is the hidden staff log.
    `assignment`: grade as that assignment's unit only (an edition of it); default: any unit.
    """
    from autograder import sandbox
    from autograder.results.store import result_dir

    stream = stream or sys.stdout
    start = time.monotonic()
    root = Path(root)
    results_path = root / "results" / "results.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    among = units.assignments_of(units.get(assignment)) if assignment else None
    with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
        work = Path(tmp)
        folder, notes = stage(root / "submission", work, settings.student, among)
        if folder is None:
            data = _failure(
                "No notebook found in your upload. " + upload_hint(among) + " " + " ".join(notes),
                settings,
            )
            rc, log, peak = 0, "nothing to grade\n", 0
        else:
            missing = sandbox.probe()["missing"]
            unconfined = bool(missing) and settings.unconfined_fallback
            if missing:
                notes.append(
                    "this machine cannot confine student code (missing: " + "; ".join(missing)
                    + ("); graded --unconfined" if unconfined else "); not graded")
                )  # fmt: skip
            rc, log, peak = grade_folder(folder, work / "grades", settings, unconfined)
            graded_path = result_dir(work / "grades", settings.student) / "results.json"
            if rc == 0 and graded_path.is_file():
                data = to_gradescope(json.loads(graded_path.read_text(encoding="utf-8")), settings)
            else:
                data = _failure(
                    "The autograder could not grade this upload (this is not your grade); "
                    "course staff have been told. Please contact them.",
                    settings,
                )
                rc = rc or 1
        if notes:
            data["output"] = "\n".join([*notes, data["output"]])
        seconds = time.monotonic() - start
        data["execution_time"] = int(round(seconds))
        data.setdefault("extra_data", {})["gradescope"] = {
            "peak_memory_bytes": peak, "seconds": round(seconds, 2), "notes": notes,
        }  # fmt: skip
        tmp_out = results_path.with_suffix(".json.partial")
        tmp_out.write_text(json.dumps(data, indent=1, allow_nan=False), encoding="utf-8")
        os.replace(tmp_out, results_path)
    print(log, file=stream)
    print(f"graded in {seconds:.1f} s, peak memory {peak / 2**20:.0f} MiB (grader, fork server and "
          f"workers together); results: {results_path}", file=stream)  # fmt: skip
    return 0 if rc == 0 else 1


def add_parser(sub) -> None:
    """The ``gradescope`` subcommand: ``build`` the bundle, ``run`` inside Gradescope."""
    g = sub.add_parser("gradescope", help="Gradescope: build autograder.zip, or grade an upload")
    gsub = g.add_subparsers(dest="gradescope_command", required=True)
    b = gsub.add_parser("build", help="write autograder.zip (setup.sh, run_autograder, course)")
    b.add_argument(
        "--out", default="autograder.zip", help="zip to write (default: ./autograder.zip)"
    )
    b.add_argument(
        "--data",
        default=os.environ.get("FASHION_MNIST_ROOT"),
        help="folder with the four Fashion-MNIST .gz files to bundle (default: FASHION_MNIST_ROOT;"
        " without it setup.sh downloads them)",
    )
    b.add_argument("--no-data", action="store_true", help="do not bundle the data")
    b.add_argument("--assignment", choices=tuple(config.EDITIONS),
                   help="grade only this assignment's unit, either edition (one bundle per "
                   "Gradescope assignment); default: whichever unit the notebooks are")  # fmt: skip
    r = gsub.add_parser("run", help="grade ROOT/submission into ROOT/results/results.json")
    r.add_argument("--root", default="/autograder", help="Gradescope's root (default /autograder)")
    r.add_argument("--assignment", choices=tuple(config.EDITIONS),
                   help="grade as this assignment's unit only (run_autograder passes the "
                   "bundle's)")  # fmt: skip


def cmd_gradescope(args) -> int:
    """Entry point of ``python -m autograder gradescope``."""
    if args.gradescope_command == "build":
        data = None if args.no_data or not args.data else Path(args.data)
        path = build_zip(Path(args.out), data=data, assignment=args.assignment)
        print(f"{path}: {path.stat().st_size / 2**20:.1f} MiB"
              + ("" if data else " (no data bundled: setup.sh downloads Fashion-MNIST)"))  # fmt: skip
        return 0
    return run(Path(args.root), assignment=args.assignment)
