"""The class report: one self-contained HTML page (plots embedded as PNG) for the instructor.

Score histogram, pass rate of every check, measured test accuracy against the threshold, the most
common failure messages (grouped by check id and hint line), submissions whose grading ended in
timeout/crashed/memory/forbidden/malformed, and grading time per student. Written in the language
of the `report` command's --lang (default English) through the "reports" gettext catalogue; the
failures' hint lines stay in the language of each student's edition.
"""

from __future__ import annotations

import datetime as _dt
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

from autograder import config
from autograder.checks import status
from autograder.checks.outcome import SubmissionResult
from autograder.i18n import _, clip, parse, use
from autograder.results import late, repository, store
from autograder.results.exports import (
    atomic_write,
    class_assignment,
    class_units,
    columns,
    function_scores,
)
from autograder.results.feedback import (
    esc,
    page_head,
    plot_lang,
    plot_note,
    png_data_uri,
    pyplot,
    status_label,
    test_accuracies,
)

HINT_LINE = "Hint: {hint}"
"""The checks' hint line (a message of the "autograder" catalogue), recognised in every language."""


def load_results(results_dir) -> list[SubmissionResult]:
    """Every <student>/results.json under `results_dir` (unreadable ones skipped), by student."""
    return store.load(results_dir)


def graded_checks(result: SubmissionResult):
    """The checks of a result that measure the work (not the late penalty)."""
    return [c for c in result.checks if c.check_id != late.PENALTY_CHECK]


def failure_key(check) -> tuple[str, str]:
    """(check id, the message's hint line in any language, else its first line with the status in
    the current language): a failure's group."""
    lines = check.message.splitlines()
    hint = next((ln for ln in lines if parse(HINT_LINE, ln) is not None), None)
    if hint is None:
        hint = f"[{status_label(check.status)}] " + (lines[0] if lines else "")
        hint = clip(hint, 200)
    return check.check_id, hint


def common_failures(results) -> list[tuple[str, str, int, list[str]]]:
    """(check id, hint line, count, students) for failed checks, most common first."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in results:
        for c in graded_checks(r):
            if not c.passed:
                groups[failure_key(c)].append(r.student)
    rows = [(cid, hint, len(st), st) for (cid, hint), st in groups.items()]
    return sorted(rows, key=lambda row: (-row[2], row[0], row[1]))


def check_order(results, assignment: str | None = None) -> list[str]:
    """Every check id seen, in grading order (the points of the unit of `assignment`, default the
    results', then the quiz)."""
    seen = []
    for r in results:
        for c in graded_checks(r):
            if c.check_id not in seen:
                seen.append(c.check_id)
    known = list(dict.fromkeys(c for unit in class_units(results, assignment) for c in unit.points))
    return [c for c in known if c in seen] + sorted(
        (c for c in seen if c not in known), key=lambda c: (len(c), c)
    )


def pass_rates(results, assignment: str | None = None) -> list[tuple[str, int, int]]:
    """(check id, students who passed it, students graded on it)."""
    passed, total = Counter(), Counter()
    for r in results:
        for c in graded_checks(r):
            total[c.check_id] += 1
            passed[c.check_id] += c.passed
    return [(cid, passed[cid], total[cid]) for cid in check_order(results, assignment)]


def malformed_answers(result: SubmissionResult) -> list[str]:
    """The quiz questions whose answer could not be read: the student's mistake, shown in the
    student's row of the scores table, not a grading problem (an unreadable quiz notebook makes
    the submission's own status "malformed")."""
    return [c.check_id for c in result.checks if c.status == "malformed" and c.function == "quiz"]


def problem_students(results) -> list[tuple[str, str, str, list[str]]]:
    """(student, status, message, checks with a problem status) for submissions with problems:
    the grader's, or a status an instructor must act on; a malformed quiz answer is neither."""
    rows = []
    for r in results:
        answers = malformed_answers(r)
        bad = [c.check_id for c in r.checks
               if c.status in status.PROBLEMS and c.check_id not in answers]  # fmt: skip
        if r.status in status.PROBLEMS or bad:
            rows.append((r.student, r.status, r.message, bad))
    return rows


def _fig_scores(results):
    """Histogram of the scores."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    scores = [r.score for r in results]
    most = max((r.max_score for r in results), default=1) or 1
    ax.hist(
        scores,
        bins=min(20, max(5, int(most // 2))),
        range=(0, most),
        color="tab:blue",
        edgecolor="white",
    )
    with use(plot_lang()):
        ax.set_xlabel(_("score (of {max_score})").format(max_score=f"{most:g}"))
        ax.set_ylabel(_("students"))
        ax.set_title(_("Score distribution"))
    ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


def _fig_pass_rates(rates):
    """One bar per check: the fraction of students who passed it."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.22 * len(rates) + 1))
    names = [cid for cid, _p, _n in rates][::-1]
    vals = [(p / n if n else 0) for _cid, p, n in rates][::-1]
    ax.barh(
        names,
        vals,
        color=["tab:green" if v >= 0.8 else "tab:orange" if v >= 0.5 else "tab:red" for v in vals],
    )
    ax.set_xlim(0, 1)
    with use(plot_lang()):
        ax.set_xlabel(_("fraction of students passing"))
        ax.set_title(_("Pass rate per check"))
    ax.tick_params(axis="y", labelsize=7)
    return fig


ACCURACY_COLOURS = ("tab:blue", "tab:purple", "tab:orange", "tab:brown", "tab:olive", "tab:cyan")
"""The bars of each accuracy check in the histogram, in order."""


def accuracy_checks(results, assignment: str | None = None) -> tuple[str, ...]:
    """The checks whose measured test accuracy the report shows: the accuracy_checks of the unit
    of `assignment` (default: of the results)."""
    units = class_units(results, assignment)
    return tuple(dict.fromkeys(cid for unit in units for cid in unit.accuracy_checks))


def _fig_accuracy(results, trained: tuple[str, ...]):
    """Histogram of the measured test accuracies of the runs `trained` (check ids) and any other
    the results hold, with the thresholds of the points (or None)."""
    accs = {cid: [] for cid in trained}
    for r in results:
        for cid, acc in test_accuracies(r).items():
            accs.setdefault(cid, []).append(acc)
    if not any(accs.values()):
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    values = [v for vs in accs.values() for v in vs]
    lo = min(0.0, *values) if min(values) < 0.6 else 0.6
    ax.hist(
        [accs[c] for c in accs],
        bins=20,
        range=(lo, 1.0),
        label=list(accs),
        stacked=False,
        color=[ACCURACY_COLOURS[i % len(ACCURACY_COLOURS)] for i in range(len(accs))],
    )
    with use(plot_lang()):
        for threshold, fraction in config.ACCURACY_TIERS:
            label = _("{threshold} ({fraction} of the points)").format(
                threshold=threshold, fraction=f"{fraction:.0%}"
            )
            ax.axvline(threshold, color="black" if fraction == 1.0 else "grey", ls="--", lw=1,
                       label=label)  # fmt: skip
        ax.set_xlabel(_("test accuracy measured by the grader"))
        ax.set_ylabel(_("students"))
        ax.set_title(_("Measured test accuracy after training"))
    ax.legend(fontsize=8)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


def _fig_times(results):
    """One bar per student: the seconds their grading took."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(results) + 1))
    names = [r.student for r in results][::-1]
    ax.barh(names, [r.seconds for r in results][::-1], color="tab:gray")
    with use(plot_lang()):
        ax.set_xlabel(_("seconds"))
        ax.set_title(_("Grading time per student"))
    ax.tick_params(axis="y", labelsize=7)
    return fig


def _table(header, rows, table_id, numeric=()) -> str:
    """An HTML table: escaped header cells, row cells as given (already HTML)."""
    out = [f"<table id='{table_id}'><tr>"]
    out += [
        f"<th{' class=num' if i in numeric else ''}>{esc(h)}</th>" for i, h in enumerate(header)
    ]
    out.append("</tr>")
    for row in rows:
        out.append("<tr>" + "".join(
            f"<td{' class=num' if i in numeric else ''}>{cell}</td>" for i, cell in enumerate(row)
        ) + "</tr>")  # fmt: skip
    out.append("</table>")
    return "".join(out)


def unconfined_ok(result: SubmissionResult) -> bool:
    """False when the result says its worker ran without kernel confinement (``--unconfined``)."""
    conf = (result.info or {}).get("confinement")
    return not (isinstance(conf, dict) and conf.get("confined") is False)


def build_report(
    results: list[SubmissionResult],
    title: str | None = None,
    lang: str | None = None,
    assignment: str | None = None,
) -> str:
    """The class report as one self-contained HTML page, in `lang` (None: the current language).

    Its columns, checks and runs are those of the unit of `assignment` (default: the unit the
    results were graded by, exports.class_units; config.ASSIGNMENT's for no results)."""
    with use(lang):
        return _build(sorted(results, key=lambda r: r.student), title, assignment)


def _build(results: list[SubmissionResult], title: str | None, assignment: str | None) -> str:
    """build_report in the current language, for results sorted by student."""
    named = class_assignment(results, assignment)
    title = title or _("Class report: {assignment}").format(assignment=named)
    scores = [r.score for r in results]
    most = max((r.max_score for r in results), default=0)
    threshold = config.ACCURACY_TIERS[0][0]
    generated = _("Generated {time} from {count} results.").format(
        time=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"), count=len(results)
    )
    parts = [
        page_head(title, " body{max-width:72rem}"),
        f"<h1>{esc(title)}</h1>",
        f"<p class='muted'>{esc(generated)}</p>",
    ]
    if not results:
        parts.append("<p>{}</p></body></html>".format(esc(_("No results."))))
        return "\n".join(parts)
    unconfined = [r.student for r in results if not unconfined_ok(r)]
    if unconfined:
        warning = _(
            "<strong>Graded without kernel confinement</strong> (<code>--unconfined</code>): "
            "{students}{more}. Their code could read and write what the grader's user can; "
            "regrade them on a machine with Landlock and seccomp."
        )
        more = _(" and others") if len(unconfined) > 20 else ""
        warning = warning.format(students=esc(", ".join(unconfined[:20])), more=esc(more))
        parts.append(f"<p class='warning' id='unconfined'>{warning}</p>")
    trained = accuracy_checks(results, assignment)
    summary = [
        (_("students"), f"{len(results)}"),
        (_("mean score"), f"{statistics.mean(scores):.2f} / {most:g}"),
        (_("median score"), f"{statistics.median(scores):g} / {most:g}"),
        (_("full marks"), f"{sum(r.score == r.max_score for r in results)}"),
        (_("submissions with grading problems"), f"{len(problem_students(results))}"),
    ]
    for cid in trained:
        accs = [a for r in results if (a := test_accuracies(r).get(cid)) is not None]
        summary.append((_("{check}: test accuracy >= {threshold}").format(check=cid, threshold=threshold),
                        _("{passed} of {trained} trained").format(passed=sum(a >= threshold for a in accs), trained=len(accs))))  # fmt: skip
    summary.append((_("total grading time"), _("{seconds} s").format(seconds=f"{sum(r.seconds for r in results):.0f}")))  # fmt: skip
    parts.append(_table(("", ""), [(esc(k), esc(v)) for k, v in summary], "summary"))

    parts.append(_heading(_("Scores")))
    parts.append(_img("score-histogram", _("score histogram"), _fig_scores(results)))
    rows = []
    feedback_link = esc(_("feedback"))
    names = columns(results, assignment)
    for r in results:
        per = function_scores(r, names)
        state = _status_span(r.status)
        if answers := malformed_answers(r):
            note = _("malformed answer: {questions}").format(questions=", ".join(answers))
            state += f" <span class='malformed'>({esc(note)})</span>"
        rows.append([esc(r.student), f"{r.score:g}", state,
                     *(f"{per[f]:g}" for f in names),
                     f"<a href='{esc(quote(store.folder_name(r.student)))}/feedback.html'>{feedback_link}</a>"])  # fmt: skip
    score_of = _("score (of {max_score})").format(max_score=f"{most:g}")
    numeric = {1, *range(3, 3 + len(names))}  # the score, then one column per function
    parts.append(_table((_("student"), score_of, _("status"), *names, ""), rows, "scores", numeric=numeric))  # fmt: skip

    rates = pass_rates(results, assignment)
    parts.append(_heading(_("Pass rate of every check")))
    parts.append(_img("pass-rates", _("pass rate per check"), _fig_pass_rates(rates)))
    parts.append(_table((_("check"), _("passed"), _("pass rate")),
                        [(esc(cid), f"{p} / {n}", f"{(p / n if n else 0):.0%}") for cid, p, n in rates],
                        "pass-rate-table", numeric={1, 2}))  # fmt: skip

    parts += _accuracy_section(results, trained, threshold)

    failures = common_failures(results)
    parts.append(_heading(_("Most common failures")))
    grouped = _("Grouped by check and hint line (or first line of the message).")
    parts.append(f"<p class='muted'>{esc(grouped)}</p>")
    parts.append(_table((_("count"), _("check"), _("hint"), _("students")),
                        [(str(n), esc(cid), esc(hint), esc(", ".join(st))) for cid, hint, n, st in failures[:40]],
                        "failures", numeric={0}))  # fmt: skip

    problems = problem_students(results)
    parts.append(_heading(_("Grading problems (timeout, crashed, memory, forbidden, malformed)")))
    if problems:
        parts.append(_table((_("student"), _("status"), _("message"), _("checks affected")),
                            [(esc(s), _status_span(st), esc(msg), esc(", ".join(bad)))
                             for s, st, msg, bad in problems], "problems"))  # fmt: skip
    else:
        parts.append("<p id='problems'>{}</p>".format(esc(_("None."))))

    parts += _template_section(results)

    late_rows = [
        (esc(r.student), esc(r.info["late"].get("submitted_at") or "-"),
         esc(late.describe(r.info["late"]["late_seconds"])), f"{r.info['late'].get('penalty', 0):g}")
        for r in results
        if (r.info.get("late") or {}).get("late_seconds")
    ]  # fmt: skip
    parts.append(_heading(_("Late submissions")))
    if late_rows:
        parts.append(_table((_("student"), _("submitted"), _("late by"), _("penalty (points)")),
                            late_rows, "late", numeric={3}))  # fmt: skip
    else:
        no_late = _("None (or no due date and timestamp.txt to compare).")
        parts.append(f"<p id='late'>{esc(no_late)}</p>")

    parts.append(_heading(_("Grading time per student")))
    parts.append(_img("grading-times", _("grading time per student"), _fig_times(results)))
    parts.append(_table((_("student"), _("seconds"), _("device"), _("peak memory (MB)"), _("worker starts")),
                        [(esc(r.student), f"{r.seconds:.1f}", esc(r.device),
                          f"{r.info.get('peak_rss', 0) / 1024**2:.0f}" if r.info.get("peak_rss") else "-",
                          esc(r.info.get("worker_starts", "-"))) for r in results],
                        "times", numeric={1, 3, 4}))  # fmt: skip
    parts.append("</body></html>")
    return "\n".join(parts)


def _accuracy_section(results, trained: tuple[str, ...], threshold: float) -> list[str]:
    """The measured test accuracy of every run of `trained` (check ids), per student: nothing for
    a unit that trains nothing."""
    if not trained:
        return []
    heading = _("Measured test accuracy (threshold {threshold})").format(threshold=threshold)
    parts = [_heading(heading)]
    fig = _fig_accuracy(results, trained)
    if fig is not None:
        parts.append(_img("accuracy-histogram", _("test accuracy histogram"), fig))
    acc_rows = []
    for r in results:
        accs = test_accuracies(r)
        acc_rows.append([esc(r.student)] + [
            (f"{accs[c]:.4f}" + (" &#10003;" if accs[c] >= threshold else " &#10007;")) if c in accs else "-"
            for c in trained
        ])  # fmt: skip
    acc_header = (_("student"), *trained)  # one column per run: its check id
    parts.append(_table(acc_header, acc_rows, "accuracy-table", numeric=set(range(1, 1 + len(trained)))))  # fmt: skip
    if note := plot_note():
        parts.append(f"<p class='muted' id='plot-note'>{esc(note)}</p>")
    return parts


def _template_section(results) -> list[str]:
    """Students whose repository differs from the template (GitHub Classroom's collect; repository.py):
    nothing when no result was collected from a repository."""
    collected = [r for r in results if (r.info or {}).get("repository")]
    if not collected:
        return []
    parts = [_heading(_("Repositories that differ from the template (GitHub Classroom)"))]
    note = _("Files of .github/, release helpers or read-only cells that the student's repository "
             "changed; the grade does not use them (the grader has its own copies).")  # fmt: skip
    parts.append(f"<p class='muted'>{esc(note)}</p>")
    rows = [(esc(r.student), esc((r.info["repository"].get("commit") or "-")[:10]),
             "<br>".join(esc(d) for d in repository.differences(r)))
            for r in collected if repository.differences(r)]  # fmt: skip
    if rows:
        parts.append(_table((_("student"), _("commit"), _("differs from the template")), rows,
                            "template-differences"))  # fmt: skip
    else:
        none = _("None: every collected repository matches the template.")
        parts.append(f"<p id='template-differences'>{esc(none)}</p>")
    return parts


def _heading(text: str) -> str:
    """A section heading."""
    return f"<h2>{esc(text)}</h2>"


def _img(img_id: str, alt: str, fig) -> str:
    """A figure embedded as a PNG data URI."""
    return f"<img id='{img_id}' alt='{esc(alt)}' src='{png_data_uri(fig)}'>"


def _status_span(name: str) -> str:
    """A status, coloured by its class, in the current language."""
    return f"<span class='{esc(name)}'>{esc(status_label(name))}</span>"


def write_report(out_dir, results, lang: str | None = None, assignment: str | None = None) -> Path:
    """Write DIR/report.html atomically, in `lang` (None: the current language), for the unit of
    `assignment` (default: the results', see build_report); return its path."""
    path = Path(out_dir) / "report.html"
    atomic_write(path, build_report(list(results), lang=lang, assignment=assignment))
    return path
