"""Per-student feedback: a readable HTML page and a Markdown text (for LMS comment boxes).

Made only from a SubmissionResult (what results.json holds): scores per function, the message of
every check that did not pass (input, expected, got, hint), and the training curve of the
student's train_ch3 runs. Hidden test source is never part of a result, so it cannot appear; the
quiz key is never read (quiz messages name the topic, not the answer).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from autograder import config
from autograder.checks import status
from autograder.checks.outcome import SubmissionResult
from autograder.results import late
from autograder.results.exports import FUNCTION_COLUMNS, atomic_write
from autograder.units.softmax_regression import quiz
from autograder.units.softmax_regression.checks import REGISTRY

CURVE_CHECKS = REGISTRY.curves
"""Training runs whose curves are drawn: check id -> what was trained."""

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


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def png_data_uri(fig) -> str:
    """A matplotlib figure as an <img> data URI (PNG, base64); closes the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "SimHei")  # fmt: skip
"""Fonts tried, after matplotlib's own, for student names in other scripts (plot labels)."""


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed), with a CJK fallback font when
    the machine has one (student names on plot axes); the HTML tables show every name regardless."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    extra = [name for name in CJK_FONTS if name in installed]
    families = list(matplotlib.rcParams["font.sans-serif"])
    if extra and not set(extra) <= set(families):
        matplotlib.rcParams["font.sans-serif"] = families[:1] + extra + families[1:]
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
    return plt


def curves(result: SubmissionResult) -> dict[str, list[list[float]]]:
    """check id -> rows [epoch, train_loss, train_acc, test_acc] of the runs that recorded a curve."""
    out = {}
    for c in result.checks:
        curve = c.details.get("curve") if isinstance(c.details, dict) else None
        if c.check_id in CURVE_CHECKS and curve:
            out[c.check_id] = [list(map(float, row)) for row in curve if len(row) >= 4]
    return out


def test_accuracies(result: SubmissionResult) -> dict[str, float]:
    """check id -> test accuracy the grader measured (train_ch3 checks that ran)."""
    return {
        c.check_id: float(c.details["test_accuracy"])
        for c in result.checks
        if isinstance(c.details, dict) and "test_accuracy" in c.details
    }


def curve_figure(result: SubmissionResult):
    """One figure per student: training loss, train accuracy and test accuracy per epoch (or None)."""
    runs = curves(result)
    if not runs:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(5.2 * len(runs), 3.4), squeeze=False)
    threshold = config.ACCURACY_TIERS[0][0]
    for ax, (cid, rows) in zip(axes[0], runs.items()):
        epochs = [r[0] for r in rows]
        ax.plot(epochs, [r[2] for r in rows], "o-", color="tab:purple", label="train acc")
        ax.plot(epochs, [r[3] for r in rows], "s-", color="tab:green", label="test acc")
        ax.axhline(threshold, color="grey", ls="--", lw=1, label=f"full points ({threshold})")
        ax.set_ylim(0, 1)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax2 = ax.twinx()
        ax2.plot(epochs, [r[1] for r in rows], "^-", color="tab:blue", label="train loss")
        ax2.set_ylabel("train loss")
        lines = ax.get_lines() + ax2.get_lines()
        ax.legend(lines, [ln.get_label() for ln in lines], loc="center right", fontsize=8)
        ax.set_title(f"{cid}\n{CURVE_CHECKS[cid]}", fontsize=9)
    fig.tight_layout()
    return fig


def _by_function(result: SubmissionResult):
    groups: dict[str, list] = {}
    for c in result.checks:
        groups.setdefault(c.function, []).append(c)
    order = [f for f in FUNCTION_COLUMNS if f in groups] + [
        f for f in groups if f not in FUNCTION_COLUMNS
    ]
    return [(f, groups[f]) for f in order]


def _status_line(result: SubmissionResult) -> str:
    line = f"{result.status} ({status.words(result.status)})"
    if result.message and not result.message.startswith("Status:"):
        line += f": {result.message}"
    return line


def render_html(result: SubmissionResult, curve_png: str | None = None) -> str:
    """The student's feedback page (self-contained HTML). curve_png: a data URI, made if None."""
    if curve_png is None:
        fig = curve_figure(result)
        curve_png = png_data_uri(fig) if fig is not None else ""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Feedback: {esc(result.student)} - {esc(config.ASSIGNMENT)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Feedback for {esc(result.student)}</h1>",
        f"<p class='muted'>Assignment {esc(config.ASSIGNMENT)} (d2l softmax regression)</p>",
        f"<p class='score' id='total'>Score: {result.score:g} / {result.max_score:g}</p>",
        f"<p class='muted' id='by-hand'>{esc(hand_graded_note(result))}</p>",
        f"<p>Status: <span class='badge {esc(result.status)}'>{esc(_status_line(result))}</span></p>",
        *([f"<p id='lateness'>{esc(late.summary(result))}</p>"] if late.summary(result) else []),
        "<h2>Points per function</h2><table id='functions'><tr><th>function</th>"
        "<th class='num'>points</th><th class='num'>checks passed</th></tr>",
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

    accs = test_accuracies(result)
    parts.append("<h2>Training</h2>")
    if accs:
        parts.append("<table id='accuracy'><tr><th>run</th><th class='num'>test accuracy measured by the grader</th></tr>")  # fmt: skip
        for cid, acc in accs.items():
            parts.append(f"<tr><td>{esc(cid)}</td><td class='num'>{acc:.4f}</td></tr>")
        parts.append("</table>")
        parts.append(
            f"<p class='muted'>Full points at a test accuracy of at least {config.ACCURACY_TIERS[0][0]}"
            f" after {config.NUM_EPOCHS} epochs (lr {config.LR}, batch {config.BATCH_SIZE}).</p>"
        )
    if curve_png:
        parts.append(
            f"<img id='curve' alt='training curve: loss, train and test accuracy per epoch' src='{curve_png}'>"
        )
    if not accs and not curve_png:
        parts.append("<p>train_ch3 did not finish a training run (see its checks below).</p>")

    parts.append("<h2>Checks</h2>")
    for func, checks in groups:
        parts.append(f"<h3>{esc(func)}</h3><table class='checks'><tr><th>check</th><th>status</th><th class='num'>points</th></tr>")  # fmt: skip
        for c in checks:
            parts.append(
                f"<tr><td>{esc(c.check_id)}</td><td class='{esc(c.status)}'>{esc(c.status)}</td>"
                f"<td class='num'>{c.score:g} / {c.max_score:g}</td></tr>"
            )
        parts.append("</table>")
        for c in checks:
            if not c.passed and c.message:
                parts.append(
                    f"<p><b>{esc(c.check_id)}</b> <span class='{esc(c.status)}'>{esc(c.status)}</span></p>"
                    f"<pre>{esc(c.message)}</pre>"
                )
    parts.append(
        "<p class='muted'>Free-text quiz answers are graded by hand and are not included here. "
        "Check your work before handing in: <code>python -m autograder check softmax_regression.ipynb</code>.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def hand_graded_note(result: SubmissionResult) -> str:
    """What the score leaves out: the written quiz answers, graded by hand later in nbgrader."""
    manual = sum(q.points for q in quiz.MANUAL_QUESTIONS)
    return (
        f"This score counts the automatically graded points. Your {len(quiz.MANUAL_QUESTIONS)} "
        f"written answers ({manual:g} points) are graded by hand later, so the full total is "
        f"out of {result.max_score + manual:g}."
    )


def render_markdown(result: SubmissionResult) -> str:
    """The student's feedback as Markdown (LMS comment boxes): no images, the curve as a table."""
    lines = [
        f"# Feedback for {result.student}: {config.ASSIGNMENT}",
        "",
        f"**Score: {result.score:g} / {result.max_score:g}** (status: {_status_line(result)})",
        "",
        hand_graded_note(result),
        "",
        *([late.summary(result), ""] if late.summary(result) else []),
        "| function | points | checks passed |",
        "| --- | ---: | ---: |",
    ]
    groups = _by_function(result)
    for func, checks in groups:
        lines.append(
            f"| {func} | {sum(c.score for c in checks):g} / {sum(c.max_score for c in checks):g} "
            f"| {sum(c.passed for c in checks)} / {len(checks)} |"
        )
    accs = test_accuracies(result)
    runs = curves(result)
    if accs or runs:
        lines += ["", "## Training", ""]
        for cid, acc in accs.items():
            lines.append(f"- {cid}: test accuracy {acc:.4f} (measured by the grader; full points at >= {config.ACCURACY_TIERS[0][0]})")  # fmt: skip
        for cid, rows in runs.items():
            lines += ["", f"{cid} ({CURVE_CHECKS[cid]}):", "",
                      "| epoch | train loss | train acc | test acc |", "| ---: | ---: | ---: | ---: |"]  # fmt: skip
            lines += [f"| {r[0]:g} | {r[1]:.4f} | {r[2]:.4f} | {r[3]:.4f} |" for r in rows]
    failed = [c for c in result.checks if not c.passed]
    lines += ["", "## Checks that did not pass", ""]
    if not failed:
        lines.append("All checks passed.")
    for c in failed:
        lines += [f"### {c.check_id}: {c.status} ({c.score:g} / {c.max_score:g})", ""]
        if c.message:
            lines += ["```text", c.message.replace("```", "'''"), "```", ""]
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
    """Feedback for every result; returns the HTML paths."""
    return [write_feedback(out_dir, r)[0] for r in results]
