"""The class report: one self-contained HTML page (plots embedded as PNG) for the instructor.

Score histogram, pass rate of every check, measured test accuracy against the threshold, the most
common failure messages (grouped by check id and hint line), submissions whose grading ended in
timeout/crashed/memory/forbidden/malformed, and grading time per student.
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
from autograder.results import late, store
from autograder.results.exports import FUNCTION_COLUMNS, atomic_write, function_scores
from autograder.results.feedback import CSS, esc, png_data_uri, pyplot, test_accuracies


def load_results(results_dir) -> list[SubmissionResult]:
    """Every <student>/results.json under `results_dir` (unreadable ones skipped), by student."""
    return store.load(results_dir)


def graded_checks(result: SubmissionResult):
    """The checks of a result that measure the work (not the late penalty)."""
    return [c for c in result.checks if c.check_id != late.PENALTY_CHECK]


def failure_key(check) -> tuple[str, str]:
    """(check id, the message's hint line, else its first line with the status): a failure's group."""
    lines = check.message.splitlines()
    hint = next((ln for ln in lines if ln.startswith("Hint:")), None)
    if hint is None:
        hint = f"[{check.status}] " + (lines[0] if lines else "")
        if len(hint) > 200:
            hint = hint[:197] + "..."
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


def check_order(results) -> list[str]:
    """Every check id seen, in grading order (config.POINTS, then the quiz)."""
    seen = []
    for r in results:
        for c in graded_checks(r):
            if c.check_id not in seen:
                seen.append(c.check_id)
    known = list(config.POINTS)
    return [c for c in known if c in seen] + sorted(
        (c for c in seen if c not in known), key=lambda c: (len(c), c)
    )


def pass_rates(results) -> list[tuple[str, int, int]]:
    """(check id, students who passed it, students graded on it)."""
    passed, total = Counter(), Counter()
    for r in results:
        for c in graded_checks(r):
            total[c.check_id] += 1
            passed[c.check_id] += c.passed
    return [(cid, passed[cid], total[cid]) for cid in check_order(results)]


def problem_students(results) -> list[tuple[str, str, str, list[str]]]:
    """(student, status, message, checks with a problem status) for submissions with problems."""
    rows = []
    for r in results:
        bad = [c.check_id for c in r.checks if c.status in status.PROBLEMS]
        if r.status in status.PROBLEMS or bad:
            rows.append((r.student, r.status, r.message, bad))
    return rows


def _fig_scores(results):
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
    ax.set_xlabel(f"score (of {most:g})")
    ax.set_ylabel("students")
    ax.set_title("Score distribution")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


def _fig_pass_rates(rates):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.22 * len(rates) + 1))
    names = [cid for cid, _, _ in rates][::-1]
    vals = [(p / n if n else 0) for _, p, n in rates][::-1]
    ax.barh(
        names,
        vals,
        color=["tab:green" if v >= 0.8 else "tab:orange" if v >= 0.5 else "tab:red" for v in vals],
    )
    ax.set_xlim(0, 1)
    ax.set_xlabel("fraction of students passing")
    ax.set_title("Pass rate per check")
    ax.tick_params(axis="y", labelsize=7)
    return fig


def _fig_accuracy(results):
    accs = {cid: [] for cid in ("train_ch3.end_to_end", "train_ch3.accuracy")}
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
        color=["tab:blue", "tab:purple"][: len(accs)],
    )
    for threshold, fraction in config.ACCURACY_TIERS:
        ax.axvline(threshold, color="black" if fraction == 1.0 else "grey", ls="--", lw=1,
                   label=f"{threshold} ({fraction:.0%} of the points)")  # fmt: skip
    ax.set_xlabel("test accuracy measured by the grader")
    ax.set_ylabel("students")
    ax.set_title("Measured test accuracy after training")
    ax.legend(fontsize=8)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


def _fig_times(results):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(results) + 1))
    names = [r.student for r in results][::-1]
    ax.barh(names, [r.seconds for r in results][::-1], color="tab:gray")
    ax.set_xlabel("seconds")
    ax.set_title("Grading time per student")
    ax.tick_params(axis="y", labelsize=7)
    return fig


def _table(header, rows, table_id, numeric=()) -> str:
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


def build_report(results: list[SubmissionResult], title: str | None = None) -> str:
    """The class report as one self-contained HTML page."""
    results = sorted(results, key=lambda r: r.student)
    title = title or f"Class report: {config.ASSIGNMENT}"
    scores = [r.score for r in results]
    most = max((r.max_score for r in results), default=0)
    threshold = config.ACCURACY_TIERS[0][0]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{CSS} body{{max-width:72rem}}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p class='muted'>Generated {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} from {len(results)} results.</p>",
    ]
    if not results:
        parts.append("<p>No results.</p></body></html>")
        return "\n".join(parts)
    unconfined = [r.student for r in results if not unconfined_ok(r)]
    if unconfined:
        parts.append(
            f"<p class='warning' id='unconfined'><strong>Graded without kernel confinement</strong> "
            f"(<code>--unconfined</code>): {esc(', '.join(unconfined[:20]))}"
            f"{' and others' if len(unconfined) > 20 else ''}. Their code could read and write what "
            "the grader's user can; regrade them on a machine with Landlock and seccomp.</p>"
        )
    e2e = [test_accuracies(r).get("train_ch3.end_to_end") for r in results]
    e2e = [a for a in e2e if a is not None]
    summary = [
        ("students", f"{len(results)}"),
        ("mean score", f"{statistics.mean(scores):.2f} / {most:g}"),
        ("median score", f"{statistics.median(scores):g} / {most:g}"),
        ("full marks", f"{sum(r.score == r.max_score for r in results)}"),
        ("submissions with grading problems", f"{len(problem_students(results))}"),
        (f"end-to-end test accuracy >= {threshold}", f"{sum(a >= threshold for a in e2e)} of {len(e2e)} trained"),
        ("total grading time", f"{sum(r.seconds for r in results):.0f} s"),
    ]  # fmt: skip
    parts.append(_table(("", ""), [(esc(k), esc(v)) for k, v in summary], "summary"))

    parts.append("<h2>Scores</h2>")
    parts.append(f"<img id='score-histogram' alt='score histogram' src='{png_data_uri(_fig_scores(results))}'>")  # fmt: skip
    rows = []
    for r in results:
        per = function_scores(r)
        rows.append([esc(r.student), f"{r.score:g}", f"<span class='{esc(r.status)}'>{esc(r.status)}</span>",
                     *(f"{per[f]:g}" for f in FUNCTION_COLUMNS),
                     f"<a href='{esc(quote(store.folder_name(r.student)))}/feedback.html'>feedback</a>"])  # fmt: skip
    parts.append(_table(("student", f"score (of {most:g})", "status", *FUNCTION_COLUMNS, ""), rows, "scores", numeric={1, 3, 4, 5, 6, 7}))  # fmt: skip

    rates = pass_rates(results)
    parts.append("<h2>Pass rate of every check</h2>")
    parts.append(f"<img id='pass-rates' alt='pass rate per check' src='{png_data_uri(_fig_pass_rates(rates))}'>")  # fmt: skip
    parts.append(_table(("check", "passed", "pass rate"),
                        [(esc(cid), f"{p} / {n}", f"{(p / n if n else 0):.0%}") for cid, p, n in rates],
                        "pass-rate-table", numeric={1, 2}))  # fmt: skip

    parts.append(f"<h2>Measured test accuracy (threshold {threshold})</h2>")
    fig = _fig_accuracy(results)
    if fig is not None:
        parts.append(f"<img id='accuracy-histogram' alt='test accuracy histogram' src='{png_data_uri(fig)}'>")  # fmt: skip
    acc_rows = []
    for r in results:
        accs = test_accuracies(r)
        acc_rows.append([esc(r.student)] + [
            (f"{accs[c]:.4f}" + (" &#10003;" if accs[c] >= threshold else " &#10007;")) if c in accs else "-"
            for c in ("train_ch3.end_to_end", "train_ch3.accuracy")
        ])  # fmt: skip
    parts.append(_table(("student", "end to end (student's functions)", "grader's model"), acc_rows, "accuracy-table", numeric={1, 2}))  # fmt: skip

    failures = common_failures(results)
    parts.append("<h2>Most common failures</h2>")
    parts.append(
        "<p class='muted'>Grouped by check and hint line (or first line of the message).</p>"
    )
    parts.append(_table(("count", "check", "hint", "students"),
                        [(str(n), esc(cid), esc(hint), esc(", ".join(st))) for cid, hint, n, st in failures[:40]],
                        "failures", numeric={0}))  # fmt: skip

    problems = problem_students(results)
    parts.append("<h2>Grading problems (timeout, crashed, memory, forbidden, malformed)</h2>")
    if problems:
        parts.append(_table(("student", "status", "message", "checks affected"),
                            [(esc(s), f"<span class='{esc(st)}'>{esc(st)}</span>", esc(msg), esc(", ".join(bad)))
                             for s, st, msg, bad in problems], "problems"))  # fmt: skip
    else:
        parts.append("<p id='problems'>None.</p>")

    late_rows = [
        (esc(r.student), esc(r.info["late"].get("submitted_at") or "-"),
         esc(late.describe(r.info["late"]["late_seconds"])), f"{r.info['late'].get('penalty', 0):g}")
        for r in results
        if (r.info.get("late") or {}).get("late_seconds")
    ]  # fmt: skip
    parts.append("<h2>Late submissions</h2>")
    if late_rows:
        parts.append(_table(("student", "submitted", "late by", "penalty (points)"), late_rows,
                            "late", numeric={3}))  # fmt: skip
    else:
        parts.append("<p id='late'>None (or no due date and timestamp.txt to compare).</p>")

    parts.append("<h2>Grading time per student</h2>")
    parts.append(f"<img id='grading-times' alt='grading time per student' src='{png_data_uri(_fig_times(results))}'>")  # fmt: skip
    parts.append(_table(("student", "seconds", "device", "peak memory (MB)", "worker starts"),
                        [(esc(r.student), f"{r.seconds:.1f}", esc(r.device),
                          f"{r.info.get('peak_rss', 0) / 1024**2:.0f}" if r.info.get("peak_rss") else "-",
                          esc(r.info.get("worker_starts", "-"))) for r in results],
                        "times", numeric={1, 3, 4}))  # fmt: skip
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out_dir, results) -> Path:
    """Write DIR/report.html atomically; return its path."""
    path = Path(out_dir) / "report.html"
    atomic_write(path, build_report(list(results)))
    return path
