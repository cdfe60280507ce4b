"""The nbgrader preprocessors (autograder/platforms/nbgrader.py), in process: verdicts as nbgrader
reads them, the refusal where nothing can be confined, the opt-in that says so, export rows."""

from __future__ import annotations

import json

import pytest
from nbformat import NotebookNode, from_dict
from nbgrader.utils import determine_grade

from autograder import config, sandbox
from autograder.checks.outcome import CheckResult
from autograder.platforms import nbgrader as path
from autograder.units.softmax_regression import unit as softmax_unit

RELEASE_MAIN = config.release_dir() / softmax_unit.MAIN_NOTEBOOK


def test_cell_of_each_check_is_its_test_cell():
    results = [
        CheckResult("softmax.values", 2.0, 2.0, "passed"),
        CheckResult("softmax.stability", 0.0, 2.0, "failed", "Got: nan"),
        CheckResult("quiz.q7", 0.5, 1.0, "failed", "close"),
    ]
    verdicts = path.cell_verdicts(results)
    assert verdicts["test_softmax_values"] == (2.0, 2.0, [])
    assert verdicts["test_softmax_stability"] == (
        0.0,
        2.0,
        ["[softmax.stability] failed: Got: nan"],
    )
    assert verdicts["test_q7"][:2] == (0.5, 1.0)


@pytest.mark.parametrize("score", [0.0, 0.5, 1.5, 2.0])
def test_nbgrader_reads_each_verdict_as_the_score_given(score):
    cell = from_dict(
        {"cell_type": "code", "source": "", "execution_count": None,
         "metadata": {"nbgrader": {"grade": True, "solution": False, "points": 2, "grade_id": "t"}},
         "outputs": path.verdict_outputs(score, 2.0, ["[softmax.values] failed: Got: 1"])}
    )  # fmt: skip
    assert determine_grade(cell) == (score, 2.0)
    if score < 2.0:  # the student reads why
        assert "Got: 1" in json.dumps(cell.outputs)


def _blank_resources(tmp_path):
    return {
        "nbgrader": {"assignment": config.ASSIGNMENT, "notebook": "softmax_regression",
                     "student": "s", "db_url": "sqlite://"},
        "metadata": {"path": str(tmp_path)},
    }  # fmt: skip


def test_refused_where_the_kernel_cannot_confine(monkeypatch):
    monkeypatch.delenv(path.UNCONFINED_ENV, raising=False)
    monkeypatch.setattr(sandbox, "probe", lambda: {"landlock_abi": 0, "seccomp": True,
                                                   "missing": ["Landlock (test)"]})  # fmt: skip
    with pytest.raises(path.NbgraderPathError) as err:
        path.check_ready()
    assert "Landlock (test)" in str(err.value) and path.UNCONFINED_ENV in str(err.value)
    sandbox.allow_unconfined(False)


def test_unconfined_only_on_purpose_and_every_notebook_says_so(monkeypatch, tmp_path):
    """With SOFTMAX_UNCONFINED=1 the blank release is graded (0 points) and says it was unconfined."""
    monkeypatch.setenv(path.UNCONFINED_ENV, "1")
    monkeypatch.setattr(sandbox, "probe", lambda: {"landlock_abi": 0, "seccomp": True,
                                                   "missing": ["Landlock (test)"]})  # fmt: skip
    nb = from_dict(json.loads(RELEASE_MAIN.read_text()))
    try:
        step = path.ConfinedGrade(display=False, device="cpu")
        graded, _ = step.preprocess(nb, _blank_resources(tmp_path))
    finally:
        sandbox.allow_unconfined(False)
    assert "without kernel confinement" in graded.cells[0].source
    scores = [determine_grade(c) for c in graded.cells
              if c.get("metadata", {}).get("nbgrader", {}).get("grade") and c.cell_type == "code"]  # fmt: skip
    assert scores and all(got == 0 for got, _ in scores)
    assert sum(top for _, top in scores) == float(sum(softmax_unit.POINTS.values()))


def test_a_test_cell_without_a_check_earns_nothing(tmp_path):
    """A graded cell the grader has no check for (a renamed grade_id) is 0, with a reason."""
    nb = from_dict(json.loads(RELEASE_MAIN.read_text()))
    extra = NotebookNode(
        cell_type="code", source="", outputs=[], execution_count=None, id="test-made-up",
        metadata={"nbgrader": {"grade": True, "solution": False, "points": 3,
                               "grade_id": "test_made_up", "locked": True}},
    )  # fmt: skip
    nb.cells.append(extra)
    graded, _ = path.ConfinedGrade(display=False, device="cpu").preprocess(
        nb, _blank_resources(tmp_path)
    )
    assert determine_grade(graded.cells[-1]) == (0, 3.0)
    assert "no check" in json.dumps(graded.cells[-1].outputs)


@pytest.mark.parametrize(
    ("assignment", "submitted", "wanted"),
    [
        ("softmax_regression", {"softmax_regression"}, True),
        ("softmax_regression_zh", {"softmax_regression"}, False),
        ("softmax_regression_zh", {"softmax_regression_zh"}, True),
        ("softmax_regression", {"softmax_regression_zh"}, False),
        ("softmax_regression", set(), True),  # nothing handed in: one row of 0, never lost
        ("softmax_regression_zh", set(), False),
        ("other_assignment", set(), True),  # not a unit's edition: nbgrader's rows
    ],
)
def test_export_rows_follow_the_edition_handed_in(assignment, submitted, wanted):
    known = {*config.EDITIONS, "other_assignment"}
    assert path._row_wanted(assignment, dict.fromkeys(submitted), known) is wanted


def test_an_assignment_of_no_unit_is_refused_not_passed(tmp_path):
    """Its test cells, never run, would otherwise keep no output: full points in nbgrader."""
    nb = from_dict(json.loads(RELEASE_MAIN.read_text()))
    resources = _blank_resources(tmp_path)
    resources["nbgrader"]["assignment"] = "homework_2"
    with pytest.raises(path.NbgraderPathError, match="homework_2"):
        path.ConfinedGrade(display=False, device="cpu").preprocess(nb, resources)


def test_each_notebook_is_graded_as_its_units(monkeypatch, tmp_path):
    """Which notebook is the quiz and which the graded one, the assignment's unit says (#22)."""
    import types

    from autograder import units
    from autograder.grading import grader

    graded = []
    quiz = types.SimpleNamespace(grade_quiz=lambda p: graded.append(("quiz", p.name)) or ["q"])
    stub = types.SimpleNamespace(main_notebook="concise.ipynb", quiz_notebook="concise_quiz.ipynb",
                                 quiz=quiz)  # fmt: skip
    monkeypatch.setattr(units, "get", lambda assignment=None: stub)
    monkeypatch.setattr(grader, "grade_function_checks",
                        lambda p, **kw: (graded.append(("main", p.name)) or ["m"], {}))  # fmt: skip
    nb = from_dict(json.loads(RELEASE_MAIN.read_text()))
    assert path.grade_notebook(nb, "concise", "concise_quiz", "cpu") == ["q"]
    assert path.grade_notebook(nb, "concise", "concise", "cpu") == ["m"]
    assert path.grade_notebook(nb, "concise", "quiz", "cpu") == []  # not this unit's notebook
    assert graded == [("quiz", "concise_quiz.ipynb"), ("main", "concise.ipynb")]


def _course_of(tmp_path, students: dict[str, bool]) -> None:
    """submitted/<student>/softmax_regression/: the blank release, with torch.optim where True."""
    for student, uses_optim in students.items():
        nb = json.loads(RELEASE_MAIN.read_text())
        if uses_optim:  # d2l's concise updater, in a cell of the student's own (not a test cell)
            nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [],
                                "execution_count": None,
                                "source": "trainer = torch.optim.SGD([W, b], lr=0.1)\n"})  # fmt: skip
        folder = tmp_path / "submitted" / student / config.ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / softmax_unit.MAIN_NOTEBOOK).write_text(json.dumps(nb))


@pytest.fixture
def fork_server_starts(monkeypatch) -> list[dict]:
    """The arguments of each forkserver.start call of check_ready (nothing is started), with the
    confinement and data checks passed."""
    from autograder.grading import batch
    from autograder.sandbox import forkserver

    started = []
    monkeypatch.setattr(forkserver, "started", lambda: bool(started))
    monkeypatch.setattr(forkserver, "start", lambda **kw: started.append(kw))
    monkeypatch.setattr(batch, "check_confinement", lambda: {"confined": True})
    monkeypatch.setattr(batch, "check_data", lambda assignments: None)
    return started


def _step(course, student_option=""):
    """The preprocessor as nbgrader makes it for a course root (and --student, if given)."""
    from traitlets.config import Config

    cfg = Config()
    cfg.CourseDirectory.root = str(course)
    if student_option:
        cfg.CourseDirectory.student_id = student_option
    return path.ConfinedGrade(config=cfg, display=False, device="cpu")


@pytest.mark.parametrize(("student_option", "listed", "preloads_optim"), [
    ("", ["amy", "bob"], True), ("amy", ["amy"], False), ("b*", ["bob"], True)
])  # fmt: skip
def test_the_fork_server_preloads_only_what_the_class_to_grade_imports(
    fork_server_starts, tmp_path, student_option, listed, preloads_optim
):
    """As `python -m autograder grade`: torch.optim's first use (torch._dynamo, about 1.5 s of the
    fork server's start) is preloaded only when a notebook that this run grades uses it (nbgrader's
    submitted/ folder, narrowed by --student)."""
    _course_of(tmp_path, {"amy": False, "bob": True})
    step = _step(tmp_path, student_option)
    notebooks = step._class_notebooks(config.ASSIGNMENT)
    assert sorted(p.parent.parent.name for p in notebooks) == listed
    path.check_ready(config.ASSIGNMENT, notebooks)
    (call,) = fork_server_starts
    assert call["preload"] == (["autograder.sandbox.preload_optim"] if preloads_optim else [])
    # once started, a later notebook neither lists the class again nor changes the preload
    assert step._class_notebooks(config.ASSIGNMENT) is None


def test_an_unlisted_class_preloads_everything(fork_server_starts, tmp_path):
    """No submitted/ folder where nbgrader's config says (a layout it cannot list): the fork
    server preloads all of forkserver.PRELOAD, as before, rather than guess."""
    assert _step(tmp_path)._class_notebooks(config.ASSIGNMENT) is None
    path.check_ready(config.ASSIGNMENT, None)
    assert [call["preload"] for call in fork_server_starts] == [None]
