"""Each check is described once, in its registry (Check.describe): the notebooks' hidden-test
comments and the feedback show that description, in English and in Chinese (#23 item 5)."""

from __future__ import annotations

import json
import re

import pytest
from helpers.paths import ROOT

from autograder import config, units
from autograder.checks.registry import Check, description_numbers
from autograder.i18n import fields, translations, use
from autograder.results import feedback
from autograder.results.exports import read_result

RESULTS = ROOT / "tests" / "files" / "feedback" / "results"
CHECK_LINE = re.compile(r'^# graded outside this notebook by the confined grader: check "([^"]+)"$', re.M)  # fmt: skip
COMMENT = {
    "en": lambda text, pts: f"# Hidden test: {text} ({pts:g} point{'' if pts == 1 else 's'})",
    "zh_CN": lambda text, pts: f"# 隐藏测试：{text}（{pts:g} 分）",
}
"""Edition language -> the first line of a hidden-test cell: its check's description and points."""
EVERY_CHECK = [(u.name, c) for u in units.every() for c in u.registry.declared]


def hidden_test_cells(assignment: str) -> dict[str, str]:
    """check id -> the source of the test cell that names it, over the edition's source notebooks."""
    cells = {}
    for name in units.get(assignment).notebooks:
        nb = json.loads((ROOT / "source" / assignment / name).read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            source = "".join(cell["source"])
            for cid in CHECK_LINE.findall(source):
                assert cid not in cells, f"{assignment}: check {cid!r} has two test cells"
                cells[cid] = source
    return cells


@pytest.mark.parametrize("unit_name, check", EVERY_CHECK, ids=[c.id for _, c in EVERY_CHECK])
def test_every_check_has_one_line_description_and_its_translation(unit_name, check):
    assert check.describe.strip(), f"{unit_name}: {check.id} declares no description"
    assert "\n" not in check.describe
    zh = translations("zh_CN").gettext(check.describe)
    assert zh != check.describe, f"{check.id}: no zh_CN translation of its description"
    assert sorted(fields(zh)) == sorted(fields(check.describe))
    assert set(fields(check.describe)) <= set(description_numbers())
    with use("zh_CN"):
        assert check.description() == zh.format(**description_numbers())
    with use("en"):
        assert "{" not in check.description()


@pytest.mark.parametrize("assignment", list(config.EDITIONS))
def test_every_hidden_test_comment_is_its_checks_description(assignment):
    unit, lang = units.get(assignment), config.EDITIONS[assignment]
    cells = {
        cid: s for cid, s in hidden_test_cells(assignment).items() if not cid.startswith("quiz.")
    }
    assert set(cells) == set(unit.registry.points), "every graded check has one test cell"
    with use(lang):
        for cid, source in cells.items():
            want = COMMENT[lang](unit.registry[cid].description(), unit.registry.points_of(cid))
            assert source.splitlines()[0] == want, f"{assignment}: {cid}'s comment is not its description"  # fmt: skip


def test_description_fills_in_the_configured_numbers(monkeypatch):
    check = units.get("softmax_regression").registry["train_ch3.accuracy"]
    with use("en"):
        assert f"each of its {config.TRAJECTORY_EPOCHS} epochs" in check.description()
        monkeypatch.setattr(config, "TRAJECTORY_EPOCHS", 7)
        monkeypatch.setattr(config, "ACCURACY_TIERS", ((0.85, 1.0), (0.6, 0.25)))
        assert "each of its 7 epochs" in check.description()
        tiers = units.get("softmax_regression").registry["train_ch3.end_to_end"].description()
        assert "at least 0.85" in tiers and "(at least 0.60: 25% of the points)" in tiers
    plain = Check("x.y", lambda caller: None, describe="returns {epochs} things")
    assert plain.description() == f"returns {config.NUM_EPOCHS} things"


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_feedback_explains_each_accuracy_by_its_checks_description(lang):
    res = read_result(RESULTS / "alice_full" / "results.json")
    res.info = {**(res.info or {}), "lang": lang}  # the feedback's language: the result's edition
    registry = units.get(res.info.get("assignment", config.ASSIGNMENT)).registry
    accs = feedback.test_accuracies(res)
    assert "train_ch3.accuracy" in accs
    with use(lang):
        md, page = feedback.render_markdown(res), feedback.render_html(res, curve_png="")
        for cid in accs:
            text = registry[cid].description()
            assert text in md and feedback.esc(text) in page, (lang, cid)
    # not one rule for every run: train_ch3.accuracy follows the grader's SGD run, ungraded accuracy
    assert "Full points at" not in page and "full points at" not in md
