"""scripts/screenshots.py: the Chinese feedback page and class report in headless Chromium, with
every CJK character drawn from a real glyph (no .notdef boxes)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import matplotlib
import pytest
from helpers.loading import load_module
from helpers.paths import FILES, ROOT

from autograder.results import feedback, report

RESULTS = FILES / "feedback" / "results"
RESULTS_ZH = FILES / "feedback" / "results_zh"
screenshots = load_module(ROOT / "scripts" / "screenshots.py", "screenshots")


@pytest.fixture(scope="module")
def browser():
    """The Chromium binary (the rendering tests of test_report.py skip the same way without one)."""
    if path := screenshots.chromium():
        return path
    pytest.skip("no chromium binary found (scripts/test.sh installs it with apt when run as root)")


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """A Chinese student's feedback page (with its training curve) and the Chinese class report."""
    out = tmp_path_factory.mktemp("zh-pages")
    results = report.load_results(RESULTS_ZH)
    student = next(r for r in results if any(not c.passed for c in r.checks))
    return {
        "feedback": feedback.write_feedback(out, student)[0],
        "report": report.write_report(out, results, lang="zh_CN"),
    }


def no_cjk_fonts(tmp_path) -> dict:
    """An environment whose fontconfig sees only matplotlib's DejaVu fonts (no CJK glyphs)."""
    conf = tmp_path / "fonts.conf"
    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
        f"<fontconfig><dir>{dejavu}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>"
    )
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


@pytest.mark.parametrize("name", ["feedback", "report"])
def test_chinese_pages_have_every_glyph(browser, pages, name):
    """Every CJK character of the page is drawn with a real glyph (needs fonts-noto-cjk or another
    CJK font: bash scripts/bootstrap.sh installs it)."""
    glyphs = screenshots.glyph_report(pages[name])
    assert {"得", "分", "检", "查"} <= set(glyphs["checked"]), glyphs
    assert glyphs["missing"] == "", f"no glyph for {glyphs['missing']}: install fonts-noto-cjk"


def test_glyph_check_sees_empty_boxes(browser, pages, tmp_path):
    """Broken variant: the same page in a Chromium that has only fonts without CJK glyphs fails
    the check above (every CJK character is reported missing)."""
    glyphs = screenshots.glyph_report(pages["feedback"], env=no_cjk_fonts(tmp_path))
    assert glyphs["checked"] and set(glyphs["missing"]) == set(glyphs["checked"])


@pytest.mark.slow
def test_script_writes_both_screenshots(browser, tmp_path):
    """python scripts/screenshots.py --results DIR writes feedback-zh.png and report-zh.png."""
    import matplotlib.image

    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    for folder in RESULTS_ZH.iterdir():
        shutil.copytree(folder, results / folder.name)
    assert screenshots.main(["--results", str(results), "--out", str(tmp_path / "png")]) == 0
    for name in ("feedback-zh.png", "report-zh.png"):
        pixels = matplotlib.image.imread(tmp_path / "png" / name)
        assert pixels.shape[0] > 1000 and pixels[..., :3].std() > 0.05, name
        assert (ROOT / "docs" / "screenshots" / name).is_file(), f"docs/screenshots/{name} not made"


def test_script_refuses_a_missing_folder(tmp_path):
    with pytest.raises(SystemExit, match="no such results folder"):
        screenshots.main(["--results", str(tmp_path / "none"), "--out", str(tmp_path)])
