"""Student self-check: the grader's checks run locally in seconds, without revealing hidden tests.

From a terminal::

    python -m autograder check release/softmax_regression/softmax_regression.ipynb [--train]

From inside the notebook (after running the cells that define the functions)::

    from autograder.selfcheck import check; check(globals())

The same check functions as the grader run here, in this process (it is the student's own
machine), on the notebook's definitions. Checks in PUBLIC show their full message (input,
expected, got, hint): their inputs are stated in the notebook. The others run on hidden inputs;
for them only pass/fail and the hint line are shown, never the inputs or the reference values.
Training (train_ch3, about 30 s on a laptop) is skipped unless ``train=True`` / ``--train``.
Quiz answers are checked for their format only: this module never reads the answer key.
"""

from __future__ import annotations

import ast
import linecache
import sys
import time
from pathlib import Path

from autograder import config
from autograder.checks import loop
from autograder.checks.outcome import CheckResult
from autograder.units.softmax_regression.checks import REGISTRY

PUBLIC = REGISTRY.public
"""Checks whose full messages are shown: shapes, in-place use, dtypes, d2l's literal example for
1-D labels, and the training checks (whose inputs are the notebook's public hyperparameters)."""

TRAINING = REGISTRY.training
"""Checks that train a model (skipped unless train=True)."""


def redact(res: CheckResult) -> CheckResult:
    """`res` as a student may see it locally: non-public checks keep status, points and the hint only."""
    if res.check_id in PUBLIC or res.passed:
        return res
    hint = next((ln for ln in res.message.splitlines() if ln.startswith("Hint:")), "")
    if not hint:
        first = res.message.splitlines()[0] if res.message else ""
        # errors and statuses describe the student's own code (e.g. the exception it raised)
        hint = first if not first.startswith(("Input:", "Expected:", "Got:")) else ""
    if len(hint) > 400:
        hint = hint[:397] + "..."
    note = "(hidden inputs: the input and expected values are not shown)"
    return CheckResult(
        res.check_id, res.score, res.max_score, res.status, f"{hint}\n{note}".strip(), {}
    )


def run_public(namespace, train=False, forbidden=None, missing=None, device="cpu"):
    """Run the checks on the functions in `namespace`; return redacted CheckResults (skipped omitted)."""
    from autograder.inprocess import InProcessCaller, forbidden_in

    forbidden = forbidden_in(namespace) if forbidden is None else forbidden
    if missing is None:
        missing = {
            f: f"no function named {f} is defined (run the cell that defines it first)"
            for f in config.GRADED_FUNCTIONS
            if not callable(namespace.get(f))
        }
    caller = InProcessCaller(namespace, device=device)
    chosen = [(cid, check) for cid, check in REGISTRY.pairs if train or cid not in TRAINING]
    results = loop.run(chosen, caller, needs=REGISTRY.needs, missing=missing, forbidden=forbidden,
                       on_exception=_check_failed)  # fmt: skip
    return [redact(res) for res in results]


def _check_failed(cid, points, err) -> CheckResult:
    """Report a check that raised and go on, like the grader."""
    return CheckResult(cid, 0.0, points, "error", f"the check itself failed ({type(err).__name__}: {err})")  # fmt: skip


def quiz_format(source) -> list[CheckResult]:
    """Format of each quiz answer (not its correctness): from a quiz notebook path or a namespace."""
    from autograder.submissions.notebook import MalformedNotebook, read_notebook
    from autograder.units.softmax_regression import quiz

    out = []
    if isinstance(source, dict):
        nb, ns = None, source
    else:
        try:
            nb, ns = read_notebook(Path(source)), None
        except MalformedNotebook as err:
            return [CheckResult("quiz", 0.0, 0.0, "malformed", str(err))]
    for q in quiz.QUESTIONS:
        cid = q.check_id
        if ns is not None:
            if q.variable not in ns:
                continue  # the quiz lives in its own notebook
            value = ns[q.variable]
        else:
            try:
                value, _ = quiz.find_answer(nb, q)
            except quiz.AnswerNotFound as err:
                out.append(CheckResult(cid, 0.0, 0.0, "missing", str(err)))
                continue
            except quiz.MalformedAnswer as err:
                out.append(CheckResult(cid, 0.0, 0.0, "malformed", str(err)))
                continue
        problem = quiz.validate(q.qid, quiz.normalise(q.qid, value))
        if problem:
            out.append(CheckResult(cid, 0.0, 0.0, "malformed", problem))
        else:
            out.append(CheckResult(cid, 0.0, 0.0, "passed", "answer format ok"))
    return out


def format_results(results, quiz_results=(), train=False, seconds=None, title="") -> str:
    """The self-check as text: one line per check, messages indented, totals at the end."""
    lines = [
        title or "Self-check (the grader's checks run locally; hidden inputs are not shown)",
        "",
    ]
    for res in results:
        mark = "PASS" if res.passed else res.status.upper()
        lines.append(f"{mark:9} {res.check_id:30} {res.score:g}/{res.max_score:g}")
        if not res.passed and res.message:
            lines += ["          " + ln for ln in res.message.splitlines()]
    if quiz_results:
        lines += ["", "Quiz answers (format only; correctness is graded after you hand in):"]
        for res in quiz_results:
            mark = "OK" if res.passed else res.status.upper()
            lines.append(
                f"{mark:9} {res.check_id:30} {res.message if not res.passed else ''}".rstrip()
            )
    score = sum(r.score for r in results)
    most = sum(r.max_score for r in results)
    lines.append("")
    lines.append(
        f"{sum(r.passed for r in results)}/{len(results)} checks passed, {score:g}/{most:g} points."
    )
    if not train:
        lines.append("Training checks (train_ch3, about 30 s) were skipped: rerun with --train / check(globals(), train=True).")  # fmt: skip
    lines.append(
        "This is not your grade: the grader also grades the quiz and may use other inputs."
    )
    if seconds is not None:
        lines.append(f"({seconds:.1f} s)")
    return "\n".join(lines)


def check(namespace, train=False, quiz=True, stream=None) -> list[CheckResult]:
    """Self-check the functions defined in a notebook: ``check(globals())``; prints and returns the results."""
    start = time.monotonic()
    results = run_public(namespace, train=train)
    quiz_results = quiz_format(namespace) if quiz else []
    text = format_results(results, quiz_results, train, time.monotonic() - start)
    print(text, file=stream or sys.stdout)
    return results


def load_notebook(path) -> tuple[dict, dict, list[str]]:
    """Define a notebook's graded code in a fresh dict as the grader does: (namespace, missing, warnings)."""
    from autograder.submissions.notebook import extract, read_notebook
    from autograder.submissions.submission import release_notebook

    ext = extract(read_notebook(Path(path)), release_notebook())
    namespace: dict = {"__name__": "__selfcheck__"}
    release_dir = str(config.RELEASE_DIR)
    if release_dir not in sys.path:
        sys.path.insert(0, release_dir)  # the helper modules fashion_mnist.py and animator.py
    warnings = list(ext.warnings)
    for label, src in (
        ("release notebook", ext.release_source),
        ("your notebook", ext.student_source),
    ):
        filename = f"<{label}>"
        # registered like an IPython cell, so inspect.getsource (the built-in scan) finds the code
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        tree = ast.parse(src)
        for node in tree.body:
            try:
                exec(compile(ast.Module([node], []), filename, "exec"), namespace)  # noqa: S102
            except Exception as err:  # noqa: BLE001 - a failing definition is reported, others run
                warnings.append(f"{label}: line {node.lineno} raised {type(err).__name__}: {err}")
    return namespace, dict(ext.missing), warnings


def check_notebook(path, train=False, quiz_path=None, stream=None) -> tuple[list, list]:
    """Self-check a notebook file (and its quiz.ipynb next to it); print and return (checks, quiz)."""
    from autograder.submissions.notebook import MalformedNotebook, extract, read_notebook
    from autograder.submissions.submission import release_notebook

    start = time.monotonic()
    stream = stream or sys.stdout
    path = Path(path)
    try:
        namespace, missing, warnings = load_notebook(path)
        forbidden = extract(read_notebook(path), release_notebook()).forbidden
    except MalformedNotebook as err:
        print(f"error: {err}", file=stream)
        return [CheckResult("notebook", 0.0, 0.0, "malformed", str(err))], []
    results = run_public(namespace, train=train, forbidden=forbidden, missing=missing)
    quiz_path = Path(quiz_path) if quiz_path else path.with_name(config.QUIZ_NOTEBOOK)
    quiz_results = quiz_format(quiz_path) if quiz_path.exists() else []
    title = (
        f"Self-check of {path.name} (the grader's checks run locally; hidden inputs are not shown)"
    )
    text = format_results(results, quiz_results, train, time.monotonic() - start, title)
    if warnings:
        text = "\n".join(["Warnings:", *("  " + w for w in warnings), "", text])
    print(text, file=stream)
    return results, quiz_results
