"""The README's command blocks, run in the README's order on a fresh copy of the repository (#15).

A block is a ```bash fence of README.md. Every block runs, each from the copy's root with
`bash -eo pipefail`, and fails the test when it exits non-zero or prints a Python traceback or a
pytest INTERNALERROR. A comment just before a block keeps it, or some of its lines, out, with the
reason in parentheses (kept few; each is listed by test_skipped_blocks_are_few_and_explained):

    <!-- readme-test: skip (a web server, running until Ctrl+C) -->             the whole block
    <!-- readme-test: skip "nbgrader formgrader" (a web server, until Ctrl+C) -->  lines starting so

and `<!-- readme-test: exit 1 (REASON) -->` states a block's exit status when it is not 0 (pytest's,
when a student loses points); the test then requires that status.

The copy holds the repository's tracked files as they are in the working tree (uncommitted edits
included). The class that `nbgrader collect` would put into submitted/ is one example student
(carol_blank), copied in before the first block, as the README's step 3 describes. The environment
is the existing one: SOFTMAX_VENV is a folder of links to the test's own virtual environment whose
install stamp matches the copy, so `source scripts/bootstrap.sh` is the no-op it is on a set-up
machine (its `uv` is a stub that fails the test, so nothing is ever installed into the shared
environment), and PYTHONPATH names the copy (what bootstrap's editable install of it would do).
Data: FASHION_MNIST_ROOT. Afterwards nothing the commands wrote is left untracked by .gitignore,
and the course's gradebook holds only the collected class (the nbgrader demo used its own course).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers.exchange import readme_commands
from helpers.paths import EXAMPLES, ROOT

README = ROOT / "README.md"
MARKER = re.compile(
    r'<!--\s*readme-test:\s*(?:skip(?:\s+"(?P<prefix>[^"]+)")?|exit\s+(?P<exit>\d+))\s*'
    r"\((?P<reason>[^)]*)\)\s*-->"
)
COLLECTED = "carol_blank"
"""The class the test's course has collected into submitted/: one blank submission (quick to grade
in every path; the example class is graded in full by scripts/grade-example.sh)."""
FAILURE_SIGNS = ("Traceback (most recent call last)", "INTERNALERROR")
MAX_SKIPPED = 7
"""Blocks (or lines) the test may keep out; more means the README's workflows go untested."""


@dataclass
class Block:
    """One ```bash block of the README: where it starts, its text and what the test keeps out."""

    line: int
    text: str
    skip: str | None = None
    skip_lines: dict[str, str] = field(default_factory=dict)
    exit: int = 0
    """The exit status the README says the block ends with."""

    def commands(self) -> list[str]:
        """The block's command lines (continuations joined), without the lines kept out."""
        joined = re.sub(r"\s*\\\n\s*", " ", self.text)
        return [
            ln
            for ln in joined.splitlines()
            if not any(ln.strip().startswith(p) for p in self.skip_lines)
        ]

    def script(self) -> str:
        """The block as the test runs it."""
        return "\n".join(self.commands()) + "\n"


def readme_blocks(text: str) -> list[Block]:
    """Every ```bash block of a README text, in order, with the skip markers that precede it."""
    blocks, pending, lines, i = [], [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if "readme-test:" in line:
            m = MARKER.search(line)
            if not m or not m.group("reason").strip():
                raise ValueError(f"README.md line {i + 1}: a readme-test marker needs a reason: "
                                 f'<!-- readme-test: skip ["CMD"] (REASON) --> or exit N (REASON), got {line.strip()!r}')  # fmt: skip
            pending.append(m)
        if line.strip() == "```bash":
            start = i + 1
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                i += 1
            block = Block(start + 1, "\n".join(lines[start:i]))
            for m in pending:
                if m.group("exit"):
                    block.exit = int(m.group("exit"))
                elif m.group("prefix"):
                    block.skip_lines[m.group("prefix")] = m.group("reason")
                else:
                    block.skip = m.group("reason")
            pending = []
            blocks.append(block)
        elif line.startswith("```"):
            pending = []
        i += 1
    return blocks


def blocks() -> list[Block]:
    """The README's blocks."""
    return readme_blocks(README.read_text(encoding="utf-8"))


def test_parser_reads_blocks_markers_and_continuations():
    text = (
        "# T\n```bash\necho one\n```\n"
        "<!-- readme-test: skip (a web server) -->\n```bash\njupyter lab\n```\n"
        '<!-- readme-test: skip "nbgrader formgrader" (a server) -->\n\n'
        "```bash\nnbgrader export \\\n  --to x.csv\nnbgrader formgrader   # hand grading\n```\n"
        "```text\nnot bash\n```\n"
        "<!-- readme-test: exit 1 (a failing test) -->\n```bash\npytest x\n```\n"
    )
    found = readme_blocks(text)
    assert [b.line for b in found] == [3, 7, 12, 21]
    assert [b.exit for b in found] == [0, 0, 0, 1]
    assert found[0].skip is None and found[0].commands() == ["echo one"]
    assert found[1].skip == "a web server"
    assert found[2].skip is None and found[2].commands() == ["nbgrader export --to x.csv"]
    with pytest.raises(ValueError, match="line 1: a readme-test marker needs a reason"):
        readme_blocks("<!-- readme-test: skip -->\n```bash\nls\n```\n")


def test_skipped_blocks_are_few_and_explained():
    found = blocks()
    assert len(found) >= 8, "the README's workflows are in ```bash blocks"
    kept_out = [b for b in found if b.skip] + [b for b in found for _ in b.skip_lines]
    assert len(kept_out) <= MAX_SKIPPED, [(b.line, b.skip or b.skip_lines) for b in kept_out]
    for b in found:
        for prefix in b.skip_lines:
            assert any(ln.strip().startswith(prefix) for ln in b.text.splitlines()), (
                f"README.md line {b.line}: the marker names {prefix!r}, which the block lacks"
            )


def test_exchange_block_is_the_one_test_exchange_runs():
    """The exchange block is kept out here because tests/course/test_exchange.py runs it (two roles)."""
    exchange = [b for b in blocks() if "nbgrader fetch_assignment" in b.text]
    assert len(exchange) == 1 and "test_exchange.py" in (exchange[0].skip or "")
    assert [c for _, c in readme_commands()] == [
        ln.strip() for ln in exchange[0].text.splitlines() if ln.strip() and not ln.startswith("#")
    ]


def copy_repository(dest: Path) -> None:
    """The tracked files of this repository, as they are in the working tree, into `dest`."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for name in names.stdout.decode().split("\0"):
        src = ROOT / name
        if name and src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def environment_like_bootstrap(course: Path, venv: Path) -> None:
    """A venv folder for the copy that bootstrap.sh finds current: links to this environment."""
    real = Path(sys.prefix)
    venv.mkdir()
    for name in ("lib", "lib64", "include", "pyvenv.cfg"):
        if (real / name).exists():
            (venv / name).symlink_to(real / name)
    (venv / "bin").mkdir()
    for exe in (real / "bin").iterdir():
        if exe.name != "uv":
            (venv / "bin" / exe.name).symlink_to(exe)
    (venv / "bin" / "uv").write_text(
        "#!/bin/sh\necho 'test_readme: bootstrap.sh tried to install (its stamp did not match)' >&2\n"
        "exit 99\n"
    )
    (venv / "bin" / "uv").chmod(0o755)
    digest = hashlib.sha256(
        (course / "requirements.lock").read_bytes() + (course / "pyproject.toml").read_bytes()
    ).hexdigest()[:16]
    for stamp in (".softmax-stamp", ".softmax-bytecode"):  # installed, and its bytecode compiled
        (venv / stamp).write_text(f"{digest} {course}\n")


def untracked(course: Path) -> list[str]:
    """Files in `course` that git would list as untracked (not ignored by .gitignore)."""
    proc = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=course,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return [ln[3:] for ln in proc.stdout.splitlines() if ln.startswith("??")]


@pytest.mark.slow
def test_every_readme_block_runs_on_a_fresh_copy(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    copy_repository(course)
    git = [
        "git",
        "-c",
        "user.name=readme",
        "-c",
        "user.email=readme@test",
        "-c",
        "core.quotepath=off",
    ]
    subprocess.run([*git, "init", "-q"], cwd=course, check=True)
    subprocess.run([*git, "add", "."], cwd=course, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=course, check=True)
    shutil.copytree(EXAMPLES / COLLECTED, course / "submitted" / COLLECTED)
    venv = tmp_path / "venv"
    environment_like_bootstrap(course, venv)
    home, scratch = tmp_path / "home", tmp_path / "tmp"  # the demo's throw-away course: in scratch
    home.mkdir()
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("NBGRADER_DB_URL", "VIRTUAL_ENV", "PYTHONPATH") and not k.startswith("PYTEST")}  # fmt: skip
    env.update(SOFTMAX_VENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
               PYTHONPATH=str(course), HOME=str(home), MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1", TMPDIR=str(scratch))  # fmt: skip
    ran = 0
    for block in readme_blocks((course / "README.md").read_text(encoding="utf-8")):
        if block.skip:
            continue
        proc = subprocess.run(["bash", "-eo", "pipefail", "-c", block.script()], cwd=course,
                              env=env, capture_output=True, text=True, timeout=1800)  # fmt: skip
        output = proc.stdout + proc.stderr
        where = f"README.md block at line {block.line}:\n{block.script()}\n--- output ---\n"
        assert proc.returncode == block.exit, f"{where}exit {proc.returncode}\n{output[-4000:]}"
        for sign in FAILURE_SIGNS:
            assert sign not in output, f"{where}{output[-4000:]}"
        ran += 1
    assert ran >= 8
    assert untracked(course) == [], "outputs of the README's commands that .gitignore lacks"
    with sqlite3.connect(course / "gradebook.db") as db:
        students = {row[0] for row in db.execute("SELECT id FROM student")}
    assert students == {COLLECTED}, "the nbgrader demo must use its own course, not the gradebook"
