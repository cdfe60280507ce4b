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
It speaks the notebook's language (its edition; ``lang=`` or ``--lang`` overrides it).
"""

from __future__ import annotations

import ast
import linecache
import sys
import time
from pathlib import Path

from autograder import config, i18n
from autograder.checks import loop
from autograder.checks.outcome import CheckResult
from autograder.i18n import N_, _
from autograder.units import Unit
from autograder.units import get as unit_of

REGISTRY = unit_of().registry
"""The default assignment's checks (every function here takes a `unit` for another's)."""

PUBLIC = REGISTRY.public
"""Checks whose full messages are shown: shapes, in-place use, dtypes, d2l's literal example for
1-D labels, the training checks (whose inputs are the notebook's public hyperparameters), and the
practice checks (d2l's overflow example; they earn nothing and only the self-check runs them)."""

TRAINING = REGISTRY.training
"""Checks that train a model (skipped unless train=True)."""


REVEALING = ("Input: {input}", "Expected: {expected}", "Got: {got}")
"""Message lines (their templates, in any language) a hidden check's redacted message leaves out."""


HINT_CHARS = 400
"""The longest hint line a redacted message keeps (cut at a word, i18n.clip)."""


def redact(res: CheckResult, unit: Unit | None = None) -> CheckResult:
    """`res` as a student may see it locally: non-public checks keep status, points and the hint only."""
    public = PUBLIC if unit is None else unit.registry.public
    if res.check_id in public or res.passed:
        return res
    lines = res.message.splitlines()
    hint = next((ln for ln in lines if i18n.parse("Hint: {hint}", ln) is not None), "")
    if not hint:
        first = lines[0] if lines else ""
        # errors and statuses describe the student's own code (e.g. the exception it raised)
        hint = "" if any(i18n.parse(label, first) for label in REVEALING) else first
    hint = i18n.clip(hint, HINT_CHARS)
    note = _("(hidden inputs: the input and expected values are not shown)")
    return CheckResult(
        res.check_id, res.score, res.max_score, res.status, f"{hint}\n{note}".strip(), {}
    )


def run_public(namespace, train=False, forbidden=None, missing=None, device="cpu", lang=None,
               practice=False, unit: Unit | None = None):  # fmt: skip
    """Run the checks on the functions in `namespace`; return redacted CheckResults (skipped omitted).

    Messages are in `lang` (None: the current language). `practice`: also the practice checks (the
    generated softmax_selfcheck.py's; here the graded checks they stand in for already run)."""
    from autograder.inprocess import caller_class, forbidden_in

    unit = unit or unit_of()
    registry = unit.registry
    with i18n.use(lang):
        forbidden = forbidden_in(namespace, unit) if forbidden is None else forbidden
        if missing is None:
            missing = {
                f: _("no function named {function} is defined (run the cell that defines it first)").format(function=name)
                for f in unit.graded_functions
                for name in _undefined(namespace, f, unit)[:1]
            }  # fmt: skip
        caller = caller_class(unit)(namespace, device=device)
        pairs = registry.selfcheck_pairs if practice else registry.pairs
        chosen = [(cid, check) for cid, check in pairs if train or cid not in registry.training]
        results = loop.run(chosen, caller, needs=registry.needs, missing=missing, forbidden=forbidden,
                           on_exception=_check_failed, points=registry.points)  # fmt: skip
        return [redact(res, unit) for res in results]


def _undefined(namespace, function, unit) -> list[str]:
    """The names graded item `function` needs that `namespace` lacks: the function itself, or, for a
    grade_id whose cell defines only other names (the unit's SOLUTION_CELL_FUNCTIONS, e.g. a
    `training` cell defining `loss` and `trainer`), those names. A graded name may be any object
    (an nn.Module, an optimizer)."""
    cell = unit.solution_cell_functions.get(function, ())
    wanted = (function,) if function in cell or not cell else cell
    return [name for name in wanted if namespace.get(name) is None]


def _check_failed(cid, points, err) -> CheckResult:
    """Report a check that raised and go on, like the grader."""
    message = _("the check itself failed ({error})").format(error=f"{type(err).__name__}: {err}")
    return CheckResult(cid, 0.0, points, "error", message)


def quiz_format(source, unit: Unit | None = None) -> list[CheckResult]:
    """Format of each quiz answer (not its correctness): from a quiz notebook path or a namespace."""
    from autograder.submissions.notebook import MalformedNotebook, read_notebook

    unit = unit or unit_of()
    if not unit.quiz_notebook:
        return []
    quiz = unit.quiz

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
                value, _where = quiz.find_answer(nb, q)
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
            out.append(CheckResult(cid, 0.0, 0.0, "passed", _("answer format ok")))
    return out


def format_results(results, quiz_results=(), train=False, seconds=None, title="",
                   unit: Unit | None = None) -> str:  # fmt: skip
    """The self-check as text: one line per check, messages indented, totals at the end."""
    lines = [
        title or _("Self-check (the grader's checks run locally; hidden inputs are not shown)"),
        "",
    ]
    for res in results:
        mark = "PASS" if res.passed else res.status.upper()
        lines.append(f"{mark:9} {res.check_id:30} {res.score:g}/{res.max_score:g}")
        if not res.passed and res.message:
            lines += ["          " + ln for ln in res.message.splitlines()]
    if quiz_results:
        lines += ["", _("Quiz answers (format only; correctness is graded after you hand in):")]
        for res in quiz_results:
            mark = "OK" if res.passed else res.status.upper()
            lines.append(
                f"{mark:9} {res.check_id:30} {res.message if not res.passed else ''}".rstrip()
            )
    score = sum(r.score for r in results)
    most = sum(r.max_score for r in results)
    lines.append("")
    lines.append(
        _("{passed}/{total} checks passed, {score}/{most} points.").format(
            passed=sum(r.passed for r in results), total=len(results), score=f"{score:g}", most=f"{most:g}"
        )
    )  # fmt: skip
    trainers = sorted({cid.split(".")[0] for cid in (unit or unit_of()).registry.training})
    if not train and trainers:
        lines.append(_("Training checks ({functions}, about 30 s) were skipped: rerun with --train / check(globals(), train=True).").format(functions=", ".join(trainers)))  # fmt: skip
    lines.append(
        _("This is not your grade: the grader also grades the quiz and may use other inputs.")
    )
    if seconds is not None:
        lines.append(_("({seconds} s)").format(seconds=f"{seconds:.1f}"))
    return "\n".join(lines)


def check(namespace, train=False, quiz=True, stream=None, lang=None) -> list[CheckResult]:
    """Self-check the functions defined in a notebook: ``check(globals())``; prints and returns the results.

    In `lang`, by default the edition of the notebooks in the current folder (i18n.ambient)."""
    start = time.monotonic()
    with i18n.use(lang or i18n.ambient()):
        results = run_public(namespace, train=train)
        quiz_results = quiz_format(namespace) if quiz else []
        text = format_results(results, quiz_results, train, time.monotonic() - start)
    print(text, file=stream or sys.stdout)
    return results


def load_notebook(path, assignment: str | None = None) -> tuple[dict, dict, list[str]]:
    """Define a notebook's graded code in a fresh dict as the grader does: (namespace, missing, warnings).

    `assignment`: the edition whose release supplies the read-only cells (default: the notebook
    folder's, else the default assignment)."""
    from autograder.submissions.notebook import extract, read_notebook
    from autograder.submissions.submission import release_notebook

    assignment = assignment or _assignment_for(path)
    ext = extract(read_notebook(Path(path)), release_notebook(assignment), assignment)
    namespace: dict = {"__name__": "__selfcheck__"}
    release_dir = str(config.release_dir(assignment))
    if release_dir not in sys.path:
        sys.path.insert(0, release_dir)  # the helper modules fashion_mnist.py and animator.py
    warnings = list(ext.warnings)
    for label, src in (
        (N_("release notebook"), ext.release_source),
        (N_("your notebook"), ext.student_source),
    ):
        filename = f"<{label}>"
        # registered like an IPython cell, so inspect.getsource (the built-in scan) finds the code
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        tree = ast.parse(src)
        for node in tree.body:
            try:
                exec(compile(ast.Module([node], []), filename, "exec"), namespace)  # noqa: S102
            except Exception as err:  # noqa: BLE001 - a failing definition is reported, others run
                warnings.append(
                    _("{where}: line {line} raised {error}").format(
                        where=_(label), line=node.lineno, error=f"{type(err).__name__}: {err}"
                    )
                )
    return namespace, dict(ext.missing), warnings


def _assignment_for(path) -> str:
    """The assignment (edition) of a notebook file: its folder's name, else the assignment whose
    main notebook it is named as (submission.assignment_of)."""
    from autograder.submissions.submission import assignment_of

    path = Path(path)
    return assignment_of(path.resolve().parent, main=path)


def check_notebook(path, train=False, quiz_path=None, stream=None, lang=None) -> tuple[list, list]:
    """Self-check a notebook file (and its quiz.ipynb next to it); print and return (checks, quiz).

    In `lang`, by default the notebook's (i18n.language_for: --lang, its metadata, its folder)."""
    path = Path(path)
    lang = lang or i18n.language_for(config.EDITIONS.get(path.resolve().parent.name), path)
    with i18n.use(lang):
        return _check_notebook(path, train, quiz_path, stream or sys.stdout)


def _check_notebook(path, train, quiz_path, stream) -> tuple[list, list]:
    """check_notebook in the current language."""
    from autograder.submissions.notebook import MalformedNotebook, extract, read_notebook
    from autograder.submissions.submission import release_notebook

    start = time.monotonic()
    assignment = _assignment_for(path)
    unit = unit_of(assignment)
    try:
        namespace, missing, warnings = load_notebook(path, assignment)
        forbidden = extract(read_notebook(path), release_notebook(assignment), assignment).forbidden
    except MalformedNotebook as err:
        print(_("error: {error}").format(error=err), file=stream)
        return [CheckResult("notebook", 0.0, 0.0, "malformed", str(err))], []
    results = run_public(namespace, train=train, forbidden=forbidden, missing=missing, unit=unit)
    quiz_name = unit.quiz_notebook
    quiz_path = Path(quiz_path) if quiz_path else (path.with_name(quiz_name) if quiz_name else None)
    quiz_results = quiz_format(quiz_path, unit) if quiz_path and quiz_path.exists() else []
    title = _(
        "Self-check of {name} (the grader's checks run locally; hidden inputs are not shown)"
    ).format(name=path.name)
    text = format_results(results, quiz_results, train, time.monotonic() - start, title, unit)
    if warnings:
        text = "\n".join([_("Warnings:"), *("  " + w for w in warnings), "", text])
    print(text, file=stream)
    return results, quiz_results
