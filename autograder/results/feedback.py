"""Per-student feedback: a readable HTML page and a Markdown text (for LMS comment boxes).

Made only from a SubmissionResult (what results.json holds) and the unit it was graded by
(its info["assignment"]'s, autograder.units): scores per function, the message of every check that
did not pass (input, expected, got, hint), and the training curves of the student's runs. Hidden
test source is never part of a result, so it cannot appear; the quiz key is never read (quiz
messages name the topic, not the answer).

Written in the language the result records (info["lang"], else its edition's, else English)
through the "reports" gettext catalogue; check messages are stored already in that language and
are shown as they are. Chinese plot labels need a CJK font; without one they stay English (noted).
"""

from __future__ import annotations

import base64
import html
import io
from functools import cache
from pathlib import Path

from autograder import config
from autograder.checks import status
from autograder.checks.outcome import SubmissionResult
from autograder.i18n import N_, _, current, ngettext, normalise, use
from autograder.results import late
from autograder.results.exports import atomic_write, class_assignment, unit_of_result

HTML_LANG = {"en": "en", "zh_CN": "zh-CN"}
"""Language key (autograder.i18n.LANGUAGES) -> the <html lang> attribute of a page in it."""

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .6rem;border-bottom:1px solid #e4e4e4;text-align:left}
th{background:#f5f5f5}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.passed{color:#17692b}.failed,.error,.timeout,.crashed,.memory,.forbidden,.missing,.malformed{color:#b3261e}.grader_error{color:#8a5a00}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:.6rem;font-size:.85rem;background:#eee}
pre{background:#f7f7f7;border:1px solid #e2e2e2;padding:.6rem;white-space:pre-wrap;word-break:break-word;font-size:.88rem}
.score{font-size:1.3rem;font-weight:600}img{max-width:100%}.muted{color:#666;font-size:.9rem}
"""

CJK_CSS = (
    "body{font-family:'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Hiragino Sans GB',"
    "'Microsoft YaHei','WenQuanYi Micro Hei',system-ui,sans-serif}"
)
"""Added for Chinese pages: Simplified Chinese fonts first (Latin text falls through to them too)."""

STATUS_LABELS = {
    "passed": N_("passed"),
    "failed": N_("failed"),
    "error": N_("error"),
    "timeout": N_("timeout"),
    "crashed": N_("crashed"),
    "memory": N_("memory"),
    "forbidden": N_("forbidden"),
    "missing": N_("missing"),
    "malformed": N_("malformed"),
    "grader_error": N_("grader_error"),
    "ok": N_("ok"),
}
"""A status's name as the pages show it (English: the name itself)."""


def esc(text) -> str:
    """`text` escaped for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def result_lang(result: SubmissionResult) -> str:
    """The language of a result's feedback: info["lang"], else its edition's, else English."""
    info = result.info or {}
    for tag in (info.get("lang"), info.get("edition"), config.EDITIONS.get(info.get("assignment"))):
        try:
            if tag:
                return normalise(tag)
        except ValueError:
            continue
    return "en"


def page_head(title: str, extra_css: str = "") -> str:
    """The opening of a page in the current language: <html lang>, charset, title and styles."""
    lang = current()
    css = CSS + (CJK_CSS if lang != "en" else "") + extra_css
    return (
        f"<!DOCTYPE html><html lang='{HTML_LANG.get(lang, lang)}'><head><meta charset='utf-8'>\n"
        f"<title>{esc(title)}</title>\n<style>{css}</style></head><body>"
    )


def status_label(name: str) -> str:
    """A status name in the current language (unknown names as they are)."""
    return _(STATUS_LABELS[name]) if name in STATUS_LABELS else name


def png_data_uri(fig, tight: bool = True) -> str:
    """A matplotlib figure as an <img> data URI (PNG, base64); closes the figure. tight: crop to
    what is drawn (draws the figure twice); False keeps the figure's own size and margins."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "SimHei")  # fmt: skip
"""Fonts tried, after matplotlib's own, for Chinese plot labels and student names in other scripts."""
CJK_FILES = ("NotoSansCJK", "SourceHanSans", "wqy-", "msyh", "PingFang", "Hiragino", "simhei")
"""File names of those fonts, looked for when matplotlib's font cache predates their install."""


@cache
def cjk_font() -> str | None:
    """The first installed font of CJK_FONTS, or None. Fonts installed after matplotlib built its
    font cache (apt-get install fonts-noto-cjk) are added for this process."""
    from matplotlib import font_manager

    def installed():
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in names), None)

    if found := installed():
        return found
    for path in font_manager.findSystemFonts():
        if any(part.lower() in Path(path).name.lower() for part in CJK_FILES):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    return installed()


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed), with a CJK fallback font when
    the machine has one (Chinese labels, student names on plot axes)."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # A family of its own after the generic one: matplotlib falls back glyph by glyph across
    # font.family (Latin from DejaVu Sans, CJK from this font), not within font.sans-serif.
    font = cjk_font()
    families = list(matplotlib.rcParams["font.family"])
    if font and font not in families:
        matplotlib.rcParams["font.family"] = families + [font]
    # student names in another script without a font for it; Chinese labels never get here (plot_lang)
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
    return plt


def plot_lang() -> str:
    """The language plot labels are written in: the current one, or English when it needs a CJK
    font the machine does not have (English labels rather than empty boxes)."""
    lang = current()
    return lang if lang == "en" or cjk_font() else "en"


def plot_note() -> str | None:
    """A line under plots whose labels fell back to English, in the current language, else None."""
    if plot_lang() == current():
        return None
    return _(
        "The plot labels are in English: the computer that made this page has no Chinese font "
        "(fonts-noto-cjk)."
    )


def curve_checks(result: SubmissionResult) -> dict[str, str]:
    """Training runs of the result's unit whose curves are drawn: check id -> what was trained (an
    N_() msgid of the "autograder" catalogue)."""
    return unit_of_result(result).registry.curves


def training_runs(result: SubmissionResult) -> list[str]:
    """The checks of the result's unit that train (curves drawn, accuracy measured), in order."""
    return list(dict.fromkeys([*curve_checks(result), *unit_of_result(result).accuracy_checks]))


def manual_questions(result: SubmissionResult) -> tuple:
    """The hand-graded questions of the result's unit's quiz (none for a unit without a quiz)."""
    unit = unit_of_result(result)
    return tuple(unit.quiz.MANUAL_QUESTIONS) if unit.quiz_notebook else ()


def curves(result: SubmissionResult) -> dict[str, list[list[float]]]:
    """check id -> rows [epoch, train_loss, train_acc, test_acc] of the runs that recorded a curve."""
    out = {}
    drawn = curve_checks(result)
    for c in result.checks:
        curve = c.details.get("curve") if isinstance(c.details, dict) else None
        if c.check_id in drawn and curve:
            out[c.check_id] = [list(map(float, row)) for row in curve if len(row) >= 4]
    return out


def check_description(result: SubmissionResult, check_id: str) -> str:
    """What `check_id` of the result's unit verifies, in the current language: the description its
    registry declares (the notebook's hidden-test comment says the same), "" for an unknown id."""
    check = unit_of_result(result).registry.by_id.get(check_id)
    return check.description() if check is not None else ""


def test_accuracies(result: SubmissionResult) -> dict[str, float]:
    """check id -> test accuracy the grader measured (the training checks that ran)."""
    return {
        c.check_id: float(c.details["test_accuracy"])
        for c in result.checks
        if isinstance(c.details, dict) and "test_accuracy" in c.details
    }


def curve_figure(result: SubmissionResult):
    """One figure per student: training loss, train accuracy and test accuracy per epoch (or None).
    Labels in the current language (plot_lang)."""
    runs = curves(result)
    if not runs:
        return None
    captions = curve_checks(result)
    plt = pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(5.2 * len(runs), 3.4), squeeze=False)
    threshold = config.ACCURACY_TIERS[0][0]
    with use(plot_lang()):
        for ax, (cid, rows) in zip(axes[0], runs.items()):
            epochs = [r[0] for r in rows]
            ax.plot(epochs, [r[2] for r in rows], "o-", color="tab:purple", label=_("train acc"))
            ax.plot(epochs, [r[3] for r in rows], "s-", color="tab:green", label=_("test acc"))
            ax.axhline(threshold, color="grey", ls="--", lw=1,
                       label=_("full points ({threshold})").format(threshold=threshold))  # fmt: skip
            ax.set_ylim(0, 1)
            ax.set_xlabel(_("epoch"))
            ax.set_ylabel(_("accuracy"))
            ax2 = ax.twinx()
            ax2.plot(epochs, [r[1] for r in rows], "^-", color="tab:blue", label=_("train loss"))
            ax2.set_ylabel(_("train loss"))
            lines = ax.get_lines() + ax2.get_lines()
            ax.legend(lines, [ln.get_label() for ln in lines], loc="center right", fontsize=8)
            ax.set_title(f"{cid}\n{_(captions[cid])}", fontsize=9)
    _curve_layout(fig, len(runs))
    return fig


CURVE_MARGINS = {"left": 0.6, "right": 0.7, "bottom": 0.5, "top": 0.55, "gap": 1.45}
"""Inches around the curve plots (room for the tick labels, both axis labels and the two-line
title) and between two of them: a fixed layout, drawn once (tight_layout and a tight crop measure
every label first, which was most of a class's feedback time)."""


def _curve_layout(fig, n: int) -> None:
    """Place `n` side-by-side curve plots of `fig` within CURVE_MARGINS."""
    m = CURVE_MARGINS
    width, height = fig.get_size_inches()
    axes_width = (width - m["left"] - m["right"] - m["gap"] * (n - 1)) / n
    fig.subplots_adjust(left=m["left"] / width, right=1 - m["right"] / width,
                        bottom=m["bottom"] / height, top=1 - m["top"] / height,
                        wspace=m["gap"] / axes_width)  # fmt: skip


def _by_function(result: SubmissionResult):
    """(function, its checks) in the gradebook's column order (the unit's), then any other function."""
    groups: dict[str, list] = {}
    for c in result.checks:
        groups.setdefault(c.function, []).append(c)
    columns = unit_of_result(result).columns
    order = [f for f in columns if f in groups] + [f for f in groups if f not in columns]
    return [(f, groups[f]) for f in order]


def _status_line(result: SubmissionResult) -> str:
    """The submission's status, its words, and the grader's warnings (e.g. a renamed notebook)."""
    line = _("{status} ({words})").format(
        status=status_label(result.status), words=_(status.words(result.status))
    )
    if result.message and not result.message.startswith("Status:"):
        line = _("{status}: {message}").format(status=line, message=result.message)
    return line


def check_message(check, result: SubmissionResult) -> str:
    """A check's message as stored (already in the student's language), except the late penalty's,
    which is said again from info["late"] in the current language (results written before late.apply
    translated it hold it in English)."""
    info = result.info.get("late") or {}
    policy = info.get("policy") or {}
    if check.check_id != late.PENALTY_CHECK or "per_day" not in policy or not info.get("due"):
        return check.message
    return late.penalty_message(info)


def render_html(result: SubmissionResult, curve_png: str | None = None) -> str:
    """The student's feedback page (self-contained HTML) in the result's language (result_lang).
    curve_png: a data URI, made if None."""
    with use(result_lang(result)):
        return _html(result, curve_png)


def _html(result: SubmissionResult, curve_png: str | None) -> str:
    """render_html in the current language."""
    if curve_png is None:
        fig = curve_figure(result)
        curve_png = png_data_uri(fig, tight=False) if fig is not None else ""
    unit, assignment = unit_of_result(result), class_assignment([result])
    title = _("Feedback: {student} - {assignment}")
    heading = esc(_("Feedback for {student}")).format(student=esc(result.student))
    subtitle = _("Assignment {assignment} ({title})").format(
        assignment=assignment, title=_(unit.title)
    )
    total = _("Score: {score} / {max_score}").format(
        score=f"{result.score:g}", max_score=f"{result.max_score:g}"
    )
    badge = f"<span class='badge {esc(result.status)}'>{esc(_status_line(result))}</span>"
    status_para = esc(_("Status: {status}")).format(status=badge)
    when, by_hand = late.summary(result), hand_graded_note(result)
    func_header = (_("function"), _("points"), _("checks passed"))
    parts = [
        page_head(title.format(student=result.student, assignment=assignment)),
        f"<h1>{heading}</h1>",
        f"<p class='muted'>{esc(subtitle)}</p>",
        f"<p class='score' id='total'>{esc(total)}</p>",
        *([f"<p class='muted' id='by-hand'>{esc(by_hand)}</p>"] if by_hand else []),
        f"<p>{status_para}</p>",
        *([f"<p id='lateness'>{esc(when)}</p>"] if when else []),
        "<h2>{}</h2><table id='functions'><tr><th>{}</th><th class='num'>{}</th><th class='num'>{}</th></tr>".format(
            esc(_("Points per function")), *map(esc, func_header)
        ),
    ]
    groups = _by_function(result)
    for func, checks in groups:
        score = sum(c.score for c in checks)
        most = sum(c.max_score for c in checks)
        passed = sum(c.passed for c in checks)
        parts.append(
            f"<tr><td>{esc(func)}</td><td class='num'>{score:g} / {most:g}</td>"
            f"<td class='num'>{passed} / {len(checks)}</td></tr>"
        )
    parts.append("</table>")

    parts += _training_section(result, curve_png)
    parts += _checks_section(result, groups)
    command = f"<code>python -m autograder check {esc(unit.main_notebook)}</code>"
    if by_hand:
        closing = _("Free-text quiz answers are graded by hand and are not included here. Check your work before handing in: {command}.")  # fmt: skip
    else:
        closing = _("Check your work before handing in: {command}.")
    parts.append(f"<p class='muted'>{esc(closing).format(command=command)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def stopped_note(result: SubmissionResult, cid: str) -> str:
    """Where check `cid`'s run was judged, if the grader stopped it once its accuracy reached the
    top tier (details "stopped_after", "epochs", "stop_accuracy"), else ""."""
    details = next((c.details for c in result.checks if c.check_id == cid), None)
    if not isinstance(details, dict) or not details.get("stopped_after"):
        return ""
    return _(
        "The grader measured this run after every epoch and judged it after epoch {epoch} of "
        "{epochs}, the first to reach {accuracy}; the run stopped there, and its curve ends there."
    ).format(
        epoch=details["stopped_after"],
        epochs=details.get("epochs", "?"),
        accuracy=details.get("stop_accuracy", "?"),
    )


def _training_section(result: SubmissionResult, curve_png: str) -> list[str]:
    """The Training section of the page: measured accuracies, the curves (nothing for a unit whose
    checks train nothing and a result without a run)."""
    accs, runs = test_accuracies(result), training_runs(result)
    if not (accs or curve_png or runs):
        return []
    parts = ["<h2>{}</h2>".format(esc(_("Training")))]
    if accs:
        acc_header = (_("run"), _("test accuracy measured by the grader"))
        parts.append("<table id='accuracy'><tr><th>{}</th><th class='num'>{}</th></tr>".format(*map(esc, acc_header)))  # fmt: skip
        for cid, acc in accs.items():
            parts.append(f"<tr><td>{esc(cid)}</td><td class='num'>{acc:.4f}</td></tr>")
        parts.append("</table>")
        for cid in accs:  # what each run is graded on: its check's one description
            parts.append(f"<p class='muted'><b>{esc(cid)}</b>: {esc(check_description(result, cid))}</p>")  # fmt: skip
            if stopped := stopped_note(result, cid):
                parts.append(f"<p class='muted stopped'>{esc(stopped)}</p>")
    if curve_png:
        alt = _("training curve: loss, train and test accuracy per epoch")
        parts.append(f"<img id='curve' alt='{esc(alt)}' src='{curve_png}'>")
        if note := plot_note():
            parts.append(f"<p class='muted' id='plot-note'>{esc(note)}</p>")
    if not accs and not curve_png:
        function = runs[0].split(".", 1)[0]  # the function of the unit's first training run
        untrained = _("{function} did not finish a training run (see its checks below).")
        parts.append(f"<p>{esc(untrained.format(function=function))}</p>")
    return parts


def _checks_section(result: SubmissionResult, groups) -> list[str]:
    """The Checks section of the page: every check of every function, and its message."""
    parts = ["<h2>{}</h2>".format(esc(_("Checks")))]
    check_header = (_("check"), _("status"), _("points"))
    for func, checks in groups:
        parts.append(f"<h3>{esc(func)}</h3>" + "<table class='checks'><tr><th>{}</th><th>{}</th><th class='num'>{}</th></tr>".format(*map(esc, check_header)))  # fmt: skip
        for c in checks:
            parts.append(
                f"<tr><td>{esc(c.check_id)}</td><td class='{esc(c.status)}'>{esc(status_label(c.status))}</td>"
                f"<td class='num'>{c.score:g} / {c.max_score:g}</td></tr>"
            )
        parts.append("</table>")
        for c in checks:
            if c.message:  # a passed check's message is a note (e.g. on d2l-zh's own asserts)
                parts.append(
                    f"<p><b>{esc(c.check_id)}</b> <span class='{esc(c.status)}'>{esc(status_label(c.status))}</span></p>"
                    f"<pre>{esc(check_message(c, result))}</pre>"
                )
    return parts


def hand_graded_note(result: SubmissionResult) -> str:
    """What the score leaves out: the written quiz answers, graded by hand later in nbgrader ("" for
    a unit whose quiz has none)."""
    questions = manual_questions(result)
    if not questions:
        return ""
    count = len(questions)
    manual = sum(q.points for q in questions)
    note = ngettext(
        "This score counts the automatically graded points. Your {count} written answer "
        "({manual} points) is graded by hand later, so the full total is out of {total}.",
        "This score counts the automatically graded points. Your {count} written answers "
        "({manual} points) are graded by hand later, so the full total is out of {total}.",
        count,
    )
    return note.format(count=count, manual=f"{manual:g}", total=f"{result.max_score + manual:g}")


def render_markdown(result: SubmissionResult) -> str:
    """The student's feedback as Markdown (LMS comment boxes), in the result's language: no
    images, the curve as a table."""
    with use(result_lang(result)):
        return _markdown(result)


def _markdown(result: SubmissionResult) -> str:
    """render_markdown in the current language."""
    when = late.summary(result)
    score = _("Score: {score} / {max_score}").format(
        score=f"{result.score:g}", max_score=f"{result.max_score:g}"
    )
    lines = [
        _("# Feedback for {student}: {assignment}").format(student=result.student, assignment=class_assignment([result])),
        "",
        _("**{score}** (status: {status})").format(score=score, status=_status_line(result)),
        "",
        *([by_hand, ""] if (by_hand := hand_graded_note(result)) else []),
        *([when, ""] if when else []),
        "| {} | {} | {} |".format(_("function"), _("points"), _("checks passed")),
        "| --- | ---: | ---: |",
    ]  # fmt: skip
    groups = _by_function(result)
    for func, checks in groups:
        lines.append(
            f"| {func} | {sum(c.score for c in checks):g} / {sum(c.max_score for c in checks):g} "
            f"| {sum(c.passed for c in checks)} / {len(checks)} |"
        )
    accs = test_accuracies(result)
    runs = curves(result)
    if accs or runs:
        lines += ["", "## " + _("Training"), ""]
        for cid, acc in accs.items():
            line = _("- {check}: test accuracy {accuracy}, measured by the grader. The check: {description}")  # fmt: skip
            lines.append(line.format(check=cid, accuracy=f"{acc:.4f}", description=check_description(result, cid)))  # fmt: skip
            if stopped := stopped_note(result, cid):
                lines.append(f"  {stopped}")
        header = "| {} | {} | {} | {} |".format(_("epoch"), _("train loss"), _("train acc"), _("test acc"))  # fmt: skip
        for cid, rows in runs.items():
            caption = _("{check} ({what}):").format(check=cid, what=_(curve_checks(result)[cid]))
            lines += ["", caption, "", header, "| ---: | ---: | ---: | ---: |"]
            lines += [f"| {r[0]:g} | {r[1]:.4f} | {r[2]:.4f} | {r[3]:.4f} |" for r in rows]
    failed = [c for c in result.checks if not c.passed]
    lines += ["", "## " + _("Checks that did not pass"), ""]
    if not failed:
        lines.append(_("All checks passed."))
    for c in failed:
        title = _("### {check}: {status} ({score} / {max_score})").format(
            check=c.check_id, status=status_label(c.status),
            score=f"{c.score:g}", max_score=f"{c.max_score:g}",
        )  # fmt: skip
        lines += [title, ""]
        if c.message:
            lines += ["```text", check_message(c, result).replace("```", "'''"), "```", ""]
    noted = [c for c in result.checks if c.passed and c.message]
    if noted:
        lines += ["", "## " + _("Notes on checks that passed"), ""]
    for c in noted:
        lines += [f"### {c.check_id}", "", "```text", c.message.replace("```", "'''"), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_feedback(out_dir, result: SubmissionResult) -> tuple[Path, Path]:
    """Write DIR/<student>/feedback.html and feedback.md atomically; return their paths."""
    from autograder.results.store import result_dir

    folder = result_dir(out_dir, result.student)
    html_path, md_path = folder / "feedback.html", folder / "feedback.md"
    atomic_write(html_path, render_html(result))
    atomic_write(md_path, render_markdown(result))
    return html_path, md_path


def write_all_feedback(out_dir, results) -> list[Path]:
    """Feedback for every result; returns the HTML paths. A result whose feedback cannot be made
    gets a page saying so and is recorded as grader_error (feedback_failed): the others go on."""
    paths = []
    for r in results:
        try:
            paths.append(write_feedback(out_dir, r)[0])
        except Exception as err:  # noqa: BLE001 - the grader's failure on one student
            paths.append(feedback_failed(out_dir, r, err))
    return paths


class FeedbackAsGraded:
    """Feedback written in one background thread as each result is stored, while the workers
    grade the rest of the class (it was a serial tail after the last student); ``finish`` waits
    and names the students whose feedback is written."""

    def __init__(self, out_dir):
        from concurrent.futures import ThreadPoolExecutor

        self.out_dir = out_dir
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="softmax-feedback")
        self._futures: dict[str, object] = {}

    def submit(self, result: SubmissionResult) -> None:
        """Write `result`'s feedback soon (write_all_feedback: a failure is recorded, not raised)."""
        self._futures[result.student] = self._pool.submit(
            write_all_feedback, self.out_dir, [result]
        )

    def finish(self) -> set[str]:
        """Wait for the pages submitted; the students whose feedback was written."""
        self._pool.shutdown(wait=True)
        return {s for s, fut in self._futures.items() if fut.exception() is None}


def feedback_failed(out_dir, result: SubmissionResult, err: BaseException) -> Path:
    """Record that `result`'s feedback could not be made: its status becomes grader_error (so the
    next run regrades it) and its feedback pages say so; return the HTML path."""
    from autograder.results import store
    from autograder.results.exports import writable_text

    error = writable_text(f"{type(err).__name__}: {err}", 400)
    result.status = "grader_error"
    result.message = (f"the grader could not write this feedback ({error}); this is not your "
                      "result: your instructor will regrade it")  # fmt: skip
    result.info = {**(result.info or {}), "grader_error": True}
    store.write(out_dir, result)
    folder = store.result_dir(out_dir, result.student)
    html_path = folder / "feedback.html"
    atomic_write(
        html_path, f"{page_head('grader_error')}<p>{esc(result.message)}</p></body></html>"
    )
    atomic_write(folder / "feedback.md", result.message + "\n")
    return html_path
