"""Red-team corpus: hostile and broken submissions built from the release notebook, with expected outcomes.

``build(root, repo, out_dir)`` writes ``root/<case>/softmax_regression/softmax_regression.ipynb``
for every case and returns ``{case: Expect}``. Nothing large is kept in git: every notebook is
made here, in a temporary folder, from the release notebook and alice_full's honest solutions.

Most hostile cases put the attack in ``softmax`` (or the whole file) and an honest ``accuracy``
beside it, so the honest part must still earn its 4 points; the other functions are left blank
(``raise NotImplementedError``) to keep the corpus fast.
"""

from __future__ import annotations

import copy
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ASSIGNMENT = "softmax_regression"
MAIN = "softmax_regression.ipynb"
ACCURACY_POINTS = 4.0


@dataclass
class Expect:
    """Expected outcome of one case."""

    category: str
    what: str
    status: str
    """Submission status (grader.STATUS_PRIORITY order, else ok)."""
    score: float | None
    """Exact total score, or None when only `max_score_vs` bounds it."""
    softmax: tuple[str, ...] = ()
    """Allowed statuses of every softmax check ((): not asserted)."""
    max_score: float = 44.0
    le_control: bool = False
    """Tampering: softmax may earn no more than the same wrong softmax without the tampering."""
    extra: dict = field(default_factory=dict)


def _cells_by_id(nb):
    return {
        c["metadata"]["nbgrader"]["grade_id"]: c
        for c in nb["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }


def _src(cell):
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def _softmax(body: str, header: str = "", decorator: str = "", params: str = "X") -> str:
    return (
        textwrap.dedent(header).strip()
        + "\n\n"
        + (decorator + "\n" if decorator else "")
        + f"def softmax({params}):\n"
        + textwrap.indent(textwrap.dedent(body).strip(), "    ")
        + "\n"
    )


def build(root: Path, repo: Path, out_dir: Path) -> dict[str, Expect]:
    """Write the corpus under `root`; return the expected outcome of each case."""
    root, repo = Path(root), Path(repo)
    release = json.loads((repo / "release" / ASSIGNMENT / MAIN).read_text())
    alice_nb = json.loads(
        (repo / "examples" / "submitted" / "alice_full" / ASSIGNMENT / MAIN).read_text()
    )
    honest = {gid: _src(c) for gid, c in _cells_by_id(alice_nb).items()}
    honest_softmax = honest["softmax"]
    key = repo / "autograder" / "units" / "softmax_regression" / "answer_key.json"
    cases: dict[str, Expect] = {}

    def notebook(softmax=None, accuracy=True, edit=None):
        nb = copy.deepcopy(release)
        ids = _cells_by_id(nb)
        if softmax is not None:
            ids["softmax"]["source"] = softmax
        if accuracy:
            ids["accuracy"]["source"] = honest["accuracy"]
        if edit:
            edit(nb, _cells_by_id(nb))
        return nb

    def write(name, content):
        path = root / name / ASSIGNMENT / MAIN
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text(json.dumps(content, indent=1))
        return path

    def hostile(name, category, what, softmax_src, status, softmax_status, score=ACCURACY_POINTS):
        write(name, notebook(softmax_src))
        cases[name] = Expect(category, what, status, score, tuple(softmax_status))

    def tamper(name, what, body, header="import torch", status=None, softmax_status=None):
        write(name, notebook(_softmax(body + "\nreturn X", header)))
        cases[name] = Expect(
            "tampering",
            what,
            status or "ok",
            None,
            tuple(softmax_status or ("failed", "error", "forbidden", "passed")),
            le_control=True,
        )

    # -- control: the same wrong softmax (identity) as the tampering cases, without tampering ---
    write("control_identity", notebook(_softmax("return X")))
    cases["control_identity"] = Expect(
        "control", "softmax returns X unchanged (wrong, honestly)", "ok", None
    )

    # -- hangs ---------------------------------------------------------------------------------
    hostile("hang_loop", "hang", "infinite loop inside softmax",
            _softmax("while True:\n    pass"), "timeout", ["timeout"])  # fmt: skip
    write(
        "hang_sleep_toplevel",
        notebook(honest_softmax + "\n\nimport time\ntime.sleep(10**6)\n"),
    )
    cases["hang_sleep_toplevel"] = Expect(
        "hang", "time.sleep(10**6) at top level (dropped: not run)", "ok", 10 + ACCURACY_POINTS,
        ("passed",),
    )  # fmt: skip
    hostile("hang_sleep_default_arg", "hang", "time.sleep(10**6) in a default argument (runs at definition)",
            _softmax("return X", "import time", params="X, _=time.sleep(10**6)"),
            "timeout", ["timeout"], score=0.0)  # fmt: skip
    hostile("hang_sleep_decorator", "hang", "time.sleep(10**6) in a decorator (runs at definition)",
            _softmax("return X", "import time", decorator="@(lambda f: (time.sleep(10**6), f)[1])"),
            "timeout", ["timeout"], score=0.0)  # fmt: skip
    hostile("hang_ignore_signals", "hang", "ignores SIGINT/SIGTERM/SIGALRM and loops",
            _softmax("""
                for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(s, signal.SIG_IGN)
                while True:
                    pass""", "import signal"), "timeout", ["timeout"])  # fmt: skip
    hostile("hog_memory_50gb", "hang", "allocates 50 GB inside softmax (RLIMIT_AS refuses it)",
            _softmax("big = torch.ones(50 * 1024**3, dtype=torch.uint8)\nreturn X", "import torch"),
            "memory", ["memory", "error", "failed"])  # fmt: skip
    hostile("fork_bomb", "hang", "fork bomb (os.fork refused)",
            _softmax("while True:\n    os.fork()", "import os"), "forbidden", ["forbidden"])  # fmt: skip
    write(
        "stdout_flood",
        notebook(
            _softmax(
                "global CALLS\nCALLS += 1\n"
                "sys.stdout.write('x' * (100 if CALLS == 1 else 1) * 1024**2)\nsys.stdout.flush()\n"
                "E = torch.exp(X - X.max(dim=1, keepdim=True).values)\n"
                "return E / E.sum(1, keepdim=True)",
                "import sys\nimport torch\nCALLS = 0",
            )
        ),
    )
    cases["stdout_flood"] = Expect(
        "hang", "writes 100 MB to stdout, then 1 MB (more than a pipe holds) on every call (stdout is /dev/null), otherwise correct",
        "ok", 10 + ACCURACY_POINTS, ("passed",),
    )  # fmt: skip
    hostile("background_process", "hang", "starts a background process (refused)",
            _softmax("subprocess.Popen(['sleep', '1000'])\nreturn X", "import subprocess"),
            "forbidden", ["forbidden"])  # fmt: skip
    hostile("fill_disk", "hang", "writes a 1 GB file in its working folder (nothing can be created in scratch)",
            _softmax("""
                with open('filler.bin', 'wb') as fh:
                    for _ in range(1024):
                        fh.write(bytes(1024**2))
                return X""", "import torch"), "forbidden", ["forbidden"])  # fmt: skip

    # -- escapes -------------------------------------------------------------------------------
    hostile("exit_sys_exit", "escape", "sys.exit(0) inside softmax",
            _softmax("sys.exit(0)", "import sys"), "ok", ["error", "failed"])  # fmt: skip
    hostile("exit_os_exit", "escape", "os._exit(0) inside softmax (the worker dies)",
            _softmax("os._exit(0)", "import os"), "crashed", ["crashed"])  # fmt: skip
    hostile("raise_keyboard_interrupt", "escape", "raises KeyboardInterrupt",
            _softmax("raise KeyboardInterrupt"), "ok", ["error", "failed"])  # fmt: skip
    hostile("raise_system_exit", "escape", "raises SystemExit",
            _softmax("raise SystemExit(0)"), "ok", ["error", "failed"])  # fmt: skip
    hostile("signal_alarm", "escape", "signal.alarm(1) then spins: SIGALRM kills the worker",
            _softmax("signal.alarm(1)\nwhile True:\n    pass", "import signal"),
            "crashed", ["crashed", "timeout"])  # fmt: skip

    # -- tampering -----------------------------------------------------------------------------
    tamper(
        "patch_allclose",
        "torch.allclose = always True",
        "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True",
    )
    tamper(
        "patch_isfinite",
        "torch.isfinite = always True",
        "torch.isfinite = lambda t: torch.ones_like(t, dtype=torch.bool)",
    )
    tamper("patch_tensor_eq", "torch.Tensor.__eq__ = always True (harmless: judged in the grader)",
           "torch.Tensor.__eq__ = lambda a, b: True")  # fmt: skip
    tamper("patch_numpy", "numpy.allclose / numpy.testing patched",
           "numpy.allclose = lambda *a, **k: True\nnumpy.testing.assert_allclose = lambda *a, **k: None",
           header="import numpy\nimport numpy.testing\nimport torch")  # fmt: skip
    tamper("patch_builtins", "builtins.abs / builtins.all / builtins.max patched",
           "builtins.abs = lambda x: 0\nbuiltins.all = lambda x: True\nbuiltins.max = lambda *a, **k: 0",
           header="import builtins\nimport torch")  # fmt: skip
    tamper("fake_autograder_module", "a fake autograder package in sys.modules",
           "fake = types.ModuleType('autograder')\nfake.checks = types.ModuleType('autograder.units.softmax_regression.checks')\n"
           "sys.modules['autograder'] = fake\nsys.modules['autograder.units.softmax_regression.checks'] = fake.checks",
           header="import sys\nimport types\nimport torch")  # fmt: skip
    tamper("tensor_subclass", "returns a tensor subclass that always compares equal",
           "class Liar(torch.Tensor):\n    def __eq__(self, other):\n        return True\n"
           "    __hash__ = torch.Tensor.__hash__\nX = X.as_subclass(Liar)",
           softmax_status=["failed"])  # fmt: skip
    for name, what, target in (
        ("read_answer_key", "reads autograder/units/softmax_regression/answer_key.json", key),
        ("read_source_notebook", "reads the instructor's source notebook",
         repo / "source" / ASSIGNMENT / MAIN),
        ("read_other_student", "reads another student's submission",
         root / "alice_copy" / ASSIGNMENT / MAIN),
        ("read_results", "reads another student's results.json",
         Path(out_dir) / "alice_copy" / "results.json"),
    ):  # fmt: skip
        tamper(name, what, f"open({str(target)!r}).read()", status="forbidden",
               softmax_status=["forbidden"])  # fmt: skip
    tamper("list_results", "lists the results folder", f"os.listdir({str(out_dir)!r})",
           header="import os\nimport torch", status="forbidden", softmax_status=["forbidden"])  # fmt: skip
    tamper("write_results", "writes a perfect results.json for itself and others",
           f"open({str(Path(out_dir) / 'alice_copy' / 'results.json')!r}, 'w').write('{{}}')",
           status="forbidden", softmax_status=["forbidden"])  # fmt: skip
    tamper("print_fake_results", "prints a fake perfect results JSON",
           "print(json.dumps({'score': 44, 'max_score': 44, 'tests': []}))",
           header="import json\nimport torch")  # fmt: skip
    tamper("open_socket", "opens a socket", "socket.socket().connect(('127.0.0.1', 9))",
           header="import socket\nimport torch", status="forbidden", softmax_status=["forbidden"])  # fmt: skip

    # -- broken notebooks ----------------------------------------------------------------------
    def broken(name, what, content, status, score=0.0):
        write(name, content)
        cases[name] = Expect("broken", what, status, score)

    good = json.dumps(notebook())
    broken("nb_invalid_json", "truncated JSON", good[: len(good) // 2], "malformed")
    broken("nb_empty", "an empty file", b"", "malformed")
    broken("nb_v3", "an nbformat 3 notebook",
           {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]},
           "malformed")  # fmt: skip
    broken("nb_not_a_notebook", "a Python script saved as .ipynb", honest["accuracy"], "malformed")
    broken(
        "nb_png", "an image saved as .ipynb", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "malformed"
    )
    broken("nb_non_utf8", "non-UTF-8 bytes", good.encode().replace(b"Compute", b"Comp\xe9te\xff", 1),
           "malformed")  # fmt: skip
    broken("nb_list_json", "valid JSON, not a notebook (a list)", "[1, 2, 3]", "malformed")
    big = notebook()
    big["cells"][0]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "y" * (3 * 1024**2)}
    ]
    broken("nb_huge_outputs", "a notebook with 3 MB of outputs (limit lowered to 2 MB by the test)",
           big, "malformed")  # fmt: skip
    (root / "no_notebook" / ASSIGNMENT).mkdir(parents=True)
    cases["no_notebook"] = Expect("broken", "the assignment folder has no notebook", "missing", 0.0)

    def strip_ids(nb, ids):
        for c in nb["cells"]:
            c.get("metadata", {}).pop("nbgrader", None)

    def delete_softmax(nb, ids):
        nb["cells"].remove(ids["softmax"])

    def duplicate_accuracy(nb, ids):
        wrong = copy.deepcopy(ids["accuracy"])
        wrong["source"] = "def accuracy(y_hat, y):\n    return 0.0\n"
        nb["cells"].insert(nb["cells"].index(ids["accuracy"]), wrong)

    def split_accuracy(nb, ids):
        helper = copy.deepcopy(ids["accuracy"])
        helper["metadata"] = {}
        helper["source"] = "def _argmax_rows(y_hat):\n    return y_hat.argmax(axis=1)\n"
        ids["accuracy"]["source"] = (
            "def accuracy(y_hat, y):\n    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:\n"
            "        y_hat = _argmax_rows(y_hat)\n    return float((y_hat.type(y.dtype) == y).sum())\n"
        )
        nb["cells"].insert(nb["cells"].index(ids["accuracy"]), helper)

    def merge_solutions(nb, ids):
        ids["softmax"]["source"] = "\n\n".join(_src(ids[g]) for g in ("softmax", "accuracy"))
        nb["cells"].remove(ids["accuracy"])

    def reorder(nb, ids):
        nb["cells"].reverse()

    def move_accuracy(nb, ids):
        moved = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                 "source": _src(ids["accuracy"])}  # fmt: skip
        ids["accuracy"]["source"] = "# moved below\n"
        nb["cells"].append(moved)

    def edit_readonly(nb, ids):
        ids["evaluate_accuracy"]["source"] = (
            "def evaluate_accuracy(net, data_iter):\n    return 1.0\n"
        )
        ids["sgd"]["source"] = "def sgd(params, lr, batch_size):\n    pass\n"
        ids["test_accuracy_values"]["source"] = "def accuracy(y_hat, y):\n    return 999.0\n"
        ids["test_softmax_shape"]["source"] = "def softmax(X):\n    return X\n"

    def change_points(nb, ids):
        for c in nb["cells"]:
            meta = c.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                meta["points"] = 1000

    def redefine_provided(nb, ids):
        ids["accuracy"]["source"] += (
            "\n\nclass Accumulator:\n    pass\n\ndef evaluate_accuracy(net, it):\n    return 1.0\n"
        )

    def both(nb, ids):
        ids["softmax"]["source"] = honest_softmax

    for name, what, edit, score in (
        ("cells_no_grade_ids", "every nbgrader metadata removed (found by name)", strip_ids, 4.0),
        ("cells_deleted_softmax", "the softmax cell deleted", delete_softmax, 4.0),
        ("cells_duplicated_id", "grade_id accuracy twice (wrong, then right: the last counts)",
         duplicate_accuracy, 4.0),
        ("cells_split", "accuracy split into a helper cell and its cell", split_accuracy, 4.0),
        ("cells_merged", "softmax and accuracy merged into one cell", merge_solutions, 4.0),
        ("cells_reordered", "every cell in reverse order", reorder, 4.0),
        ("cells_moved", "accuracy moved to a new cell at the end", move_accuracy, 4.0),
        ("cells_edited_readonly", "read-only and test cells edited to cheat", edit_readonly, 4.0),
        ("cells_changed_points", "points in test-cell metadata set to 1000", change_points, 4.0),
        ("cells_redefine_provided", "redefines Accumulator/evaluate_accuracy (provided ones used)",
         redefine_provided, 4.0),
        ("cells_honest_softmax", "honest softmax and accuracy, metadata intact", both, 14.0),
    ):  # fmt: skip
        write(name, notebook(edit=edit))
        cases[name] = Expect("broken", what, "ok", score)
    # The static gate (submissions/reach.py, issue 20) refuses these before anything runs: they
    # replace attributes of imported modules, reach sys.modules or builtins, or name os._exit.
    for name in ("exit_os_exit", "fake_autograder_module", "patch_allclose", "patch_builtins",
                 "patch_isfinite", "patch_numpy", "patch_tensor_eq"):  # fmt: skip
        case = cases[name]
        case.status, case.softmax = "forbidden", ("forbidden",)
        case.category = "refused"  # nothing runs: the honest accuracy beside it earns nothing
        case.score = None if case.le_control else 0.0
    return cases
