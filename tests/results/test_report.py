"""The class report (autograder/results/report.py) and `python -m autograder report`, rendered in Chromium.

Results come from tests/files/feedback/results/: the example class as graded by
`python -m autograder grade examples/submitted`, plus synthetic timeout/crashed/memory students
(tests/files/feedback/make_problem_results.py). Chromium: scripts/test.sh installs it when it can;
the rendering tests skip only when no chromium binary can be found at all.
"""

from __future__ import annotations

import copy
import html
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from helpers.fake_units import fake_unit
from helpers.loading import load_module
from helpers.paths import FILES, ROOT

from autograder import config, units
from autograder.results import report
from autograder.results.exports import read_result
from autograder.units.softmax_regression import unit as softmax_unit

RESULTS = FILES / "feedback" / "results"
SCREENSHOTS = ROOT / "docs" / "screenshots"
SCRIPT = ROOT / "scripts" / "screenshots.py"


@pytest.fixture(scope="module")
def results():
    res = report.load_results(RESULTS)
    assert len(res) == 9
    return res


@pytest.fixture(scope="module")
def page(results):
    return report.build_report(results)


def _text(html_page):
    return re.sub(r"<[^>]+>", " ", html_page)


def test_load_results_reads_every_student(results):
    assert [r.student for r in results] == sorted(
        p.parent.name for p in RESULTS.glob("*/results.json")
    )


def test_pass_rates_match_results(results, page):
    rates = {cid: (p, n) for cid, p, n in report.pass_rates(results)}
    for cid in softmax_unit.POINTS:
        want = sum(c.passed for r in results for c in r.checks if c.check_id == cid)
        assert rates[cid] == (want, len(results))
    # the table shows every check with its count
    table = page.split("id='pass-rate-table'")[1].split("</table>")[0]
    for cid, (p, n) in rates.items():
        assert re.search(rf"<td>{re.escape(cid)}</td><td class=num>{p} / {n}</td>", table), cid


def test_common_failures_grouped_by_check_and_hint(results, page):
    rows = report.common_failures(results)
    counts = Counter()
    for r in results:
        for c in r.checks:
            if not c.passed:
                counts[report.failure_key(c)] += 1
    assert {(cid, hint): n for cid, hint, n, _ in rows} == dict(counts)
    assert [n for *_, n, _ in [(r[0], r[1], r[2], r[3]) for r in rows]] == sorted(
        counts.values(), reverse=True
    )
    # bob and the synthetic students derived from him share the naive softmax's overflow hint
    stab = [r for r in rows if r[0] == "softmax.stability" and "NaN or inf" in r[1]][0]
    assert {"bob_naive_softmax", "gina_timeout", "ivan_memory"} <= set(stab[3])
    assert f">{stab[2]}</td><td>softmax.stability</td>" in page


def test_problem_students_listed(results, page):
    problems = {s: st for s, st, _, _ in report.problem_students(results)}
    assert problems == {
        "frank_builtins": "forbidden",
        "gina_timeout": "timeout",
        "hank_crashed": "crashed",
        "ivan_memory": "memory",
    }
    section = page.split("id='problems'")[1].split("</table>")[0]
    for s in problems:
        assert s in section
    assert "alice_full" not in section


def test_a_malformed_quiz_answer_is_the_students_not_a_grading_problem(results, page):
    """dave's only problem status is his malformed quiz answer (quiz.q7): it shows in his row of
    the scores table, and he is not listed under "Grading problems"."""
    dave = next(r for r in results if r.student == "dave_wrong_axis")
    odd = {
        c.check_id: c.status for c in dave.checks if c.status not in ("passed", "failed", "error")
    }
    assert dave.status == "ok" and odd == {"quiz.q7": "malformed"}  # the stored result's premise
    assert "dave_wrong_axis" not in {s for s, *_ in report.problem_students(results)}
    section = page.split("id='problems'")[1].split("</table>")[0]
    assert "dave_wrong_axis" not in section
    scores = page.split("id='scores'")[1].split("</table>")[0]
    row = next(tr for tr in scores.split("<tr>") if "dave_wrong_axis" in tr)
    assert "malformed answer: quiz.q7" in row
    # the whole quiz notebook unreadable (the submission's status) is still a grading problem
    unreadable = copy.deepcopy(dave)
    unreadable.status = "malformed"
    assert [s for s, *_ in report.problem_students([unreadable])] == ["dave_wrong_axis"]


def test_accuracy_and_times_in_report(results, page):
    alice = read_result(RESULTS / "alice_full" / "results.json")
    acc = [
        c.details["test_accuracy"] for c in alice.checks if c.check_id == "train_ch3.end_to_end"
    ][0]
    assert f"{acc:.4f}" in page
    assert f"threshold {config.ACCURACY_TIERS[0][0]}" in page
    times = page.split("id='times'")[1].split("</table>")[0]
    for r in results:
        assert f"<td>{r.student}</td><td class=num>{r.seconds:.1f}</td>" in times


def test_report_is_self_contained(page):
    imgs = re.findall(r"<img [^>]*src='([^']*)'", page)
    assert len(imgs) == 4 and all(src.startswith("data:image/png;base64,") for src in imgs)
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", page)
    assert "<script" not in page


def test_no_hidden_tests_or_key_in_report(page):
    for secret in ("run_checks(", "BEGIN HIDDEN TESTS", "answer_key", "2.302585"):
        assert secret not in page


def test_cli_report_writes_report_and_feedback(tmp_path):
    out = tmp_path / "results"
    shutil.copytree(RESULTS, out)
    proc = subprocess.run([sys.executable, "-m", "autograder", "report", str(out)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "report.html").stat().st_size > 10_000
    for folder in out.iterdir():
        if folder.is_dir():
            assert (folder / "feedback.html").is_file() and (folder / "feedback.md").is_file()
    empty = subprocess.run([sys.executable, "-m", "autograder", "report", str(tmp_path / "none")],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert empty.returncode == 2 and "no <student>/results.json" in empty.stderr


def load_screenshots():
    """scripts/screenshots.py as a module: the Chromium helpers (render, glyph_report) live there."""
    return load_module(SCRIPT, "screenshots")


screenshots = load_screenshots()


def chromium() -> str:
    """The Chromium binary, or a skip when the machine has none."""
    if path := screenshots.chromium():
        return path
    pytest.skip("no chromium binary found (scripts/test.sh installs it with apt when run as root)")


def render(html_file: Path, png: Path, size="1280,2400", env=None):
    """Screenshot and DOM of a page in headless Chromium (scripts/screenshots.py)."""
    chromium()
    return screenshots.render(html_file, png, size, env=env)


def _not_blank(png: Path):
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] > 500 and pixels.shape[1] > 500
    assert pixels[..., :3].std() > 0.05, "the screenshot is blank"


def test_report_renders_in_chromium(tmp_path, results):
    path = report.write_report(tmp_path, results)
    dom = render(path, tmp_path / "report.png")
    for text in ("Class report", "Pass rate of every check", "Most common failures",
                 "Grading problems", "hank_crashed", "Grading time per student"):  # fmt: skip
        assert text in dom, text
    assert dom.count("data:image/png;base64,") == 4
    _not_blank(tmp_path / "report.png")


def test_feedback_renders_in_chromium(tmp_path, results):
    from autograder.results.feedback import write_feedback

    dave = [r for r in results if r.student == "dave_wrong_axis"][0]
    html_path, _ = write_feedback(tmp_path, dave)
    dom = render(html_path, tmp_path / "feedback.png", "1100,2000")
    assert "Feedback for dave_wrong_axis" in dom and "Score: 35 / 44" in dom
    assert 'id="curve"' in dom
    _not_blank(tmp_path / "feedback.png")


def test_report_lists_late_work_grader_failures_and_links_any_name():
    import datetime as dt

    from autograder.checks.outcome import CheckResult, SubmissionResult
    from autograder.results import late

    due = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    on_time = SubmissionResult("a b", [CheckResult("softmax.shape", 1.0, 1.0, "passed")], "ok")
    tardy = SubmissionResult("张三", [CheckResult("softmax.shape", 1.0, 1.0, "passed")], "ok")
    late.apply(tardy, due + dt.timedelta(hours=5), due, late.LatePolicy(per_day=0.5))
    broken = SubmissionResult(
        "ben", [CheckResult("softmax.shape", 0.0, 1.0, "grader_error", "worker could not start")],
        "grader_error",
    )  # fmt: skip
    page = report.build_report([on_time, tardy, broken])
    late_table = page.split("id='late'")[1].split("</table>")[0]
    assert "张三" in late_table and "5 h 0 min" in late_table and "a b" not in late_table
    assert (
        "href='a%2520b/feedback.html'" in page and "href='%E5%BC%A0%E4%B8%89/feedback.html'" in page
    )
    problems = page.split("id='problems'")[1].split("</table>")[0]
    assert "ben" in problems and "grader_error" in problems
    assert "late.penalty" not in {cid for cid, _, _ in report.pass_rates([tardy])}


# --- Chinese edition (#13) ---------------------------------------------------------------------

RESULTS_ZH = FILES / "feedback" / "results_zh"
WORD = r"(?<![A-Za-z0-9_.])[A-Za-z](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?"
CODE_WORDS = {*units.get().columns, "MB", "timestamp.txt", config.ASSIGNMENT}
"""What a Chinese report may show in Latin letters besides the results' data: function columns,
a unit, a file name."""


@pytest.fixture(scope="module")
def mixed_class(results):
    """The stored English-edition class and the Chinese-edition students (刘洋, 王芳)."""
    return results + report.load_results(RESULTS_ZH)


def report_english_words(page: str, results) -> set[str]:
    """English words of a report's own text (alt texts included), not the results' data (student
    names, check ids, stored messages and hints, devices)."""
    page = page + " " + " ".join(re.findall(r"alt='([^']*)'", page))
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|code)\b.*?</\1>", " ", page, flags=re.S)))  # fmt: skip
    data = [f"{r.student} {r.message} {r.device} {r.status}" for r in results]
    data += [f"{c.check_id} {c.message}" for r in results for c in r.checks]
    return set(re.findall(WORD, text)) - set(re.findall(WORD, " ".join(data))) - CODE_WORDS


def test_report_in_chinese(mixed_class):
    """lang='zh-CN', Chinese headings, no English text of the report's own (broken variants
    tried: a table header without _(), the language not passed through)."""
    page = report.build_report(mixed_class, lang="zh_CN")
    assert page.startswith("<!DOCTYPE html><html lang='zh-CN'>")
    for text in (
        "班级报告：softmax_regression",
        "各项检查的通过率",
        "最常见的错误",
        "每名学生的评分用时",
    ):
        assert text in page, text
    assert report_english_words(page, mixed_class) == set()
    # a Chinese student's hint line is grouped like an English one (the hint, not the first line)
    zh_hints = [
        hint for _, hint, _, students in report.common_failures(mixed_class) if "刘洋" in students
    ]
    assert zh_hints and all(hint.startswith("提示：") or hint.startswith("[") for hint in zh_hints)
    assert any(hint.startswith("提示：") for hint in zh_hints)


def test_report_in_english_by_default(mixed_class):
    page = report.build_report(mixed_class)
    assert page.startswith("<!DOCTYPE html><html lang='en'>")
    assert "<h2>Pass rate of every check</h2>" in page and "班级报告" not in page


def test_cli_report_lang(tmp_path):
    """report --lang zh_CN: the class report in Chinese, each student's feedback in their edition's language."""
    out = tmp_path / "results"
    shutil.copytree(RESULTS_ZH, out)
    shutil.copytree(RESULTS / "carol_blank", out / "carol_blank")
    proc = subprocess.run([sys.executable, "-m", "autograder", "report", str(out), "--lang", "zh_CN"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "<html lang='zh-CN'>" in (out / "report.html").read_text(encoding="utf-8")
    assert "<html lang='zh-CN'>" in (out / "王芳" / "feedback.html").read_text(encoding="utf-8")
    assert "<html lang='en'>" in (out / "carol_blank" / "feedback.html").read_text(encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "autograder", "report", str(out), "--lang", "xx"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "--lang" in bad.stderr and "unknown language" in bad.stderr


# --- a class of another unit (#22) --------------------------------------------------------------


def test_a_class_of_another_unit_has_its_columns_checks_and_runs(monkeypatch):
    """The scores table has the unit's function columns, right-aligned as many as there are (the
    feedback link is not a number); checks in the unit's order; one accuracy column and summary
    row per run the unit measures, no accuracy section for a unit that trains nothing."""
    from autograder.checks.outcome import CheckResult, SubmissionResult

    fake_unit(monkeypatch, "fake_double", GRADED_FUNCTIONS=("double",),
              POINTS={"double.not_in_place": 1, "double.values": 2})  # fmt: skip
    checks = [CheckResult("double.values", 2.0, 2.0, "passed"),
              CheckResult("double.not_in_place", 0.0, 1.0, "failed", "X changed")]  # fmt: skip
    ann = SubmissionResult("ann", checks, info={"assignment": "fake_double"})
    page = report.build_report([ann])
    assert "<h1>Class report: fake_double</h1>" in page
    head = page.split("id='scores'>")[1].split("</tr>")[0]
    assert head == ("<tr><th>student</th><th class=num>score (of 3)</th><th>status</th>"
                    "<th class=num>double</th><th></th>")  # fmt: skip
    assert [cid for cid, _, _ in report.pass_rates([ann])] == ["double.not_in_place", "double.values"]  # fmt: skip
    assert "accuracy-table" not in page and "test accuracy" not in page
    assert len(re.findall(r"<img ", page)) == 3  # scores, pass rates, times: no accuracy histogram

    fake_unit(monkeypatch, "fake_fit", GRADED_FUNCTIONS=("fit",), ACCURACY_CHECKS=("fit.run",), POINTS={"fit.run": 5})  # fmt: skip
    run = CheckResult("fit.run", 5.0, 5.0, "passed", "", {"test_accuracy": 0.83})
    bo = SubmissionResult("bo", [run], info={"assignment": "fake_fit"})
    page = report.build_report([bo])
    table = page.split("id='accuracy-table'>")[1].split("</table>")[0]
    assert "<th class=num>fit.run</th>" in table and "0.8300" in table
    assert table.count("<th") == 2  # student, fit.run: none of the softmax unit's runs
    threshold = config.ACCURACY_TIERS[0][0]
    assert f"<td>fit.run: test accuracy &gt;= {threshold}</td><td>1 of 1 trained</td>" in page


def test_the_softmax_report_keeps_its_columns_and_runs(page):
    head = page.split("id='scores'>")[1].split("</tr>")[0]
    assert head.count("<th class=num>") == 1 + len(units.get().columns)
    for cid in ("train_ch3.end_to_end", "train_ch3.accuracy"):
        assert f"<th class=num>{cid}</th>" in page.split("id='accuracy-table'>")[1].split("</table>")[0]  # fmt: skip
