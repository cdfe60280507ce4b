"""The command line's help: laid out as written, per command, with an example for each (#15)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from helpers.paths import EXAMPLES, ROOT

from autograder import __main__ as cli


def help_text(argv: list[str], capsys) -> str:
    """What `python -m autograder ARGV --help` prints."""
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def commands() -> list[list[str]]:
    """Every subcommand, nested ones (gradescope build, run) included, as argv prefixes."""
    out = []
    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        out.append([name])
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                out.extend([name, nested] for nested in action.choices)
    return out


def test_top_level_help_lists_one_command_per_line(capsys):
    text = help_text([], capsys)
    lines = text.splitlines()
    for name in (
        "grade",
        "merge",
        "report",
        "check",
        "gradebook-export",
        "gradescope",
        "classroom",
    ):
        assert any(ln.startswith(f"  python -m autograder {name} ") for ln in lines), name
    assert "each has its own --help" in text


@pytest.mark.parametrize("argv", commands(), ids=" ".join)
def test_every_command_has_a_paragraph_and_an_example_kept_as_written(argv, capsys):
    text = help_text(argv, capsys)
    lines = text.splitlines()
    examples = [ln for ln in lines if ln.startswith(f"  python -m autograder {argv[0]}")]
    examples += [ln for ln in lines if ln.startswith("  bash scripts/")]
    assert examples, f"no example line for {' '.join(argv)}:\n{text}"
    assert any(ln.rstrip().endswith(":") and ln.startswith("example") for ln in lines), text


def test_grade_help_keeps_its_paragraphs(capsys):
    text = help_text(["grade"], capsys)
    assert "\n\nexit status: 0 when grading completed" in text  # its own paragraph, not reflowed
    assert "  python -m autograder grade submitted --shard 2/4 --out grades-2\n" in text


def test_module_help_runs_as_a_program():
    proc = subprocess.run([sys.executable, "-m", "autograder", "gradebook-export", "--help"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "\n  nbgrader autograde softmax_regression --no-execute\n" in proc.stdout


# -- no data set: refused before anyone is graded (#23 item 2) ---------------------------------
@pytest.mark.slow
def test_grade_and_check_refuse_without_the_data_set(tmp_path, no_data_env):
    out = tmp_path / "out"
    notebook = EXAMPLES / "alice_full" / "softmax_regression"
    commands = {
        "grade": ["grade", str(notebook.parent), "--out", str(out)],
        "check --train": ["check", str(notebook / "softmax_regression.ipynb"), "--train"],
    }
    for name, argv in commands.items():
        proc = subprocess.run([sys.executable, "-m", "autograder", *argv], cwd=ROOT,
                              env=no_data_env, capture_output=True, text=True, timeout=600)  # fmt: skip
        assert proc.returncode == 3, (name, proc.stdout[-2000:], proc.stderr[-2000:])
        assert no_data_env["FASHION_MNIST_ROOT"] in proc.stderr, (name, proc.stderr)
        assert "FASHION_MNIST_ROOT" in proc.stderr.replace(no_data_env["FASHION_MNIST_ROOT"], "")
        assert "Traceback" not in proc.stderr
    assert not list(out.glob("*/results.json"))  # nobody got a result
