"""GitHub Classroom: grade a student's pushed notebooks and report points per function.

The workflow student repositories get (deploy/classroom/.github/workflows/classroom.yml) runs
``python -m autograder classroom "$GITHUB_WORKSPACE"`` on a self-hosted GPU runner that holds the
course (grader, release, data) outside the student's checkout. This writes one step output per
graded function, each a base64-encoded JSON document in the format that
``classroom-resources/autograding-grading-reporter`` reads from ``<RUNNER>_RESULTS``
(``{"version": 1, "status", "max_score", "tests": [{"name", "status", "score", "message",
"line_no", "execution_time"}]}``); the reporter adds the tests' scores of every runner and
sends "Points got/max" to Classroom, so partial credit per check and per function reaches it.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
from pathlib import Path

from autograder import config
from autograder.platforms import gradescope

RUNNERS = {
    "softmax": "softmax",
    "cross_entropy": "crossentropy",
    "accuracy": "accuracy",
    "train_ch3": "trainch3",
    "quiz": "quiz",
}
"""Graded function -> the reporter's runner id (letters and digits only, as the reporter wants);
the workflow's ``runners:`` list and ``<ID>_RESULTS`` variables use these (tests check)."""

FAIL_STATUSES = ("failed", "forbidden", "missing", "malformed")
"""Check statuses the reporter shows as "fail"; the others except "passed" are "error"."""


def runner_results(checks: list[dict]) -> dict[str, dict]:
    """runner id -> the reporter's results document for that function's checks."""
    out = {}
    for function, runner in RUNNERS.items():
        mine = [c for c in checks if c["check_id"].split(".", 1)[0] == function]
        tests = []
        for c in mine:
            status = "pass" if c["status"] == "passed" else (
                "fail" if c["status"] in FAIL_STATUSES else "error")  # fmt: skip
            tests.append({
                "name": c["check_id"],
                "status": status,
                "score": c["score"],
                "message": "" if status == "pass" else f"[{c['status']}] {c['message']}"[:2000],
                "line_no": 0,
                "execution_time": "0s",
            })  # fmt: skip
        statuses = {t["status"] for t in tests}
        overall = "error" if "error" in statuses else "fail" if "fail" in statuses else "pass"
        out[runner] = {
            "version": 1,
            "status": overall,
            "max_score": sum(c["max_score"] for c in mine),
            "tests": tests,
        }
    return out


def encode(results: dict) -> str:
    """A results document as the reporter decodes it (base64 of its UTF-8 JSON)."""
    return base64.b64encode(json.dumps(results, ensure_ascii=False).encode()).decode()


def grade(path: Path, device: str = "auto", stream=None) -> tuple[int, dict[str, dict]]:
    """Grade the notebooks under `path`; (0 or 1 when the grader failed, runner id -> results)."""
    from autograder import sandbox
    from autograder.results.store import result_dir

    stream = stream or sys.stdout
    settings = gradescope.SETTINGS
    with tempfile.TemporaryDirectory(prefix="classroom-") as tmp:
        work = Path(tmp)
        folder, notes = gradescope.stage(Path(path), work, "student")
        for note in notes:
            print(f"note: {note}", file=stream)
        if folder is None:
            print(f"{path}: no notebook found (expected {config.MAIN_NOTEBOOK})", file=stream)
            from autograder.units import get as unit_of

            QUESTIONS = unit_of().quiz.QUESTIONS

            points = {**config.POINTS, **{q.check_id: config.QUIZ.points_per_question
                                          for q in QUESTIONS}}  # fmt: skip
            checks = [{"check_id": cid, "score": 0.0, "max_score": float(pts), "status": "missing",
                       "message": f"{config.MAIN_NOTEBOOK} not found in the repository"}
                      for cid, pts in points.items()]  # fmt: skip
            return 0, runner_results(checks)
        missing = sandbox.probe()["missing"]
        if missing:  # self-hosted runners are the course's own machines: no silent fallback
            print("error: this runner cannot confine student code (missing: "
                  + "; ".join(missing) + "); set SOFTMAX_UNCONFINED=1 on the runner to grade "
                  "anyway", file=stream)  # fmt: skip
            if os.environ.get("SOFTMAX_UNCONFINED") != "1":
                return 1, {}
        rc, log, _ = gradescope.grade_folder(
            folder, work / "grades", settings, bool(missing), device
        )
        print(log, file=stream)
        graded = result_dir(work / "grades", "student") / "results.json"
        if rc != 0 or not graded.is_file():
            return 1, {}
        checks = json.loads(graded.read_text(encoding="utf-8"))["extra_data"]["checks"]
    return 0, runner_results(checks)


def add_parser(sub) -> None:
    """The ``classroom`` subcommand."""
    c = sub.add_parser(
        "classroom",
        help="GitHub Classroom: grade a repository's notebooks, one output per function",
    )
    c.add_argument("path", help="the student's repository checkout (notebooks anywhere in it)")
    c.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    c.add_argument(
        "--github-output",
        default=os.environ.get("GITHUB_OUTPUT"),
        help="file to append step outputs to (default: $GITHUB_OUTPUT)",
    )


def cmd_classroom(args) -> int:
    """Entry point of ``python -m autograder classroom``."""
    rc, results = grade(Path(args.path), args.device)
    if rc:
        print("error: the grader failed; no points reported", file=sys.stderr)
        return rc
    got = most = 0.0
    for runner, res in results.items():
        score = sum(t["score"] for t in res["tests"])
        got, most = got + score, most + res["max_score"]
        print(f"{runner:14} {score:g}/{res['max_score']:g}  {res['status']}")
    print(f"{'total':14} {got:g}/{most:g}")
    if args.github_output:
        with open(args.github_output, "a", encoding="utf-8") as fh:
            for runner, res in results.items():
                fh.write(f"{runner}={encode(res)}\n")
    return 0
