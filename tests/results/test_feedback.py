"""Per-student feedback (autograder/results/feedback.py), written by `python -m autograder grade` as each student is graded."""

from __future__ import annotations

import base64
import html
import json
import re

import pytest
from helpers.fake_units import fake_unit
from helpers.paths import FILES

from autograder import config, units
from autograder.i18n import _, use
from autograder.results import feedback
from autograder.results.exports import read_result
from autograder.units.softmax_regression import quiz
from autograder.units.softmax_regression import unit as softmax_unit

RESULTS = FILES / "feedback" / "results"
SECRETS = ("run_checks(", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "answer_key", "inprocess")


@pytest.fixture(scope="module")
def graded(graded_class):
    """The example class graded once by the CLI (which also writes feedback and the report)."""
    out, proc = graded_class
    assert "class report" in proc.stdout
    return out


def key_answers():
    return json.loads(quiz.KEY_FILE.read_text())["answers"]


@pytest.mark.slow
def test_grade_writes_feedback_for_every_student(graded, examples):
    students = sorted(p.name for p in examples.iterdir() if p.is_dir())
    for s in students:
        html_text = (graded / s / "feedback.html").read_text()
        md = (graded / s / "feedback.md").read_text()
        res = read_result(graded / s / "results.json")
        with use(feedback.result_lang(res)):  # each student's edition (#13)
            score = _("Score: {score} / {max_score}").format(score=f"{res.score:g}", max_score=f"{res.max_score:g}")  # fmt: skip
        assert score in html_text and f"**{score}**" in md
        assert f"<html lang='{feedback.HTML_LANG[feedback.result_lang(res)]}'" in html_text
        for secret in SECRETS:
            assert secret not in html_text and secret not in md, (s, secret)
    assert (graded / "report.html").is_file()
    chinese = {s for s in students if feedback.result_lang(read_result(graded / s / "results.json")) == "zh_CN"}  # fmt: skip
    assert chinese >= {"刘洋", "王芳"}  # the Chinese-edition students of the example class


@pytest.mark.slow
def test_failed_checks_show_their_messages(graded):
    res = read_result(graded / "dave_wrong_axis" / "results.json")
    md = (graded / "dave_wrong_axis" / "feedback.md").read_text()
    html_text = (graded / "dave_wrong_axis" / "feedback.html").read_text()
    failed = [c for c in res.checks if not c.passed]
    assert {c.check_id for c in failed} >= {"softmax.values", "softmax.stability", "quiz.q7"}
    for c in failed:
        assert f"### {c.check_id}: {c.status}" in md
        assert c.message in md
        assert feedback.esc(c.message) in html_text
    assert "Expected:" in md and "Hint: you normalised each column" in md
    # points per function
    assert "| softmax | 6 / 10 | 5 / 7 |" in md


@pytest.mark.slow
def test_training_curve_embedded(graded):
    res = read_result(graded / "alice_full" / "results.json")
    html_text = (graded / "alice_full" / "feedback.html").read_text()
    md = (graded / "alice_full" / "feedback.md").read_text()
    src = re.search(r"<img id='curve' [^>]*src='data:image/png;base64,([^']+)'", html_text)
    assert src and base64.b64decode(src.group(1)).startswith(b"\x89PNG")
    for cid, acc in feedback.test_accuracies(res).items():
        assert f"{acc:.4f}" in html_text and f"{cid}: test accuracy {acc:.4f}" in md
    curve = feedback.curves(res)["train_ch3.end_to_end"]
    # judged (and stopped) at the end of the first epoch at the top tier: the epochs before it
    stopped = next(c for c in res.checks if c.check_id == "train_ch3.end_to_end").details
    assert 1 <= len(curve) == stopped["stopped_after"] - 1 < config.NUM_EPOCHS
    assert f"judged it after epoch {stopped['stopped_after']} of {config.NUM_EPOCHS}" in md
    last = curve[-1]
    assert f"| {last[0]:g} | {last[1]:.4f} | {last[2]:.4f} | {last[3]:.4f} |" in md
    assert "All checks passed." in md


@pytest.mark.slow
def test_quiz_key_not_revealed(graded):
    key = key_answers()
    for folder in graded.iterdir():
        if not folder.is_dir():
            continue
        md = (folder / "feedback.md").read_text()
        res = read_result(folder / "results.json")
        for c in res.checks:
            if c.function == "quiz" and c.status == "failed":  # wrong answers (others: format)
                block = re.split(rf"### {re.escape(c.check_id)}[:：]", md)[1].split("###")[0]
                want = key[c.check_id.split(".")[1]]
                if isinstance(want, str):  # a choice letter, as it would be quoted (in en or zh)
                    assert not re.search(rf"""['"“‘「]{want}['"”’」]""", block), block
                else:
                    assert str(want) not in block, block


def test_feedback_from_stored_results_without_training():
    res = read_result(RESULTS / "hank_crashed" / "results.json")
    md = feedback.render_markdown(res)
    assert "status: crashed" in md and "signal 11" in md
    carol = read_result(RESULTS / "carol_blank" / "results.json")
    page = feedback.render_html(carol)
    assert "<img id='curve'" not in page and "did not finish a training run" in page
    assert feedback.curve_figure(carol) is None


def test_feedback_says_the_written_answers_are_graded_later():
    """nbgrader shows 37/50 where the grader shows 37/44: the feedback names the 6 hand-graded points."""
    res = read_result(RESULTS / "dave_wrong_axis" / "results.json")
    manual = sum(q.points for q in feedback.manual_questions(res))
    assert manual == 6
    want = f"({manual:g} points) are graded by hand later, so the full total is out of {res.max_score + manual:g}"
    assert want in feedback.render_markdown(res)
    assert want in feedback.render_html(res, curve_png="")


def test_a_note_on_a_passed_check_is_shown():
    """A passed check can carry a note (d2l-zh's asserts in train_ch3 failed after training): the
    student reads it in both formats; checks without a message add nothing."""
    res = read_result(RESULTS / "dave_wrong_axis" / "results.json")
    passed = next(c for c in res.checks if c.passed)
    before_md, before_html = feedback.render_markdown(res), feedback.render_html(res, curve_png="")
    assert "Notes on checks that passed" not in before_md
    passed.message = "NOTE-d2l-zh-assert train_loss < 0.5 failed after the last epoch"
    assert passed.message in feedback.render_markdown(res)
    assert html.escape(passed.message, quote=False) in feedback.render_html(res, curve_png="")
    assert len(feedback.render_html(res, curve_png="")) > len(before_html)


def test_html_escapes_student_text():
    res = read_result(RESULTS / "dave_wrong_axis" / "results.json")
    res.checks[1].message = "Got: <script>alert(1)</script>"
    res.checks[1].status = "failed"
    page = feedback.render_html(res, curve_png="")
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_feedback_shows_lateness_and_grader_failures(tmp_path):
    import datetime as dt

    from autograder.checks.outcome import CheckResult, SubmissionResult
    from autograder.results import late

    due = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    res = SubmissionResult(
        "张三", [CheckResult("softmax.shape", 1.0, 1.0, "passed")], "ok", info={}
    )
    late.apply(res, due + dt.timedelta(days=1, hours=3), due, late.LatePolicy(per_day=0.5))
    html_path, md_path = feedback.write_feedback(tmp_path, res)
    assert html_path.parent.name == "张三"
    md, html_text = md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")
    for text in (md, html_text):
        assert "1 d 3 h after the due date 2026-12-01T00:00:00+00:00" in text
        assert "late penalty: -1 points" in text
    assert "Feedback for 张三" in html_text
    failed = SubmissionResult(
        "amy", [CheckResult("softmax.shape", 0.0, 1.0, "grader_error", "x")], "grader_error"
    )
    assert "the grader failed, not your code" in feedback.render_markdown(failed)


# --- Chinese edition (#13) ---------------------------------------------------------------------

RESULTS_ZH = FILES / "feedback" / "results_zh"
"""Chinese-edition students of the example class (刘洋, 王芳) as the grader wrote their results."""
WORD = r"(?<![A-Za-z0-9_.])[A-Za-z](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?"
"""An English word or code identifier (not the letters inside a number or timestamp)."""
CODE_WORDS = {
    *units.get().columns,
    "quiz",
    "d2l",
    "sgd",
    "torch.optim.SGD",
    config.ASSIGNMENT,
}
"""Code identifiers a Chinese page may name (functions, the assignment, d2l's updater)."""


def zh_results():
    """The stored Chinese-edition results."""
    results = [read_result(p) for p in sorted(RESULTS_ZH.glob("*/results.json"))]
    assert {r.student for r in results} == {"刘洋", "王芳"}
    return results


def english_words(text: str, result) -> set[str]:
    """English words a reader sees in a page or Markdown text (alt texts included; styles, code
    and the stored check messages left out) that are not code identifiers or the result's data."""
    text = text + " " + " ".join(re.findall(r"alt='([^']*)'", text))
    text = re.sub(r"<(style|pre|code)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"```text\n.*?```", " ", text, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    data = [result.student, result.message, *(f"{c.check_id} {c.function}" for c in result.checks)]
    data += [c.message for c in result.checks]
    return set(re.findall(WORD, text)) - set(re.findall(WORD, " ".join(data))) - CODE_WORDS


def test_chinese_feedback_has_no_english_text():
    """A Chinese-edition result's pages are in Chinese: lang='zh-CN', no English word of the
    feedback's own (broken variants tried: a heading without _(), the page's lang left 'en')."""
    for res in zh_results():
        assert feedback.result_lang(res) == "zh_CN"
        page, md = feedback.render_html(res, curve_png=""), feedback.render_markdown(res)
        assert page.startswith("<!DOCTYPE html><html lang='zh-CN'>")
        assert english_words(page, res) == set(), res.student
        assert english_words(md, res) == set(), res.student
        assert "得分" in page and "各函数得分" in page and f"# 作业反馈：{res.student}" in md
        # the stored messages are shown as they are, not translated again
        for c in res.checks:
            if not c.passed and c.message:
                assert feedback.esc(c.message) in page and c.message in md


def test_english_feedback_stays_english():
    res = read_result(RESULTS / "dave_wrong_axis" / "results.json")
    page, md = feedback.render_html(res, curve_png=""), feedback.render_markdown(res)
    assert page.startswith("<!DOCTYPE html><html lang='en'>")
    assert not re.search(r"[\u3000-\u9fff\uff00-\uffef]", page + md)
    assert "<h2>Points per function</h2>" in page and "## Checks that did not pass" in md


def test_result_language_follows_info_then_edition_then_english():
    from autograder.checks.outcome import SubmissionResult

    def lang(**info):
        return feedback.result_lang(SubmissionResult("x", [], info=info))

    assert lang(lang="zh_CN") == lang(lang="zh-CN") == "zh_CN"
    assert lang(lang="en", edition="zh_CN") == "en"
    assert lang(edition="zh_CN") == lang(assignment="softmax_regression_zh") == "zh_CN"
    assert lang() == lang(lang="klingon") == lang(assignment="other") == "en"


def test_late_line_in_both_languages():
    """English: the line and the penalty check's stored message as before; a Chinese-edition result
    gets its penalty message in Chinese when late.apply writes it; an old English one is said again."""
    import datetime as dt

    from autograder.checks.outcome import CheckResult, SubmissionResult
    from autograder.results import late

    due = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    res = SubmissionResult("王芳", [CheckResult("softmax.shape", 1.0, 1.0, "passed")], "ok")
    late.apply(res, due + dt.timedelta(days=1, hours=3), due, late.LatePolicy(per_day=0.5))
    penalty = next(c for c in res.checks if c.check_id == late.PENALTY_CHECK)
    assert late.summary(res) == (
        "Submitted 2026-12-02T03:00:00+00:00, 1 d 3 h after the due date 2026-12-01T00:00:00+00:00; "
        "late penalty: -1 points"
    )
    assert penalty.message == (
        "handed in 1 d 3 h after the due date 2026-12-01T00:00:00+00:00: 50% of the points per "
        "started day late"
    )
    assert feedback.check_message(penalty, res) == penalty.message
    zh = SubmissionResult("刘洋", [CheckResult("softmax.shape", 1.0, 1.0, "passed")], "ok")
    zh.info["lang"] = "zh_CN"
    late.apply(zh, due + dt.timedelta(days=1, hours=3), due, late.LatePolicy(per_day=0.5))
    stored = next(c for c in zh.checks if c.check_id == late.PENALTY_CHECK).message
    assert "每迟交一天" in stored and not re.search(r"[A-Za-z]{3,}", stored), stored
    res.info["lang"] = "zh_CN"
    md = feedback.render_markdown(res)
    assert "提交时间：2026-12-02T03:00:00+00:00，比截止时间 2026-12-01T00:00:00+00:00 晚了 1 天 3 小时；迟交扣分：-1 分" in md  # fmt: skip
    assert "每迟交一天（不足一天按一天计）扣除总分的 50%" in md
    assert english_words(md, res) == set()


def test_curve_captions_are_translated():
    with use("zh_CN"):
        for caption in units.get().registry.curves.values():
            assert _(caption) != caption and re.search(r"[\u4e00-\u9fff]", _(caption)), caption


def missing_glyphs(fig) -> set[str]:
    """Characters of `fig`'s texts that no font of their fallback chain has: what Agg would draw
    as empty boxes (matplotlib's own chain, font_manager._find_fonts_by_props; warnings are no
    guide: they come once, at the first layout, and the grader silences them). Closes `fig`."""
    import matplotlib.pyplot as plt
    from matplotlib import font_manager
    from matplotlib.text import Text

    missing = set()
    for text in fig.findobj(Text):
        paths = font_manager.fontManager._find_fonts_by_props(text.get_fontproperties())
        fonts = [font_manager.get_font(path) for path in paths]
        missing |= {ch for ch in text.get_text() if not ch.isspace() and not any(f.get_char_index(ord(ch)) for f in fonts)}  # fmt: skip
    plt.close(fig)
    return missing


def test_chinese_plot_labels_have_glyphs():
    """The training curve of a Chinese result has Chinese labels, drawn with a CJK font."""
    assert feedback.cjk_font(), "no CJK font: run bash scripts/bootstrap.sh (apt-get install fonts-noto-cjk)"  # fmt: skip
    res = next(r for r in zh_results() if feedback.curves(r))
    with use("zh_CN"):
        fig = feedback.curve_figure(res)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("迭代周期", "精度")
    assert "训练精度" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert missing_glyphs(fig) == set()


def clipped_texts(fig) -> list[str]:
    """The visible texts of `fig` (labels, ticks, titles, legend) that reach past its edges."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    out = []
    for text in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_window_extent")):
        if not (text.get_visible() and text.get_text().strip()):
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < page.x0 - 0.5 or box.y0 < page.y0 - 0.5 or box.x1 > page.x1 + 0.5 or box.y1 > page.y1 + 0.5:  # fmt: skip
            out.append(text.get_text())
    return out


def test_the_curve_layout_keeps_every_label_on_the_picture():
    """The curve figure has a fixed layout (no tight crop, which measured every label twice per
    student): every label, tick, title and legend entry is inside it, for one run and for two,
    English and Chinese. Broken variant the check rejects: the margins taken away."""
    results = [read_result(RESULTS / "alice_full" / "results.json"), *zh_results()]
    one_run = read_result(RESULTS / "frank_builtins" / "results.json")
    assert len(feedback.curves(one_run)) == 1 and len(feedback.curves(results[0])) == 2
    for res in [*results, one_run]:
        with use(feedback.result_lang(res)):
            fig = feedback.curve_figure(res)
        assert clipped_texts(fig) == [], res.student
        feedback.pyplot().close(fig)
    fig = feedback.curve_figure(results[0])
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    assert clipped_texts(fig)  # the check sees a clipped label


def test_missing_glyphs_are_seen():
    """The check above can fail (broken variants: Chinese text in a font without CJK glyphs, and
    the CJK font put in font.sans-serif behind DejaVu Sans, where matplotlib never falls back)."""
    import matplotlib

    plt = feedback.pyplot()
    fig, ax = plt.subplots()
    ax.set_xlabel("迭代周期", fontfamily="DejaVu Sans")
    assert missing_glyphs(fig) == set("迭代周期")
    with matplotlib.rc_context({"font.family": ["sans-serif"],
                                "font.sans-serif": ["DejaVu Sans", feedback.cjk_font()]}):  # fmt: skip
        fig, ax = plt.subplots()
        ax.set_xlabel("迭代周期")
        assert missing_glyphs(fig) == set("迭代周期")


def test_no_cjk_font_means_english_plot_labels_and_a_note(monkeypatch):
    """Without a CJK font the plot keeps English labels (no empty boxes) and the page says why."""
    monkeypatch.setattr(feedback, "cjk_font", lambda: None)
    res = next(r for r in zh_results() if feedback.curves(r))
    with use("zh_CN"):
        fig = feedback.curve_figure(res)
        assert feedback.plot_note() and "fonts-noto-cjk" in feedback.plot_note()
    assert fig.axes[0].get_xlabel() == "epoch"
    assert missing_glyphs(fig) == set()
    page = feedback.render_html(res)
    assert "id='plot-note'" in page and "没有安装中文字体" in page
    assert "id='plot-note'" not in feedback.render_html(read_result(RESULTS / "alice_full" / "results.json"))  # fmt: skip


# -- one student's feedback never stops the others' (issue 20, item 4) ---------------------------------
def test_feedback_goes_on_past_a_student_it_cannot_render(tmp_path, monkeypatch):
    from autograder.checks.outcome import CheckResult, SubmissionResult
    from autograder.results import exports, store

    def one(student, message=""):
        res = SubmissionResult(student, [CheckResult("softmax.shape", 0.0, 1.0, "failed", message)])
        exports.write_result(tmp_path, res)
        return res

    results = [one("ann"), one("bob", "RuntimeError: \ud800"), one("cat")]
    real = feedback.render_html

    def breaks_on_cat(result, curve_png=None):
        if result.student == "cat":
            raise ValueError("cannot draw this")
        return real(result, curve_png)

    monkeypatch.setattr(feedback, "render_html", breaks_on_cat)
    paths = feedback.write_all_feedback(tmp_path, [*results, one("dan")])
    assert len(paths) == 4 and all(p.is_file() for p in paths)
    assert "\\ud800" in (tmp_path / "bob" / "feedback.md").read_text(encoding="utf-8")
    assert "cannot draw this" in (tmp_path / "cat" / "feedback.html").read_text(encoding="utf-8")
    assert store.read(tmp_path)["cat"].status == "grader_error"
    assert (tmp_path / "dan" / "feedback.html").is_file()


def test_feedback_as_graded_writes_in_the_background_and_write_outputs_skips_it(
    tmp_path, monkeypatch
):
    """grade hands each stored result to FeedbackAsGraded: the page is written in a thread of its
    own while the caller goes on (the workers grade the rest), finish() names the students written,
    and write_outputs does not write those again. A page that cannot be made is recorded as
    before (grader_error), and its student is still named: its page says so."""
    import threading

    from autograder.__main__ import write_outputs
    from autograder.checks.outcome import CheckResult, SubmissionResult
    from autograder.results import exports, store

    def one(student):
        res = SubmissionResult(student, [CheckResult("softmax.shape", 0.0, 1.0, "failed", "")])
        exports.write_result(tmp_path, res)
        return res

    go = threading.Event()
    real = feedback.render_html

    def slow(result, curve_png=None):
        go.wait(30)  # the caller has gone on by now, unless submit wrote the page itself
        if result.student == "cat":
            raise ValueError("cannot draw this")
        return real(result, curve_png)

    monkeypatch.setattr(feedback, "render_html", slow)
    results = [one("ann"), one("cat")]
    pages = feedback.FeedbackAsGraded(tmp_path)
    for res in results:
        pages.submit(res)
    assert not (tmp_path / "ann" / "feedback.html").exists()  # not written in submit
    go.set()
    assert pages.finish() == {"ann", "cat"}
    assert "cannot draw this" in (tmp_path / "cat" / "feedback.html").read_text(encoding="utf-8")
    assert store.read(tmp_path)["cat"].status == "grader_error"
    stamps = {s: (tmp_path / s / "feedback.html").stat().st_mtime_ns for s in ("ann", "cat")}
    monkeypatch.setattr(feedback, "render_html", lambda *a, **k: pytest.fail("written twice"))
    write_outputs(tmp_path, [store.read(tmp_path)["ann"]], written={"ann"})
    assert {s: (tmp_path / s / "feedback.html").stat().st_mtime_ns for s in stamps} == stamps


def test_a_result_written_by_an_earlier_version_with_a_lone_surrogate_still_renders(tmp_path):
    from autograder.results import exports

    path = tmp_path / "bob" / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"output": "", "extra_data": {"student": "bob", "status": "ok", "checks": [
        {"check_id": "softmax.shape", "score": 0.0, "max_score": 1.0, "status": "failed",
         "message": "RuntimeError: \ud800"}]}}))  # fmt: skip
    feedback.write_all_feedback(tmp_path, [exports.read_result(path)])
    assert "\\ud800" in (tmp_path / "bob" / "feedback.html").read_text(encoding="utf-8")


# --- the feedback of another unit (#22) ---------------------------------------------------------


def test_the_feedback_of_another_unit_names_its_title_notebook_and_functions(monkeypatch):
    """The subtitle is the unit's title, the check command its main notebook, its functions in its
    order; a unit without a quiz has no hand-graded note, one that trains nothing no Training
    section, and one that trains names the function whose run did not finish."""
    from autograder.checks.outcome import CheckResult, SubmissionResult

    fake_unit(monkeypatch, "fake_double", TITLE="doubling, a test unit", MAIN_NOTEBOOK="double.ipynb",
              GRADED_FUNCTIONS=("triple", "double"))  # fmt: skip
    checks = [CheckResult("double.values", 2.0, 2.0, "passed"), CheckResult("triple.values", 0.0, 1.0, "failed", "no")]  # fmt: skip
    ann = SubmissionResult("ann", checks, info={"assignment": "fake_double"})
    page, md = feedback.render_html(ann, curve_png=""), feedback.render_markdown(ann)
    assert "<p class='muted'>Assignment fake_double (doubling, a test unit)</p>" in page
    assert "<title>Feedback: ann - fake_double</title>" in page and md.startswith("# Feedback for ann: fake_double\n")  # fmt: skip
    assert "<code>python -m autograder check double.ipynb</code>" in page
    assert page.index("<td>triple</td>") < page.index("<td>double</td>")
    assert "id='by-hand'" not in page and "graded by hand" not in page + md
    assert "<h2>Training</h2>" not in page and "did not finish" not in page
    assert "Check your work before handing in" in page

    fake_unit(monkeypatch, "fake_fit", GRADED_FUNCTIONS=("fit",), curves={"fit.run": "your fit"})
    bo = SubmissionResult("bo", [CheckResult("fit.run", 0.0, 5.0, "timeout", "slow")], info={"assignment": "fake_fit"})  # fmt: skip
    assert "fit did not finish a training run" in feedback.render_html(bo, curve_png="")


def test_the_softmax_feedback_keeps_its_subtitle_command_and_training_line():
    carol = read_result(RESULTS / "carol_blank" / "results.json")
    page = feedback.render_html(carol, curve_png="")
    assert "<p class='muted'>Assignment softmax_regression (d2l softmax regression)</p>" in page
    assert f"python -m autograder check {softmax_unit.MAIN_NOTEBOOK}" in page
    assert "train_ch3 did not finish a training run" in page and "id='by-hand'" in page
    carol.info["lang"] = "zh_CN"  # the Chinese edition's page: the subtitle it had
    zh = feedback.render_html(carol, curve_png="")
    assert "作业 softmax_regression（《动手学深度学习》softmax回归）" in zh
    assert "train_ch3 没有完成一次训练" in zh


def test_a_run_stopped_at_the_top_tier_says_where_it_was_judged():
    """config.STOP_EARLY: the page and the Markdown say after which epoch the run was
    judged and why its curve ends there; a run judged after its last epoch says nothing."""
    res = read_result(RESULTS / "dave_wrong_axis" / "results.json")
    run = next(c for c in res.checks if c.details.get("test_accuracy") is not None)
    assert "stopped" not in feedback.render_markdown(res)
    run.details.update(stopped_after=2, epochs=10, stop_accuracy=0.8)
    want = "judged it after epoch 2 of 10, the first to reach 0.8; the run stopped there"
    assert want in feedback.render_markdown(res)
    assert want in feedback.render_html(res, curve_png="")
    with use("zh_CN"):
        note = feedback.stopped_note(res, run.check_id)
    assert "第 2 个迭代周期（共 10 个）" in note and "0.8" in note
