"""environment.yml pins the same versions as requirements.lock, and the lock covers requirements.in."""

import re

from helpers.paths import ROOT


def pins(text):
    return dict(re.findall(r"^\s*-?\s*([A-Za-z0-9_.-]+)==([^\s#]+)", text, flags=re.M))


def test_environment_yml_matches_lock():
    env = pins((ROOT / "environment.yml").read_text())
    lock = pins((ROOT / "requirements.lock").read_text())
    assert env, "environment.yml pins nothing"
    mismatched = {k: (v, lock.get(k)) for k, v in env.items() if lock.get(k) != v}
    assert not mismatched, f"environment.yml and requirements.lock disagree: {mismatched}"


def test_lock_covers_every_top_level_requirement():
    lock = {k.lower() for k in pins((ROOT / "requirements.lock").read_text())}
    wanted = re.findall(r"^([A-Za-z0-9_.-]+)", (ROOT / "requirements.in").read_text(), flags=re.M)
    assert {w.lower() for w in wanted} <= lock


def test_sourcing_bootstrap_leaves_the_callers_shell_options_alone(root):
    """`source scripts/bootstrap.sh` must not turn on errexit/nounset in an interactive shell."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    venv = Path(sys.prefix)
    script = (
        "set +euo pipefail\nsource scripts/bootstrap.sh || exit 7\n"
        'case "$-" in *e*|*u*) echo "options changed: $-"; exit 8;; esac\n'
        "set -o | grep -q 'pipefail *on' && { echo pipefail; exit 9; }\n"
        'false\necho "still here $VIRTUAL_ENV"\n'
    )
    env = {**os.environ, "SOFTMAX_VENV": str(venv)}
    proc = subprocess.run(["bash", "-c", script], cwd=root, env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"still here {venv}" in proc.stdout


def test_sourcing_bootstrap_sets_only_path_and_virtual_env(root, tmp_path):
    """The caller's shell gains no variable of the script (no $VENV): only PATH and VIRTUAL_ENV."""
    import os
    import subprocess
    import sys

    script = (
        'compgen -v | LC_ALL=C sort >"$TMPDIR/before"\n'
        "source scripts/bootstrap.sh 2>/dev/null || exit 7\n"
        'compgen -v | LC_ALL=C sort | LC_ALL=C comm -13 "$TMPDIR/before" -\n'
    )
    env = {k: v for k, v in os.environ.items() if k not in ("VENV", "VIRTUAL_ENV")}
    env.update(SOFTMAX_VENV=sys.prefix, TMPDIR=str(tmp_path))
    proc = subprocess.run(["bash", "-c", script], cwd=root, env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bash_own = {"PIPESTATUS", "_"}  # bash sets these after any pipeline or command
    new = [name for name in proc.stdout.split() if name not in bash_own]
    assert new == ["VIRTUAL_ENV"]  # PATH was there before, now changed
