"""Submissions (autograder/submissions/submission.py): the grading policy's hash covers every
file of every subpackage (a rerun regrades after any change); a class of any registered
assignment is found."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from helpers.fake_units import fake_unit

import autograder
from autograder import config
from autograder.sandbox import policy
from autograder.submissions import submission
from autograder.units.softmax_regression import unit as softmax_unit


def test_the_sandbox_hides_the_whole_package():
    assert os.path.realpath(policy.PACKAGE_DIR) == os.path.realpath(
        os.path.dirname(autograder.__file__)
    )


def test_policy_hash_covers_nested_subpackages(tmp_path, monkeypatch):
    copy = tmp_path / "autograder"
    shutil.copytree(submission.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(submission, "PACKAGE_DIR", copy)
    hashes = []
    mo = "i18n/locale/zh_CN/LC_MESSAGES/autograder.mo"
    for changed in (None, "units/softmax_regression/answer_key.json", "sandbox/policy.py", mo):
        if changed:
            with open(copy / changed, "ab") as fh:
                fh.write(b"\n")
        submission.policy_hash.cache_clear()
        hashes.append(submission.policy_hash())
    submission.policy_hash.cache_clear()
    assert len(set(hashes)) == 4


# --- a class of any registered assignment (#22) ----------------------------------------------------


@pytest.fixture
def concise(tmp_path, monkeypatch):
    """A throw-away unit graded under "fake_concise": main notebook concise.ipynb, no quiz, its
    release in a temporary course; yields the release notebook."""
    fake_unit(monkeypatch, "fake_concise", MAIN_NOTEBOOK="concise.ipynb", GRADED_FUNCTIONS=("net",))
    monkeypatch.setattr(config, "COURSE_ROOT", tmp_path / "course")
    cell = {"cell_type": "code", "source": "net = None", "outputs": [], "execution_count": None,
            "metadata": {"nbgrader": {"grade_id": "net", "solution": True}}}  # fmt: skip
    release = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    _write(tmp_path / "course" / "release" / "fake_concise" / "concise.ipynb", release)
    submission.release_notebook.cache_clear()
    submission.release_quiz.cache_clear()
    yield release
    submission.release_notebook.cache_clear()
    submission.release_quiz.cache_clear()


def _write(path, nb):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))
    return path


def test_a_class_of_another_unit_is_found_by_its_notebook_and_has_no_quiz(tmp_path, concise):
    """nbgrader's layout, a renamed notebook, a loose folder and a file are each the assignment's
    whose main notebook they hold; without a quiz the submission has none and still fingerprints."""
    root = tmp_path / "submitted"
    _write(root / "alice" / "fake_concise" / "concise.ipynb", concise)
    _write(root / "bob" / "fake_concise" / "concise (1).ipynb", concise)
    subs = submission.find_submissions(root)
    assert [(s.student, s.assignment, s.main.name, s.quiz, s.problem) for s in subs] == [
        ("alice", "fake_concise", "concise.ipynb", None, None),
        ("bob", "fake_concise", "concise (1).ipynb", None, None),
    ]
    assert "concise (1).ipynb was graded as concise.ipynb" in subs[1].warnings[0]
    assert len(subs[0].fingerprint()) == 24
    loose = _write(tmp_path / "carol" / "concise.ipynb", concise)
    for path in (loose.parent, loose):
        (sub,) = submission.find_submissions(path)
        assert (sub.assignment, sub.main, sub.quiz) == ("fake_concise", loose, None), path


def test_a_student_with_two_assignments(tmp_path, concise):
    """find_submissions(assignment=...) takes the student's folder of that assignment's unit; by
    default the first registered one, as before; assignment_folders lists both."""
    student = tmp_path / "submitted" / "dana"
    (student / config.ASSIGNMENT).mkdir(parents=True)
    _write(student / "fake_concise" / "concise.ipynb", concise)
    (sub,) = submission.find_submissions(student.parent, assignment="fake_concise")
    assert (sub.student, sub.assignment, sub.main.name) == ("dana", "fake_concise", "concise.ipynb")
    (sub,) = submission.find_submissions(student.parent)
    assert sub.assignment == config.ASSIGNMENT and sub.folder == student / config.ASSIGNMENT
    assert submission.assignment_folders(student) == [
        student / config.ASSIGNMENT,
        student / "fake_concise",
    ]


def test_no_submissions_names_the_layout_of_every_registered_assignment(tmp_path, concise):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError) as err:
        submission.find_submissions(tmp_path / "empty")
    assert f"<student>/{config.ASSIGNMENT}/{softmax_unit.MAIN_NOTEBOOK}" in str(err.value)
    assert "<student>/fake_concise/concise.ipynb" in str(err.value)
    with pytest.raises(FileNotFoundError, match="expected <student>/fake_concise/concise.ipynb\\)"):
        submission.find_submissions(tmp_path / "empty", assignment="fake_concise")
