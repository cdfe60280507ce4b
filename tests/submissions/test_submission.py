"""The grading policy's hash covers every file of every subpackage (a rerun regrades after any change)."""

from __future__ import annotations

import os
import shutil

import autograder
from autograder.sandbox import policy
from autograder.submissions import submission


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
