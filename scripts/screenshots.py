"""Screenshots of a Chinese student's feedback page and the Chinese class report in headless Chromium.

    python scripts/screenshots.py                  # grade the example class's Chinese-edition students
    python scripts/screenshots.py --results DIR    # or use a results folder written by `grade`

Writes docs/screenshots/feedback-zh.png and report-zh.png. The class report also shows the stored
English-edition results of tests/files/feedback/results (a mixed class, as a course has). Before a
screenshot is written, every CJK character on the page is checked to have a glyph (glyph_report):
a machine without a Chinese font (fonts-noto-cjk) would otherwise photograph empty boxes.

Also the Chromium helpers of the tests (tests/results/test_report.py, test_screenshots.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "submitted"
STORED = ROOT / "tests" / "files" / "feedback" / "results"
OUT = ROOT / "docs" / "screenshots"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")

GLYPH_PROBE = """<script>
(function () {
  // Each CJK character of the page's text, drawn on a canvas in its element's font, is compared
  // with a code point no font has (U+0378): identical pixels mean the browser drew the .notdef box.
  const CJK = /[\\u2e80-\\u9fff\\uf900-\\ufaff\\ufe30-\\ufe4f\\uff00-\\uffef]/u;
  const TOFU = "\\u0378";
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  function pixels(font, ch) {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = font;
    ctx.textBaseline = "top";
    ctx.fillStyle = "#000";
    ctx.fillText(ch, 4, 4);
    return ctx.getImageData(0, 0, 64, 64).data.join(",");
  }
  const seen = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.tagName === "SCRIPT" || el.tagName === "STYLE") continue;
    const style = getComputedStyle(el);
    const font = `${style.fontStyle} ${style.fontWeight} 32px ${style.fontFamily}`;
    for (const ch of node.data) {
      if (CJK.test(ch) && !seen.has(ch + font)) seen.set(ch + font, [ch, font]);
    }
  }
  const tofu = new Map(), missing = new Set(), checked = new Set(), fonts = new Set();
  for (const [ch, font] of seen.values()) {
    if (!tofu.has(font)) tofu.set(font, pixels(font, TOFU));
    checked.add(ch);
    fonts.add(font);
    if (pixels(font, ch) === tofu.get(font)) missing.add(ch);
  }
  const out = document.createElement("pre");
  out.id = "glyph-report";
  out.textContent = JSON.stringify(
    {checked: [...checked].join(""), missing: [...missing].join(""), fonts: [...fonts]});
  document.body.appendChild(out);
})();
</script>"""
"""Appended to a copy of a page: writes {checked, missing, fonts} as JSON into <pre id=glyph-report>."""


def chromium() -> str | None:
    """The path of a Chromium (or Chrome) binary, or None."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def _browser(size: str) -> list[str]:
    """The headless browser's command line, up to the page's URL."""
    binary = chromium()
    if binary is None:
        raise FileNotFoundError(
            "no chromium binary found: install it (Debian: apt-get install chromium)"
        )
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--disable-dev-shm-usage", f"--window-size={size}"]  # fmt: skip


def render(html_file: Path, png: Path, size: str = "1280,2400", env: dict | None = None) -> str:
    """Screenshot `html_file` into `png` in headless Chromium; return the page's DOM after load.
    `env`: the browser's environment (e.g. FONTCONFIG_FILE), default this process's."""
    args, url = _browser(size), Path(html_file).resolve().as_uri()
    shot = subprocess.run([*args, f"--screenshot={png}", url], capture_output=True, text=True,
                          timeout=120, env=env)  # fmt: skip
    if not (Path(png).is_file() and Path(png).stat().st_size > 0):
        raise RuntimeError(f"{html_file}: chromium wrote no screenshot: {shot.stderr[-2000:]}")
    return dump_dom(html_file, size, env)


def dump_dom(html_file: Path, size: str = "1280,2400", env: dict | None = None) -> str:
    """The DOM of `html_file` after its scripts ran, from headless Chromium."""
    url = Path(html_file).resolve().as_uri()
    dom = subprocess.run([*_browser(size), "--dump-dom", url], capture_output=True, text=True,
                         timeout=120, env=env)  # fmt: skip
    if dom.returncode != 0:
        raise RuntimeError(f"{html_file}: chromium --dump-dom failed: {dom.stderr[-2000:]}")
    return dom.stdout


def glyph_report(html_file: Path, env: dict | None = None) -> dict:
    """{checked, missing, fonts}: the page's CJK characters, those Chromium drew as .notdef boxes
    (no installed font has them), and the fonts asked for. `env` as in render."""
    page = Path(html_file).read_text(encoding="utf-8")
    if "</body>" not in page:
        raise ValueError(f"{html_file}: not an HTML page with a </body>")
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(page.replace("</body>", GLYPH_PROBE + "</body>", 1), encoding="utf-8")
        dom = dump_dom(probe, env=env)
    start = dom.find('<pre id="glyph-report">')
    if start < 0:
        raise RuntimeError(f"{html_file}: the glyph probe did not run in chromium")
    text = dom[start + len('<pre id="glyph-report">') : dom.index("</pre>", start)]
    return json.loads(text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))  # fmt: skip


def grade_chinese_students(out: Path) -> Path:
    """Grade the example class's Chinese-edition students into `out` (about a minute); return `out`."""
    sys.path.insert(0, str(ROOT))
    from autograder.submissions.submission import find_submissions

    students = [s.student for s in find_submissions(EXAMPLES) if s.edition == "zh_CN"]
    if not students:
        raise SystemExit(f"{EXAMPLES}: no Chinese-edition (softmax_regression_zh) student found")
    only = [arg for name in students for arg in ("--only", name)]
    cmd = [sys.executable, "-m", "autograder", "grade", str(EXAMPLES), "--out", str(out),
           "--device", "cpu", "--no-report", *only]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=ROOT)
    return out


def main(argv=None) -> int:
    """Write docs/screenshots/feedback-zh.png and report-zh.png; 1 when a glyph is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--results", type=Path, help="a results folder (default: grade the examples)"
    )
    parser.add_argument("--student", help="whose feedback (default: the first Chinese-edition student with a failed check)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from autograder.results import feedback, report, store

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "results"
        if args.results:
            if not args.results.is_dir():
                raise SystemExit(f"error: {args.results}: no such results folder")
            shutil.copytree(args.results, work)
        else:
            shutil.copytree(STORED, work)
            grade_chinese_students(work)
        results = store.load(work)
        chinese = [r for r in results if feedback.result_lang(r) == "zh_CN"]
        if args.student:
            chinese = [r for r in results if r.student == args.student]
        if not chinese:
            raise SystemExit(f"error: {work}: no result of a Chinese-edition student")
        student = next((r for r in chinese if any(not c.passed for c in r.checks)), chinese[0])
        pages = {
            "feedback-zh.png": (feedback.write_feedback(work, student)[0], "1100,2600"),
            "report-zh.png": (report.write_report(work, results, lang="zh_CN"), "1280,3000"),
        }
        args.out.mkdir(parents=True, exist_ok=True)
        status = 0
        for name, (page, size) in pages.items():
            glyphs = glyph_report(page)
            if glyphs["missing"] or not glyphs["checked"]:
                print(f"error: {page.name}: no glyph for {glyphs['missing'] or 'any CJK text'}; "
                      "install a Chinese font (bash scripts/bootstrap.sh, or apt-get install "
                      "fonts-noto-cjk)", file=sys.stderr)  # fmt: skip
                status = 1
                continue
            render(page, args.out / name, size, env=dict(os.environ))
            print(f"{args.out / name}: {page.name} of {student.student if 'feedback' in name else 'the class'}")  # fmt: skip
    return status


if __name__ == "__main__":
    sys.exit(main())
