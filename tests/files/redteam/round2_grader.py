"""Round 2 (issue 20, items 3, 4, 5): the grader's own handling of what a worker and a notebook send.

A worker that writes half a frame on its pipe and sleeps (the grader once blocked in recv_bytes
for ever); values no results file could hold (NaN from a correct train_ch3 that gives d2l's
Animator None for early test accuracies, a quiz answer of 1e999, a lone surrogate in an exception
message: the run stopped with exit 2, or the feedback and report stopped at that student); a
notebook with more code than the grader should parse (once 17.6 MB took 95 s and 3.8 GB); a
10 MB string result (once copied into five messages: a 105 MB results.json).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

PARTIAL_FRAME = """
import os
import struct
import time


def softmax(X):
    for name in os.listdir('/proc/self/fd'):
        try:
            if os.readlink(f'/proc/self/fd/{name}').startswith('socket:'):
                os.write(int(name), struct.pack('!i', 1000) + b'x' * 14)
        except OSError:
            pass
    time.sleep(600)
"""

HUGE_STRING = """
def softmax(X):
    return 'x' * 10_000_000
"""

SURROGATE = """
def softmax(X):
    raise RuntimeError('\\ud800 lone surrogate ' + chr(0xDFFF))
"""


def _none_early_accuracy(honest_train: str) -> str:
    """The honest train_ch3, giving the Animator None for the test accuracy of epochs 1 and 2."""
    line = "animator.add(epoch + 1, train_metrics + (test_acc,))"
    assert line in honest_train, "the honest train_ch3 changed: update this attack"
    return honest_train.replace(
        line, "animator.add(epoch + 1, train_metrics + (test_acc if epoch >= 2 else None,))"
    )


def _quiz(corpus, name: str, answers: dict) -> Path:
    """Write student `name`'s quiz notebook: the release quiz with `answers` (grade_id -> source)."""
    from autograder import config

    repo = Path(__file__).resolve().parents[3]
    nb = json.loads((repo / "release" / config.ASSIGNMENT / "quiz.ipynb").read_text())
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell["source"] = answers[gid]
    path = corpus.root / name / config.ASSIGNMENT / "quiz.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
    return path


def _huge_code(corpus, name: str) -> Path:
    """A notebook whose code cells hold just over config.NOTEBOOK_CODE_CHARS (built here, never
    stored): 500,000 assignments took the grader 95 s and 3.8 GB; this many prove the cap."""
    from autograder import config

    filler, size, i = [], 0, 0
    while size <= config.NOTEBOOK_CODE_CHARS:
        line = f"v{i} = {i}\n"
        filler.append(line)
        size, i = size + len(line), i + 1
    return corpus.notebook(name, {"softmax": corpus.honest["softmax"] + "\n" + "".join(filler)})


def add(corpus):
    """The attacks on the grader's own handling of what a worker or a notebook sends."""
    Attack = type(next(iter(corpus.cases.values())))
    corpus.write("partial_frame", PARTIAL_FRAME)
    corpus.cases["partial_frame"] = Attack(
        "hang", "writes a 4-byte header (1000) and 14 bytes on its pipe to the grader, then sleeps",
        ("crashed", "timeout"))  # fmt: skip
    corpus.write("none_test_accuracy", train=_none_early_accuracy(corpus.honest["train_ch3"]))
    corpus.cases["none_test_accuracy"] = Attack(
        "training",
        "a correct train_ch3 giving d2l's Animator None for early test accuracies "
        "(honest-but-unusual: must keep full train_ch3 marks)",
        ("passed",),
        min_points=34,
    )  # min_points: everything but the quiz it leaves blank
    corpus.write("quiz_infinite_answer")
    _quiz(corpus, "quiz_infinite_answer", {"q7": "q7_answer = 1e999"})
    corpus.cases["quiz_infinite_answer"] = Attack(
        "write", "quiz answer q7_answer = 1e999 (infinity: no JSON)", ("passed",))  # fmt: skip
    corpus.write("lone_surrogate_message", SURROGATE)
    corpus.cases["lone_surrogate_message"] = Attack(
        "write", "an exception message holding lone surrogates (no UTF-8 page can hold them)",
        ("error", "failed"))  # fmt: skip
    _huge_code(corpus, "huge_notebook_code")
    corpus.cases["huge_notebook_code"] = Attack(
        "parse", "a notebook with more code than config.NOTEBOOK_CODE_CHARS (one-line assignments)",
        ("malformed",), honest_kept=False, max_points=0)  # fmt: skip
    corpus.write("ten_mb_string_result", HUGE_STRING)
    corpus.cases["ten_mb_string_result"] = Attack(
        "write", "softmax returns a 10 MB string (once copied into five messages)",
        ("failed", "error"))  # fmt: skip
